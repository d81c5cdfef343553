import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { probeTokenmeter, RemoteMirror } from '../../src/core/attach/remote';
import { RequestTracker } from '../../src/core/metrics/requestTracker';
import { ThrottleTracker } from '../../src/core/throttle/throttleTracker';
import { startStack, type Stack } from '../fixtures/stack';

const until = async (cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('a second window mirrors the proxy that holds the port', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.close();
  });

  it('probes: a Tokenmeter answers, anything else does not', async () => {
    assert.equal((await probeTokenmeter(stack.url))?.name, 'tokenmeter');
    assert.equal(await probeTokenmeter(stack.upstream.url), null, 'the upstream is not a Tokenmeter');
    assert.equal(await probeTokenmeter('http://127.0.0.1:1'), null, 'nothing listening');
  });

  it('mirrors history, live streams and completions, then reports the holder gone', async () => {
    await (await fetch(`${stack.url}/openai/v1/chat/completions`, { method: 'POST', body: '{"model":"before-attach"}' })).arrayBuffer();
    await stack.records(1);

    const mine = new RequestTracker();
    const mirror = new RemoteMirror(stack.url, mine);
    await mirror.start();
    assert.deepEqual(mine.recent().map((r) => r.model), ['before-attach'], 'the snapshot came with the hello');

    stack.upstream.next({ delayMs: 60, chunks: ['one', ' two', ' three', ' four', ' five', ' six'] });
    const streaming = fetch(`${stack.url}/openai/v1/chat/completions`, { method: 'POST', body: '{"model":"live","stream":true}' }).then((r) => r.arrayBuffer());
    await until(() => mine.activeCount === 1, 'the mirrored start');
    await until(() => (mine.get(mine.active()[0].id)?.outputTokens ?? 0) > 0, 'live token counts from api/active');
    await streaming;
    const [original] = await stack.records(1);
    await until(() => mine.activeCount === 0 && mine.totalCompleted === 2, 'the mirrored completion');
    assert.deepEqual(mine.last(), original, 'the same record, counted once');

    const t = Date.now();
    await stack.app.stop(5000);
    await Promise.race([mirror.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('closed never resolved')), 3000))]);
    assert.ok(Date.now() - t < 1000, 'the watchers\' feeds do not hold the stop for its grace period');
    await stack.app.start(); // the after() hook closes it
  });
});

describe('a mirroring window shows the holder\'s throttle section', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.close();
  });

  it('mirrors the throttle state: events, waits and headroom; its own again once the feed ends', async () => {
    const throttle = new ThrottleTracker();
    const mirror = new RemoteMirror(stack.url, new RequestTracker(), throttle);
    await mirror.start();
    const before = throttle.state().events.length;
    stack.upstream.next({
      status: 429,
      rawBody: '{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}',
      headers: { 'retry-after': '0', 'content-type': 'application/json', 'anthropic-ratelimit-requests-limit': '50', 'anthropic-ratelimit-requests-remaining': '0' },
    });
    const post = (): Promise<ArrayBuffer> =>
      fetch(`${stack.url}/anthropic/v1/messages`, { method: 'POST', headers: { 'x-session-id': 'mirror-test' }, body: '{"model":"claude-throttled","max_tokens":5,"messages":[]}' }).then((r) => r.arrayBuffer());
    await post();
    await until(() => throttle.state().events.length === before + 1, 'the mirrored throttle event');
    assert.deepEqual(throttle.throttlingProviders(), ['anthropic'], 'waiting for the client to retry, as the holder sees it');
    assert.equal(throttle.headroom().find((h) => h.provider === 'anthropic')?.lowestRemaining, 0);
    await post(); // the client's retry: the holder pairs it with the 429
    await until(() => throttle.state().events[0].retriedBy !== null, 'the mirrored retry');
    assert.deepEqual(throttle.state(), stack.app.throttle.state(), 'the holder\'s state, as it is');
    mirror.close();
    await mirror.closed;
    assert.deepEqual(throttle.state().events, [], 'its own (empty) state once the feed is gone');
  });
});
