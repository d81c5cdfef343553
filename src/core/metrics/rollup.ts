import { quantilesOf } from './quantiles';
import type { RequestRecord } from './record';
import { Section, type SectionQuantiles } from './section';

/** `provider:model`, the key of design.md's `ProviderModelMetrics`. */
export function modelKey(provider: string, model: string): string {
  return `${provider}:${model}`;
}

/** Splits at the first colon only: model names keep theirs (`ollama:llama3:8b` → llama3:8b). */
export function splitKey(key: string): [provider: string, model: string] {
  const i = key.indexOf(':');
  return i < 0 ? [key, ''] : [key.slice(0, i), key.slice(i + 1)];
}

/** ISO 8601 UTC strings from `toISOString()` order like the instants they name. */
export function later(a: string | null, b: string | null): string | null {
  return a === null || (b !== null && b > a) ? b : a;
}

/** Quantiles of the union of several sections, per distribution. */
export function unionQuantiles(sections: readonly Section[]): SectionQuantiles {
  return {
    ttftMs: quantilesOf(sections.map((s) => s.ttftMs.sketch)),
    outputTokensPerSecond: quantilesOf(sections.map((s) => s.outputTokensPerSecond.sketch)),
    durationMsQuantiles: quantilesOf(sections.map((s) => s.durationMsQuantiles.sketch)),
  };
}

/** A union result remembered for one filter until the owner changes. */
export class UnionCache<T> {
  private key = '';
  private version = -1;
  private value: T | undefined;

  get(key: string, version: number, compute: () => T): T {
    if (this.value === undefined || this.version !== version || this.key !== key) {
      this.value = compute();
      this.key = key;
      this.version = version;
    }
    return this.value;
  }
}

export interface RollupQuantiles {
  total: SectionQuantiles;
  streaming: SectionQuantiles;
  nonStreaming: SectionQuantiles;
}

/** The stored `streaming` and `nonStreaming` sections of a level; `total` is their union. */
export class SectionPair {
  readonly streaming = new Section();
  readonly nonStreaming = new Section();
  private readonly totalCache = new UnionCache<SectionQuantiles>();

  /** Only grows, so it also versions the cached quantiles. */
  get requests(): number {
    return this.streaming.requests + this.nonStreaming.requests;
  }

  add(r: RequestRecord): void {
    (r.streaming ? this.streaming : this.nonStreaming).add(r);
  }

  mergeFrom(o: SectionPair): void {
    this.streaming.mergeFrom(o.streaming);
    this.nonStreaming.mergeFrom(o.nonStreaming);
  }

  quantiles(): RollupQuantiles {
    return {
      total: this.totalCache.get('', this.requests, () => unionQuantiles([this.streaming, this.nonStreaming])),
      streaming: this.streaming.quantiles(),
      nonStreaming: this.nonStreaming.quantiles(),
    };
  }
}

export class ModelEntry extends SectionPair {
  /** The latest `startedAt` of its requests. */
  lastAccessed: string | null = null;
}

/** A provider's models, and its own sections holding the union of them all (its roll-up). */
export class ProviderEntry extends SectionPair {
  readonly models = new Map<string, ModelEntry>();
  /** The roll-up of the models matching a model filter. */
  readonly filteredCache = new UnionCache<RollupQuantiles>();

  model(name: string): ModelEntry {
    let m = this.models.get(name);
    if (m === undefined) {
      m = new ModelEntry();
      this.models.set(name, m);
    }
    return m;
  }
}

/**
 * The provider → model roll-up of completed requests. A record updates one section of its model
 * and one of its provider, so an unfiltered provider roll-up reads maintained sketches. The rest is
 * derived when asked for and cached until something changes: `total` sections (the union of
 * streaming and non-streaming), the summary (the union of the few providers) and filtered roll-ups.
 */
export class Rollup {
  readonly providers = new Map<string, ProviderEntry>();
  /** Unions for the summary, per filter. */
  readonly summaryCache = new UnionCache<RollupQuantiles>();
  private count = 0;

  add(r: RequestRecord): void {
    const p = this.provider(r.provider);
    const m = p.model(r.model);
    m.add(r);
    p.add(r);
    this.count++;
    // Providers and the summary take the latest of their models when a report is built.
    m.lastAccessed = later(m.lastAccessed, r.startedAt);
  }

  mergeFrom(o: Rollup): void {
    for (const [providerName, op] of o.providers) {
      const p = this.provider(providerName);
      for (const [modelName, om] of op.models) {
        const m = p.model(modelName);
        m.mergeFrom(om);
        m.lastAccessed = later(m.lastAccessed, om.lastAccessed);
      }
      p.mergeFrom(op);
    }
    this.count += o.count;
  }

  /** Completed requests counted; only grows (until a reset replaces the roll-up). */
  get requests(): number {
    return this.count;
  }

  provider(name: string): ProviderEntry {
    let p = this.providers.get(name);
    if (p === undefined) {
      p = new ProviderEntry();
      this.providers.set(name, p);
    }
    return p;
  }

  get(key: string): ModelEntry | undefined {
    const [provider, model] = splitKey(key);
    return this.providers.get(provider)?.models.get(model);
  }

  keys(): string[] {
    const out: string[] = [];
    for (const [p, entry] of this.providers) {
      for (const m of entry.models.keys()) {
        out.push(modelKey(p, m));
      }
    }
    return out;
  }

  get lastAccessed(): string | null {
    let latest: string | null = null;
    for (const p of this.providers.values()) {
      for (const m of p.models.values()) {
        latest = later(latest, m.lastAccessed);
      }
    }
    return latest;
  }
}
