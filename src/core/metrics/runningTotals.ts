import { compileGlob, isMatchAll } from './glob';
import type { ActiveRequest } from './requestTracker';
import { later, type ModelEntry, type Rollup, type RollupQuantiles, type SectionPair } from './rollup';
import { noSectionQuantiles, SectionSum, type SectionQuantiles, type SectionTotals } from './section';
import { reportUnions } from './unions';

/** `GET /_tokenmeter/api/running-totals?provider=GLOB&model=GLOB&includeActive=true|false`. */
export interface RunningTotalsQuery {
  provider?: string | null;
  model?: string | null;
  /** Count in-flight requests (default true). */
  includeActive?: boolean;
}

export interface SectionTriple {
  total: SectionTotals;
  streaming: SectionTotals;
  nonStreaming: SectionTotals;
}

export interface ModelTotals extends SectionTriple {
  lastAccessed: string | null;
}

export interface ProviderTotals {
  lastAccessed: string | null;
  rollup: SectionTriple;
  models: Record<string, ModelTotals>;
}

export interface RunningTotals {
  summary: SectionTotals & { lastAccessed: string | null };
  providers: Record<string, ProviderTotals>;
}

/** Reads a control-API query string; absent or empty filters match everything. */
export function runningTotalsQueryFrom(params: URLSearchParams): RunningTotalsQuery {
  const includeActive = params.get('includeActive');
  return {
    provider: params.get('provider'),
    model: params.get('model'),
    includeActive: includeActive === null ? true : !['false', '0', 'no'].includes(includeActive.toLowerCase()),
  };
}

/** Names come from clients: `__proto__` must become a key, not a prototype. */
function put<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

const EMPTY_QUANTILES: RollupQuantiles = {
  total: noSectionQuantiles(),
  streaming: noSectionQuantiles(),
  nonStreaming: noSectionQuantiles(),
};

/** Counters of one level: stored sections plus the in-flight requests that belong there. */
class Sums {
  readonly streaming = new SectionSum();
  readonly nonStreaming = new SectionSum();

  addPair(p: SectionPair): void {
    this.streaming.addSection(p.streaming);
    this.nonStreaming.addSection(p.nonStreaming);
  }

  addSums(o: Sums): void {
    this.streaming.addSum(o.streaming);
    this.nonStreaming.addSum(o.nonStreaming);
  }

  addActive(list: readonly ActiveRequest[]): void {
    for (const a of list) {
      (a.streaming ? this.streaming : this.nonStreaming).addActive(a);
    }
  }

  toTriple(q: RollupQuantiles): SectionTriple {
    return {
      total: this.total(q.total),
      streaming: this.streaming.toTotals(q.streaming),
      nonStreaming: this.nonStreaming.toTotals(q.nonStreaming),
    };
  }

  total(q: SectionQuantiles): SectionTotals {
    return this.streaming.toTotals(q, this.nonStreaming);
  }
}

/** The report of one model's completed requests. */
export function modelTotals(m: ModelEntry): ModelTotals {
  return withLastAccessed(m.lastAccessed, modelTriple(m));
}

/** A model without in-flight requests reads its stored sections directly (most of them, usually). */
function modelTriple(m: ModelEntry): SectionTriple {
  const q = m.quantiles();
  return {
    total: m.streaming.toTotals(q.total, m.nonStreaming),
    streaming: m.streaming.toTotals(q.streaming),
    nonStreaming: m.nonStreaming.toTotals(q.nonStreaming),
  };
}

/** A literal rather than a spread: cheaper, for 1,000 models, and the same keys in the same order. */
const withLastAccessed = (lastAccessed: string | null, t: SectionTriple): ModelTotals => ({
  lastAccessed,
  total: t.total,
  streaming: t.streaming,
  nonStreaming: t.nonStreaming,
});

/** Active requests by provider, then by full model name (never split at a colon). */
function groupActive(active: readonly ActiveRequest[]): Map<string, Map<string, ActiveRequest[]>> {
  const byProvider = new Map<string, Map<string, ActiveRequest[]>>();
  for (const a of active) {
    let models = byProvider.get(a.provider);
    if (models === undefined) {
      models = new Map();
      byProvider.set(a.provider, models);
    }
    const list = models.get(a.model);
    if (list === undefined) {
      models.set(a.model, [a]);
    } else {
      list.push(a);
    }
  }
  return byProvider;
}

/** Sorted names, and those of in-flight requests (rarely any) among them. Never mutate the result. */
function withActive(sorted: readonly string[], active: Iterable<string> | undefined): readonly string[] {
  if (active === undefined) {
    return sorted;
  }
  const names = new Set(sorted);
  for (const name of active) {
    names.add(name);
  }
  return [...names].sort();
}

