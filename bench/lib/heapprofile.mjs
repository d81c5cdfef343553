// Summarises a sampling heap profile (bench --heap-sample): bytes allocated by function, all of
// them (collected or not). With --per N, bytes per request (N: the requests the proxy recorded).
//   node bench/lib/heapprofile.mjs FILE.heapprofile [top=30] [--per N]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const perAt = args.indexOf('--per');
const per = perAt === -1 ? null : Number(args.splice(perAt, 2)[1]);
const [file, topArg] = args;
const prof = JSON.parse(readFileSync(file, 'utf8'));
const self = new Map();
let total = 0;
const walk = (n) => {
  const f = n.callFrame;
  const where = f.url ? f.url.replace(/^file:\/\//, '').replace(/.*\/(node_modules\/|src\/|dist\/)/, '$1') : '(native)';
  const key = `${f.functionName || '(anonymous)'}  ${where}:${f.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + n.selfSize);
  total += n.selfSize;
  n.children.forEach(walk);
};
walk(prof.head);
const fmt = (bytes) => (per ? `${(bytes / per).toFixed(0).padStart(7)} B/request` : `${(bytes / 1e6).toFixed(1).padStart(8)} MB`);
console.log(`allocated ${(total / 1e6).toFixed(1)} MB${per ? `, ${(total / per / 1024).toFixed(1)} KB per request over ${per} requests` : ''}`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 30))) {
  console.log(`${fmt(v)}  ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
}
