/**
 * Load, at a size that fits `npm test` (`npm run test:soak` runs 10,000 requests and 1,000
 * concurrent streams against a proxy in a process of its own): every request seen by the upstream
 * is one record and one answer at the client, nothing stays in flight, memory comes back, and
 * no socket or timer outlives the proxy. A live-feed watcher that stops reading must not make the
 * proxy buffer without bound.
 */
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import * as net from 'node:net';
import { describe, it } from 'node:test';
import { LineScanner } from '../../src/core/proxy/ndjson';
import { SseScanner } from '../../src/core/proxy/sse';
import { StreamUsageFilter } from '../../src/core/proxy/streamUsage';
import { Tokenmeter } from '../../src/core/service';
import { makeActive, makeRecord } from '../fixtures/records';
import { handleCounts, mixedRequest, runLoad, settledMemory, sleep, until } from '../fixtures/reliability';
import { startStack } from '../fixtures/stack';

const MB = 1024 * 1024;

describe('load', { timeout: 120_000 }, () => {
  it('1,000 mixed requests and 200 concurrent streams: upstream = records = answers; no leak', async () => {
    const handlesBefore = handleCounts();
    const stack = await startStack();
    const agent = new Agent({ keepAlive: true, maxSockets: 256 });
    let memBefore = 0;
    try {
      stack.upstream.setDefault({ delayMs: 1 });
      // Warm-up: connections, JIT, the first records; then the baseline.
      await runLoad(stack.url, 60, 10, mixedRequest, { agent });
      await until(() => stack.app.tracker.activeCount === 0, 'warm-up done');
      const m0 = settledMemory();
      memBefore = m0.heapUsed + m0.arrayBuffers;
      const seen0 = stack.upstream.exchanges.length;
      const records0 = stack.app.tracker.totalCompleted;

      const requests = await runLoad(stack.url, 1000, 32, mixedRequest, { agent });
      // The upstream holds the streams until all 200 are in flight, then lets them run.
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      stack.upstream.setDefault({ gate, delayMs: 10, chunks: Array.from({ length: 20 }, (_, i) => `token ${i} `) });
      const streaming = runLoad(stack.url, 200, 200, (i) => mixedRequest(i * 6 + 1), { agent });
      await until(() => stack.upstream.exchanges.length - seen0 === 1200, '200 streams at the upstream', 20_000);
      assert.equal(stack.app.tracker.activeCount, 200, 'streams in flight at once');
      open();
      const streams = await streaming;
      await until(() => stack.app.tracker.activeCount === 0, 'nothing in flight', 10_000);

      assert.deepEqual([requests.completed, requests.failed, requests.byStatus[200]], [1000, 0, 1000]);
      assert.deepEqual([streams.completed, streams.failed, streams.byStatus[200]], [200, 0, 200]);
      const seen = stack.upstream.exchanges.length - seen0;
      const recorded = stack.app.tracker.totalCompleted - records0;
      assert.equal(seen, 1200, 'requests seen by the upstream');
      assert.equal(recorded, 1200, 'records');
      assert.equal(stack.app.tracker.errors().filter((r) => r.errorCategory !== null).length, 0, 'no error records');

      stack.upstream.exchanges.splice(0); // the fixture's own log is not the proxy's memory
      const m1 = settledMemory();
      const grew = m1.heapUsed + m1.arrayBuffers - memBefore;
      assert.ok(grew < 24 * MB, `heap + buffers grew ${(grew / MB).toFixed(1)} MB over 1,200 requests`);
    } finally {
      agent.destroy();
      await stack.close();
    }
    // Everything the proxy and the fixtures opened is closed again.
    await sleep(50);
    const after = handleCounts();
    for (const kind of ['TCPSocketWrap', 'TCPServerWrap', 'Timeout']) {
      assert.ok((after[kind] ?? 0) <= (handlesBefore[kind] ?? 0), `${kind}: ${handlesBefore[kind] ?? 0} before, ${after[kind] ?? 0} after`);
    }
  });

  it('a live-feed watcher that stops reading does not make the proxy buffer without bound', async () => {
    const app = new Tokenmeter({ port: 0, version: 't' });
    const url = new URL(await app.start());
    // A watcher that sends its request and then never reads (a paused window, a frozen tab).
    const watcher = net.connect(Number(url.port), '127.0.0.1');
    watcher.pause();
    try {
      await new Promise<void>((r) => watcher.once('connect', () => r()));
      watcher.write(`GET /_tokenmeter/events HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
      await until(() => app.tracker.listenerCount('completed') > 0, 'the feed subscribed');
      const base = settledMemory();
      // 40,000 requests' worth of events (about 40 MB of feed) while it reads nothing.
      for (let i = 0; i < 40_000; i++) {
        const a = makeActive({ id: `feed-${i}` });
        app.tracker.start(a);
        app.tracker.end(makeRecord({ id: a.id, model: `model-${i % 50}` }));
        if (i % 2000 === 0) {
          await sleep(1); // let the socket flush what it can, as the event loop would between requests
        }
      }
      await sleep(50);
      const held = settledMemory();
      const grew = held.heapUsed + held.arrayBuffers - (base.heapUsed + base.arrayBuffers);
      assert.ok(grew < 16 * MB, `the proxy holds ${(grew / MB).toFixed(1)} MB of feed for a watcher that reads nothing`);
      const health = await fetch(`${url.origin}/_tokenmeter/health`);
      assert.equal(health.status, 200, 'the proxy still serves');
    } finally {
      watcher.destroy();
      await app.close(100);
    }
  });

  it('one multi-megabyte event in small chunks costs time linear in its size, not quadratic', () => {
    // A Responses API `response.completed` repeats the whole output in one event; arriving in
    // 1,460-byte segments, a rescan of the pending line per chunk would block the relay for seconds.
    const line = Buffer.from(`event: response.completed\ndata: {"type":"response.completed","text":"${'x'.repeat(4 * MB)}"}\n\n`);
    const piece = 1460;
    const budgetMs = 1500; // linear: ~50 ms here; quadratic: 5-13 s
    const scanners: [string, (b: Buffer) => void, () => void][] = [];
    const events: string[] = [];
    const sse = new SseScanner((e) => events.push(e));
    scanners.push(['SseScanner', (b) => sse.push(b), () => sse.end()]);
    const ndjson = new LineScanner((e) => events.push(e));
    scanners.push(['LineScanner', (b) => ndjson.push(b), () => ndjson.end()]);
    const filter = new StreamUsageFilter();
    let filtered = 0;
    scanners.push(['StreamUsageFilter', (b) => void (filtered += filter.push(b).length), () => void (filtered += filter.end().length)]);
    for (const [name, push, end] of scanners) {
      const t0 = performance.now();
      for (let i = 0; i < line.length; i += piece) {
        push(line.subarray(i, i + piece));
        assert.ok(performance.now() - t0 < budgetMs, `${name}: ${(i / MB).toFixed(2)} MB of a 4 MB event took over ${budgetMs} ms`);
      }
      end();
    }
    assert.deepEqual(events, ['response.completed', 'line', 'line'], 'the event was still read');
    assert.equal(filtered, line.length, 'and relayed whole');
  });
});
