import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BurstTracker,
  ProviderPerformanceTracker,
  ValidationError,
  type RequestRecord,
} from '../../src/core/metrics';

/** A clock the test moves by hand. */
function clock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

function assertValidation(fn: () => unknown, field: string, shown: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
    assert.equal(err.field, field);
    assert.equal(err.name, 'ValidationError');
    assert.match(err.message, new RegExp(`\\b${field}\\b`));
    assert.ok(err.message.includes(shown), `message "${err.message}" should show ${shown}`);
    return true;
  });
}

describe('ProviderPerformanceTracker.logApiResponse', () => {
  it('creates, appends and returns the entry with tokens/s and burst', () => {
    const c = clock();
    const t = new ProviderPerformanceTracker({ now: c.now });
    const e = t.logApiResponse('openai', 'gpt-4o', 100, 50, 1500);
    assert.deepEqual(e, {
      provider: 'openai',
      model: 'gpt-4o',
      timestamp: c.now(),
      durationMs: 1500,
      tokensIn: 100,
      tokensOut: 50,
      tokensPerSecond: 100,
      burstTokensPerSecond: 150,
      throttleWaitTimeMs: 0,
      sessionTokenUsage: { input: 100, output: 50, total: 150 },
    });
    assert.equal(t.getLatestMetrics(), e);
    assert.equal(t.size, 1);
  });

  it('reports 0 tokens/s for a zero duration instead of dividing by zero', () => {
    const t = new ProviderPerformanceTracker({ now: clock().now });
    const e = t.logApiResponse('anthropic', 'claude', 10, 20, 0);
    assert.equal(e.tokensPerSecond, 0);
    assert.equal(e.durationMs, 0);
    assert.equal(e.burstTokensPerSecond, 30);
  });

  it('keeps a cumulative session usage snapshot in each entry', () => {
    const t = new ProviderPerformanceTracker({ now: clock().now });
    const a = t.logApiResponse('p', 'm', 10, 1, 100);
    const b = t.logApiResponse('p', 'm', 20, 2, 100);
    const c = t.logApiResponse('q', 'n', 0, 0, 100);
    assert.deepEqual(a.sessionTokenUsage, { input: 10, output: 1, total: 11 });
    assert.deepEqual(b.sessionTokenUsage, { input: 30, output: 3, total: 33 });
    assert.deepEqual(c.sessionTokenUsage, { input: 30, output: 3, total: 33 });
    assert.notEqual(a.sessionTokenUsage, b.sessionTokenUsage, 'each entry has its own snapshot');
    assert.deepEqual(t.sessionTokenUsage, { input: 30, output: 3, total: 33 });
  });

  it('adds the tokens to the burst window at the current time', () => {
    const c = clock();
    const t = new ProviderPerformanceTracker({ now: c.now });
    t.logApiResponse('p', 'm', 100, 0, 10);
    c.advance(400);
    assert.equal(t.logApiResponse('p', 'm', 50, 50, 10).burstTokensPerSecond, 200);
    c.advance(600); // the first entry is now exactly 1,000 ms old: out of the window
    assert.equal(t.logApiResponse('p', 'm', 1, 0, 10).burstTokensPerSecond, 101);
  });

  const invalidStrings: [string, unknown, string][] = [
    ['empty', '', '""'],
    ['undefined', undefined, 'undefined'],
    ['null', null, 'null'],
    ['a number', 42, '42'],
  ];
  for (const field of ['provider', 'model'] as const) {
    for (const [label, bad, shown] of invalidStrings) {
      it(`rejects ${label} ${field}, naming the field and the value`, () => {
        const t = new ProviderPerformanceTracker({ now: clock().now });
        const args: [string, string] = ['openai', 'gpt-4o'];
        args[field === 'provider' ? 0 : 1] = bad as string;
        assertValidation(() => t.logApiResponse(args[0], args[1], 1, 1, 1), field, shown);
        assert.equal(t.getLatestMetrics(), null, 'nothing is appended');
        assert.deepEqual(t.sessionTokenUsage, { input: 0, output: 0, total: 0 });
      });
    }
  }

  const invalidNumbers: [string, unknown, string][] = [
    ['negative', -1, '-1'],
    ['fractional', 1.5, '1.5'],
    ['NaN', NaN, 'NaN'],
    ['infinite', Infinity, 'Infinity'],
    ['unsafe', 2 ** 53, String(2 ** 53)],
    ['a string', '10', '"10"'],
    ['null', null, 'null'],
  ];
  for (const [index, field] of (['tokensIn', 'tokensOut', 'durationMs'] as const).entries()) {
    for (const [label, bad, shown] of invalidNumbers) {
      it(`rejects ${label} ${field}, naming the field and the value`, () => {
        const t = new ProviderPerformanceTracker({ now: clock().now });
        const nums: unknown[] = [1, 2, 3];
        nums[index] = bad;
        assertValidation(
          () => t.logApiResponse('p', 'm', nums[0] as number, nums[1] as number, nums[2] as number),
          field,
          shown,
        );
        assert.equal(t.size, 0);
        assert.equal(t.burstTracker.computeBurstRate(), 0, 'the burst window is untouched');
      });
    }
  }

  it('accepts zero for every count', () => {
    const t = new ProviderPerformanceTracker({ now: clock().now });
    const e = t.logApiResponse('p', 'm', 0, 0, 0);
    assert.equal(e.tokensPerSecond, 0);
    assert.equal(e.burstTokensPerSecond, 0);
  });
});

