// End to end: the packaged extension (dist-vsix/tokenmeter.vsix, made by `npm run package`)
// installed into a fresh code-server, the real workbench in headless Chromium, a streamed request
// from this process through the proxy to a scripted upstream, and what the user sees: the status
// bar's tok/s and the request's row in the metrics panel. Screenshots go to test-results/.
//
// Run with `node --import tsx test/e2e/e2e.mjs` (tsx loads the TypeScript upstream fixture);
// `node test/run.mjs e2e` packages first and then runs this.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startUpstream } from '../fixtures/upstream.ts';
import {
  ensureCodeServer,
  freePort,
  installVsix,
  launchBrowser,
  portAccepts,
  repoRoot,
  startCodeServer,
  waitFor,
  workbenchUrl,
} from '../harness/codeServer.mjs';

const VSIX = path.join(repoRoot, 'dist-vsix', 'tokenmeter.vsix');
const RESULTS = path.join(repoRoot, 'test-results');
const OVERALL_TIMEOUT_MS = 5 * 60_000;
const MODEL = `e2e-stream-${Date.now().toString(36)}`;

let passed = 0;
let failed = 0;
let broken = false;

/** One named check; after a failure the rest are skipped (they depend on each other). */
async function check(name, fn) {
  if (broken) {
    console.log(`  - ${name} (skipped)`);
    return undefined;
  }
  const started = performance.now();
  try {
    const value = await fn();
    passed++;
    console.log(`  ✔ ${name} (${Math.round(performance.now() - started)} ms)`);
    return value;
  } catch (err) {
    failed++;
    broken = true;
    console.log(`  ✖ ${name}\n    ${(err.stack ?? String(err)).split('\n').join('\n    ')}`);
    return undefined;
  }
}

