import { Distribution, noQuantiles, type Quantiles } from './quantiles';
import type { ErrorCategory, RequestRecord } from './record';
import type { ActiveRequest } from './requestTracker';

export const ERROR_CATEGORIES: readonly ErrorCategory[] = [
  'auth',
  'rate_limit',
  'overloaded',
  'bad_request',
  'not_found',
  'timeout',
  'upstream_5xx',
  'network',
  'client_disconnect',
  'cancelled',
  'stream_error',
  'proxy_error',
  'unknown',
];

export type ErrorCounts = Record<ErrorCategory, number>;

const categoryIndex = new Map<string, number>(ERROR_CATEGORIES.map((c, i) => [c, i]));
const UNKNOWN = ERROR_CATEGORIES.indexOf('unknown');

/** A section `S` of the running-totals JSON (design.md, "Contracts"), plus a few extra fields. */
export interface SectionTotals {
  /** Completed requests, plus in-flight ones when they are included (each counted once). */
  requests: number;
  errors: number;
  inputTokens: number;
  /** Includes the live count of in-flight requests when they are included. */
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  /** Sum over completed requests with a known duration. */
  durationMs: number;
  /** Mean over completed requests with a known duration; null when there are none. */
  avgDurationMs: number | null;
  toolUses: number;
  toolResults: number;
  toolCalls: number;
  throttleWaitMs: number;
  ttftMs: Quantiles;
  outputTokensPerSecond: Quantiles;
  durationMsQuantiles: Quantiles;
  errorsByCategory: ErrorCounts;
  activeRequests: number;
  /** Requests whose tokens were estimated from the text (the provider sent no usage). */
  estimatedRequests: number;
}

/** The three distributions of a section, by the field names they are reported under. */
export interface SectionQuantiles {
  ttftMs: Quantiles;
  outputTokensPerSecond: Quantiles;
  durationMsQuantiles: Quantiles;
}

export const noSectionQuantiles = (): SectionQuantiles => ({
  ttftMs: noQuantiles(),
  outputTokensPerSecond: noQuantiles(),
  durationMsQuantiles: noQuantiles(),
});

/** Counters shared by a stored section and a sum built for a report. */
class Counters {
  requests = 0;
  errors = 0;
  inputTokens = 0;
  outputTokens = 0;
  cacheReadTokens = 0;
  cacheCreationTokens = 0;
  durationMs = 0;
  timedRequests = 0;
  toolUses = 0;
  toolResults = 0;
  toolCalls = 0;
  throttleWaitMs = 0;
  estimatedRequests = 0;
  activeRequests = 0;
  /** By ERROR_CATEGORIES index; allocated with the first error (most sections never see one). */
  errorCounts: number[] | null = null;

  protected countError(index: number, n: number): void {
    this.errorCounts ??= new Array<number>(ERROR_CATEGORIES.length).fill(0);
    this.errorCounts[index] += n;
  }

  addCounters(o: Counters): void {
    this.requests += o.requests;
    this.errors += o.errors;
    this.inputTokens += o.inputTokens;
    this.outputTokens += o.outputTokens;
    this.cacheReadTokens += o.cacheReadTokens;
    this.cacheCreationTokens += o.cacheCreationTokens;
    this.durationMs += o.durationMs;
    this.timedRequests += o.timedRequests;
    this.toolUses += o.toolUses;
    this.toolResults += o.toolResults;
    this.toolCalls += o.toolCalls;
    this.throttleWaitMs += o.throttleWaitMs;
    this.estimatedRequests += o.estimatedRequests;
    this.activeRequests += o.activeRequests;
    const counts = o.errorCounts;
    if (counts !== null) {
      for (let i = 0; i < counts.length; i++) {
        if (counts[i] !== 0) {
          this.countError(i, counts[i]);
        }
      }
    }
  }

  /**
   * The section `S` of the report, with `q` for its distributions: of these counters, or of these
   * and `plus` added up (a `total`, the sum of streaming and non-streaming, without building it).
   */
  toTotals(q: SectionQuantiles, plus: Counters = NO_COUNTERS): SectionTotals {
    const durationMs = this.durationMs + plus.durationMs;
    const timedRequests = this.timedRequests + plus.timedRequests;
    return {
      requests: this.requests + plus.requests,
      errors: this.errors + plus.errors,
      inputTokens: this.inputTokens + plus.inputTokens,
      outputTokens: this.outputTokens + plus.outputTokens,
      cacheReadTokens: this.cacheReadTokens + plus.cacheReadTokens,
      cacheCreationTokens: this.cacheCreationTokens + plus.cacheCreationTokens,
      durationMs,
      avgDurationMs: timedRequests === 0 ? null : durationMs / timedRequests,
      toolUses: this.toolUses + plus.toolUses,
      toolResults: this.toolResults + plus.toolResults,
      toolCalls: this.toolCalls + plus.toolCalls,
      throttleWaitMs: this.throttleWaitMs + plus.throttleWaitMs,
      // Copies: the quantiles are cached and shared between reports, which callers may mutate.
      ttftMs: copy(q.ttftMs),
      outputTokensPerSecond: copy(q.outputTokensPerSecond),
      durationMsQuantiles: copy(q.durationMsQuantiles),
      errorsByCategory: errorsByCategory(this.errorCounts, plus.errorCounts),
      activeRequests: this.activeRequests + plus.activeRequests,
      estimatedRequests: this.estimatedRequests + plus.estimatedRequests,
    };
  }
}

