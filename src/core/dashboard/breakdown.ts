import type { ModelTotals, ProviderTotals, RunningTotals, SectionTotals } from '../metrics';
import type { BreakdownProvider, BreakdownQuery, BreakdownStats, BreakdownView, SectionMode } from '../../protocol';
import type { SessionTotals } from './session';

const round1 = (n: number | null): number | null => (n === null ? null : Math.round(n * 10) / 10);

function stats(s: SectionTotals, ttft: [number, number], lastAccessed: string | null): BreakdownStats {
  return {
    requests: s.requests,
    errors: s.errors,
    inputTokens: s.inputTokens,
    outputTokens: s.outputTokens,
    cacheReadTokens: s.cacheReadTokens,
    cacheCreationTokens: s.cacheCreationTokens,
    avgTtftMs: ttft[1] === 0 ? null : round1(ttft[0] / ttft[1]),
    ttftP50Ms: round1(s.ttftMs.p50),
    ttftP90Ms: round1(s.ttftMs.p90),
    tokensPerSecondP50: round1(s.outputTokensPerSecond.p50),
    avgDurationMs: round1(s.avgDurationMs),
    throttleWaitMs: s.throttleWaitMs,
    estimatedRequests: s.estimatedRequests,
    lastAccessed,
  };
}

const section = (t: ModelTotals | ProviderTotals['rollup'], mode: SectionMode): SectionTotals => t[mode];

/**
 * The panel's breakdown from a running-totals report: one section (total, streaming or
 * non-streaming) of every provider and model, with the mean TTFT the report lacks taken from the
 * session's sums over exactly the models the report shows (so a model filter narrows it too).
 */
export function toBreakdown(totals: RunningTotals, query: BreakdownQuery, session: SessionTotals): BreakdownView {
  const all: [number, number] = [0, 0];
  const providers: BreakdownProvider[] = [];
  for (const [name, p] of Object.entries(totals.providers)) {
    const providerTtft: [number, number] = [0, 0];
    const models = Object.entries(p.models).map(([modelName, m]) => {
      const ttft: [number, number] = [0, 0];
      session.addTtft(ttft, name, modelName, query.mode);
      providerTtft[0] += ttft[0];
      providerTtft[1] += ttft[1];
      return { name: modelName, stats: stats(section(m, query.mode), ttft, m.lastAccessed) };
    });
    all[0] += providerTtft[0];
    all[1] += providerTtft[1];
    providers.push({ name, stats: stats(section(p.rollup, query.mode), providerTtft, p.lastAccessed), models });
  }
  const summary = query.mode === 'total' ? totals.summary : summarySection(totals, query.mode);
  return { query, summary: stats(summary, all, totals.summary.lastAccessed), providers };
}

/**
 * The report's summary is the `total` section only; a streaming or non-streaming summary adds up
 * the providers' sections (counts only: quantiles do not add, so they stay unknown there).
 */
function summarySection(totals: RunningTotals, mode: SectionMode): SectionTotals {
  const out: SectionTotals = {
    ...totals.summary,
    requests: 0,
    errors: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheCreationTokens: 0,
    durationMs: 0,
    avgDurationMs: null,
    throttleWaitMs: 0,
    estimatedRequests: 0,
    ttftMs: { p50: null, p90: null, p99: null },
    outputTokensPerSecond: { p50: null, p90: null, p99: null },
  };
  let timed = 0;
  for (const p of Object.values(totals.providers)) {
    const s = p.rollup[mode];
    out.requests += s.requests;
    out.errors += s.errors;
    out.inputTokens += s.inputTokens;
    out.outputTokens += s.outputTokens;
    out.cacheReadTokens += s.cacheReadTokens;
    out.cacheCreationTokens += s.cacheCreationTokens;
    out.durationMs += s.durationMs;
    out.throttleWaitMs += s.throttleWaitMs;
    out.estimatedRequests += s.estimatedRequests;
    if (s.avgDurationMs !== null && s.avgDurationMs > 0) {
      timed += s.durationMs / s.avgDurationMs;
    }
  }
  out.avgDurationMs = timed === 0 ? null : out.durationMs / timed;
  return out;
}
