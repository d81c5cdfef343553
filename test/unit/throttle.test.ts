import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { lowestRemainingFraction, parseDurationMs, parseRateLimitHeaders, parseRetryAfterMs } from '../../src/core/throttle/rateLimitHeaders';
import { ThrottleTracker } from '../../src/core/throttle/throttleTracker';
import { startStack, type Stack } from '../fixtures/stack';

const NOW = Date.parse('2026-11-23T12:00:00Z');

describe('rate-limit headers', () => {
  it('parses OpenAI durations', () => {
    assert.equal(parseDurationMs('12ms'), 12);
    assert.equal(parseDurationMs('1s'), 1000);
    assert.equal(parseDurationMs('6m0s'), 360_000);
    assert.equal(parseDurationMs('1h2m3.5s'), 3_723_500);
    assert.equal(parseDurationMs('soon'), null);
    assert.equal(parseDurationMs('5 parsecs'), null);
  });

  it('parses retry-after as seconds, HTTP-date and retry-after-ms', () => {
    assert.equal(parseRetryAfterMs({ 'retry-after': '7' }, NOW), 7000);
    assert.equal(parseRetryAfterMs({ 'retry-after': 'Mon, 23 Nov 2026 12:00:30 GMT' }, NOW), 30_000);
    assert.equal(parseRetryAfterMs({ 'retry-after-ms': '250', 'retry-after': '1' }, NOW), 250);
    assert.equal(parseRetryAfterMs({ 'retry-after': 'whenever' }, NOW), null);
    assert.equal(parseRetryAfterMs({}, NOW), null);
  });

  it('reads OpenAI x-ratelimit-* into windows with absolute reset times', () => {
    const s = parseRateLimitHeaders(
      {
        'x-ratelimit-limit-requests': '500',
        'x-ratelimit-remaining-requests': '499',
        'x-ratelimit-reset-requests': '120ms',
        'x-ratelimit-limit-tokens': '30000',
        'x-ratelimit-remaining-tokens': '1500',
        'x-ratelimit-reset-tokens': '6m0s',
      },
      NOW,
    )!;
    const tokens = s.windows.find((w) => w.name === 'tokens')!;
    assert.deepEqual([tokens.limit, tokens.remaining, tokens.resetAt], [30000, 1500, '2026-11-23T12:06:00.000Z']);
    assert.equal(s.windows.find((w) => w.name === 'requests')!.resetAt, '2026-11-23T12:00:00.120Z');
    assert.equal(lowestRemainingFraction(s), 0.05);
  });

  it('reads Anthropic API-key and unified subscription headers', () => {
    const s = parseRateLimitHeaders(
      {
        'anthropic-ratelimit-requests-limit': '50',
        'anthropic-ratelimit-requests-remaining': '49',
        'anthropic-ratelimit-requests-reset': '2026-11-23T12:00:05Z',
        'anthropic-ratelimit-input-tokens-limit': '40000',
        'anthropic-ratelimit-input-tokens-remaining': '39000',
        'anthropic-ratelimit-unified-status': 'allowed_warning',
        'anthropic-ratelimit-unified-5h-utilization': '0.93',
        'anthropic-ratelimit-unified-5h-reset': '1795435200',
        'anthropic-ratelimit-unified-7d-utilization': '41',
        'anthropic-ratelimit-unified-representative-claim': 'five_hour',
      },
      NOW,
    )!;
    const byName = Object.fromEntries(s.windows.map((w) => [w.name, w]));
    assert.equal(byName['input-tokens'].remaining, 39000);
    assert.equal(byName.requests.resetAt, '2026-11-23T12:00:05.000Z');
    assert.equal(byName.unified.status, 'allowed_warning');
    assert.equal(byName['unified-5h'].utilization, 0.93);
    assert.equal(byName['unified-5h'].resetAt, new Date(1795435200 * 1000).toISOString());
    assert.equal(byName['unified-7d'].utilization, 0.41, 'a percentage becomes a fraction');
    assert.ok(Math.abs(lowestRemainingFraction(s)! - 0.07) < 1e-9);
  });

  it('returns null when a response carries no rate-limit information', () => {
    assert.equal(parseRateLimitHeaders({ 'content-type': 'application/json' }, NOW), null);
  });
});

describe('ThrottleTracker', () => {
  it('measures the gap until the retry of the same provider, model and session, capped', () => {
    let t = 1000;
    const tracker = new ThrottleTracker(10_000, () => t);
    tracker.onResponse('r1', 'anthropic', 'claude', 's1', 429, { 'retry-after': '2' });
    assert.deepEqual(tracker.throttlingProviders(), ['anthropic']);
    t += 500;
    assert.equal(tracker.onRequest('x', 'anthropic', 'claude', 's2', ), 0, 'another session is not the retry');
    assert.equal(tracker.onRequest('x', 'anthropic', 'other-model', 's1'), 0, 'another model is not the retry');
    t += 1600;
    assert.equal(tracker.onRequest('r2', 'anthropic', 'claude', 's1'), 2100);
    assert.equal(tracker.onRequest('r3', 'anthropic', 'claude', 's1'), 0, 'counted once');
    const state = tracker.state();
    assert.equal(state.events[0].waitMs, 2100);
    assert.equal(state.events[0].retriedBy, 'r2');
    assert.deepEqual(state.waitMsByProvider, { anthropic: 2100 });
    assert.deepEqual(state.throttling, []);

    tracker.onResponse('r4', 'openai', 'gpt', null, 529, {});
    t += 20_000;
    assert.equal(tracker.onRequest('r5', 'openai', 'gpt', null), 0, 'a retry past the cap is not waiting time');
    assert.equal(tracker.state().events[0].waitMs, null);
  });

  it('does not treat a successful response as a throttle, but keeps its headroom', () => {
    const tracker = new ThrottleTracker();
    tracker.onResponse('r', 'openai', 'gpt', null, 200, { 'x-ratelimit-limit-requests': '10', 'x-ratelimit-remaining-requests': '0' });
    assert.equal(tracker.state().events.length, 0);
    assert.equal(tracker.headroom()[0].lowestRemaining, 0);
  });
});

