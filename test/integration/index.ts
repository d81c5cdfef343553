/**
 * The test runner the extension host loads (`extensionTestsPath`): it exports `run()`, the contract
 * @vscode/test-electron and code-server's test payload share. It resolves when every test passed
 * and rejects otherwise; the host then exits with 0 or 1.
 *
 * esbuild bundles this file and the suites into one module (dist-test/integration/index.js) with
 * mocha external, so mocha is `require`d from the repo's node_modules at run time. Mocha's globals
 * (`suite`, `test`, …) exist only after the `pre-require` event, while static imports would run
 * the suites' top-level `suite()` calls before this module's body: so the suites are loaded with
 * `import()`, which esbuild keeps lazy inside the bundle.
 */
import Mocha from 'mocha';

/** Every suite module, loaded in this order after mocha's globals are in place. */
const suites: Record<string, () => Promise<unknown>> = {
  'extension.test.ts': () => import('./extension.test.js'),
  'multiwindow.test.ts': () => import('./multiwindow.test.js'),
  'commands.test.ts': () => import('./commands.test.js'),
  'settings.test.ts': () => import('./settings.test.js'),
  'statusbar.test.ts': () => import('./statusbar.test.js'),
};

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 20_000, reporter: 'spec' });
  for (const [file, load] of Object.entries(suites)) {
    mocha.suite.emit('pre-require', globalThis, file, mocha);
    mocha.suite.emit('require', await load(), file, mocha);
    mocha.suite.emit('post-require', globalThis, file, mocha);
  }

  const { passes, failures } = await new Promise<{ passes: number; failures: number }>((resolve, reject) => {
    try {
      const runner = mocha.run(() => resolve({ passes: runner.stats?.passes ?? 0, failures: runner.stats?.failures ?? 0 }));
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
  // The orchestrator (test/run.mjs) reads this exact line.
  console.log(`${passes} passed, ${failures} failed`);
  if (failures > 0) {
    throw new Error(`${failures} integration test(s) failed`);
  }
  if (passes === 0) {
    throw new Error('no integration tests ran');
  }
}