function assert(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

/** The number in a status bar text like "19 tok/s", "1,204 tok/s" or "7.5 tok/s ×2"; null for "—". */
function tokPerSec(text) {
  const m = /([\d][\d,]*(?:\.\d+)?)\s*tok\/s/.exec(text ?? '');
  return m ? Number(m[1].replace(/,/g, '')) : null;
}

const cleanups = [];
async function cleanUp() {
  for (const fn of cleanups.splice(0).reverse()) {
    await Promise.resolve()
      .then(fn)
      .catch((err) => console.error(`cleanup: ${err.message}`));
  }
}

const watchdog = setTimeout(() => {
  console.error(`e2e: still running after ${OVERALL_TIMEOUT_MS} ms; giving up`);
  failed++;
  console.log(`${passed} passed, ${failed} failed`);
  void cleanUp().finally(() => process.exit(1));
}, OVERALL_TIMEOUT_MS);
watchdog.unref();
// code-server runs in a process group of its own: a stop from outside (run.mjs's timeout, ^C)
// must take it down too.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`e2e: ${signal}, cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

async function main() {
  console.log('e2e: packaged extension in code-server + Chromium');
  await fs.mkdir(RESULTS, { recursive: true });
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tokenmeter-e2e-'));
  cleanups.push(() => fs.rm(tmp, { recursive: true, force: true, maxRetries: 3 }));
  const extensionsDir = path.join(tmp, 'extensions');
  const userDataDir = path.join(tmp, 'user-data');
  const workspace = path.join(tmp, 'workspace');
  const pkgDir = await ensureCodeServer();

  await check('the .vsix installs into a fresh extensions dir', async () => {
    await fs.access(VSIX).catch(() => {
      throw new Error(`${VSIX} is missing: run \`npm run package\` first`);
    });
    const out = await installVsix(pkgDir, VSIX, extensionsDir, { userDataDir: path.join(tmp, 'install-profile') });
    const installed = (await fs.readdir(extensionsDir)).filter((d) => d.startsWith('tokenmeter.tokenmeter-'));
    assert(installed.length === 1, `expected tokenmeter.tokenmeter-* in ${extensionsDir}, found ${JSON.stringify(installed)}; installer said: ${out}`);
  });

  const upstream = await startUpstream();
  cleanups.push(() => upstream.close());
  const proxyPort = await freePort();
  const proxyUrl = `http://127.0.0.1:${proxyPort}`;

  const codeServer = await check('code-server starts with the extension and test settings', () =>
    startCodeServer({
      pkgDir,
      userDataDir,
      extensionsDir,
      workspace,
      colorTheme: 'Default Dark Modern',
      settings: {
        'tokenmeter.proxy.port': proxyPort,
        'tokenmeter.providers': {
          openai: { baseUrl: upstream.url, api: 'openai' },
          anthropic: { baseUrl: upstream.url, api: 'anthropic' },
        },
      },
    }),
  );
  if (codeServer) {
    cleanups.push(() => codeServer.stop());
  }

  const browser = await launchBrowser();
  cleanups.push(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.log(`    [page error] ${err.message}`));

  const statusBar = page.locator('#workbench\\.parts\\.statusbar');
  // VS Code renders an extension's item with the id `<extension id>.<item id>`.
  const item = statusBar.locator('.statusbar-item[id$="tokenmeter.status"]').or(statusBar.locator('.statusbar-item', { hasText: 'tok/s' })).first();

  await check('the workbench shows the Tokenmeter status bar item', async () => {
    await page.goto(workbenchUrl(codeServer), { waitUntil: 'domcontentloaded', timeout: 60_000 });
    await statusBar.waitFor({ state: 'visible', timeout: 60_000 }).catch(() => {
      throw new Error('timed out after 60000 ms waiting for the workbench status bar (#workbench.parts.statusbar)');
    });
    await item.waitFor({ state: 'visible', timeout: 60_000 }).catch(() => {
      throw new Error('timed out after 60000 ms waiting for the status bar item tokenmeter.status (text "… tok/s")');
    });
    const text = await item.innerText();
    assert(/tok\/s/.test(text), `status bar item reads "${text}", expected "… tok/s"`);
  });

  await check(`the proxy listens on the configured port ${proxyPort}`, () =>
    waitFor(`the proxy to accept connections on 127.0.0.1:${proxyPort}`, () => portAccepts(proxyPort), { timeoutMs: 30_000, intervalMs: 200 }),
  );

  const seen = [];
  await check('a streamed request goes through the proxy unchanged', async () => {
    const chunks = ['Streaming', ' through', ' the', ' Tokenmeter', ' proxy', ' in', ' a', ' real', ' workbench', '.'];
    upstream.next({ chunks, firstDelayMs: 50, delayMs: 60, usage: { input: 42, output: chunks.length } });
    const before = upstream.exchanges.length;
    const res = await fetch(`${proxyUrl}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-e2e' },
      body: JSON.stringify({ model: MODEL, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Hello' }] }),
      signal: AbortSignal.timeout(30_000),
    });
    if (res.status !== 200) {
      throw new Error(`proxy answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    }
    // Read the status bar while the stream runs: the live rate is what a user watches.
    let body = '';
    const decoder = new TextDecoder();
    for await (const part of res.body) {
      body += decoder.decode(part, { stream: true });
      seen.push(await item.innerText({ timeout: 2000 }).catch(() => ''));
    }
    const [ex] = (await upstream.waitForExchanges(before + 1, 10_000)).slice(before);
    assert(ex.url === '/v1/chat/completions', `upstream got ${ex.url}`);
    assert(body === ex.sent.toString('utf8'), 'the client did not receive the upstream bytes unchanged');
    assert(body.includes('data: [DONE]'), 'the stream did not end with [DONE]');
  });

  await check('the status bar shows a tok/s number > 0', async () => {
    const text = await waitFor(
      'the status bar item to show a tok/s number > 0 after the stream',
      async () => {
        const t = await item.innerText({ timeout: 2000 });
        return (tokPerSec(t) ?? 0) > 0 ? t : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    // What it read while the stream ran is reported, not asserted: the item updates at most 4
    // times a second, so a fast machine may finish the stream between two updates.
    console.log(`    status bar after the stream: "${text.trim()}"; during it: ${JSON.stringify([...new Set(seen.map((t) => t.trim()))])}`);
    await statusBar.screenshot({ path: path.join(RESULTS, 'statusbar.png') });
  });

  await check('"Tokenmeter: Open Metrics Panel" from the command palette shows the request', async () => {
    await page.locator('.monaco-workbench').click({ position: { x: 700, y: 400 } });
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input.input');
    await input.waitFor({ state: 'visible', timeout: 10_000 }).catch(() => {
      throw new Error('timed out after 10000 ms waiting for the command palette after F1');
    });
    await input.fill('>Tokenmeter: Open Metrics Panel');
    const entry = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Tokenmeter: Open Metrics Panel' }).first();
    await entry.waitFor({ state: 'visible', timeout: 10_000 }).catch(() => {
      throw new Error('timed out after 10000 ms waiting for "Tokenmeter: Open Metrics Panel" in the command palette');
    });
    await page.keyboard.press('Enter');

    // A webview is two iframes deep: the host frame, then the content in #active-frame.
    const webview = page.frameLocator('iframe.webview').frameLocator('iframe#active-frame');
    const row = webview.locator(`#recent-rows tr[data-id][data-model="${MODEL}"]`);
    await row.waitFor({ state: 'visible', timeout: 20_000 }).catch(() => {
      throw new Error(`timed out after 20000 ms waiting for a #recent-rows row with data-model="${MODEL}" in the metrics panel webview`);
    });
    const provider = await row.getAttribute('data-provider');
    assert(provider === 'openai', `row data-provider is ${provider}`);
    const shownUrl = (await webview.locator('#proxy-url').innerText()).trim();
    assert(shownUrl === proxyUrl, `panel shows proxy URL "${shownUrl}", expected ${proxyUrl}`);
    await page.screenshot({ path: path.join(RESULTS, 'panel.png') });
  });

  if (failed > 0) {
    const shot = path.join(RESULTS, 'e2e-failure.png');
    await page.screenshot({ path: shot, timeout: 10_000 }).then(
      () => console.log(`  screenshot of the failure: ${shot}`),
      () => undefined,
    );
    if (codeServer) {
      const log = path.join(RESULTS, 'e2e-code-server.log');
      await fs.copyFile(codeServer.logFile, log).then(
        () => console.log(`  code-server log: ${log}`),
        () => undefined,
      );
    }
  }
}

try {
  await main();
} catch (err) {
  failed++;
  console.log(`  ✖ e2e setup: ${err.stack ?? err}`);
} finally {
  await cleanUp();
}
clearTimeout(watchdog);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