describe('throttle wait through the proxy', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.close();
  });

  it('adds the gap between a 429 and the client retry to the retry record', async () => {
    const body = JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    const headers = { 'content-type': 'application/json', 'x-claude-code-session-id': 'sess-1' };
    stack.upstream.next({ status: 429, rawBody: '{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}', headers: { 'retry-after': '0', 'content-type': 'application/json' } });
    const first = await fetch(`${stack.url}/anthropic/v1/messages`, { method: 'POST', headers, body });
    assert.equal(first.status, 429);
    await first.arrayBuffer();
    await new Promise((r) => setTimeout(r, 120));
    const retry = await fetch(`${stack.url}/anthropic/v1/messages`, { method: 'POST', headers, body });
    await retry.arrayBuffer();
    const [throttled, retried] = await stack.records(2);
    assert.equal(throttled.errorCategory, 'rate_limit');
    assert.equal(throttled.throttleWaitTimeMs, 0);
    assert.ok(retried.throttleWaitTimeMs >= 120 && retried.throttleWaitTimeMs < 400, `wait ${retried.throttleWaitTimeMs}`);
    const state = (await (await fetch(`${stack.url}/_tokenmeter/api/throttle`)).json()) as { events: { waitMs: number; retriedBy: string }[] };
    assert.equal(state.events[0].waitMs, retried.throttleWaitTimeMs);
    assert.equal(state.events[0].retriedBy, retried.id);
  });
});

describe('opt-in proxy-side retry', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
    stack.app.proxy.retry.maxRetries = 2;
    stack.app.proxy.retry.maxWaitMs = 1000;
  });
  after(async () => {
    await stack.close();
  });

  const ask = (): Promise<Response> =>
    fetch(`${stack.url}/openai/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"gpt-retry"}' });

  it('waits out retry-after before any byte reaches the client, and records the exact wait once', async () => {
    const sentBefore = stack.upstream.exchanges.length;
    stack.upstream.next({ status: 429, rawBody: '{"error":{"message":"slow down"}}', headers: { 'retry-after-ms': '150', 'content-type': 'application/json' } });
    stack.upstream.next({ firstDelayMs: 5, usage: { input: 3, output: 6 } });
    const res = await ask();
    const body = Buffer.from(await res.arrayBuffer());
    const [r] = await stack.records(1);
    assert.equal(res.status, 200);
    assert.equal(stack.upstream.exchanges.length - sentBefore, 2, 'two attempts upstream');
    assert.deepEqual(body, stack.upstream.exchanges.at(-1)!.sent, 'the client got only the answer of the retry');
    assert.equal(r.status, 200);
    assert.equal(r.errorCategory, null);
    assert.ok(r.throttleWaitTimeMs >= 150 && r.throttleWaitTimeMs < 300, `wait ${r.throttleWaitTimeMs}`);
    assert.ok(r.ttftMs! < 100, `TTFT of the answering attempt, not of the whole wait: ${r.ttftMs}`);
    assert.equal(stack.app.tracker.activeCount, 0);
    assert.equal(stack.app.throttle.state().events[0].waitMs, r.throttleWaitTimeMs);
  });

  it('passes the 429 on when retry-after is longer than the limit', async () => {
    stack.upstream.next({ status: 429, rawBody: '{"error":{"message":"much later"}}', headers: { 'retry-after': '60', 'content-type': 'application/json' } });
    const res = await ask();
    assert.equal(res.status, 429);
    assert.equal(await res.text(), '{"error":{"message":"much later"}}');
    const [r] = await stack.records(1);
    assert.deepEqual([r.status, r.errorCategory, r.throttleWaitTimeMs], [429, 'rate_limit', 0]);
  });

  it('gives up after maxRetries and relays the last answer', async () => {
    for (let i = 0; i < 3; i++) {
      stack.upstream.next({ status: 529, rawBody: `{"attempt":${i}}`, headers: { 'retry-after-ms': '20', 'content-type': 'application/json' } });
    }
    const res = await ask();
    assert.equal(res.status, 529);
    assert.equal(await res.text(), '{"attempt":2}');
    const [r] = await stack.records(1);
    assert.equal(r.errorCategory, 'overloaded');
    assert.ok(r.throttleWaitTimeMs >= 40, `two waits of 20 ms: ${r.throttleWaitTimeMs}`);
  });
});
