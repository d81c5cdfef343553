import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { HistoryStore } from '../metrics/historyStore';
import type { RequestRecord } from '../metrics/record';
import type { ActiveRequest, RequestTracker } from '../metrics/requestTracker';
import { runningTotalsQueryFrom } from '../metrics/runningTotals';
import type { SummaryMetrics } from '../metrics/summaryMetrics';
import type { ThrottleTracker } from '../throttle/throttleTracker';
import type { ActiveWire } from '../attach/remote';
import { toActiveView } from '../dashboard/views';
import { createDashboard } from './dashboard';
import { PrometheusExporter } from './prometheus';

export interface ControlContext {
  tracker: RequestTracker;
  throttle: ThrottleTracker;
  summary: SummaryMetrics;
  history: HistoryStore | null;
  version: string;
  /** The proxy's URL, for clients that attach to it. */
  url(): string | null;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The `/_tokenmeter/` control API: read-only JSON and a live SSE feed. It is served by the same
 * loopback server as the proxy and behind the same Host/Origin checks, so another site cannot read
 * it through a browser.
 */
export interface ControlApi {
  handle(req: IncomingMessage, res: ServerResponse, path: string): void;
  /** Ends every live feed: a stopping proxy must not wait for its watchers. */
  closeFeeds(): void;
}

export function createControlApi(ctx: ControlContext): ControlApi {
  const feeds = new Set<ServerResponse>();
  const prometheus = new PrometheusExporter(ctx.tracker, ctx.throttle);
  // The standalone dashboard (dashboard.ts): the page, its assets and its data, under the same checks.
  const dashboard = createDashboard(ctx);
  const handle = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(res, 405, { error: { message: 'the control API is read-only: use GET' } });
      return;
    }
    const url = new URL(path, 'http://127.0.0.1');
    const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 200) || 200, 1), 1000);
    switch (url.pathname.replace(/\/+$/, '')) {
      case '/_tokenmeter/health':
        json(res, 200, { ok: true, name: 'tokenmeter', version: ctx.version, pid: process.pid, url: ctx.url(), activeRequests: ctx.tracker.activeCount });
        return;
      case '/_tokenmeter/api/requests':
        json(res, 200, ctx.tracker.recent(limit));
        return;
      case '/_tokenmeter/api/errors':
        json(res, 200, ctx.tracker.errors(limit));
        return;
      case '/_tokenmeter/api/active': {
        const now = performance.now();
        json(res, 200, ctx.tracker.active().map((a) => activeView(a, now)));
        return;
      }
      case '/_tokenmeter/api/running-totals': {
        // range=session (default: this process, with in-flight requests) | today | 7d | all (history)
        const query = runningTotalsQueryFrom(url.searchParams);
        const range = url.searchParams.get('range') ?? 'session';
        if (range === 'session') {
          json(res, 200, ctx.summary.runningTotals(query, query.includeActive ? ctx.tracker.active() : undefined));
        } else if (range !== 'today' && range !== '7d' && range !== 'all') {
          json(res, 400, { error: { message: `range must be session, today, 7d or all; got "${range}"` } });
        } else if (!ctx.history) {
          json(res, 404, { error: { message: 'no history is kept (start with --data-dir to keep it)' } });
        } else {
          json(res, 200, ctx.history.totals(range, query));
        }
        return;
      }
      case '/_tokenmeter/api/throttle':
        json(res, 200, ctx.throttle.state(limit));
        return;
      case '/_tokenmeter/metrics':
        res.writeHead(200, { 'content-type': prometheus.contentType, 'cache-control': 'no-store' });
        res.end(prometheus.text());
        return;
      case '/_tokenmeter/events':
        feeds.add(res);
        res.once('close', () => feeds.delete(res));
        streamEvents(ctx.tracker, ctx.throttle, req, res);
        return;
      default:
        if (dashboard.handle(req, res, url)) {
          return;
        }
        json(res, 404, { error: { message: `no such control endpoint: ${url.pathname}` } });
    }
  };
  return {
    handle,
    closeFeeds() {
      for (const res of feeds) {
        res.end();
      }
    },
  };
}

/**
 * What the live feed and api/active say about an in-flight request: the panel's view, plus the
 * content times another window needs to mirror its live speed.
 */
export function activeView(a: ActiveRequest, now: number): ActiveWire {
  return { ...toActiveView(a, now), firstContentMs: a.firstContentMs, lastContentMs: a.lastContentMs };
}

/** Bytes a feed may queue in the proxy for a watcher that is not reading, before it is dropped. */
const MAX_FEED_BACKLOG = 1024 * 1024;

/** A throttle state goes out at most this often: headroom changes with every upstream answer. */
const THROTTLE_FEED_MS = 250;

/**
 * The live SSE feed: `hello` (recent records, in-flight requests, throttle state) on connect, then
 * `started` and `completed` per request, `throttle` when throttling or headroom changed (at most
 * every 250 ms), and a comment heartbeat. Other windows mirror a proxy through it.
 */
function streamEvents(tracker: RequestTracker, throttle: ThrottleTracker, req: IncomingMessage, res: ServerResponse): void {
  // connection: close, so a feed ended by a stopping proxy frees its socket at once.
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'close' });
  const send = (event: string, data: unknown): void => {
    if (res.writableLength > MAX_FEED_BACKLOG) {
      // A watcher that stopped reading (a paused window, a frozen tab) must not make the proxy
      // buffer without bound: it is cut off, and a mirror reconnects to a fresh `hello`.
      res.destroy();
      return;
    }
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  send('hello', { recent: tracker.recent(), active: tracker.active().map((a) => activeView(a, performance.now())), throttle: throttle.state() });
  const onCompleted = (r: RequestRecord): void => send('completed', r);
  const onStarted = (a: ActiveRequest): void => send('started', activeView(a, performance.now()));
  const onReset = (): void => send('reset', {});
  tracker.on('completed', onCompleted);
  tracker.on('started', onStarted);
  tracker.on('reset', onReset);
  let throttleTimer: NodeJS.Timeout | undefined;
  const onThrottle = (): void => {
    throttleTimer ??= setTimeout(() => {
      throttleTimer = undefined;
      send('throttle', throttle.state());
    }, THROTTLE_FEED_MS);
  };
  throttle.on('changed', onThrottle);
  const heartbeat = setInterval(() => res.write(': ping\n\n'), 15_000);
  heartbeat.unref();
  req.socket.once('close', () => {
    clearInterval(heartbeat);
    tracker.off('completed', onCompleted);
    tracker.off('started', onStarted);
    tracker.off('reset', onReset);
    throttle.off('changed', onThrottle);
    clearTimeout(throttleTimer);
  });
}
