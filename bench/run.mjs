// `npm run bench`: installs the bench's own dependencies when they are missing or stale (the peer
// lives in bench/package.json so the root `npm ci` stays lean), builds the CLI, then runs the
// harness with the client pinned to cpu 0 (the proxies get cpu 1; see proxy.bench.ts).
// Arguments pass through: `npm run bench -- --quick`.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const bench = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(bench);
const args = process.argv.slice(2);

const lock = path.join(bench, 'package-lock.json');
const stamp = path.join(bench, 'node_modules', '.bench-lock-sha256');
const sha = createHash('sha256').update(readFileSync(lock)).digest('hex');
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== sha) {
  console.log('bench: installing bench/ dependencies (npm ci --prefix bench)…');
  execFileSync('npm', ['ci', '--prefix', bench, '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  writeFileSync(stamp, sha);
}

console.log('bench: building dist/cli.js…');
execFileSync(process.execPath, ['esbuild.mjs', '--only=cli'], { cwd: root, stdio: 'inherit' });

const pin = !args.includes('--no-pin') && os.cpus().length >= 2 && existsSync('/usr/bin/taskset');
const harness = [process.execPath, '--import', 'tsx', path.join(bench, 'proxy.bench.ts'), ...args];
const [cmd, ...argv] = pin ? ['taskset', '-c', '0', ...harness] : harness;
const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
