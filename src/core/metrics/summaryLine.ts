import type { Quantiles } from './quantiles';
import type { SectionTotals } from './section';

// toLocaleString builds a formatter on every call (tens of µs); one formatter serves every line.
const intFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const int = (n: number): string => intFormat.format(Math.round(n));

function p50(q: Quantiles, unit: string, digits: number): string {
  return q.p50 === null ? 'n/a' : `${q.p50.toFixed(digits)}${unit}`;
}

/**
 * The periodic log line. It is cumulative since start (or the last reset): the totals are never
 * reset to produce it, so two lines can be subtracted to get the rate in between.
 */
export function formatSummaryLine(s: SectionTotals): string {
  return (
    `Tokenmeter summary: ${int(s.requests)} requests, ${int(s.errors)} errors; ` +
    `tokens in ${int(s.inputTokens)}, out ${int(s.outputTokens)}, ` +
    `cache read ${int(s.cacheReadTokens)}, cache write ${int(s.cacheCreationTokens)}; ` +
    `TTFT p50 ${p50(s.ttftMs, ' ms', 0)}; output p50 ${p50(s.outputTokensPerSecond, ' tok/s', 1)}`
  );
}
