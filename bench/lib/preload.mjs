// Preloaded (`node --import`) into each proxy the bench starts, the same for every arm, so nothing
// bench-specific lives in src/. SIGUSR2 starts the event-loop delay histogram (perf_hooks, a 2 ms
// timer: ~1 % of a core, so it runs only inside measured windows); the next SIGUSR2 writes it to
// BENCH_ELD_FILE and stops it. With BENCH_LOOPBACK=1 a server that would listen on every interface
// (the peer's default) listens on 127.0.0.1 only.
import { writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.BENCH_ELD_FILE;
if (file) {
  const h = monitorEventLoopDelay({ resolution: 2 });
  let on = false;
  let seq = 0;
  process.on('SIGUSR2', () => {
    const ms = (ns) => (Number.isFinite(ns) ? ns / 1e6 : null);
    if (on) {
      h.disable();
      writeFileSync(file, JSON.stringify({ seq: ++seq, count: h.count, p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean) }));
    } else {
      h.reset();
      h.enable();
      writeFileSync(file, JSON.stringify({ seq: ++seq, armed: true }));
    }
    on = !on;
  });
}

if (process.env.BENCH_LOOPBACK === '1') {
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function (...args) {
    // listen(port[, cb]) / listen({port}) without a host binds to every interface.
    if (typeof args[0] === 'number' && (args.length === 1 || typeof args[1] === 'function')) {
      args.splice(1, 0, '127.0.0.1');
    } else if (typeof args[0] === 'object' && args[0] !== null && args[0].host === undefined && args[0].path === undefined) {
      args[0] = { ...args[0], host: '127.0.0.1' };
    }
    return listen.apply(this, args);
  };
}
