import * as keys from './binKeys';
import { QuantileCursor } from './quantileCursor';
import type { RequestRecord } from './record';
import type { ReportUnions } from './unions';
import { Section, type SectionQuantiles } from './section';

// Bound once: through tsx's CommonJS interop each use of an import is a getter call (hot path).
const { sampleKey, ZERO_SAMPLE } = keys;

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

/** The keys of a map that only grows, sorted once per new key rather than for every report. */
class SortedNames {
  private sorted: readonly string[] = [];

  of(map: ReadonlyMap<string, unknown>): readonly string[] {
    if (this.sorted.length !== map.size) {
      this.sorted = [...map.keys()].sort();
    }
    return this.sorted;
  }
}

export interface RollupQuantiles {
  total: SectionQuantiles;
  streaming: SectionQuantiles;
  nonStreaming: SectionQuantiles;
}

/**
 * The stored `streaming` and `nonStreaming` sections of a level. `total` is their union: not
 * stored, but its quantiles are kept up to date like the sections' own (quantileCursor.ts).
 */
export class SectionPair {
  readonly streaming = new Section();
  readonly nonStreaming = new Section();
  private readonly totalTtft = new QuantileCursor();
  private readonly totalSpeed = new QuantileCursor();
  private readonly totalDuration = new QuantileCursor();
  private cached: RollupQuantiles | undefined;
  private cachedAt = -1;

  /** Only grows, so it also versions the cached quantiles. */
  get requests(): number {
    return this.streaming.requests + this.nonStreaming.requests;
  }

  /** `ttftKey` etc.: the record's values as bin keys (`sampleKey`). */
  add(r: RequestRecord, ttftKey: number, speedKey: number, durationKey: number): void {
    (r.streaming ? this.streaming : this.nonStreaming).add(r, ttftKey, speedKey, durationKey);
    if (ttftKey > ZERO_SAMPLE) {
      this.totalTtft.onAdd(ttftKey);
    }
    if (speedKey > ZERO_SAMPLE) {
      this.totalSpeed.onAdd(speedKey);
    }
    if (durationKey > ZERO_SAMPLE) {
      this.totalDuration.onAdd(durationKey);
    }
  }

  mergeFrom(o: SectionPair): void {
    this.streaming.mergeFrom(o.streaming);
    this.nonStreaming.mergeFrom(o.nonStreaming);
    this.totalTtft.invalidate();
    this.totalSpeed.invalidate();
    this.totalDuration.invalidate();
  }

  /** Shared between reports until a request is added (callers copy). */
  quantiles(): RollupQuantiles {
    const requests = this.requests;
    if (this.cached === undefined || this.cachedAt !== requests) {
      const s = this.streaming;
      const n = this.nonStreaming;
      this.cached = {
        total: {
          ttftMs: this.totalTtft.quantilesOf(s.ttftMs, n.ttftMs),
          outputTokensPerSecond: this.totalSpeed.quantilesOf(s.outputTokensPerSecond, n.outputTokensPerSecond),
          durationMsQuantiles: this.totalDuration.quantilesOf(s.durationMsQuantiles, n.durationMsQuantiles),
        },
        streaming: s.quantiles(),
        nonStreaming: n.quantiles(),
      };
      this.cachedAt = requests;
    }
    return this.cached;
  }
}

export class ModelEntry extends SectionPair {
  /** The latest `startedAt` of its requests. */
  lastAccessed: string | null = null;
}

/** A provider's models, and its own sections holding the union of them all (its roll-up). */
export class ProviderEntry extends SectionPair {
  readonly models = new Map<string, ModelEntry>();
  private readonly names = new SortedNames();

  /** Its model names in report order. Never mutate the result. */
  modelNames(): readonly string[] {
    return this.names.of(this.models);
  }

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
 * and one of its provider, so an unfiltered provider roll-up reads maintained bins and quantiles.
 * The summary (the union of the few providers) and filtered roll-ups are derived when asked for
 * and cached until something changes.
 */
export class Rollup {
  readonly providers = new Map<string, ProviderEntry>();
  /** Unions nothing maintains (the summary, filtered roll-ups), for the last filter asked for. */
  readonly unionCache = new UnionCache<ReportUnions>();
  private count = 0;
  private readonly names = new SortedNames();

  add(r: RequestRecord): void {
    const p = this.provider(r.provider);
    const m = p.model(r.model);
    const ttftKey = sampleKey(r.ttftMs);
    const speedKey = sampleKey(r.outputTokensPerSecond);
    const durationKey = sampleKey(r.durationMs);
    m.add(r, ttftKey, speedKey, durationKey);
    p.add(r, ttftKey, speedKey, durationKey);
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

  /** Provider names in report order. Never mutate the result. */
  providerNames(): readonly string[] {
    return this.names.of(this.providers);
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
