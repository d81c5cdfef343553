import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DDSketch } from '@datadog/sketches-js';
import fc from 'fast-check';
import { RELATIVE_ACCURACY, SummaryMetrics, type RequestRecord } from '../../src/core/metrics';
import { sampleKey, ZERO_SAMPLE } from '../../src/core/metrics/binKeys';
import { BinStore } from '../../src/core/metrics/binStore';
import { QuantileCursor } from '../../src/core/metrics/quantileCursor';
import { Distribution, quantilesOf, type Quantiles } from '../../src/core/metrics/quantiles';
import { makeRecord } from '../fixtures/records';

const QS = [
  ['p50', 0.5],
  ['p90', 0.9],
  ['p99', 0.99],
] as const;

/** The exact value at the rank DDSketch reports for quantile q (lower rank: ⌊q(n−1)⌋). */
function exact(sorted: readonly number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))];
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const gaussian = (rand: () => number): number =>
  Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());

const distributions: [string, (rand: () => number) => number][] = [
  ['uniform TTFT 50–5,000 ms', (r) => 50 + r() * 4950],
  ['log-normal TTFT around 600 ms', (r) => 600 * Math.exp(0.8 * gaussian(r))],
  ['heavy-tailed tokens/s (Pareto)', (r) => 5 / Math.pow(1 - r(), 1 / 1.5)],
  ['bimodal cache hits / misses', (r) => (r() < 0.7 ? 80 + r() * 40 : 2000 + r() * 3000)],
  ['with 5% zeros', (r) => (r() < 0.05 ? 0 : 1 + r() * 100)],
];

