/**
 * Soak: the large and slow faults at full size, against a proxy in a process of its own. A client
 * that stops reading while the upstream writes 100 MB holds the upstream back and the proxy's
 * memory flat; a single SSE event larger than the scanner's line limit passes whole.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { raw, sleep } from '../fixtures/reliability';
import { startUpstream, type Upstream } from '../fixtures/upstream';
import { figure, mb, MB, startProxyChild, type ChildStats, type ProxyChild } from './lib';

const heap = (s: ChildStats): number => s.heapUsed + s.arrayBuffers;

describe('soak: slow client and huge events', { timeout: 10 * 60_000 }, () => {
  let upstream: Upstream;
  let proxy: ProxyChild;
  before(async () => {
    upstream = await startUpstream();
    proxy = await startProxyChild(upstream.url);
  });
  after(async () => {
    await proxy.kill();
    await upstream.close();
  });

  for (const asked of [true, false]) {
    it(`100 MB to a client that stops reading: the upstream is held back, the proxy's memory stays flat (${asked ? 'relayed as is' : 'through the usage filter'})`, async () => {
      const total = 100 * MB;
      const base = await proxy.stats();
      upstream.next({ bulk: { bytes: total, eventBytes: 32 * 1024 } });
      const body = JSON.stringify({ model: 'bulk', messages: [], stream: true, ...(asked && { stream_options: { include_usage: true } }) });
      const u = new URL(proxy.url);
      const req = httpRequest({ host: u.hostname, port: u.port, path: '/openai/v1/chat/completions', method: 'POST', agent: false, headers: { 'content-type': 'application/json' } });
      req.end(body);
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      const hash = createHash('sha256');
      let received = 0;
      res.on('data', (c: Buffer) => {
        received += c.length;
        hash.update(c);
      });
      const ex = () => upstream.exchanges.at(-1)!;
      // Read 10 MB, then stop reading for a while, three times: the proxy must hold the upstream back each time.
      let worstInFlight = 0;
      let worstHeap = 0;
      for (let pause = 0; pause < 3; pause++) {
        await new Promise<void>((resolve) => {
          const check = (): void => {
            if (received >= (pause + 1) * 10 * MB) {
              res.off('data', check);
              res.pause();
              resolve();
            }
          };
          res.on('data', check);
        });
        let last = -1;
        while (ex().sentBytes !== last) {
          last = ex().sentBytes;
          await sleep(200);
        }
        worstInFlight = Math.max(worstInFlight, ex().sentBytes - received);
        worstHeap = Math.max(worstHeap, heap(await proxy.stats()) - heap(base));
        res.resume();
      }
      await once(res, 'end');
      await sleep(100);
      const s = await proxy.stats();
      figure(`slow client (${asked ? 'as is' : 'filtered'}): most bytes in flight while paused`, mb(worstInFlight), 'MB');
      figure(`slow client (${asked ? 'as is' : 'filtered'}): proxy heap + buffers above baseline while paused`, mb(worstHeap), 'MB');
      figure(`slow client (${asked ? 'as is' : 'filtered'}): proxy peak RSS`, mb(s.peakRss), 'MB');
      assert.ok(worstInFlight < 24 * MB, `${mb(worstInFlight)} MB written upstream beyond what the client read`);
      assert.ok(worstHeap < 16 * MB, `the proxy's heap + buffers grew ${mb(worstHeap)} MB while the client was not reading`);
      assert.ok(ex().sentBytes >= total);
      if (asked) {
        assert.equal(received, ex().sentBytes);
        assert.equal(hash.digest('hex'), ex().sentSha256, '100 MB byte for byte');
      } else {
        assert.ok(received > total * 0.99 && received < ex().sentBytes);
      }
      assert.equal(s.completed - base.completed, 1, 'one record');
      assert.equal(s.errors.length, base.errors.length, 'no error record');
    });
  }

  it('a single 12 MB SSE event (over the scanner\'s 8 MB line limit) passes whole; the proxy keeps measuring', async () => {
    const base = await proxy.stats();
    const big = 'q'.repeat(12 * MB);
    upstream.next({ chunks: ['a', big, 'b'], usage: { input: 4, output: 9 } });
    const res = await raw(proxy.url, '/anthropic/v1/messages', { body: JSON.stringify({ model: 'claude-opus-4-1', max_tokens: 9, messages: [], stream: true }), timeoutMs: 60_000 });
    const sent = upstream.exchanges.at(-1)!.sent;
    assert.equal(res.body.length, sent.length);
    assert.ok(res.body.equals(sent), 'byte for byte');
    await sleep(100);
    const s = await proxy.stats();
    assert.equal(s.completed - base.completed, 1);
    // The output count arrives in an event after the oversized one: the scanner found its feet again.
    assert.deepEqual([s.last?.inputTokens, s.last?.outputTokens, s.last?.estimated, s.last?.errorCategory], [4, 9, false, null]);
    figure('largest single SSE event relayed', mb(big.length), 'MB');
    upstream.next({});
    const after = await raw(proxy.url, '/openai/v1/chat/completions', { body: '{"model":"m"}' });
    assert.equal(after.status, 200);
  });
});