/** All zero, never changed. */
const NO_COUNTERS = new Counters();

const copy = (q: Quantiles): Quantiles => ({ p50: q.p50, p90: q.p90, p99: q.p99 });

/** A literal of fixed shape: much cheaper than 13 dynamic stores, for thousands of sections. */
function errorsByCategory(a: readonly number[] | null, b: readonly number[] | null): ErrorCounts {
  const c = a === null ? b : b === null ? a : a.map((n, i) => n + b[i]);
  if (c === null) {
    return {
      auth: 0,
      rate_limit: 0,
      overloaded: 0,
      bad_request: 0,
      not_found: 0,
      timeout: 0,
      upstream_5xx: 0,
      network: 0,
      client_disconnect: 0,
      cancelled: 0,
      stream_error: 0,
      proxy_error: 0,
      unknown: 0,
    };
  }
  return {
    auth: c[0],
    rate_limit: c[1],
    overloaded: c[2],
    bad_request: c[3],
    not_found: c[4],
    timeout: c[5],
    upstream_5xx: c[6],
    network: c[7],
    client_disconnect: c[8],
    cancelled: c[9],
    stream_error: c[10],
    proxy_error: c[11],
    unknown: c[12],
  };
}

/** One of a model's `streaming` / `nonStreaming` sections: completed requests only. */
export class Section extends Counters {
  readonly ttftMs = new Distribution();
  readonly outputTokensPerSecond = new Distribution();
  readonly durationMsQuantiles = new Distribution();

  /**
   * The hot path: called for each completed request, allocates nothing (but a first error). The
   * keys are the record's three values as bin keys (`sampleKey`), computed once for both the
   * model's section and the provider's.
   */
  add(r: RequestRecord, ttftKey: number, speedKey: number, durationKey: number): void {
    this.requests++;
    if (r.errorCategory !== null) {
      this.errors++;
      this.countError(categoryIndex.get(r.errorCategory) ?? UNKNOWN, 1);
    }
    // Unknown token counts add nothing; they are never invented as 0-valued samples.
    this.inputTokens += r.inputTokens ?? 0;
    this.outputTokens += r.outputTokens ?? 0;
    this.cacheReadTokens += r.cacheReadTokens ?? 0;
    this.cacheCreationTokens += r.cacheCreationTokens ?? 0;
    if (r.durationMs !== null) {
      this.durationMs += r.durationMs;
      this.timedRequests++;
    }
    this.toolUses += r.toolUses;
    this.toolResults += r.toolResults;
    this.toolCalls += r.toolCalls;
    this.throttleWaitMs += r.throttleWaitTimeMs;
    if (r.estimated) {
      this.estimatedRequests++;
    }
    this.ttftMs.addSample(ttftKey);
    this.outputTokensPerSecond.addSample(speedKey);
    this.durationMsQuantiles.addSample(durationKey);
  }

  mergeFrom(o: Section): void {
    this.addCounters(o);
    this.ttftMs.mergeFrom(o.ttftMs);
    this.outputTokensPerSecond.mergeFrom(o.outputTokensPerSecond);
    this.durationMsQuantiles.mergeFrom(o.durationMsQuantiles);
  }

  quantiles(): SectionQuantiles {
    return {
      ttftMs: this.ttftMs.quantiles(),
      outputTokensPerSecond: this.outputTokensPerSecond.quantiles(),
      durationMsQuantiles: this.durationMsQuantiles.quantiles(),
    };
  }
}

/** A section of a report: stored sections and in-flight requests summed up. */
export class SectionSum extends Counters {
  addSection(s: Section): void {
    this.addCounters(s);
  }

  addSum(s: SectionSum): void {
    this.addCounters(s);
  }

  /** An in-flight request counts once, with the output tokens streamed so far. */
  addActive(a: ActiveRequest): void {
    this.requests++;
    this.activeRequests++;
    this.outputTokens += a.outputTokens;
  }
}
