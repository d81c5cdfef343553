/**
 * Soak: 10,000 requests of every API, then 1,000 streams in flight at once, against a proxy in a
 * process of its own. Requests seen by the upstream = records = answers received; memory comes
 * back to its baseline; no socket or timer outlives the proxy. Every loop is bounded in count and
 * in time.
 */
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { mixedRequest, runLoad, sleep, until } from '../fixtures/reliability';
import { startUpstream, type Upstream } from '../fixtures/upstream';
import { figure, mb, MB, startProxyChild, type ChildStats, type ProxyChild } from './lib';

const REQUESTS = 10_000;
const STREAMS = 1_000;

describe('soak: load', { timeout: 10 * 60_000 }, () => {
  let upstream: Upstream;
  let proxy: ProxyChild;
  let baseline: ChildStats;
  let peakRss = 0;
  before(async () => {
    upstream = await startUpstream();
    proxy = await startProxyChild(upstream.url);
  });
  after(async () => {
    await proxy.kill();
    await upstream.close();
  });

  it(`${REQUESTS.toLocaleString('en')} requests: upstream = records = answers`, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    try {
      upstream.setDefault({ delayMs: 1 });
      // Warm-up: the recent-request rings fill, every provider/model roll-up and metric series
      // exists. From here on, memory that grows with the number of requests is a leak.
      await runLoad(proxy.url, 1000, 32, mixedRequest, { agent });
      upstream.exchanges.splice(0);
      baseline = await proxy.stats();
      assert.ok(baseline.gc, 'the proxy child runs with --expose-gc');
      figure('RSS of the proxy after warm-up (tsx-compiled, so more than the bundled CLI)', mb(baseline.rss), 'MB');
      const seen0 = upstream.exchanges.length;
      const r = await runLoad(proxy.url, REQUESTS, 64, mixedRequest, { agent, stopAfterMs: 5 * 60_000 });
      const s = await proxy.stats();
      peakRss = Math.max(peakRss, s.peakRss);
      const seen = upstream.exchanges.length - seen0;
      figure('requests', r.completed);
      figure('requests per second', Math.round(r.completed / (r.ms / 1000)));
      assert.equal(r.sent, REQUESTS, 'all sent within the time bound');
      assert.deepEqual([r.completed, r.failed, r.byStatus[200]], [REQUESTS, 0, REQUESTS]);
      assert.equal(seen, REQUESTS, 'requests seen by the upstream');
      assert.equal(s.completed - baseline.completed, REQUESTS, 'records');
      assert.equal(s.active, 0);
      assert.deepEqual(s.errors.filter((e) => e !== null), [], 'no error records');
      upstream.exchanges.splice(0); // the fixture's log is the test's memory, not the proxy's
    } finally {
      agent.destroy();
    }
  });

  it(`${STREAMS.toLocaleString('en')} concurrent streams: all in flight at once, all complete, all recorded`, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: STREAMS + 50 });
    try {
      // The upstream holds every stream until all of them have arrived, then streams 40 events
      // 20 ms apart: all 1,000 are in flight at once however slow the machine.
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      upstream.setDefault({ gate, delayMs: 20, chunks: Array.from({ length: 40 }, (_, i) => `tok${i} `) });
      await proxy.resetPeak();
      const before = await proxy.stats();
      const seen0 = upstream.exchanges.length;
      const streamKinds = [1, 2, 3, 4]; // chat, Anthropic, Responses, Gemini — all streaming
      const load = runLoad(proxy.url, STREAMS, STREAMS, (i) => mixedRequest(streamKinds[i % 4] + 6 * i), { agent, stopAfterMs: 5 * 60_000, timeoutMs: 180_000 });
      await until(() => upstream.exchanges.length - seen0 >= STREAMS, `${STREAMS} streams at the upstream`, 120_000, 20);
      const inFlight = await proxy.stats();
      open();
      const r = await load;
      const s = await proxy.stats();
      peakRss = Math.max(peakRss, s.peakRss);
      figure('concurrent streams', inFlight.active);
      assert.equal(inFlight.active, STREAMS, 'streams in flight at the proxy at once');
      assert.deepEqual([r.completed, r.failed, r.byStatus[200]], [STREAMS, 0, STREAMS]);
      assert.equal(upstream.exchanges.length - seen0, STREAMS, 'streams seen by the upstream');
      assert.equal(s.completed - before.completed, STREAMS, 'records');
      assert.equal(s.active, 0);
      upstream.exchanges.splice(0);
    } finally {
      agent.destroy();
    }
  });

  it('memory comes back to the baseline and stays flat; nothing outlives the proxy', async () => {
    await sleep(500); // the client sockets' close reaches the proxy
    const afterLoad = await proxy.stats();
    const heap = (x: ChildStats): number => x.heapUsed + x.arrayBuffers;
    // Two more rounds: by design the dashboard keeps the session's last 20,000 chart points and the
    // last 200 records, so memory may grow until those are full, and must be flat after that.
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    const plateau: number[] = [];
    try {
      upstream.setDefault({ delayMs: 1 });
      for (let round = 0; round < 2; round++) {
        const r = await runLoad(proxy.url, REQUESTS, 64, mixedRequest, { agent, stopAfterMs: 5 * 60_000 });
        assert.deepEqual([r.completed, r.byStatus[200]], [REQUESTS, REQUESTS]);
        upstream.exchanges.splice(0);
        plateau.push(heap(await proxy.stats()));
      }
    } finally {
      agent.destroy();
    }
    await sleep(500);
    const s = await proxy.stats();
    peakRss = Math.max(peakRss, s.peakRss);
    const total = s.completed;
    const grew = heap(afterLoad) - heap(baseline);
    const lastRound = plateau[1] - plateau[0];
    figure('requests in all', total);
    figure('peak RSS of the proxy', mb(peakRss), 'MB');
    figure('heap + buffers after 10,000 requests and 1,000 streams vs baseline', `${grew >= 0 ? '+' : ''}${mb(grew)}`, 'MB');
    figure('heap + buffers over the last 10,000 requests (bounded caches full)', `${lastRound >= 0 ? '+' : ''}${mb(lastRound)}`, 'MB');
    assert.ok(grew < 8 * MB, `heap + buffers after GC grew ${mb(grew)} MB over ${REQUESTS + STREAMS} requests`);
    assert.ok(lastRound < 1.5 * MB, `heap + buffers grew ${mb(lastRound)} MB over 10,000 more requests with every bounded cache full: a leak of ${Math.round(lastRound / REQUESTS)} bytes a request`);
    assert.ok(heap(s) - heap(baseline) < 12 * MB, `${mb(heap(s) - heap(baseline))} MB above the baseline after ${total} requests`);
    assert.ok((s.handles.Timeout ?? 0) <= (baseline.handles.Timeout ?? 0) + 2, `timers: ${baseline.handles.Timeout} → ${s.handles.Timeout}`);
    const left = await proxy.close();
    assert.deepEqual(
      Object.entries(left.handles).filter(([k, n]) => ['TCPSocketWrap', 'TCPServerWrap', 'Timeout', 'Immediate'].includes(k) && n > 0),
      [],
      `handles alive after close: ${JSON.stringify(left.handles)}`,
    );
  });
});
