/**
 * Metrics core benchmark: recording throughput (performance tracker + roll-up) and running totals
 * over 1,000 provider/model keys. Bounded in time (a few seconds).
 *
 *   node --import tsx bench/metrics.bench.ts [results.json]
 */
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { ProviderPerformanceTracker, SummaryMetrics, type RequestRecord } from '../src/core/metrics/index.js';

const GOAL_RECORDS_PER_S = 1_000_000;
const GOAL_TOTALS_MS = 5;

/** Deterministic PRNG so runs compare (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function logNormal(rand: () => number, median: number, spread: number): number {
  const u = Math.max(rand(), 1e-12);
  const v = rand();
  return median * Math.exp(spread * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
}

function keys(providers: number, models: number): [string, string][] {
  const out: [string, string][] = [];
  for (let p = 0; p < providers; p++) {
    for (let m = 0; m < models; m++) {
      out.push([`provider-${p}`, `model-${m}:${m % 3 === 0 ? 'latest' : '8b'}`]);
    }
  }
  return out;
}

function makeRecords(n: number, pairs: [string, string][], seed: number): RequestRecord[] {
  const rand = rng(seed);
  const start = Date.parse('2025-01-01T00:00:00Z');
  const out: RequestRecord[] = [];
  for (let i = 0; i < n; i++) {
    const [provider, model] = pairs[i % pairs.length];
    const error = rand() < 0.02;
    const ttft = logNormal(rand, 600, 0.6);
    const duration = ttft + logNormal(rand, 4000, 0.7);
    const outputTokens = error ? null : Math.round(logNormal(rand, 300, 0.8));
    out.push({
      id: `r${seed}-${i}`,
      provider,
      model,
      streaming: rand() < 0.8,
      status: error ? 429 : 200,
      errorCategory: error ? 'rate_limit' : null,
      inputTokens: Math.round(logNormal(rand, 2000, 1)),
      outputTokens,
      cacheReadTokens: Math.round(logNormal(rand, 5000, 1)),
      cacheCreationTokens: 0,
      estimated: false,
      ttfbMs: ttft * 0.8,
      ttftMs: error ? null : ttft,
      durationMs: duration,
      outputTokensPerSecond: outputTokens === null ? null : outputTokens / ((duration - ttft) / 1000),
      promptTokensPerSecond: null,
      tokensPerSecond: null,
      throttleWaitTimeMs: 0,
      toolUses: i % 5 === 0 ? 1 : 0,
      toolResults: 0,
      toolCalls: 0,
      startedAt: new Date(start + i * 10).toISOString(),
    });
  }
  return out;
}

interface Row {
  name: string;
  value: number;
  unit: string;
  goal: string;
}
const rows: Row[] = [];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function p95(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.95))];
}

/** Requests are not spread evenly over models: a few take most (weights 1, 1/2, 1/3, …). */
function zipfPairs(pairs: [string, string][], n: number, seed: number): [string, string][] {
  const rand = rng(seed);
  const weights = pairs.map((_, i) => 1 / (i + 1));
  const sum = weights.reduce((a, b) => a + b, 0);
  const out: [string, string][] = [];
  for (let i = 0; i < n; i++) {
    let x = rand() * sum;
    let k = 0;
    while (x > weights[k] && k < weights.length - 1) {
      x -= weights[k++];
    }
    out.push(pairs[k]);
  }
  return out;
}

const samples: Record<string, number[]> = {};

