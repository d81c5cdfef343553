import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ERROR_CATEGORIES,
  RELATIVE_ACCURACY,
  RequestTracker,
  SummaryMetrics,
  splitKey,
  modelKey,
  type ErrorCategory,
  type RequestRecord,
} from '../../src/core/metrics';
import { makeActive, makeRecord } from '../fixtures/records';

const record = (over: Partial<RequestRecord> = {}): RequestRecord => makeRecord({ cacheReadTokens: 10, cacheCreationTokens: 5, ...over });

const active = makeActive;

const near = (actual: number | null, expected: number): boolean =>
  actual !== null && Math.abs(actual - expected) <= RELATIVE_ACCURACY * expected * (1 + 1e-9);

describe('SummaryMetrics: sections per provider:model', () => {
  it('splits streaming and non-streaming requests and adds them up in total', () => {
    const s = new SummaryMetrics();
    s.add(record({ streaming: true, inputTokens: 100, outputTokens: 50, toolUses: 2, throttleWaitTimeMs: 300 }));
    s.add(record({ streaming: false, inputTokens: 7, outputTokens: 3, toolResults: 1, toolCalls: 4, estimated: true }));
    const m = s.runningTotals().providers.openai.models['gpt-4o'];
    assert.equal(m.streaming.requests, 1);
    assert.equal(m.nonStreaming.requests, 1);
    assert.equal(m.total.requests, 2);
    assert.equal(m.streaming.inputTokens, 100);
    assert.equal(m.nonStreaming.inputTokens, 7);
    assert.equal(m.total.inputTokens, 107);
    assert.equal(m.total.outputTokens, 53);
    assert.equal(m.total.cacheReadTokens, 20);
    assert.equal(m.total.cacheCreationTokens, 10);
    assert.equal(m.total.toolUses, 2);
    assert.equal(m.total.toolResults, 1);
    assert.equal(m.total.toolCalls, 4);
    assert.equal(m.total.throttleWaitMs, 300);
    assert.equal(m.streaming.throttleWaitMs, 300);
    assert.equal(m.nonStreaming.estimatedRequests, 1);
    assert.equal(m.total.durationMs, 2000);
    assert.equal(m.total.avgDurationMs, 1000);
  });

  it('does not count unknown (null) values as 0, in sums, averages or quantiles', () => {
    const s = new SummaryMetrics();
    s.add(record({ ttftMs: 1000, durationMs: 3000, outputTokensPerSecond: 50 }));
    s.add(record({ ttftMs: null, durationMs: null, outputTokensPerSecond: null, inputTokens: null, outputTokens: null }));
    const t = s.runningTotals().providers.openai.models['gpt-4o'].total;
    assert.equal(t.requests, 2);
    assert.equal(t.inputTokens, 100);
    assert.equal(t.durationMs, 3000);
    assert.equal(t.avgDurationMs, 3000, 'the average is over requests with a known duration');
    assert.ok(near(t.ttftMs.p50, 1000), `p50 ${t.ttftMs.p50} would be 0 if null counted as 0`);
    assert.ok(near(t.outputTokensPerSecond.p50, 50));
    assert.ok(near(t.durationMsQuantiles.p50, 3000));
  });

  it('reports null quantiles and a null average when a section has no data', () => {
    const s = new SummaryMetrics();
    s.add(record({ streaming: true }));
    const m = s.runningTotals().providers.openai.models['gpt-4o'];
    assert.deepEqual(m.nonStreaming.ttftMs, { p50: null, p90: null, p99: null });
    assert.deepEqual(m.nonStreaming.outputTokensPerSecond, { p50: null, p90: null, p99: null });
    assert.equal(m.nonStreaming.avgDurationMs, null);
    assert.equal(m.nonStreaming.requests, 0);
    assert.ok(near(m.total.ttftMs.p99, 120));
  });

  it('keys by provider:model split at the first colon, so model names keep their colons', () => {
    assert.deepEqual(splitKey('ollama:llama3:8b:q4_0'), ['ollama', 'llama3:8b:q4_0']);
    assert.deepEqual(splitKey('openai'), ['openai', '']);
    assert.equal(modelKey('ollama', 'llama3:8b'), 'ollama:llama3:8b');
    const s = new SummaryMetrics();
    s.add(record({ provider: 'ollama', model: 'llama3:8b:q4_0' }));
    s.add(record({ provider: 'ollama', model: 'llama3' }));
    assert.deepEqual(s.keys().sort(), ['ollama:llama3', 'ollama:llama3:8b:q4_0']);
    assert.equal(s.get('ollama:llama3:8b:q4_0')?.total.requests, 1);
    assert.equal(s.get('ollama:llama3')?.total.requests, 1);
    assert.equal(s.get('ollama:llama3:8b'), undefined);
    assert.deepEqual(s.get('ollama:llama3'), s.runningTotals().providers.ollama.models.llama3);
    const t = s.runningTotals();
    assert.deepEqual(Object.keys(t.providers), ['ollama']);
    assert.deepEqual(Object.keys(t.providers.ollama.models), ['llama3', 'llama3:8b:q4_0']);
  });
});