function within(actual: number | null, expected: number, label: string): void {
  assert.ok(actual !== null, `${label}: null`);
  // The sketch's guarantee, plus a hair for the floating-point rounding of the bucket value.
  const tolerance = RELATIVE_ACCURACY * expected * (1 + 1e-9) + 1e-12;
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${label}: ${actual} vs exact ${expected} (error ${Math.abs(actual - expected) / expected})`,
  );
}

describe('quantiles: DDSketch accuracy over 10,000 samples', () => {
  for (const [name, draw] of distributions) {
    it(`${name}: p50/p90/p99 within ${RELATIVE_ACCURACY * 100}% of the exact values`, () => {
      const rand = rng(name.length * 7919);
      const d = new Distribution();
      const values: number[] = [];
      for (let i = 0; i < 10_000; i++) {
        const v = draw(rand);
        values.push(v);
        d.add(v);
      }
      values.sort((a, b) => a - b);
      const q = d.quantiles();
      for (const [key, quantile] of QS) {
        within(q[key], exact(values, quantile), `${name} ${key}`);
      }
      assert.equal(d.count, 10_000);
    });
  }

  it('holds through SummaryMetrics, for a model and for the provider roll-up merged over models', () => {
    const rand = rng(42);
    const s = new SummaryMetrics();
    const all: number[] = [];
    const byModel: Record<string, number[]> = { a: [], b: [], c: [] };
    for (let i = 0; i < 10_000; i++) {
      const model = ['a', 'b', 'c'][i % 3];
      // Different scales per model, so that the merge matters.
      const ttft = (model === 'a' ? 200 : model === 'b' ? 900 : 3000) * Math.exp(0.5 * gaussian(rand));
      all.push(ttft);
      byModel[model].push(ttft);
      s.add(record({ id: `r${i}`, model, ttftMs: ttft, streaming: i % 4 !== 0 }));
    }
    all.sort((x, y) => x - y);
    byModel.b.sort((x, y) => x - y);
    const totals = s.runningTotals();
    for (const [key, quantile] of QS) {
      within(totals.providers.p.rollup.total.ttftMs[key], exact(all, quantile), `rollup ${key}`);
      within(totals.summary.ttftMs[key], exact(all, quantile), `summary ${key}`);
      within(totals.providers.p.models.b.total.ttftMs[key], exact(byModel.b, quantile), `model b ${key}`);
    }
    const ab = s.runningTotals({ model: '[ab]' });
    assert.equal(ab.summary.requests, 0, '[ and ] are literal characters, not a class');
    const oneChar = s.runningTotals({ model: '?' });
    for (const [key, quantile] of QS) {
      within(oneChar.summary.ttftMs[key], exact(all, quantile), `model filter "?" ${key}`);
    }
  });
});

/** A Distribution and a library DDSketch fed the same values. */
function both(values: readonly number[]): [Distribution, DDSketch] {
  const d = new Distribution();
  const s = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
  for (const v of values) {
    d.add(v);
    s.accept(v);
  }
  return [d, s];
}

function assertLibrary(ours: Quantiles, sketch: DDSketch, label: string): void {
  if (sketch.count === 0) {
    assert.deepEqual(ours, { p50: null, p90: null, p99: null }, label);
    return;
  }
  for (const [key, q] of QS) {
    assert.equal(ours[key], sketch.getValueAtQuantile(q), `${key} ${label}`);
  }
}

const libraryValue = fc.oneof(
  fc.constant(0),
  fc.double({ min: 1e-3, max: 1e7, noNaN: true }),
  fc.integer({ min: 1, max: 100_000 }),
);

describe('quantiles: the same as the library (@datadog/sketches-js)', () => {
  it('for a union of any number of stores: the library merge followed by getValueAtQuantile', () => {
    fc.assert(
      fc.property(fc.array(fc.array(libraryValue, { maxLength: 60 }), { minLength: 1, maxLength: 6 }), (groups) => {
        const pairs = groups.map(both);
        const merged = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
        pairs.forEach(([, s]) => merged.merge(s));
        const stores = pairs.map(([d]) => d);
        assertLibrary(quantilesOf(BinStore.sumOf(stores)), merged, `sum of ${JSON.stringify(groups)}`);
        if (stores.length === 2) {
          assertLibrary(quantilesOf(stores[0], stores[1]), merged, `pair ${JSON.stringify(groups)}`);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('at every count up to 400, where ranks fall exactly on bucket edges', () => {
    for (let n = 1; n <= 400; n++) {
      for (const parts of [1, 2, 3]) {
        const stores = Array.from({ length: parts }, () => new Distribution());
        const merged = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
        for (let i = 0; i < n; i++) {
          const v = i % 17 === 0 ? 0 : 1 + (i % 50) * 1.37;
          stores[i % parts].add(v);
          merged.accept(v);
        }
        assertLibrary(quantilesOf(BinStore.sumOf(stores)), merged, `n=${n} parts=${parts}`);
        if (parts === 1) {
          assertLibrary(stores[0].quantiles(), merged, `kept up to date, n=${n}`);
        }
      }
    }
  });

  it('kept up to date value by value, for a store and for the union of two, across merges', () => {
    // Each report reuses the positions of the last one; any count they missed would show here.
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(9), libraryValue), { minLength: 1, maxLength: 150 }),
        fc.nat(150),
        (steps, mergeAt) => {
          const a = new Distribution();
          const b = new Distribution();
          const union = new QuantileCursor();
          const sa = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
          const sab = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
          steps.forEach(([pick, v], i) => {
            if (i === mergeAt) {
              const [extra, extraSketch] = both([v, v * 3, 0.5]);
              a.mergeFrom(extra);
              union.invalidate(); // as SectionPair.mergeFrom does
              sa.merge(extraSketch);
              sab.merge(extraSketch);
            }
            const key = sampleKey(v);
            const target = pick < 7 ? a : b;
            target.add(v);
            if (key > ZERO_SAMPLE) {
              union.onAdd(key);
            }
            if (target === a) {
              sa.accept(v);
            }
            sab.accept(v);
            if (pick % 3 === 0 || i === steps.length - 1) {
              assertLibrary(a.quantiles(), sa, `store after ${i + 1} values`);
              assertLibrary(union.quantilesOf(a, b), sab, `union after ${i + 1} values`);
            }
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives null for no data and 0 when every value is 0', () => {
    assert.deepEqual(quantilesOf(new Distribution()), { p50: null, p90: null, p99: null });
    const zeros = new Distribution();
    zeros.add(0);
    zeros.add(0);
    assert.deepEqual(quantilesOf(zeros, new Distribution()), { p50: 0, p90: 0, p99: 0 });
    assert.deepEqual(zeros.quantiles(), { p50: 0, p90: 0, p99: 0 });
  });
});

describe('Distribution', () => {
  it('skips unknown and impossible values instead of counting them as 0', () => {
    const d = new Distribution();
    d.add(null);
    d.add(NaN);
    d.add(-1);
    d.add(Infinity);
    d.add(2e9);
    assert.equal(d.count, 0);
    assert.deepEqual(d.quantiles(), { p50: null, p90: null, p99: null });
    d.add(100);
    assert.equal(d.count, 1);
    within(d.quantiles().p50, 100, 'single value');
  });

  it('counts sub-microsecond noise as 0, which keeps the sketch small', () => {
    const d = new Distribution();
    d.add(1e-9);
    d.add(0);
    assert.equal(d.count, 2);
    assert.equal(d.quantiles().p99, 0);
  });

  it('refreshes its cached quantiles when a value arrives', () => {
    const d = new Distribution();
    d.add(10);
    within(d.quantiles().p50, 10, 'before');
    for (let i = 0; i < 10; i++) {
      d.add(1000);
    }
    within(d.quantiles().p50, 1000, 'after');
  });
});

const record = (over: Partial<RequestRecord>): RequestRecord =>
  makeRecord({
    id: 'r',
    provider: 'p',
    model: 'm',
    inputTokens: 1,
    outputTokens: 1,
    ttfbMs: 1,
    ttftMs: 1,
    durationMs: 10,
    outputTokensPerSecond: 10,
    startedAt: '2025-01-01T00:00:00.000Z',
    ...over,
  });