describe('ProviderPerformanceTracker.getLatestMetrics', () => {
  it('is null before anything is logged and the last entry after', () => {
    const t = new ProviderPerformanceTracker({ now: clock().now });
    assert.equal(t.getLatestMetrics(), null);
    t.logApiResponse('p', 'a', 1, 1, 1);
    const last = t.logApiResponse('p', 'b', 1, 1, 1);
    assert.equal(t.getLatestMetrics(), last);
    assert.equal(t.getLatestMetrics()?.model, 'b');
  });
});

describe('ProviderPerformanceTracker.updateThrottleWaitTime', () => {
  it('throws the seed error when there is no entry', () => {
    const t = new ProviderPerformanceTracker({ now: clock().now });
    assert.throws(() => t.updateThrottleWaitTime(10), (err: unknown) => {
      assert.ok(err instanceof Error && !(err instanceof ValidationError));
      assert.equal(err.message, 'No metrics to update with throttle wait time');
      return true;
    });
  });

  it('adds to the latest entry and returns it', () => {
    const t = new ProviderPerformanceTracker({ now: clock().now });
    const first = t.logApiResponse('p', 'm', 1, 1, 1);
    const latest = t.logApiResponse('p', 'm', 1, 1, 1);
    assert.equal(t.updateThrottleWaitTime(250), latest);
    assert.equal(t.updateThrottleWaitTime(0).throttleWaitTimeMs, 250);
    assert.equal(t.updateThrottleWaitTime(50).throttleWaitTimeMs, 300);
    assert.equal(first.throttleWaitTimeMs, 0, 'older entries are not touched');
  });

  for (const [label, bad, shown] of [
    ['negative', -5, '-5'],
    ['fractional', 0.5, '0.5'],
    ['NaN', NaN, 'NaN'],
    ['a string', '5', '"5"'],
  ] as const) {
    it(`rejects a ${label} wait with ValidationError, even with no entries`, () => {
      const t = new ProviderPerformanceTracker({ now: clock().now });
      assertValidation(() => t.updateThrottleWaitTime(bad as number), 'throttleWaitTimeMs', shown);
      t.logApiResponse('p', 'm', 1, 1, 1);
      assertValidation(() => t.updateThrottleWaitTime(bad as number), 'throttleWaitTimeMs', shown);
      assert.equal(t.getLatestMetrics()?.throttleWaitTimeMs, 0);
    });
  }
});

describe('ProviderPerformanceTracker memory', () => {
  it('keeps the entries in a ring of the configured capacity', () => {
    const t = new ProviderPerformanceTracker({ capacity: 3, now: clock().now });
    for (let i = 0; i < 10; i++) {
      t.logApiResponse('p', `m${i}`, i, 0, 1);
    }
    assert.equal(t.size, 3);
    assert.deepEqual(
      t.getMetrics().map((e) => e.model),
      ['m9', 'm8', 'm7'],
    );
    assert.equal(t.sessionTokenUsage.input, 45, 'session usage covers dropped entries too');
  });

  it('defaults to 10,000 entries', () => {
    const t = new ProviderPerformanceTracker({ now: clock().now });
    assert.equal(t.capacity, 10_000);
    for (let i = 0; i < 10_050; i++) {
      t.logApiResponse('p', 'm', 1, 1, 1);
    }
    assert.equal(t.size, 10_000);
  });

  it('reset clears entries, session usage and the burst window', () => {
    const t = new ProviderPerformanceTracker({ now: clock().now });
    t.logApiResponse('p', 'm', 5, 5, 5);
    t.reset();
    assert.equal(t.getLatestMetrics(), null);
    assert.deepEqual(t.sessionTokenUsage, { input: 0, output: 0, total: 0 });
    assert.equal(t.burstTracker.computeBurstRate(), 0);
  });
});

