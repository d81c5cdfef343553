/** The breakdown's columns: what each shows, how it sorts, how it reads. */
import type { BreakdownStats } from '../src/protocol';
import { int, ms, percent, rate } from './format';

export interface StatColumn {
  key: string;
  head: string;
  /** Spoken and shown on hover: what exactly the number is. */
  title: string;
  value: (s: BreakdownStats) => number | null;
  format: (v: number | null) => string;
}

const errorRate = (s: BreakdownStats): number | null => (s.requests === 0 ? null : s.errors / s.requests);

export const STAT_COLUMNS: StatColumn[] = [
  { key: 'requests', head: 'Requests', title: 'Completed requests', value: (s) => s.requests, format: int },
  { key: 'errors', head: 'Errors', title: 'Requests that failed', value: (s) => s.errors, format: int },
  { key: 'errorRate', head: 'Error rate', title: 'Errors ÷ requests', value: errorRate, format: percent },
  { key: 'inputTokens', head: 'Input', title: 'Input tokens, cache excluded', value: (s) => s.inputTokens, format: int },
  { key: 'outputTokens', head: 'Output', title: 'Output tokens', value: (s) => s.outputTokens, format: int },
  { key: 'cacheReadTokens', head: 'Cache read', title: 'Input tokens read from the cache', value: (s) => s.cacheReadTokens, format: int },
  { key: 'cacheCreationTokens', head: 'Cache write', title: 'Input tokens written to the cache', value: (s) => s.cacheCreationTokens, format: int },
  { key: 'avgTtftMs', head: 'Avg TTFT', title: 'Mean time to first token', value: (s) => s.avgTtftMs, format: ms },
  { key: 'ttftP50Ms', head: 'p50 TTFT', title: 'Median time to first token', value: (s) => s.ttftP50Ms, format: ms },
  { key: 'ttftP90Ms', head: 'p90 TTFT', title: '90th percentile time to first token', value: (s) => s.ttftP90Ms, format: ms },
  { key: 'tokensPerSecondP50', head: 'p50 tok/s', title: 'Median output tokens per second', value: (s) => s.tokensPerSecondP50, format: rate },
  { key: 'avgDurationMs', head: 'Avg duration', title: 'Mean request duration', value: (s) => s.avgDurationMs, format: ms },
  { key: 'throttleWaitMs', head: 'Throttle wait', title: 'Time lost to rate limiting before retries', value: (s) => s.throttleWaitMs, format: ms },
];

const byKey = new Map(STAT_COLUMNS.map((c) => [c.key, c]));

/** Sorts by a column; unknown values last whichever the direction, then by name. */
export function comparator<T extends { name: string; stats: BreakdownStats }>(key: string, desc: boolean): (a: T, b: T) => number {
  const byName = (a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const col = byKey.get(key);
  if (col === undefined) {
    return desc ? (a, b) => byName(b, a) : byName;
  }
  return (a, b) => {
    const x = col.value(a.stats);
    const y = col.value(b.stats);
    if (x === y) {
      return byName(a, b);
    }
    if (x === null) {
      return 1;
    }
    if (y === null) {
      return -1;
    }
    return desc ? y - x : x - y;
  };
}

/** Whether two rows' numbers are the same (their text is then left alone). */
export function sameStats(a: BreakdownStats, b: BreakdownStats): boolean {
  return (
    a.requests === b.requests &&
    a.errors === b.errors &&
    a.inputTokens === b.inputTokens &&
    a.outputTokens === b.outputTokens &&
    a.cacheReadTokens === b.cacheReadTokens &&
    a.cacheCreationTokens === b.cacheCreationTokens &&
    a.avgTtftMs === b.avgTtftMs &&
    a.ttftP50Ms === b.ttftP50Ms &&
    a.ttftP90Ms === b.ttftP90Ms &&
    a.tokensPerSecondP50 === b.tokensPerSecondP50 &&
    a.avgDurationMs === b.avgDurationMs &&
    a.throttleWaitMs === b.throttleWaitMs
  );
}
