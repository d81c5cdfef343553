// Summarises a V8 .cpuprofile (from `--cpu-prof`): self time by function and by file, top N.
//   node bench/lib/cpuprofile.mjs FILE.cpuprofile [N]
import { readFileSync } from 'node:fs';

//   node bench/lib/cpuprofile.mjs FILE.cpuprofile N --under NAME   (what NAME's time is spent on)
const [file, topArg, flag, underName] = process.argv.slice(2);
const top = Number(topArg ?? 30);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const dt = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i];
  dt.set(id, (dt.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
}
const total = [...dt.values()].reduce((a, b) => a + b, 0);
const self = new Map();
const files = new Map();
for (const [id, us] of dt) {
  const n = byId.get(id);
  const f = n.callFrame;
  const where = f.url ? f.url.replace(/^file:\/\//, '').replace(/.*\/(node_modules\/|src\/|dist\/)/, '$1') : '(native)';
  const key = `${f.functionName || '(anonymous)'}  ${where}:${f.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + us);
  files.set(where, (files.get(where) ?? 0) + us);
}
const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
console.log(`total sampled ${(total / 1e6).toFixed(2)} s`);
console.log('\nself time by function:');
for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${pct(us)}  ${k}`);
}
// Inclusive time: a function's own samples plus those of everything it called (counted once per
// sample even when the function recurses).
const parent = new Map();
for (const n of prof.nodes) {
  for (const c of n.children ?? []) {
    parent.set(c, n.id);
  }
}
const incl = new Map();
for (const [id, us] of dt) {
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const f = byId.get(cur).callFrame;
    const key = `${f.functionName || '(anonymous)'}  ${f.url ? f.url.replace(/^file:\/\//, '').replace(/.*\/(node_modules\/|src\/|dist\/)/, '$1') : '(native)'}:${f.lineNumber + 1}`;
    if (!seen.has(key)) {
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + us);
    }
  }
}
const busy = total - (self.get('(idle)  (native):0') ?? 0);
console.log(`\nbusy (not idle) ${(busy / 1e6).toFixed(2)} s; inclusive time as a share of busy time:`);
for (const [k, us] of [...incl].filter(([k]) => !k.startsWith('(root)') && !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${((100 * us) / busy).toFixed(1).padStart(5)} %  ${k}`);
}
console.log('\nself time by file:');
for (const [k, us] of [...files].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
  console.log(`${pct(us)}  ${k}`);
}

if (flag === '--under' && underName) {
  // Each sample below a frame called NAME is charged to NAME's direct callee (or to NAME itself).
  const label = (id) => {
    const f = byId.get(id).callFrame;
    return `${f.functionName || '(anonymous)'}  ${f.url ? f.url.replace(/^file:\/\//, '').replace(/.*\/(node_modules\/|src\/|dist\/)/, '$1') : '(native)'}:${f.lineNumber + 1}`;
  };
  const under = new Map();
  let all = 0;
  for (const [id, us] of dt) {
    let child = null;
    for (let cur = id; cur !== undefined; child = cur, cur = parent.get(cur)) {
      if (byId.get(cur).callFrame.functionName === underName) {
        const k = child === null ? `(self) ${label(cur)}` : label(child);
        under.set(k, (under.get(k) ?? 0) + us);
        all += us;
        break;
      }
    }
  }
  console.log(`\nunder ${underName}: ${(all / 1e3).toFixed(0)} ms (${((100 * all) / busy).toFixed(1)} % of busy)`);
  for (const [k, us] of [...under].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * us) / busy).toFixed(1).padStart(5)} %  ${k}`);
  }
}
