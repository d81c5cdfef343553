// The test orchestrator behind `npm test`: `node test/run.mjs [unit|integration|e2e ...]` (no
// argument: all three, in that order).
//   unit         node:test over test/unit/**/*.test.ts through tsx (no VS Code)
//   integration  builds the extension and test/integration, runs the suites inside a real VS Code
//                extension host (code-server + headless Chromium, see test/harness/codeServer.mjs)
//   e2e          packages the .vsix and drives the real workbench (test/e2e/e2e.mjs)
// Each layer's pass/fail counts are read from its output; the last line is the total, exactly
// `N passed, N failed`. The exit code is non-zero when a layer failed, crashed or ran no test.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureCodeServer, repoRoot, runExtensionTests, startCodeServer } from './harness/codeServer.mjs';

const LAYERS = ['unit', 'integration', 'e2e'];
const cleanups = new Set();

/** Runs a command with its output shown and kept; its own process group, killed on timeout. */
function sh(cmd, args, { timeoutMs, env = process.env } = {}) {
  return new Promise((resolve) => {
    console.log(`$ ${[cmd, ...args].join(' ')}`);
    const child = spawn(cmd, args, { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const kill = (signal) => {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // The group is gone.
      }
    };
    cleanups.add(kill);
    child.stdout.on('data', (d) => {
      output += d;
      process.stdout.write(d);
    });
    child.stderr.on('data', (d) => {
      output += d;
      process.stderr.write(d);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      console.error(`run.mjs: "${cmd} ${args.join(' ')}" did not finish within ${timeoutMs} ms; killing it`);
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), 5000).unref();
    }, timeoutMs);
    child.on('error', (err) => {
      output += `\n${err.message}`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      cleanups.delete(kill);
      // Stragglers of the group (a code-server the child failed to stop) must not outlive it.
      kill('SIGKILL');
      resolve({ code: timedOut ? 124 : (code ?? (signal ? 128 : 1)), output });
    });
  });
}

/** Last `N passed, N failed` line of a layer's output. */
function countsOf(output) {
  const all = [...output.matchAll(/^\s*(?:\[\w+\] )?(\d+) passed, (\d+) failed\s*$/gm)];
  const m = all.at(-1);
  return m ? { passed: Number(m[1]), failed: Number(m[2]) } : null;
}

/** node:test's spec reporter ends with `ℹ pass N` and `ℹ fail N`. */
function nodeTestCountsOf(output) {
  const pass = [...output.matchAll(/^ℹ pass (\d+)$/gm)].at(-1);
  const fail = [...output.matchAll(/^ℹ fail (\d+)$/gm)].at(-1);
  return pass && fail ? { passed: Number(pass[1]), failed: Number(fail[1]) } : null;
}

async function findFiles(dir, suffix) {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(suffix))
    .map((e) => path.relative(repoRoot, path.join(e.parentPath ?? e.path, e.name)))
    .sort();
}

async function unit() {
  const files = await findFiles(path.join(repoRoot, 'test', 'unit'), '.test.ts');
  if (files.length === 0) {
    return { error: 'no test/unit/**/*.test.ts files' };
  }
  const { code, output } = await sh(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], { timeoutMs: 10 * 60_000 });
  return { code, counts: nodeTestCountsOf(output) };
}

async function integration() {
  for (const args of [['esbuild.mjs'], ['esbuild.mjs', '--only=tests']]) {
    const build = await sh(process.execPath, args, { timeoutMs: 2 * 60_000 });
    if (build.code !== 0) {
      return { error: `build failed: node ${args.join(' ')} exited with ${build.code}` };
    }
  }
  const pkgDir = await ensureCodeServer();
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tokenmeter-integration-'));
  const removeTmp = () => fs.rm(tmp, { recursive: true, force: true, maxRetries: 3 });
  let codeServer;
  const stop = async () => {
    await codeServer?.stop();
    await removeTmp();
  };
  cleanups.add(stop);
  try {
    codeServer = await startCodeServer({
      pkgDir,
      userDataDir: path.join(tmp, 'user-data'),
      extensionsDir: path.join(tmp, 'extensions'),
      workspace: path.join(tmp, 'workspace'),
      // A free port: the default 8383 may be held by a developer's own Tokenmeter.
      settings: { 'tokenmeter.proxy.port': 0 },
    });
    const lines = [];
    const code = await runExtensionTests({
      codeServer,
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: path.join(repoRoot, 'dist-test', 'integration', 'index.js'),
      timeoutMs: 5 * 60_000,
      log: (line) => {
        lines.push(line);
        console.log(line);
      },
    });
    return { code, counts: countsOf(lines.join('\n')) };
  } finally {
    cleanups.delete(stop);
    await stop();
  }
}

async function e2e() {
  // vsce does not create the -o directory of `npm run package`.
  await fs.mkdir(path.join(repoRoot, 'dist-vsix'), { recursive: true });
  const pack = await sh('npm', ['run', 'package'], { timeoutMs: 5 * 60_000 });
  if (pack.code !== 0) {
    return { error: `npm run package exited with ${pack.code}` };
  }
  const { code, output } = await sh(process.execPath, ['--import', 'tsx', path.join('test', 'e2e', 'e2e.mjs')], { timeoutMs: 6 * 60_000 });
  return { code, counts: countsOf(output) };
}

const runners = { unit, integration, e2e };

async function main() {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((a) => !LAYERS.includes(a));
  if (unknown.length > 0) {
    console.error(`usage: node test/run.mjs [${LAYERS.join('|')} ...]  (unknown: ${unknown.join(', ')})`);
    return 2;
  }
  const layers = asked.length > 0 ? LAYERS.filter((l) => asked.includes(l)) : LAYERS;

  const results = [];
  for (const layer of layers) {
    console.log(`\n=== ${layer} ===`);
    const started = Date.now();
    let r;
    try {
      r = await runners[layer]();
    } catch (err) {
      r = { error: err.stack ?? String(err) };
    }
    const seconds = (Date.now() - started) / 1000;
    const counts = r.counts ?? { passed: 0, failed: 0 };
    let problem = r.error;
    if (!problem && !r.counts) {
      problem = `no pass/fail counts in its output (exit code ${r.code})`;
    } else if (!problem && counts.passed + counts.failed === 0) {
      problem = 'ran no tests';
    } else if (!problem && r.code !== 0 && counts.failed === 0) {
      problem = `exit code ${r.code} although no test failed`;
    }
    results.push({ layer, ...counts, problem, ok: !problem && counts.failed === 0, seconds });
  }

  console.log('\n=== summary ===');
  let passed = 0;
  let failed = 0;
  for (const r of results) {
    passed += r.passed;
    // A layer that broke without failing a test still counts as one failure in the total.
    failed += r.failed + (r.problem && r.failed === 0 ? 1 : 0);
    const status = r.ok ? 'ok  ' : 'FAIL';
    console.log(`${status} ${r.layer.padEnd(12)} ${r.passed} passed, ${r.failed} failed  (${r.seconds.toFixed(1)} s)${r.problem ? `  — ${r.problem.split('\n')[0]}` : ''}`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  return results.every((r) => r.ok) ? 0 : 1;
}

async function cleanUp() {
  for (const c of [...cleanups]) {
    await Promise.resolve(c('SIGKILL')).catch(() => undefined);
  }
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`run.mjs: ${signal}, cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

process.exitCode = await main();
