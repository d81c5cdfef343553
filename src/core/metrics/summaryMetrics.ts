import type { RequestRecord } from './record';
import type { ActiveRequest, RequestTracker } from './requestTracker';
import { Rollup } from './rollup';
import {
  buildRunningTotals,
  buildSummary,
  modelTotals,
  type ModelTotals,
  type RunningTotals,
  type RunningTotalsQuery,
} from './runningTotals';
import { formatSummaryLine } from './summaryLine';

export interface SummaryMetricsOptions {
  /** Log a cumulative summary line every N completed requests (0 or absent: never). */
  summaryEvery?: number;
  log?: (line: string) => void;
}

/**
 * Ids of the last completed requests, so that an active list captured before a request completed
 * cannot count it a second time next to its record. Adding is one array store (the hot path); the
 * set is only built when a report has in-flight requests to check.
 */
class RecentIds {
  private readonly ids: (string | undefined)[];
  private next = 0;

  constructor(private readonly capacity: number) {
    this.ids = new Array<string | undefined>(capacity);
  }

  add(id: string): void {
    this.ids[this.next] = id;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
  }

  toSet(): Set<string | undefined> {
    return new Set(this.ids);
  }

  clear(): void {
    this.ids.fill(undefined);
    this.next = 0;
  }
}

/**
 * Totals of completed requests by provider and model (design.md, "Roll-up"), fed one record at a
 * time by the proxy's `RequestTracker`, and the running totals built from them.
 */
export class SummaryMetrics {
  private rollupData = new Rollup();
  private readonly recentIds = new RecentIds(1024);
  private readonly summaryEvery: number;
  private readonly log: ((line: string) => void) | undefined;
  private liveCount = 0;
  private tracker: RequestTracker | undefined;

  constructor(options: SummaryMetricsOptions = {}) {
    const every = options.summaryEvery ?? 0;
    if (!Number.isSafeInteger(every) || every < 0) {
      throw new RangeError(`summaryEvery must be a non-negative integer, got ${every}`);
    }
    this.summaryEvery = every;
    this.log = options.log;
  }

  /**
   * A request that just completed: counted, and every `summaryEvery` of them logged. `live: false`
   * is for records from history: counted, but not towards the summary line.
   */
  add(record: RequestRecord, live = true): void {
    this.rollupData.add(record);
    if (!live) {
      return;
    }
    this.recentIds.add(record.id);
    this.liveCount++;
    if (this.summaryEvery > 0 && this.liveCount % this.summaryEvery === 0 && this.log !== undefined) {
      this.log(this.summaryLine());
    }
  }

  /** Records from history: counted in the totals, but not towards the summary line. */
  load(records: Iterable<RequestRecord>): void {
    for (const r of records) {
      this.rollupData.add(r);
    }
  }

  /** Adds another summary's totals (e.g. several days of history) to this one. */
  merge(other: SummaryMetrics): void {
    this.rollupData.mergeFrom(other.rollupData);
  }

  /**
   * Follows a tracker: its completed records are added, its `reset` clears these totals too, and
   * `runningTotals()` without an explicit list counts the tracker's in-flight requests.
   */
  attach(tracker: RequestTracker): () => void {
    const onCompleted = (r: RequestRecord): void => this.add(r);
    const onReset = (): void => this.reset();
    tracker.on('completed', onCompleted);
    tracker.on('reset', onReset);
    this.tracker = tracker;
    return () => {
      tracker.off('completed', onCompleted);
      tracker.off('reset', onReset);
      if (this.tracker === tracker) {
        this.tracker = undefined;
      }
    };
  }

  /**
   * Running totals (design.md, "Contracts"). In-flight requests come from `active`, or from the
   * attached tracker when omitted; one whose record was already added is skipped, so a request is
   * counted once whether the list was taken before or after it completed.
   */
  runningTotals(query: RunningTotalsQuery = {}, active?: readonly ActiveRequest[]): RunningTotals {
    let inFlight: readonly ActiveRequest[] = [];
    if (query.includeActive !== false) {
      inFlight = active ?? this.tracker?.active() ?? [];
      if (inFlight.length > 0) {
        const completed = this.recentIds.toSet();
        inFlight = inFlight.filter((a) => !completed.has(a.id));
      }
    }
    return buildRunningTotals(this.rollupData, query, inFlight);
  }

  /** The cumulative one-line summary (requests, errors, tokens, p50 TTFT and speed). */
  summaryLine(): string {
    return formatSummaryLine(buildSummary(this.rollupData));
  }

  /** The completed requests of a `provider:model` key (split at the first colon), if any. */
  get(key: string): ModelTotals | undefined {
    const m = this.rollupData.get(key);
    return m === undefined ? undefined : modelTotals(m);
  }

  /** `provider:model` keys with at least one completed request. */
  keys(): string[] {
    return this.rollupData.keys();
  }

  /** Completed requests counted, history included. */
  get requestCount(): number {
    return this.rollupData.requests;
  }

  get lastAccessed(): string | null {
    return this.rollupData.lastAccessed;
  }

  reset(): void {
    this.rollupData = new Rollup();
    this.recentIds.clear();
    this.liveCount = 0;
  }
}

/** The running-totals function of design.md's contracts: `summary.runningTotals(query, active)`. */
export function runningTotals(
  metrics: SummaryMetrics,
  query?: RunningTotalsQuery,
  active?: readonly ActiveRequest[],
): RunningTotals {
  return metrics.runningTotals(query, active);
}
