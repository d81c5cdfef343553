/**
 * The standalone dashboard under `/_tokenmeter/`: the metrics panel's own bundle in a browser page,
 * fed by `api/dashboard` (the panel's state, computed by the same DashboardModel) and the `events`
 * feed. Served behind the proxy's Host/Origin checks, with a strict CSP of its own.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { runningTotalsQueryFrom } from '../metrics/runningTotals';
import type { RequestTracker } from '../metrics/requestTracker';
import type { ThrottleTracker } from '../throttle/throttleTracker';
import { dashboardPage, standaloneCsp } from '../dashboard/html';
import { modelFor } from '../dashboard/model';
import { CHART_RANGES, SECTION_MODES, type ChartRange, type DashboardPart, type DashboardState, type SectionMode } from '../../protocol';

export interface DashboardContext {
  tracker: RequestTracker;
  throttle: ThrottleTracker;
  url(): string | null;
}

const ASSETS: Record<string, { path: string[]; type: string }> = {
  'main.js': { path: ['dist', 'webview', 'main.js'], type: 'text/javascript; charset=utf-8' },
  'main.css': { path: ['dist', 'webview', 'main.css'], type: 'text/css; charset=utf-8' },
  'panel.css': { path: ['media', 'panel.css'], type: 'text/css; charset=utf-8' },
  'standalone.css': { path: ['media', 'standalone.css'], type: 'text/css; charset=utf-8' },
  'icon.png': { path: ['media', 'icon.png'], type: 'image/png' },
};
const PREFIX = '/_tokenmeter/dashboard/';
const PARTS: readonly DashboardPart[] = ['proxy', 'session', 'recent', 'errors', 'active', 'breakdown', 'throttle', 'series'];

/** The package root: dist/.. when bundled (extension, CLI), the repo root when run from source. */
function packageRoot(): string | null {
  for (const dir of [join(__dirname, '..'), join(__dirname, '..', '..', '..')]) {
    if (existsSync(join(dir, 'media', 'panel.css'))) {
      return dir;
    }
  }
  return null;
}

const HARDENING = { 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer', 'cache-control': 'no-cache' };

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...HARDENING, ...extra });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, body: unknown): void => send(res, status, 'application/json; charset=utf-8', JSON.stringify(body), { 'cache-control': 'no-store' });

export interface Dashboard {
  /** True when the path was the dashboard's (and it answered). */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean;
}

export function createDashboard(ctx: DashboardContext, root = packageRoot()): Dashboard {
  const model = modelFor(ctx.tracker, ctx.throttle);
  const cache = new Map<string, Buffer>();

  const asset = (name: string, res: ServerResponse): void => {
    const spec = ASSETS[name];
    if (spec === undefined || root === null) {
      sendJson(res, 404, { error: { message: `no dashboard asset ${name}` } });
      return;
    }
    const cached = cache.get(name);
    const body = cached === undefined ? readFile(join(root, ...spec.path)) : Promise.resolve(cached);
    body.then(
      (b) => {
        cache.set(name, b);
        send(res, 200, spec.type, b);
      },
      () => sendJson(res, 404, { error: { message: `dashboard asset ${name} is missing: build with \`npm run build\`` } }),
    );
  };

  const page = (res: ServerResponse): void => {
    const nonce = randomBytes(16).toString('base64');
    const html = dashboardPage({
      csp: standaloneCsp(nonce, false),
      icon: `${PREFIX}icon.png`,
      nonce,
      script: `${PREFIX}main.js`,
      styles: [`${PREFIX}main.css`, `${PREFIX}panel.css`, `${PREFIX}standalone.css`],
      transport: 'browser',
    });
    send(res, 200, 'text/html; charset=utf-8', html, { 'content-security-policy': standaloneCsp(nonce) });
  };

  const state = (res: ServerResponse, params: URLSearchParams): void => {
    const mode = (params.get('mode') ?? 'total') as SectionMode;
    const range = (params.get('range') ?? '15m') as ChartRange;
    const parts = (params.get('parts') ?? PARTS.join(',')).split(',') as DashboardPart[];
    if (!SECTION_MODES.includes(mode) || !CHART_RANGES.includes(range) || !parts.every((p) => PARTS.includes(p))) {
      sendJson(res, 400, { error: { message: `mode is one of ${SECTION_MODES.join('|')}, range one of ${CHART_RANGES.join('|')}, parts of ${PARTS.join(',')}` } });
      return;
    }
    const query = { provider: params.get('provider') ?? '', model: params.get('model') ?? '', mode };
    const want = new Set(parts);
    const out: Partial<DashboardState> = {};
    const series = want.has('series') ? model.seriesView(range) : Promise.resolve(undefined);
    void series.then((s) => {
      if (want.has('proxy')) {
        out.proxy = { state: 'running', url: ctx.url(), message: null };
      }
      if (want.has('session')) {
        out.session = model.sessionView();
      }
      if (want.has('recent')) {
        out.recent = ctx.tracker.recent(200);
      }
      if (want.has('errors')) {
        out.errors = ctx.tracker.errors(100);
      }
      if (want.has('active')) {
        out.active = model.active();
      }
      if (want.has('breakdown')) {
        out.breakdown = model.breakdown(query);
      }
      if (want.has('throttle')) {
        out.throttle = model.throttleView();
      }
      if (s !== undefined) {
        out.series = s;
      }
      sendJson(res, 200, out);
    });
  };

  return {
    handle(_req, res, url) {
      const path = url.pathname;
      if (path === '/_tokenmeter' || path === '/_tokenmeter/') {
        page(res);
        return true;
      }
      if (path.startsWith(PREFIX)) {
        asset(path.slice(PREFIX.length), res);
        return true;
      }
      switch (path.replace(/\/+$/, '')) {
        case '/_tokenmeter/api/dashboard':
          state(res, url.searchParams);
          return true;
        case '/_tokenmeter/api/running-totals':
          // design.md's contract; served here until the control API has its own.
          model.flush();
          sendJson(res, 200, model.summary.runningTotals(runningTotalsQueryFrom(url.searchParams), ctx.tracker.active()));
          return true;
        default:
          return false;
      }
    },
  };
}
