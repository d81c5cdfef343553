// The integration suites on a desktop VS Code, for developers' machines:
//   node test/integration/desktop.mjs
// @vscode/test-electron downloads VS Code (into .vscode-test/) and launches it with the extension
// under development and dist-test/integration/index.js as the test runner — the same `run()` and
// suites that `npm run test:integration` runs in code-server. That download needs
// update.code.visualstudio.com, which CI and the shared build machines cannot reach: there,
// `node test/run.mjs integration` (code-server + headless Chromium) is the way. Linux without a
// display needs `xvfb-run -a node test/integration/desktop.mjs`.
// TOKENMETER_VSCODE_VERSION picks another build (default 1.100.3, the VS Code code-server runs).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { repoRoot, testSettings } from '../harness/codeServer.mjs';

for (const args of [['esbuild.mjs'], ['esbuild.mjs', '--only=tests']]) {
  execFileSync(process.execPath, args, { cwd: repoRoot, stdio: 'inherit' });
}

// A throwaway profile: the test settings (proxy on a free port, so a Tokenmeter already running
// on 8383 is left alone) and no other extensions.
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tokenmeter-desktop-'));
const userDataDir = path.join(tmp, 'user-data');
const workspace = path.join(tmp, 'workspace');
await fs.mkdir(path.join(userDataDir, 'User'), { recursive: true });
await fs.mkdir(workspace);
await fs.writeFile(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(testSettings({ settings: { 'tokenmeter.proxy.port': 0 } }), null, 2));

let code = 1;
try {
  code = await runTests({
    version: process.env.TOKENMETER_VSCODE_VERSION ?? '1.100.3',
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: path.join(repoRoot, 'dist-test', 'integration', 'index.js'),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--user-data-dir', userDataDir, '--extensions-dir', path.join(tmp, 'extensions')],
  });
} catch (err) {
  // runTests rejects when the tests fail, VS Code cannot be downloaded or it crashes.
  console.error(`desktop integration tests: ${err instanceof Error ? err.message : err}`);
} finally {
  await fs.rm(tmp, { recursive: true, force: true, maxRetries: 3 });
}
process.exitCode = code === 0 ? 0 : 1;
