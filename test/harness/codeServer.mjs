// Runs a real VS Code on these machines: code-server 4.100.3 (= VS Code 1.100.3, Node extension
// host) on 127.0.0.1, driven by headless Chromium through playwright-core. See
// ../shared/notes/vscode-in-ci.md for why this and not @vscode/test-electron's download.
// Every wait here is bounded and says what it was waiting for when it gives up.
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { chromium } from 'playwright-core';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const CHROMIUM = process.env.TOKENMETER_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Runs `file args`, resolving with stdout; rejects with stderr and the exit reason. */
function run(file, args, { timeoutMs, cwd = repoRoot, env = process.env } = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const why = err.killed ? `killed after ${timeoutMs} ms` : `exit code ${err.code}`;
        reject(new Error(`${file} ${args.join(' ')}: ${why}\n${stderr}${stdout}`.trimEnd()));
      } else {
        resolve(stdout);
      }
    });
  });
}

/** Installs code-server once (cached under ~/.cache/tokenmeter) and returns its `package` dir. */
export async function ensureCodeServer({ timeoutMs = 15 * 60_000 } = {}) {
  const out = await run('bash', [path.join(repoRoot, '.ci', 'install-code-server.sh')], { timeoutMs });
  const pkgDir = out.trim().split('\n').pop();
  await fs.access(path.join(pkgDir, 'out', 'node', 'entry.js')).catch(() => {
    throw new Error(`install-code-server.sh printed "${pkgDir}", which has no out/node/entry.js`);
  });
  return pkgDir;
}

