import { BinStore } from './binStore';
import { quantilesOf } from './quantiles';
import type { RollupQuantiles, SectionPair } from './rollup';
import type { SectionQuantiles } from './section';

/** The quantiles of one report that no stored section holds. */
export interface ReportUnions {
  /** Each provider's roll-up, by name. */
  providers: Map<string, RollupQuantiles>;
  /** The union of every provider of the report. */
  summary: SectionQuantiles;
}

type Dist = keyof SectionQuantiles;
const DISTS: readonly Dist[] = ['ttftMs', 'outputTokensPerSecond', 'durationMsQuantiles'];

/** The union of `stores`; a single one is read in place rather than copied. */
const union = (stores: BinStore[]): BinStore => (stores.length === 1 ? stores[0] : BinStore.sumOf(stores));

/**
 * `groups`: per provider, the pairs whose union is its roll-up: [the provider entry] without a
 * model filter (its sections hold every model), else its matching models. A provider's roll-up is
 * the union of its group, and the summary the union of those unions, so each model's bins are read
 * once however many levels they count in.
 */
export function reportUnions(groups: ReadonlyMap<string, readonly SectionPair[]>): ReportUnions {
  const providers = new Map<string, RollupQuantiles>();
  const summaryParts: Record<Dist, BinStore[]> = { ttftMs: [], outputTokensPerSecond: [], durationMsQuantiles: [] };
  for (const [name, pairs] of groups) {
    if (pairs.length === 1) {
      providers.set(name, pairs[0].quantiles()); // maintained, nothing to add up
      for (const d of DISTS) {
        summaryParts[d].push(pairs[0].streaming[d], pairs[0].nonStreaming[d]);
      }
      continue;
    }
    const q: RollupQuantiles = { total: noQuantilesYet(), streaming: noQuantilesYet(), nonStreaming: noQuantilesYet() };
    for (const d of DISTS) {
      const s = union(pairs.map((p) => p.streaming[d]));
      const n = union(pairs.map((p) => p.nonStreaming[d]));
      q.total[d] = quantilesOf(s, n);
      q.streaming[d] = quantilesOf(s);
      q.nonStreaming[d] = quantilesOf(n);
      summaryParts[d].push(s, n);
    }
    providers.set(name, q);
  }
  const summary = noQuantilesYet();
  for (const d of DISTS) {
    summary[d] = quantilesOf(union(summaryParts[d]));
  }
  return { providers, summary };
}

/** Filled in per distribution. */
const noQuantilesYet = (): SectionQuantiles => ({ ttftMs: NONE, outputTokensPerSecond: NONE, durationMsQuantiles: NONE });
const NONE = { p50: null, p90: null, p99: null };
