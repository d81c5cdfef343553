import type { RequestRecord } from '../metrics/record';
import { Ring } from '../metrics/ring';
import type { ChartRange, SeriesView } from '../../protocol';

/** One completed request as the charts see it. */
export interface SeriesPoint {
  /** Epoch ms at which the request started. */
  t: number;
  /** `provider/model`, as the chart legend shows it. */
  key: string;
  tokensPerSecond: number | null;
  ttftMs: number | null;
}

export function pointOf(r: RequestRecord, key = `${r.provider}/${r.model}`): SeriesPoint {
  return { t: Date.parse(r.startedAt), key, tokensPerSecond: r.outputTokensPerSecond, ttftMs: r.ttftMs };
}

/** The session's points for the "15 minutes" and "session" charts; bounded, oldest dropped. */
export class SessionSeries {
  private readonly ring: Ring<SeriesPoint>;
  /** One key string per provider/model, shared by its points, instead of one per point. */
  private readonly keys = new Map<string, string>();

  constructor(capacity = 20_000) {
    this.ring = new Ring(capacity);
  }

  add(r: RequestRecord): void {
    const id = `${r.provider}\u0000${r.model}`;
    let key = this.keys.get(id);
    if (key === undefined) {
      key = `${r.provider}/${r.model}`;
      this.keys.set(id, key);
    }
    this.ring.push(pointOf(r, key));
  }

  points(): SeriesPoint[] {
    return this.ring.newestFirst();
  }

  clear(): void {
    this.ring.clear();
    this.keys.clear();
  }
}

const MINUTE = 60_000;
/** Bucket widths a session chart may use (s); the smallest that keeps it under MAX_BUCKETS wins. */
const NICE_SECONDS = [5, 10, 30, 60, 300, 900, 1800, 3600, 4 * 3600];
const MAX_BUCKETS = 180;
/** More lines than this are unreadable in a small chart: the busiest ones are drawn. */
export const MAX_SERIES = 8;

function localMidnight(nowMs: number, daysBack = 0): number {
  const d = new Date(nowMs);
  d.setHours(0, 0, 0, 0);
  d.setDate(d.getDate() - daysBack);
  return d.getTime();
}

/** The time span [from, to] a range covers and its bucket width in seconds. */
export function rangeSpan(range: ChartRange, nowMs: number, sessionStartMs: number): { from: number; to: number; bucketSeconds: number } {
  switch (range) {
    case '15m':
      return { from: nowMs - 15 * MINUTE, to: nowMs, bucketSeconds: 10 };
    case 'today':
      return { from: localMidnight(nowMs), to: nowMs, bucketSeconds: 300 };
    case '7d':
      return { from: localMidnight(nowMs, 6), to: nowMs, bucketSeconds: 3600 };
    case 'session': {
      const from = Math.min(sessionStartMs, nowMs - MINUTE);
      const span = (nowMs - from) / 1000;
      const bucketSeconds = NICE_SECONDS.find((s) => span / s <= MAX_BUCKETS) ?? 24 * 3600;
      return { from, to: nowMs, bucketSeconds };
    }
  }
}

/**
 * Per-bucket means of tokens/s and TTFT for the busiest provider/models in a range. A bucket
 * without a known value is null (a gap in the line), never 0.
 */
export function bucketSeries(points: Iterable<SeriesPoint>, range: ChartRange, nowMs: number, sessionStartMs: number, maxSeries = MAX_SERIES): SeriesView {
  const { from, to, bucketSeconds } = rangeSpan(range, nowMs, sessionStartMs);
  const width = bucketSeconds * 1000;
  const first = Math.floor(from / width);
  const count = Math.floor(to / width) - first + 1;
  const inRange: SeriesPoint[] = [];
  const perKey = new Map<string, number>();
  for (const p of points) {
    if (p.t >= from && p.t <= to) {
      inRange.push(p);
      perKey.set(p.key, (perKey.get(p.key) ?? 0) + 1);
    }
  }
  const keys = [...perKey.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, maxSeries)
    .map(([k]) => k)
    .sort();
  const index = new Map(keys.map((k, i) => [k, i]));
  // [sum, count] per bucket, for both measures of every series.
  const acc = keys.map(() => ({ tps: new Float64Array(count * 2), ttft: new Float64Array(count * 2) }));
  for (const p of inRange) {
    const s = index.get(p.key);
    if (s === undefined) {
      continue;
    }
    const b = Math.floor(p.t / width) - first;
    if (p.tokensPerSecond !== null) {
      acc[s].tps[b * 2] += p.tokensPerSecond;
      acc[s].tps[b * 2 + 1]++;
    }
    if (p.ttftMs !== null) {
      acc[s].ttft[b * 2] += p.ttftMs;
      acc[s].ttft[b * 2 + 1]++;
    }
  }
  const means = (a: Float64Array): (number | null)[] =>
    Array.from({ length: count }, (_, b) => (a[b * 2 + 1] === 0 ? null : Math.round((a[b * 2] / a[b * 2 + 1]) * 10) / 10));
  return {
    range,
    available: true,
    bucketSeconds,
    x: Array.from({ length: count }, (_, b) => ((first + b) * width) / 1000),
    series: keys.map((key, s) => ({ key, tokensPerSecond: means(acc[s].tps), ttftMs: means(acc[s].ttft) })),
    omitted: Math.max(0, perKey.size - keys.length),
  };
}

/** What a history range shows when there is no history to read. */
export function unavailableSeries(range: ChartRange): SeriesView {
  return { range, available: false, bucketSeconds: 0, x: [], series: [], omitted: 0 };
}

export const HISTORY_RANGES: ReadonlySet<ChartRange> = new Set(['today', '7d']);
export const HISTORY_CACHE_MS = 30_000;