/** A port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `probe()` every `intervalMs` until it returns a truthy value; throws after `timeoutMs`. */
export async function waitFor(what, probe, { timeoutMs = 30_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value) {
        return value;
      }
    } catch (err) {
      if (err?.fatal) {
        throw err;
      }
      last = err;
    }
    if (Date.now() >= deadline) {
      const cause = last ? ` (last error: ${last.message ?? last})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await sleep(intervalMs);
  }
}

/** True once something accepts TCP connections on 127.0.0.1:port. */
export function portAccepts(port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The settings a test profile starts with: no telemetry, no welcome page, no trust prompt, no
 * gallery traffic; `tokenmeter.proxy.port` and anything else from `settings`.
 */
export function testSettings({ settings = {}, colorTheme } = {}) {
  return {
    'security.workspace.trust.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'extensions.ignoreRecommendations': true,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'git.enabled': false,
    ...(colorTheme ? { 'workbench.colorTheme': colorTheme } : {}),
    ...settings,
  };
}

/**
 * Starts code-server on a free loopback port with its own profile. `settings` are written to
 * `userDataDir/User/settings.json` (pass `'tokenmeter.proxy.port'` there); `colorTheme` sets
 * `workbench.colorTheme`. Output goes to `userDataDir/code-server.log` (and to the console with
 * `verbose`). Returns `{ port, url, pkgDir, workspace, logFile, stop() }`.
 */
export async function startCodeServer({
  pkgDir,
  userDataDir,
  extensionsDir,
  workspace,
  settings = {},
  colorTheme,
  verbose = false,
  startTimeoutMs = 60_000,
}) {
  pkgDir ??= await ensureCodeServer();
  await fs.mkdir(path.join(userDataDir, 'User'), { recursive: true });
  await fs.mkdir(extensionsDir, { recursive: true });
  await fs.mkdir(workspace, { recursive: true });
  await fs.writeFile(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(testSettings({ settings, colorTheme }), null, 2));

  const port = await freePort();
  const logFile = path.join(userDataDir, 'code-server.log');
  const log = createWriteStream(logFile);
  const args = [
    path.join(pkgDir, 'out', 'node', 'entry.js'),
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    workspace,
  ];
  // Its own process group, so stop() also reaches the extension host and other children.
  const child = spawn(process.execPath, args, { cwd: workspace, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = null;
  const exitPromise = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exited = { code, signal }))));
  for (const stream of [child.stdout, child.stderr]) {
    stream.pipe(log, { end: false });
    if (verbose) {
      stream.on('data', (d) => process.stderr.write(`[code-server] ${d}`));
    }
  }

  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async (graceMs = 5000) => {
    if (stopped) {
      return;
    }
    stopped = true;
    if (exited === null) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      const timer = sleep(graceMs, 'timeout', { ref: false });
      if ((await Promise.race([exitPromise, timer])) === 'timeout') {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
        await Promise.race([exitPromise, sleep(2000, undefined, { ref: false })]);
      }
    }
    // Children of the group (extension host, file watcher) can outlive the leader: no stragglers.
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // The group is empty.
    }
    await new Promise((resolve) => log.end(resolve));
  };

  try {
    await waitFor(
      `code-server to answer HTTP on ${url} (log: ${logFile})`,
      async () => {
        if (exited) {
          throw Object.assign(new Error(`code-server exited early (${JSON.stringify(exited)}); log: ${logFile}`), { fatal: true });
        }
        const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
        await res.body?.cancel();
        return res.status > 0;
      },
      { timeoutMs: startTimeoutMs, intervalMs: 200 },
    );
  } catch (err) {
    await stop();
    const tail = (await fs.readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-30).join('\n');
    throw new Error(`${err.message}\n--- code-server log (tail) ---\n${tail}`);
  }
  return { port, url, pkgDir, workspace, userDataDir, extensionsDir, logFile, stop };
}

/** Installs a .vsix into `extensionsDir` with code-server's own CLI. */
export async function installVsix(pkgDir, vsix, extensionsDir, { userDataDir, timeoutMs = 120_000 } = {}) {
  const args = [path.join(pkgDir, 'out', 'node', 'entry.js'), '--extensions-dir', extensionsDir];
  if (userDataDir) {
    args.push('--user-data-dir', userDataDir);
  }
  args.push('--install-extension', path.resolve(vsix), '--force');
  const out = await run(process.execPath, args, { timeoutMs });
  return out.trim();
}

/** Headless Debian Chromium through playwright-core (no browser download). */
export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/** The workbench URL, optionally with the test payload VS Code's own browser tests use. */
export function workbenchUrl(codeServer, { workspace = codeServer.workspace, payload } = {}) {
  let url = `${codeServer.url}/?folder=${encodeURIComponent(workspace)}`;
  if (payload) {
    url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  }
  return url;
}

// The workbench's own chatter on the log channel the extension host's console shares. The gallery
// lookup fails by design here (no route to open-vsx.org).
const WORKBENCH_NOISE = [
  /^getaddrinfo ENOTFOUND open-vsx\.org/,
  /^(Resolving|Resolved) connection token/,
  /^Creating a socket \(renderer-/,
  /^Updating additional builtin extensions cache/,
  /^\[Service Worker\] registered/,
  /^ChatSessionStore: /,
  /^\[lifecycle\] Long running operations during shutdown/,
];

/**
 * Runs extension tests in code-server's extension host, the way VS Code's browser integration
 * tests do: the workbench loads `extensionTestsPath` (a module exporting `run()`) and reports
 * `run()`'s outcome through `codeAutomationExit`. Resolves with the exit code: 0 when `run()`
 * resolved, non-zero when it rejected, the page crashed or `timeoutMs` passed.
 */
export async function runExtensionTests({
  codeServer,
  extensionDevelopmentPath,
  extensionTestsPath,
  timeoutMs = 5 * 60_000,
  browser,
  screenshotOnFailure = path.join(repoRoot, 'test-results', 'integration-failure.png'),
  log = (line) => console.log(line),
}) {
  const remote = (p) => `vscode-remote://127.0.0.1:${codeServer.port}${path.resolve(p)}`;
  const url = workbenchUrl(codeServer, {
    payload: [
      ['extensionDevelopmentPath', remote(extensionDevelopmentPath)],
      ['extensionTestsPath', remote(extensionTestsPath)],
      ['skipWelcome', 'true'],
    ],
  });

  const ownBrowser = !browser;
  browser ??= await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // The workbench clipboard is navigator.clipboard: tests that copy and read back need both.
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: codeServer.url });
  const page = await context.newPage();

  let settle;
  const outcome = new Promise((resolve) => (settle = resolve));
  await page.exposeFunction('codeAutomationLog', (level, message) => {
    // The extension host's console arrives as the raw argument list: format it as Node would.
    const text = Array.isArray(message) ? format(...message) : String(message);
    if (WORKBENCH_NOISE.some((re) => re.test(text))) {
      return;
    }
    for (const line of text.replace(/\n$/, '').split('\n')) {
      log(level === 'error' || level === 'warn' ? `[${level}] ${line}` : line);
    }
  });
  await page.exposeFunction('codeAutomationExit', (code) => {
    settle({ code: typeof code === 'number' ? code : 1 });
  });
  page.on('pageerror', (err) => log(`[page error] ${err.message}`));
  page.on('crash', () => settle({ code: 1, reason: 'the workbench page crashed' }));

  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(
      () => resolve({ code: 1, reason: `extension tests did not finish within ${timeoutMs} ms (no codeAutomationExit); code-server log: ${codeServer.logFile}` }),
      timeoutMs,
    );
  });
  try {
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    const result = await Promise.race([outcome, timeout]);
    if (result.reason) {
      log(`runExtensionTests: ${result.reason}`);
    }
    if (result.code !== 0 && screenshotOnFailure) {
      await fs.mkdir(path.dirname(screenshotOnFailure), { recursive: true });
      await page.screenshot({ path: screenshotOnFailure, timeout: 10_000 }).then(
        () => log(`runExtensionTests: screenshot of the workbench at ${screenshotOnFailure}`),
        () => undefined,
      );
    }
    return result.code;
  } catch (err) {
    log(`runExtensionTests: ${err.message}`);
    return 1;
  } finally {
    clearTimeout(timer);
    await context.close().catch(() => undefined);
    if (ownBrowser) {
      await browser.close().catch(() => undefined);
    }
  }
}
