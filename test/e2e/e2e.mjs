// End to end, in two phases that share a scripted upstream:
//   1. workbench.mjs: the packaged extension (dist-vsix/tokenmeter.vsix, made by `npm run package`)
//      installed into a fresh code-server, the real workbench in headless Chromium, two concurrent
//      streams through the proxy, the status bar, the panel's live rows, breakdown and throttle
//      section, a reload, screenshots in the dark and light themes;
//   2. standalone.mjs: the standalone dashboard served by dist/cli.js, checked the same way, and the
//      1,000-row breakdown measured.
// Screenshots and measurements go to test-results/.
//
// Run with `node --import tsx test/e2e/e2e.mjs` (tsx loads the TypeScript upstream fixture);
// `node test/run.mjs e2e` packages first and then runs this.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { startUpstream } from '../fixtures/upstream.ts';
import { ensureCodeServer, freePort, launchBrowser, repoRoot } from '../harness/codeServer.mjs';
import { results } from './lib.mjs';
import { standalonePhase } from './standalone.mjs';
import { workbenchPhase } from './workbench.mjs';

const VSIX = path.join(repoRoot, 'dist-vsix', 'tokenmeter.vsix');
const RESULTS = path.join(repoRoot, 'test-results');
const OVERALL_TIMEOUT_MS = 5 * 60_000;

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
  results.failed++;
  console.log(`${results.passed} passed, ${results.failed} failed`);
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
  console.log('e2e: the packaged extension in code-server, and the standalone dashboard, in Chromium');
  await fs.mkdir(RESULTS, { recursive: true });
  await fs.access(VSIX).catch(() => {
    throw new Error(`${VSIX} is missing: run \`npm run package\` first`);
  });
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tokenmeter-e2e-'));
  cleanups.push(() => fs.rm(tmp, { recursive: true, force: true, maxRetries: 3 }));
  const pkgDir = await ensureCodeServer();
  const upstream = await startUpstream();
  cleanups.push(() => upstream.close());
  const browser = await launchBrowser();
  cleanups.push(() => browser.close());

  await workbenchPhase({ browser, pkgDir, vsix: VSIX, tmp, upstream, proxyPort: await freePort(), resultsDir: RESULTS, cleanups });
  await standalonePhase({ browser, tmp, upstream, resultsDir: RESULTS, cleanups });
}

try {
  await main();
} catch (err) {
  results.failed++;
  console.log(`  ✖ e2e setup: ${err.stack ?? err}`);
} finally {
  await cleanUp();
}
clearTimeout(watchdog);
console.log(`${results.passed} passed, ${results.failed} failed`);
process.exitCode = results.failed > 0 ? 1 : 0;
