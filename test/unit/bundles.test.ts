/**
 * design.md's bundle budgets: the extension under 500 KB and the webview under 400 KB, minified,
 * as `npm run package` builds them (esbuild.mjs --production, here into a scratch folder).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../fixtures/reliability';

describe('bundle sizes', () => {
  it('the production extension bundle is under 500 KB and the webview\'s under 400 KB', (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tokenmeter-bundles-'));
    try {
      execFileSync(process.execPath, ['esbuild.mjs', '--production', `--outdir=${dir}`], { cwd: repoRoot, stdio: 'pipe' });
      const size = (f: string): number => statSync(path.join(dir, f)).size;
      const extension = size('extension.js');
      const webview = size('webview/main.js') + size('webview/main.css');
      t.diagnostic(`extension ${(extension / 1000).toFixed(1)} KB, webview ${(webview / 1000).toFixed(1)} KB`);
      assert.ok(extension < 500_000, `extension.js is ${extension} bytes`);
      assert.ok(webview < 400_000, `the webview is ${webview} bytes`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
