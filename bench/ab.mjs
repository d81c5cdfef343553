// Before/after for proxy changes, in one run: two builds of the CLI run as two arms of the harness
// (tokenmeter = before, patched = after), alternating inside every round with the direct floor.
//   node bench/ab.mjs [patch.diff ...] [-- harness args, e.g. --quick --phases latency,throughput]
//     before: the working tree; after: the working tree with the patches applied
//   node bench/ab.mjs --base REV [-- harness args]
//     before: src/ as committed in REV (e.g. HEAD); after: the working tree (uncommitted changes)
// Both sides are copied to a scratch directory; src/ itself is never touched.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const bench = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(bench);
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const picked = dash === -1 ? argv : argv.slice(0, dash);
const harnessArgs = dash === -1 ? ['--no-peer'] : argv.slice(dash + 1);
const baseAt = picked.indexOf('--base');
const baseRev = baseAt === -1 ? null : picked.splice(baseAt, 2)[1];
if (baseAt !== -1 && !baseRev) {
  throw new Error('--base needs a git revision, e.g. --base HEAD');
}
const patches = baseRev
  ? []
  : picked.length
    ? picked.map((p) => path.resolve(p))
  : readdirSync(path.join(bench, 'patches'))
      .filter((f) => f.endsWith('.diff'))
      .sort()
      .map((f) => path.join(bench, 'patches', f));
if (!baseRev && patches.length === 0) {
  console.error('ab: nothing to compare: no bench/patches/*.diff (applied ones are kept in bench/patches/applied/); name patches or use --base REV');
  process.exit(2);
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokenmeter-ab-'));
try {
  for (const side of ['base', 'patched']) {
    const dir = path.join(tmp, side);
    const files = ['src', 'esbuild.mjs', 'package.json', 'tsconfig.json'];
    if (side === 'base' && baseRev) {
      mkdirSync(dir, { recursive: true });
      const tar = execFileSync('git', ['archive', '--format=tar', baseRev, ...files], { cwd: root, maxBuffer: 1 << 30 });
      execFileSync('tar', ['-x', '-C', dir], { input: tar });
      console.log(`ab: before = ${baseRev} (${execFileSync('git', ['rev-parse', '--short', baseRev], { cwd: root, encoding: 'utf8' }).trim()}), after = the working tree`);
    } else {
      for (const f of files) {
        cpSync(path.join(root, f), path.join(dir, f), { recursive: true });
      }
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