describe('ProviderPerformanceTracker.logRecord', () => {
  const base: RequestRecord = {
    id: 'r1',
    provider: 'anthropic',
    model: 'claude-sonnet-4',
    streaming: true,
    status: 200,
    errorCategory: null,
    inputTokens: 100,
    outputTokens: 40,
    cacheReadTokens: 1000,
    cacheCreationTokens: 10,
    estimated: false,
    ttfbMs: 100,
    ttftMs: 200,
    durationMs: 1999.6,
    outputTokensPerSecond: 20,
    promptTokensPerSecond: null,
    tokensPerSecond: null,
    throttleWaitTimeMs: 12.4,
    toolUses: 0,
    toolResults: 0,
    toolCalls: 0,
    startedAt: '2025-01-01T00:00:00.000Z',
  };

  it('logs all input tokens (cache included), rounded duration and the throttle wait', () => {
    const t = new ProviderPerformanceTracker({ now: clock().now });
    const e = t.logRecord(base);
    assert.ok(e !== null);
    assert.equal(e.tokensIn, 1110);
    assert.equal(e.tokensOut, 40);
    assert.equal(e.durationMs, 2000);
    assert.equal(e.tokensPerSecond, 575);
    assert.equal(e.throttleWaitTimeMs, 12);
  });

  it('logs unknown counts as 0 and skips records without a provider or model', () => {
    const t = new ProviderPerformanceTracker({ now: clock().now });
    const e = t.logRecord({ ...base, inputTokens: null, outputTokens: null, cacheReadTokens: null, durationMs: null });
    assert.equal(e?.tokensIn, 10);
    assert.equal(e?.tokensOut, 0);
    assert.equal(e?.tokensPerSecond, 0);
    assert.equal(t.logRecord({ ...base, model: '' }), null);
    assert.equal(t.size, 1);
  });
});

describe('BurstTracker', () => {
  it('has a 1,000 ms window and reports 0 when empty', () => {
    const b = new BurstTracker();
    assert.equal(b.windowSizeMs, 1000);
    assert.equal(b.computeBurstRate(), 0);
  });

  it('sums the tokens within the window of the latest timestamp', () => {
    const b = new BurstTracker();
    b.addTokens(10, 0);
    b.addTokens(20, 500);
    b.addTokens(30, 999);
    assert.equal(b.computeBurstRate(), 60);
  });

  it('drops an entry exactly 1,000 ms old and keeps one 999 ms old', () => {
    const b = new BurstTracker();
    b.addTokens(7, 1000);
    b.addTokens(5, 1999);
    assert.equal(b.computeBurstRate(), 12, '999 ms old: inside');
    b.addTokens(1, 2000);
    assert.equal(b.computeBurstRate(), 6, '1,000 ms old: outside');
  });

  it('empties when the next tokens come after a long pause', () => {
    const b = new BurstTracker();
    b.addTokens(100, 0);
    b.addTokens(0, 5000);
    assert.equal(b.computeBurstRate(), 0);
  });

  it('slides forward on read when given the current time', () => {
    const b = new BurstTracker();
    b.addTokens(9, 100);
    assert.equal(b.computeBurstRate(1099), 9);
    assert.equal(b.computeBurstRate(1100), 0);
    assert.equal(b.computeBurstRate(50), 0, 'going back does not resurrect entries');
  });

  it('counts an out-of-order timestamp at the newest time, without evicting', () => {
    const b = new BurstTracker();
    b.addTokens(1, 5000);
    b.addTokens(2, 3000);
    assert.equal(b.computeBurstRate(), 3);
    b.addTokens(0, 5999);
    assert.equal(b.computeBurstRate(), 3);
    b.addTokens(0, 6000);
    assert.equal(b.computeBurstRate(), 0);
  });

  it('stays bounded however many entries arrive', () => {
    const b = new BurstTracker();
    let expected = 0;
    for (let i = 0; i < 100_000; i++) {
      b.addTokens(1, i * 0.1);
      expected++;
    }
    // The window holds entries newer than 9,999.9 − 1,000 ms, bucketed by whole millisecond.
    assert.ok(b.bucketCount <= b.windowSizeMs, `${b.bucketCount} buckets`);
    assert.ok(expected > b.computeBurstRate());
    assert.ok(Math.abs(b.computeBurstRate() - 10_000) <= 10, `${b.computeBurstRate()}`);
  });

  it('takes an injectable window and validates its input', () => {
    const b = new BurstTracker({ windowSizeMs: 10 });
    b.addTokens(1, 0);
    b.addTokens(1, 10);
    assert.equal(b.computeBurstRate(), 1);
    assert.throws(() => new BurstTracker({ windowSizeMs: 0 }), ValidationError);
    assertValidation(() => b.addTokens(-1, 0), 'count', '-1');
    assertValidation(() => b.addTokens(1, NaN), 'timestamp', 'NaN');
  });
});
