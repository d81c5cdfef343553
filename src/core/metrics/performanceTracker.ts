import { BurstTracker } from './burstTracker';
import * as checks from './errors';
import { Ring } from './ring';
import * as record from './record';
import type { RequestRecord } from './record';

// Bound once at load: under tsx's CommonJS interop every call through an import is a getter call,
// which cost more than the checks themselves on this per-response path (bench/metrics.bench.ts).
const { requireCount, requireNonEmptyString } = checks;
const { tokensPerSecond } = record;

export interface SessionTokenUsage {
  input: number;
  output: number;
  total: number;
}

/** One logged API response (seed 000's `ProviderPerformanceMetrics`). */
export interface ProviderPerformanceMetrics {
  provider: string;
  model: string;
  /** Epoch ms when the response was logged. */
  timestamp: number;
  durationMs: number;
  tokensIn: number;
  tokensOut: number;
  tokensPerSecond: number;
  burstTokensPerSecond: number;
  throttleWaitTimeMs: number;
  /** The session's cumulative usage including this entry. */
  sessionTokenUsage: SessionTokenUsage;
}

export interface ProviderPerformanceTrackerOptions {
  /** Entries kept; older ones are dropped so memory stays bounded. */
  capacity?: number;
  /**
   * Epoch ms. The default is monotonic (time origin + performance.now()), so the burst window
   * cannot be stretched or emptied by a wall-clock adjustment. Tests inject their own.
   */
  now?: () => number;
  burstTracker?: BurstTracker;
}

/** Records carry measured (fractional, possibly estimated) values; the seed API takes integers. */
function toCount(n: number | null): number {
  return n === null || !(n > 0) ? 0 : Math.min(Math.round(n), Number.MAX_SAFE_INTEGER);
}

const origin = performance.timeOrigin; // a getter too, and constant for the process
const monotonicEpochMs = (): number => origin + performance.now();

export class ProviderPerformanceTracker {
  readonly burstTracker: BurstTracker;
  private readonly entries: Ring<ProviderPerformanceMetrics>;
  private readonly now: () => number;
  private input = 0;
  private output = 0;

  constructor(options: ProviderPerformanceTrackerOptions = {}) {
    this.entries = new Ring(options.capacity ?? 10_000);
    this.now = options.now ?? monotonicEpochMs;
    this.burstTracker = options.burstTracker ?? new BurstTracker();
  }

  logApiResponse(
    provider: string,
    model: string,
    tokensIn: number,
    tokensOut: number,
    durationMs: number,
  ): ProviderPerformanceMetrics {
    requireNonEmptyString('provider', provider);
    requireNonEmptyString('model', model);
    requireCount('tokensIn', tokensIn);
    requireCount('tokensOut', tokensOut);
    requireCount('durationMs', durationMs);

    const timestamp = this.now();
    const tokens = tokensIn + tokensOut;
    this.burstTracker.addTokens(tokens, timestamp);
    this.input += tokensIn;
    this.output += tokensOut;
    const entry: ProviderPerformanceMetrics = {
      provider,
      model,
      timestamp,
      durationMs,
      tokensIn,
      tokensOut,
      tokensPerSecond: tokensPerSecond(tokensIn, tokensOut, durationMs),
      burstTokensPerSecond: this.burstTracker.computeBurstRate(),
      throttleWaitTimeMs: 0,
      sessionTokenUsage: { input: this.input, output: this.output, total: this.input + this.output },
    };
    this.entries.push(entry);
    return entry;
  }

  /**
   * Logs a proxy request record: all input tokens (cache included, as in `promptTokensPerSecond`)
   * and the output tokens, rounded; unknown counts and durations are logged as 0 because the seed
   * API only takes integers. Records without a provider or model are the proxy's own errors and are skipped.
   */
  logRecord(record: RequestRecord): ProviderPerformanceMetrics | null {
    if (record.provider === '' || record.model === '') {
      return null;
    }
    const tokensIn = toCount(record.inputTokens) + toCount(record.cacheReadTokens) + toCount(record.cacheCreationTokens);
    const entry = this.logApiResponse(
      record.provider,
      record.model,
      tokensIn,
      toCount(record.outputTokens),
      toCount(record.durationMs),
    );
    entry.throttleWaitTimeMs = toCount(record.throttleWaitTimeMs);
    return entry;
  }

  getLatestMetrics(): ProviderPerformanceMetrics | null {
    return this.entries.last() ?? null;
  }

  /** Adds time lost to throttling to the latest entry (the response that was throttled). */
  updateThrottleWaitTime(throttleWaitTimeMs: number): ProviderPerformanceMetrics {
    requireCount('throttleWaitTimeMs', throttleWaitTimeMs);
    const latest = this.entries.last();
    if (latest === undefined) {
      throw new Error('No metrics to update with throttle wait time');
    }
    latest.throttleWaitTimeMs += throttleWaitTimeMs;
    return latest;
  }

  /** Newest first, at most `capacity` entries. */
  getMetrics(limit?: number): ProviderPerformanceMetrics[] {
    return this.entries.newestFirst(limit);
  }

  get size(): number {
    return this.entries.size;
  }

  get capacity(): number {
    return this.entries.capacity;
  }

  /** Cumulative usage of the session, including entries already dropped from the ring. */
  get sessionTokenUsage(): SessionTokenUsage {
    return { input: this.input, output: this.output, total: this.input + this.output };
  }

  reset(): void {
    this.entries.clear();
    this.burstTracker.reset();
    this.input = 0;
    this.output = 0;
  }
}
