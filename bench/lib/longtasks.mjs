// Long stretches of busy time in a V8 .cpuprofile (from `--cpu-prof`): what blocks the event loop.
// Consecutive samples that are not (idle) form one stretch; stretches longer than the threshold are
// listed with the functions that took most of their samples (self time and the stacks' roots).
//   node bench/lib/longtasks.mjs FILE.cpuprofile [thresholdUs=500] [top=25]
import { readFileSync } from 'node:fs';

const [file, thresholdArg, topArg] = process.argv.slice(2);
const threshold = Number(thresholdArg ?? 500);
const top = Number(topArg ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) {
  for (const c of n.children ?? []) {
    parent.set(c, n.id);
  }
}
const name = (id) => {
  const f = byId.get(id).callFrame;
  const where = f.url ? f.url.replace(/^file:\/\//, '').replace(/.*\/(node_modules\/|src\/|dist\/)/, '$1') : '';
  return `${f.functionName || '(anonymous)'}${where ? ` ${where}:${f.lineNumber + 1}` : ''}`;
};
/** The frames of a sample from the root, skipping (root). */
const stack = (id) => {
  const out = [];
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    out.push(cur);
  }
  return out.reverse().slice(1);
};
const idle = new Set(prof.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));

const stretches = [];
let cur = null;
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i];
  const dt = prof.timeDeltas[i + 1] ?? 0; // time until the next sample: this sample's share
  if (idle.has(id)) {
    if (cur) {
      stretches.push(cur);
    }
    cur = null;
    continue;
  }
  cur ??= { us: 0, samples: [] };
  cur.us += dt;
  cur.samples.push([id, dt]);
}
if (cur) {
  stretches.push(cur);
}
const busy = stretches.reduce((a, s) => a + s.us, 0);
const long = stretches.filter((s) => s.us >= threshold);
const longUs = long.reduce((a, s) => a + s.us, 0);
const hist = [500, 1000, 2000, 5000, 10000].map((t) => `≥${t / 1000} ms: ${stretches.filter((s) => s.us >= t).length}`).join(', ');
console.log(`${stretches.length} busy stretches, ${(busy / 1e6).toFixed(2)} s busy; ${long.length} of ≥ ${threshold} µs take ${(longUs / 1e6).toFixed(3)} s (${hist})`);

// What the long stretches are made of: by the function under the stack's root, and by self time.
const roots = new Map();
const selfs = new Map();
for (const s of long) {
  for (const [id, dt] of s.samples) {
    const frames = stack(id);
    const rootKey = frames.slice(0, 3).map(name).join(' > ') || name(id);
    roots.set(rootKey, (roots.get(rootKey) ?? 0) + dt);
    selfs.set(name(id), (selfs.get(name(id)) ?? 0) + dt);
  }
}
const pct = (us) => `${((100 * us) / Math.max(1, longUs)).toFixed(1).padStart(5)} %`;
console.log('\nlong stretches by entry (first three frames):');
for (const [k, us] of [...roots].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${pct(us)}  ${k}`);
}
console.log('\nlong stretches by self time:');
for (const [k, us] of [...selfs].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${pct(us)}  ${k}`);
}
console.log('\nthe 10 longest:');
for (const s of [...long].sort((a, b) => b.us - a.us).slice(0, 10)) {
  const own = new Map();
  for (const [id, dt] of s.samples) {
    const frames = stack(id).map(name);
    // the deepest frame of ours (dist/ or src/) or else the deepest frame
    const mine = [...frames].reverse().find((f) => /dist\/|src\//.test(f)) ?? frames.at(-1) ?? name(id);
    own.set(mine, (own.get(mine) ?? 0) + dt);
  }
  const parts = [...own].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, us]) => `${k} ${(us / 1000).toFixed(2)} ms`);
  console.log(`${(s.us / 1000).toFixed(2)} ms: ${parts.join('; ')}`);
}
