import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { SummaryMetrics, type HistoryStore, type RequestRecord, type RequestTracker } from '../metrics';
import type { ThrottleTracker } from '../throttle/throttleTracker';
import type { ActiveView, BreakdownQuery, BreakdownView, ChartRange, DashboardState, ProxyStatus, SeriesView, SessionView, ThrottleView } from '../../protocol';
import { toBreakdown } from './breakdown';
import { bucketSeries, HISTORY_CACHE_MS, HISTORY_RANGES, pointOf, SessionSeries, unavailableSeries, type SeriesPoint } from './series';
import { SessionTotals } from './session';
import { toActiveView, toThrottleView } from './views';

export interface DashboardModelEvents {
  /** Records applied to the totals, oldest first (coalesced: one event per batch). */
  records: [RequestRecord[]];
  reset: [];
}

/** Completions are applied in batches this far apart: a burst costs one update, not one each. */
const BATCH_MS = 50;
/** A burst this large is applied at once: the queue must not hold a flood of records for long. */
const MAX_PENDING = 1000;
const RECENT_LIMIT = 200;
const ERRORS_LIMIT = 100;
const DAY_MS = 86_400_000;

/**
 * What the metrics panel and the standalone dashboard show, computed in one place for both. The
 * proxy's relay path only appends a completed record to a queue here; totals, series and the
 * session counters are brought up to date off that path, in batches, and read when a view asks.
 */
export class DashboardModel extends EventEmitter<DashboardModelEvents> {
  readonly summary = new SummaryMetrics();
  readonly session = new SessionTotals();
  private readonly series = new SessionSeries();
  private pending: RequestRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private version = 0;
  private breakdownCache: { key: string; version: number; view: BreakdownView } | undefined;
  private readonly historyCache = new Map<ChartRange, { at: number; points: SeriesPoint[] }>();
  private history: HistoryStore | undefined;

  constructor(
    readonly tracker: RequestTracker,
    readonly throttle: ThrottleTracker,
  ) {
    super();
    tracker.on('completed', (r) => {
      if (this.pending.push(r) >= MAX_PENDING) {
        this.flush();
      } else if (this.timer === undefined) {
        this.timer = setTimeout(() => this.flush(), BATCH_MS);
        this.timer.unref(); // pending totals must not keep the CLI alive
      }
    });
    tracker.on('reset', () => this.onReset());
  }

  /** Where the "today" and "7 days" charts read from; none in a CLI run without a data dir. */
  setHistory(history: HistoryStore | undefined): void {
    this.history = history;
    this.historyCache.clear();
  }

  get hasHistory(): boolean {
    return this.history !== undefined;
  }

  /** Applies queued completions now (readers call it, so they never see stale totals). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) {
      return;
    }
    const batch = this.pending;
    this.pending = [];
    for (const r of batch) {
      this.summary.add(r);
      this.session.add(r);
      this.series.add(r);
    }
    this.version++;
    this.emit('records', batch);
  }

  /** Clears the session: completed requests, totals, throttle events. In-flight requests go on. */
  resetSession(): void {
    this.tracker.reset(); // emits 'reset', which clears the rest
    this.throttle.reset();
  }

  sessionView(): SessionView {
    this.flush();
    return this.session.snapshot();
  }

  breakdown(query: BreakdownQuery): BreakdownView {
    this.flush();
    const key = `${query.provider}\u0000${query.model}\u0000${query.mode}`;
    const cached = this.breakdownCache;
    if (cached?.key === key && cached.version === this.version) {
      return cached.view;
    }
    const totals = this.summary.runningTotals({ provider: query.provider, model: query.model, includeActive: false });
    const view = toBreakdown(totals, query, this.session);
    this.breakdownCache = { key, version: this.version, view };
    return view;
  }

  active(): ActiveView[] {
    const now = performance.now();
    return this.tracker.active().map((a) => toActiveView(a, now));
  }

  throttleView(): ThrottleView {
    return toThrottleView(this.throttle.state());
  }

  async seriesView(range: ChartRange, nowMs = Date.now()): Promise<SeriesView> {
    this.flush();
    const sessionStart = Date.parse(this.session.snapshot().startedAt);
    if (!HISTORY_RANGES.has(range)) {
      return bucketSeries(this.series.points(), range, nowMs, sessionStart);
    }
    const points = await this.historyPoints(range, nowMs);
    return points === null ? unavailableSeries(range) : bucketSeries(points, range, nowMs, sessionStart);
  }

  async state(query: BreakdownQuery, range: ChartRange, proxy: ProxyStatus): Promise<DashboardState> {
    const series = await this.seriesView(range);
    return {
      proxy,
      session: this.sessionView(),
      recent: this.tracker.recent(RECENT_LIMIT),
      errors: this.tracker.errors(ERRORS_LIMIT),
      active: this.active(),
      breakdown: this.breakdown(query),
      throttle: this.throttleView(),
      series,
    };
  }

  /**
   * Reading days of history is disk and JSON work on the extension host's one thread: done at most
   * every HISTORY_CACHE_MS per range. "Today" is the local day; the store's days are UTC, so west
   * of UTC the local day starts in yesterday's file.
   */
  private async historyPoints(range: ChartRange, nowMs: number): Promise<SeriesPoint[] | null> {
    const history = this.history;
    if (history === undefined) {
      return null;
    }
    const cached = this.historyCache.get(range);
    if (cached !== undefined && nowMs - cached.at < HISTORY_CACHE_MS) {
      return cached.points;
    }
    const midnight = new Date(nowMs).setHours(0, 0, 0, 0);
    const utcDayStart = Math.floor(nowMs / DAY_MS) * DAY_MS;
    const records = await history.records(range === 'today' && midnight >= utcDayStart ? 'today' : '7d');
    const points = records.map((r) => pointOf(r));
    this.historyCache.set(range, { at: nowMs, points });
    return points;
  }

  private onReset(): void {
    this.pending = [];
    clearTimeout(this.timer);
    this.timer = undefined;
    this.summary.reset();
    this.session.reset();
    this.series.clear();
    this.version++;
    this.emit('reset');
  }
}

const models = new WeakMap<RequestTracker, DashboardModel>();

/**
 * The one model of a tracker: the control API's dashboard and the extension's panel and status bar
 * share it, so a request is counted once however many views watch.
 */
export function modelFor(tracker: RequestTracker, throttle: ThrottleTracker): DashboardModel {
  let model = models.get(tracker);
  if (model === undefined) {
    model = new DashboardModel(tracker, throttle);
    models.set(tracker, model);
  }
  return model;
}

export { RECENT_LIMIT, ERRORS_LIMIT };
