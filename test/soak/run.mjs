// `npm run test:soak`: the long reliability run. Runs test/soak/*.test.ts (load, faults at full
// size, durability) and the property tests of test/unit/prop-*.test.ts at ten times their runs
// and with large streams (TOKENMETER_SOAK=1), one file at a time, then prints the figures the
// tests reported and, last, `N passed, N failed`. Bounded: the whole run is killed after 30 min.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const LIMIT_MS = 30 * 60_000;
const list = (dir, re) =>
  readdirSync(join(root, dir))
    .filter((f) => re.test(f))
    .sort()
    .map((f) => relative(root, join(root, dir, f)));
const files = [...list('test/soak', /\.test\.ts$/), ...list('test/unit', /^prop-.*\.test\.ts$/)];

const tmp = mkdtempSync(join(tmpdir(), 'tokenmeter-soak-'));
const figures = join(tmp, 'figures.jsonl');
const started = Date.now();
console.log(`$ node --import tsx --test ${files.join(' ')}   (TOKENMETER_SOAK=1)`);
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files], {
  cwd: root,
  env: { ...process.env, TOKENMETER_SOAK: '1', TOKENMETER_SOAK_FIGURES: figures },
  stdio: ['ignore', 'pipe', 'inherit'],
  detached: true,
});
let output = '';
child.stdout.on('data', (d) => {
  output += d;
  process.stdout.write(d);
});
const killGroup = (signal) => {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // gone already
  }
};
const timer = setTimeout(() => {
  console.error(`test:soak: not finished after ${LIMIT_MS / 60_000} min; killing it`);
  killGroup('SIGTERM');
  setTimeout(() => killGroup('SIGKILL'), 5000).unref();
}, LIMIT_MS);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killGroup('SIGKILL');
    process.exit(130);
  });
}
const code = await new Promise((resolve) => child.on('close', (c, s) => resolve(c ?? (s ? 128 : 1))));
clearTimeout(timer);
killGroup('SIGKILL'); // stragglers of the group (a proxy child a crashed test left behind)

const pass = Number([...output.matchAll(/^ℹ pass (\d+)$/gm)].at(-1)?.[1] ?? 0);
let fail = Number([...output.matchAll(/^ℹ fail (\d+)$/gm)].at(-1)?.[1] ?? 0);
if (code !== 0 && fail === 0) {
  fail = 1; // broke without a failing test (a crash, the time limit)
}
console.log('\n=== soak figures ===');
if (existsSync(figures)) {
  for (const line of readFileSync(figures, 'utf8').split('\n').filter(Boolean)) {
    const f = JSON.parse(line);
    console.log(`${f.name}: ${f.value}${f.unit ? ` ${f.unit}` : ''}`);
  }
}
rmSync(tmp, { recursive: true, force: true });
console.log(`(${((Date.now() - started) / 1000).toFixed(0)} s)`);
console.log(`${pass} passed, ${fail} failed`);
process.exitCode = code === 0 && fail === 0 ? 0 : 1;