describe('SummaryMetrics: errors by category', () => {
  it('counts every category in its own bucket, in every section and level', () => {
    const s = new SummaryMetrics();
    ERROR_CATEGORIES.forEach((category, i) => {
      for (let n = 0; n <= i; n++) {
        s.add(record({ errorCategory: category, status: 500, streaming: n % 2 === 0 }));
      }
    });
    s.add(record({ errorCategory: null }));
    const t = s.runningTotals();
    const expected = Object.fromEntries(ERROR_CATEGORIES.map((c, i) => [c, i + 1]));
    assert.deepEqual(t.summary.errorsByCategory, expected);
    assert.deepEqual(t.providers.openai.rollup.total.errorsByCategory, expected);
    assert.deepEqual(t.providers.openai.models['gpt-4o'].total.errorsByCategory, expected);
    assert.equal(t.summary.errors, (13 * 14) / 2);
    assert.equal(t.summary.requests, (13 * 14) / 2 + 1);
    const streaming = t.summary.errorsByCategory;
    assert.deepEqual(Object.keys(streaming), [...ERROR_CATEGORIES], 'fixed key order');
    assert.equal(t.providers.openai.models['gpt-4o'].streaming.errorsByCategory.rate_limit, 1);
    assert.equal(t.providers.openai.models['gpt-4o'].nonStreaming.errorsByCategory.rate_limit, 1);
  });

  it('lists the 13 categories of the issue', () => {
    assert.deepEqual(
      [...ERROR_CATEGORIES],
      [
        'auth',
        'rate_limit',
        'overloaded',
        'bad_request',
        'not_found',
        'timeout',
        'upstream_5xx',
        'network',
        'client_disconnect',
        'cancelled',
        'stream_error',
        'proxy_error',
        'unknown',
      ],
    );
  });

  it('files a category it does not know under unknown', () => {
    const s = new SummaryMetrics();
    s.add(record({ errorCategory: 'teapot' as ErrorCategory }));
    const t = s.runningTotals().summary;
    assert.equal(t.errors, 1);
    assert.equal(t.errorsByCategory.unknown, 1);
  });

  it('starts every section with all categories at 0', () => {
    const s = new SummaryMetrics();
    s.add(record());
    const counts = s.runningTotals().summary.errorsByCategory;
    assert.deepEqual(Object.values(counts), new Array(13).fill(0));
  });
});

describe('SummaryMetrics: lastAccessed', () => {
  it('is the latest start per model, per provider and overall, whatever the arrival order', () => {
    const s = new SummaryMetrics();
    s.add(record({ provider: 'a', model: 'x', startedAt: '2025-03-01T10:00:05.000Z' }));
    s.add(record({ provider: 'a', model: 'x', startedAt: '2025-03-01T10:00:01.000Z' }));
    s.add(record({ provider: 'a', model: 'y', startedAt: '2025-03-01T10:00:09.000Z' }));
    s.add(record({ provider: 'b', model: 'z', startedAt: '2025-03-02T00:00:00.000Z' }));
    const t = s.runningTotals();
    assert.equal(t.providers.a.models.x.lastAccessed, '2025-03-01T10:00:05.000Z');
    assert.equal(t.providers.a.models.y.lastAccessed, '2025-03-01T10:00:09.000Z');
    assert.equal(t.providers.a.lastAccessed, '2025-03-01T10:00:09.000Z');
    assert.equal(t.providers.b.lastAccessed, '2025-03-02T00:00:00.000Z');
    assert.equal(t.summary.lastAccessed, '2025-03-02T00:00:00.000Z');
    assert.equal(s.lastAccessed, '2025-03-02T00:00:00.000Z');
  });

  it('is null before any request', () => {
    const s = new SummaryMetrics();
    assert.equal(s.runningTotals().summary.lastAccessed, null);
    assert.equal(s.lastAccessed, null);
  });
});