/**
 * The hierarchical running totals of design.md ("Contracts"). Completed requests come from the
 * roll-up; in-flight ones (`active`, when included) add to `requests`, `activeRequests` and the live
 * `outputTokens` of their model's section, so each request is counted once, in flight or done.
 * Quantiles describe completed requests. Under a model filter a provider's roll-up, the summary and
 * `lastAccessed` cover only the matching models.
 */
export function buildRunningTotals(
  rollup: Rollup,
  query: RunningTotalsQuery = {},
  active: readonly ActiveRequest[] = [],
): RunningTotals {
  const providerMatches = compileGlob(query.provider);
  const modelMatches = compileGlob(query.model);
  const allModels = isMatchAll(modelMatches);
  const unfiltered = allModels && isMatchAll(providerMatches);
  const activeBy = groupActive(query.includeActive === false ? [] : active);

  const providers: Record<string, ProviderTotals> = {};
  const summary = new Sums();
  let summaryLastAccessed: string | null = null;
  /** Providers shown, in order; their roll-up quantiles are known once all are listed. */
  const shown: { name: string; totals: Omit<ProviderTotals, 'rollup'>; sums: Sums }[] = [];
  /** The pairs whose union is each provider's roll-up (see `reportUnions`). */
  const groups = new Map<string, SectionPair[]>();

  for (const providerName of withActive(rollup.providerNames(), activeBy.size > 0 ? activeBy.keys() : undefined)) {
    if (!providerMatches(providerName)) {
      continue;
    }
    const entry = rollup.providers.get(providerName);
    const activeModels = activeBy.get(providerName);
    const models: Record<string, ModelTotals> = {};
    const sums = new Sums();
    const matched: ModelEntry[] = [];
    let count = 0;
    let lastAccessed: string | null = null;

    for (const modelName of withActive(entry?.modelNames() ?? [], activeModels?.keys())) {
      if (!modelMatches(modelName)) {
        continue;
      }
      const m = entry?.models.get(modelName);
      const inFlight = activeModels?.get(modelName);
      let modelLastAccessed = m?.lastAccessed ?? null;
      let triple: SectionTriple;
      if (inFlight === undefined && m !== undefined) {
        triple = modelTriple(m);
      } else {
        const modelSums = new Sums();
        if (m !== undefined) {
          modelSums.addPair(m);
        }
        modelSums.addActive(inFlight ?? []);
        triple = modelSums.toTriple(m?.quantiles() ?? EMPTY_QUANTILES);
        for (const a of inFlight ?? []) {
          modelLastAccessed = later(modelLastAccessed, a.startedAt);
        }
      }
      if (m !== undefined) {
        matched.push(m);
        if (!allModels) {
          sums.addPair(m);
        }
      }
      sums.addActive(inFlight ?? []);
      put(models, modelName, withLastAccessed(modelLastAccessed, triple));
      count++;
      lastAccessed = later(lastAccessed, modelLastAccessed);
    }
    if (count === 0) {
      continue; // a provider none of whose models match is left out, not shown empty
    }
    if (entry !== undefined && allModels) {
      sums.addPair(entry); // its own sections already hold every model
      groups.set(providerName, [entry]);
    } else if (entry !== undefined && matched.length > 0) {
      groups.set(providerName, matched);
    }
    shown.push({ name: providerName, totals: { lastAccessed, models }, sums });
    summary.addSums(sums);
    summaryLastAccessed = later(summaryLastAccessed, lastAccessed);
  }

  const filterKey = unfiltered ? '' : `${query.provider ?? ''}\u0000${query.model ?? ''}`;
  const unions = rollup.unionCache.get(filterKey, rollup.requests, () => reportUnions(groups));
  for (const { name, totals, sums } of shown) {
    const q = unions.providers.get(name) ?? EMPTY_QUANTILES;
    put(providers, name, { lastAccessed: totals.lastAccessed, rollup: sums.toTriple(q), models: totals.models });
  }
  return { summary: { ...summary.total(unions.summary), lastAccessed: summaryLastAccessed }, providers };
}

/** Only the unfiltered summary of completed requests, without building the per-model report. */
export function buildSummary(rollup: Rollup): SectionTotals & { lastAccessed: string | null } {
  const sums = new Sums();
  const groups = new Map<string, SectionPair[]>();
  for (const [name, p] of rollup.providers) {
    sums.addPair(p);
    groups.set(name, [p]);
  }
  const unions = rollup.unionCache.get('', rollup.requests, () => reportUnions(groups));
  return { ...sums.total(unions.summary), lastAccessed: rollup.lastAccessed };
}
