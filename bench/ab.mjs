// Before/after for proxy changes proposed in bench/patches/*.diff, in one run: the current tree's
// src/ is copied twice to a scratch directory, the patches are applied to one copy, both CLIs are
// built, and the harness runs them as two arms (tokenmeter = before, patched = after), alternating
// inside every round with the direct floor. src/ itself is never touched.
//   node bench/ab.mjs [patch.diff ...] [-- harness args, e.g. --quick --phases latency,throughput]
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const bench = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(bench);
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const picked = dash === -1 ? argv : argv.slice(0, dash);
const harnessArgs = dash === -1 ? ['--no-peer'] : argv.slice(dash + 1);
const patches = picked.length
  ? picked.map((p) => path.resolve(p))
  : readdirSync(path.join(bench, 'patches'))
      .filter((f) => f.endsWith('.diff'))
      .sort()
      .map((f) => path.join(bench, 'patches', f));

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokenmeter-ab-'));
try {
  for (const side of ['base', 'patched']) {
    const dir = path.join(tmp, side);
    for (const f of ['src', 'esbuild.mjs', 'package.json', 'tsconfig.json']) {
      cpSync(path.join(root, f), path.join(dir, f), { recursive: true });
    }
    symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    if (side === 'patched') {
      for (const p of patches) {
        console.log(`ab: applying ${path.relative(root, p)}`);
        execFileSync('patch', ['-p1', '--forward', '--batch', '-i', p], { cwd: dir, stdio: 'inherit' });
      }
    }
    execFileSync(process.execPath, ['esbuild.mjs', '--only=cli'], { cwd: dir, stdio: 'inherit' });
  }
  const harness = [
    process.execPath,
    '--import',
    'tsx',
    path.join(bench, 'proxy.bench.ts'),
    '--cli',
    path.join(tmp, 'base/dist/cli.js'),
    '--patched',
    path.join(tmp, 'patched/dist/cli.js'),
    '--out',
    'ab',
    ...harnessArgs,
  ];
  const [cmd, ...args] = os.cpus().length >= 2 ? ['taskset', '-c', '0', ...harness] : harness;
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  process.exitCode = r.status ?? 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
