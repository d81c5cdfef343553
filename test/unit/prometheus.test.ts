/**
 * `/_tokenmeter/metrics` is written by our own exposition code (src/core/control/exposition.ts).
 * It must say what prom-client said for the same records: the exporter as it was on prom-client
 * (test/fixtures/promClientExporter.ts) is fed the same records and throttle headers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PrometheusExporter } from '../../src/core/control/prometheus';
import type { ErrorCategory } from '../../src/core/metrics/record';
import { RequestTracker } from '../../src/core/metrics/requestTracker';
import { ThrottleTracker } from '../../src/core/throttle/throttleTracker';
import { PrometheusExporter as PromClientExporter } from '../fixtures/promClientExporter';
import { makeRecord } from '../fixtures/records';

/** Family blocks in order; within a family its lines as a sorted list (series order may differ). */
function families(text: string): { head: string[]; lines: string[] }[] {
  assert.ok(text.endsWith('\n'), 'ends with a line feed');
  return text
    .slice(0, -1)
    .split('\n\n')
    .map((block) => {
      const lines = block.split('\n');
      assert.match(lines[0], /^# HELP /);
      assert.match(lines[1], /^# TYPE /);
      return { head: lines.slice(0, 2), lines: lines.slice(2).sort() };
    });
}

const nameArb = fc.oneof(fc.constantFrom('openai', 'anthropic', 'gpt-4o', 'claude-opus-4-1', 'modèle-ü', 'a"b', 'back\\slash', 'new\nline', ''), fc.string({ maxLength: 6 }));
const optNum = (max: number): fc.Arbitrary<number | null> => fc.option(fc.oneof(fc.constant(0), fc.integer({ min: 1, max }), fc.double({ min: 0, max, noNaN: true })), { freq: 4 });
const recordArb = fc.record({
  provider: nameArb,
  model: nameArb,
  streaming: fc.boolean(),
  errorCategory: fc.constantFrom<ErrorCategory | null>(null, null, 'rate_limit', 'upstream_5xx', 'client_disconnect'),
  inputTokens: fc.option(fc.nat({ max: 2_000_000 }), { freq: 4 }),
  outputTokens: fc.option(fc.nat({ max: 100_000 }), { freq: 4 }),
  cacheReadTokens: fc.option(fc.nat({ max: 1_000_000 }), { freq: 4 }),
  cacheCreationTokens: fc.option(fc.nat({ max: 100_000 }), { freq: 4 }),
  ttftMs: optNum(100_000),
  durationMs: optNum(600_000),
  outputTokensPerSecond: optNum(2_000),
  throttleWaitTimeMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 300_000 })),
});

describe('Prometheus exposition', () => {
  it('says what prom-client said for the same records and rate-limit headers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(recordArb, { maxLength: 40 }), fc.array(fc.tuple(fc.constantFrom('openai', 'anthropic', 'x"y'), fc.nat({ max: 1000 })), { maxLength: 4 }), async (records, limits) => {
        const tracker = new RequestTracker();
        const throttle = new ThrottleTracker();
        const ours = new PrometheusExporter(tracker, throttle);
        const reference = new PromClientExporter(tracker, throttle);
        for (const [i, [provider, remaining]] of limits.entries()) {
          throttle.onResponse(`t${i}`, provider, 'm', null, 200, { 'x-ratelimit-limit-requests': '1000', 'x-ratelimit-remaining-requests': String(remaining), 'x-ratelimit-reset-requests': '1s' });
        }
        for (const r of records) {
          tracker.adopt(makeRecord(r));
        }
        const expected = await reference.metrics();
        assert.deepEqual(families(ours.text()), families(expected));
        ours.dispose();
        reference.dispose();
      }),
      { numRuns: 300 },
    );
  });

  it('writes the format: help and type first, cumulative buckets, escaped label values, +Inf', () => {
    const tracker = new RequestTracker();
    const exporter = new PrometheusExporter(tracker, new ThrottleTracker());
    tracker.adopt(makeRecord({ provider: 'p', model: 'say "hi"\\\n', ttftMs: 300, durationMs: 3000, outputTokensPerSecond: 500, cacheReadTokens: 0 }));
    tracker.adopt(makeRecord({ provider: 'p', model: 'say "hi"\\\n', ttftMs: 50, durationMs: null, outputTokensPerSecond: null, errorCategory: 'rate_limit' }));
    const text = exporter.text();
    const m = 'provider="p",model="say \\"hi\\"\\\\\\n"';
    assert.ok(text.includes(`tokenmeter_requests_total{${m},streaming="true",outcome="ok"} 1\n`), text);
    assert.ok(text.includes(`tokenmeter_requests_total{${m},streaming="true",outcome="rate_limit"} 1\n`));
    assert.ok(text.includes(`tokenmeter_tokens_total{${m},kind="input"} 200\n`));
    assert.ok(!text.includes('kind="cache_read"'), 'a counter that counted nothing is not shown');
    assert.ok(text.includes(`tokenmeter_time_to_first_token_seconds_bucket{le="0.1",${m}} 1\n`));
    assert.ok(text.includes(`tokenmeter_time_to_first_token_seconds_bucket{le="0.25",${m}} 1\n`));
    assert.ok(text.includes(`tokenmeter_time_to_first_token_seconds_bucket{le="0.5",${m}} 2\n`));
    assert.ok(text.includes(`tokenmeter_time_to_first_token_seconds_bucket{le="+Inf",${m}} 2\n`));
    assert.ok(text.includes(`tokenmeter_time_to_first_token_seconds_sum{${m}} 0.35\n`));
    assert.ok(text.includes(`tokenmeter_output_tokens_per_second_bucket{le="400",${m}} 0\n`));
    assert.ok(text.includes(`tokenmeter_output_tokens_per_second_count{${m}} 1\n`), 'an unknown speed is not observed');
    assert.ok(text.includes('# HELP tokenmeter_active_requests Requests in flight.\n# TYPE tokenmeter_active_requests gauge\ntokenmeter_active_requests 0\n'));
    assert.equal(exporter.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  });
});
