/**
 * The proxy under soak, in a process of its own so its memory is its own: a Tokenmeter whose
 * providers all point at the upstream given on the command line. Prints `listening URL`, then
 * answers IPC messages:
 *   {type: 'stats'}  → heap/buffers after a full GC, RSS now and peak, live handles, tracker counts
 *   {type: 'close'}  → closes the Tokenmeter, then reports stats once more (what outlived it)
 * Run with --expose-gc.  Usage: node --expose-gc --import tsx test/soak/proxy-child.ts UPSTREAM_URL [DATA_DIR]
 */
import { readFileSync } from 'node:fs';
import { Tokenmeter } from '../../src/core/service';

const [upstreamUrl, dataDir] = process.argv.slice(2);
const app = new Tokenmeter({
  port: 0,
  version: 'soak',
  dataDir: dataDir || undefined,
  providers: Object.fromEntries(['openai', 'anthropic', 'gemini', 'ollama', 'openrouter'].map((n) => [n, { baseUrl: upstreamUrl }])),
  log: { info: () => undefined, warn: (m) => process.stderr.write(`${m}\n`) },
});

let peakRss = 0;
let maxActive = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  maxActive = Math.max(maxActive, app.tracker.activeCount);
}, 20);
sampler.unref();

/** The kernel's own peak (VmHWM), which catches spikes between samples. */
function kernelPeakRss(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function stats(): Record<string, unknown> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  const handles: Record<string, number> = {};
  for (const t of process.getActiveResourcesInfo()) {
    handles[t] = (handles[t] ?? 0) + 1;
  }
  return {
    heapUsed: m.heapUsed,
    arrayBuffers: m.arrayBuffers,
    external: m.external,
    rss: m.rss,
    peakRss: Math.max(peakRss, m.rss, kernelPeakRss() ?? 0),
    handles,
    completed: app.tracker.totalCompleted,
    active: app.tracker.activeCount,
    maxActive,
    errors: app.tracker.errors(1000).map((r) => r.errorCategory),
    last: app.tracker.last() ?? null,
    gc: gc !== undefined,
  };
}

process.on('message', (msg: { type: string; id: number }) => {
  if (msg.type === 'stats') {
    process.send!({ id: msg.id, ...stats() });
  } else if (msg.type === 'resetPeak') {
    maxActive = app.tracker.activeCount;
    process.send!({ id: msg.id });
  } else if (msg.type === 'close') {
    clearInterval(sampler);
    void app.close(2000).then(() => {
      // After a timer fired, it still counts as active until its callback returns: report from
      // the check phase instead.
      setTimeout(() => setImmediate(() => process.send!({ id: msg.id, ...stats() })), 50);
    });
  }
});
process.on('disconnect', () => process.exit(0));

void app.start().then((url) => process.stdout.write(`listening ${url}\n`));