describe('SummaryMetrics: the summary log line', () => {
  it('logs a cumulative line every N completed requests and never resets the totals', () => {
    const lines: string[] = [];
    const s = new SummaryMetrics({ summaryEvery: 3, log: (l) => lines.push(l) });
    for (let i = 0; i < 7; i++) {
      s.add(record({ inputTokens: 10, outputTokens: 1, cacheReadTokens: 2, cacheCreationTokens: 0, ttftMs: 500 }));
    }
    assert.equal(lines.length, 2);
    assert.match(lines[0], /\b3 requests, 0 errors\b/);
    assert.match(lines[1], /\b6 requests, 0 errors\b/);
    assert.match(lines[1], /tokens in 60, out 6, cache read 12, cache write 0/);
    assert.match(lines[1], /TTFT p50 \d+ ms/);
    assert.match(lines[1], /output p50 [\d.]+ tok\/s/);
    assert.equal(s.runningTotals().summary.requests, 7, 'logging did not reset anything');
    s.add(record({ errorCategory: 'timeout' }));
    s.add(record());
    assert.equal(lines.length, 3);
    assert.match(lines[2], /\b9 requests, 1 errors\b/);
  });

  it('shows n/a while there is no TTFT yet', () => {
    const lines: string[] = [];
    const s = new SummaryMetrics({ summaryEvery: 1, log: (l) => lines.push(l) });
    s.add(record({ ttftMs: null, outputTokensPerSecond: null }));
    assert.match(lines[0], /TTFT p50 n\/a; output p50 n\/a/);
  });

  it('does not count history towards the line, and 0 means never', () => {
    const lines: string[] = [];
    const s = new SummaryMetrics({ summaryEvery: 2, log: (l) => lines.push(l) });
    s.load([record(), record(), record()]);
    assert.equal(lines.length, 0);
    s.add(record());
    assert.equal(lines.length, 0);
    s.add(record());
    assert.equal(lines.length, 1);
    assert.match(lines[0], /\b5 requests\b/, 'the line is cumulative, history included');
    const quiet = new SummaryMetrics({ summaryEvery: 0, log: () => assert.fail('should not log') });
    quiet.add(record());
    assert.throws(() => new SummaryMetrics({ summaryEvery: -1 }), RangeError);
  });
});

describe('SummaryMetrics: attach, merge, reset', () => {
  it('follows a RequestTracker until unsubscribed, and resets with it', () => {
    const tracker = new RequestTracker();
    const s = new SummaryMetrics();
    const detach = s.attach(tracker);
    const a = active({ id: 'x1' });
    tracker.start(a);
    assert.equal(s.runningTotals().summary.activeRequests, 1, 'in-flight requests come from the tracker');
    tracker.end(record({ id: 'x1' }));
    assert.equal(s.requestCount, 1);
    tracker.reset();
    assert.equal(s.requestCount, 0);
    detach();
    tracker.start(active({ id: 'x2' }));
    tracker.end(record({ id: 'x2' }));
    assert.equal(s.requestCount, 0);
    assert.equal(tracker.listenerCount('completed'), 0);
    assert.equal(s.runningTotals().summary.activeRequests, 0);
  });

  it('merges another summary as if its records had been added here', () => {
    const records = Array.from({ length: 300 }, (_, i) =>
      record({
        provider: i % 2 ? 'a' : 'b',
        model: `m${i % 5}`,
        streaming: i % 3 !== 0,
        ttftMs: 100 + i,
        durationMs: 1000 + 7 * i,
        errorCategory: i % 11 === 0 ? 'overloaded' : null,
        startedAt: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(),
      }),
    );
    const whole = new SummaryMetrics();
    whole.load(records);
    const left = new SummaryMetrics();
    const right = new SummaryMetrics();
    left.load(records.slice(0, 120));
    right.load(records.slice(120));
    left.merge(right);
    assert.deepEqual(left.runningTotals(), whole.runningTotals());
    assert.equal(left.requestCount, 300);
  });

  it('reset forgets everything', () => {
    const s = new SummaryMetrics();
    s.add(record());
    s.reset();
    assert.equal(s.requestCount, 0);
    assert.deepEqual(s.runningTotals().providers, {});
    assert.equal(s.runningTotals().summary.requests, 0);
  });
});