function recording(): void {
  const N = 1_000_000;
  const realistic = makeRecords(1 << 16, zipfPairs(keys(4, 5), 1 << 16, 9), 1);
  const worst = makeRecords(1 << 16, keys(20, 50), 1);
  const run = (name: string, pool: RequestRecord[], fn: (r: RequestRecord) => void): void => {
    const mask = pool.length - 1;
    for (let i = 0; i < 200_000; i++) {
      fn(pool[i & mask]); // warm-up: let the JIT settle before timing
    }
    const rates: number[] = [];
    for (let pass = 0; pass < 3; pass++) {
      const t0 = performance.now();
      for (let i = 0; i < N; i++) {
        fn(pool[i & mask]);
      }
      rates.push(Math.round(N / ((performance.now() - t0) / 1000)));
    }
    samples[name] = rates;
    rows.push({ name, value: median(rates), unit: 'records/s', goal: `>= ${GOAL_RECORDS_PER_S.toLocaleString('en-US')}` });
  };
  const tracker = new ProviderPerformanceTracker();
  run('tracker: logRecord, 1M records', realistic, (r) => void tracker.logRecord(r));
  const rollup = new SummaryMetrics();
  run('roll-up: SummaryMetrics.add, 1M records, 20 keys', realistic, (r) => rollup.add(r));
  const t2 = new ProviderPerformanceTracker();
  const s2 = new SummaryMetrics();
  run('tracker + roll-up, 1M records, 20 keys (Zipf)', realistic, (r) => {
    t2.logRecord(r);
    s2.add(r);
  });
  const t3 = new ProviderPerformanceTracker();
  const s3 = new SummaryMetrics();
  run('tracker + roll-up, 1M records, 1,000 keys round-robin', worst, (r) => {
    t3.logRecord(r);
    s3.add(r);
  });
}

function totals(): void {
  const pairs = keys(20, 50); // 1,000 provider/model keys
  const metrics = new SummaryMetrics();
  metrics.load(makeRecords(500_000, pairs, 2)); // 500 records per key
  const time = (fn: () => void): number => {
    const t0 = performance.now();
    fn();
    return performance.now() - t0;
  };
  rows.push({ name: 'running totals, cold (first call)', value: time(() => metrics.runningTotals()), unit: 'ms', goal: '-' });

  const fresh = makeRecords(pairs.length * 40, pairs, 3);
  let next = 0;
  const measure = (name: string, changedKeys: number, query = {}): void => {
    const times: number[] = [];
    const deadline = performance.now() + 1500;
    for (let i = 0; i < 200 && performance.now() < deadline; i++) {
      for (let k = 0; k < changedKeys; k++) {
        metrics.add(fresh[next++ % fresh.length]);
      }
      times.push(time(() => metrics.runningTotals(query)));
    }
    rows.push({ name: `${name} (median)`, value: median(times), unit: 'ms', goal: `< ${GOAL_TOTALS_MS}` });
    rows.push({ name: `${name} (p95)`, value: p95(times), unit: 'ms', goal: '-' });
    samples[name] = times;
  };
  measure('running totals, 1,000 keys, all keys changed', pairs.length);
  measure('running totals, 1,000 keys, 10 keys changed', 10);
  measure('running totals, 1,000 keys, nothing changed', 0);
  measure('running totals, model filter "model-1*", all changed', pairs.length, { model: 'MODEL-1*' });
  const size = JSON.stringify(metrics.runningTotals()).length;
  rows.push({ name: 'running totals JSON size (1,000 keys)', value: size, unit: 'bytes', goal: '-' });
  // What the control API and the dashboard pay on top of the report itself: the text of that JSON.
  const report = metrics.runningTotals();
  const stringify: number[] = [];
  for (let i = 0; i < 30; i++) {
    stringify.push(time(() => void JSON.stringify(report)));
  }
  rows.push({ name: 'running totals JSON.stringify, 1,000 keys (median)', value: median(stringify), unit: 'ms', goal: '-' });
}

recording();
totals();

const fmt = (r: Row): string => (r.unit === 'ms' ? r.value.toFixed(2) : r.value.toLocaleString('en-US'));
const width = Math.max(...rows.map((r) => r.name.length));
console.log(`${'benchmark'.padEnd(width)}  ${'value'.padStart(12)}  unit        goal`);
for (const r of rows) {
  console.log(`${r.name.padEnd(width)}  ${fmt(r).padStart(12)}  ${r.unit.padEnd(10)}  ${r.goal}`);
}
const out = process.argv[2];
if (out !== undefined) {
  const machine = { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, loadavg: os.loadavg() };
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), machine, rows, samples }, null, 2));
  console.log(`wrote ${out}`);
}
