// How fast this core is right now: a fixed piece of CPU work (JSON text of a chunk-sized object,
// parsed and written back), timed in 40 ms slices; prints the median µs per 1,000 iterations.
// The bench runs it on the proxies' core at start and end: a shared VM's neighbours slow every
// arm alike, and this says by how much (lower is faster).
//   taskset -c 1 node bench/lib/speedcheck.mjs
const chunk = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-x', choices: [{ index: 0, delta: { content: ' speed' }, finish_reason: null }] };
const text = JSON.stringify(chunk);
let sink = 0;
const unit = () => {
  for (let i = 0; i < 1000; i++) {
    sink += JSON.stringify(JSON.parse(text)).length;
  }
};
for (let i = 0; i < 20; i++) {
  unit(); // warm up the JIT
}
const slices = [];
for (let s = 0; s < 15; s++) {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 40) {
    unit();
    n++;
  }
  slices.push(((performance.now() - t0) * 1000) / n);
}
slices.sort((a, b) => a - b);
process.stdout.write(`${JSON.stringify({ usPer1000: Math.round(slices[7]), min: Math.round(slices[0]), max: Math.round(slices[14]), sink: sink > 0 })}\n`);
