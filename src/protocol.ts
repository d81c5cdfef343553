/**
 * The typed messages between the extension host and the metrics panel (webview), also spoken by the
 * standalone dashboard's browser transport. Imported by both bundles, so it holds types only (plus
 * small guards) and no Node or DOM API; view types are declared here rather than imported from
 * src/core, whose modules pull in Node typings the webview cannot compile against.
 * Sends are built with `satisfies HostMessage` / `satisfies WebviewMessage`.
 */
import type { RequestRecord } from './core/metrics/record';

export type { RequestRecord };

/** `attached`: another window holds the port; this one shows that proxy's numbers. */
export type ProxyState = 'starting' | 'running' | 'attached' | 'stopped' | 'error';

export interface ProxyStatus {
  state: ProxyState;
  /** http://127.0.0.1:PORT while running or attached, else null. */
  url: string | null;
  /** Why the proxy is stopped or failed, for the user. */
  message: string | null;
}

/** An in-flight request as the panel shows it. */
export interface ActiveView {
  id: string;
  provider: string;
  model: string;
  streaming: boolean;
  startedAt: string;
  elapsedMs: number;
  ttftMs: number | null;
  outputTokens: number;
  /** Live generation speed; null until it can be known. */
  outputTokensPerSecond: number | null;
}

/** Session totals for the header and the status bar (completed requests since the last reset). */
export interface SessionView {
  startedAt: string;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  throttleWaitMs: number;
}

export type SectionMode = 'total' | 'streaming' | 'nonStreaming';
export const SECTION_MODES: readonly SectionMode[] = ['total', 'streaming', 'nonStreaming'];

/** Breakdown filters: case-insensitive globs (`*`, `?`) as in the control API; empty matches all. */
export interface BreakdownQuery {
  provider: string;
  model: string;
  mode: SectionMode;
}

/** One breakdown row (a provider's roll-up, one of its models, or the summary) in one section. */
export interface BreakdownStats {
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  avgTtftMs: number | null;
  ttftP50Ms: number | null;
  ttftP90Ms: number | null;
  tokensPerSecondP50: number | null;
  avgDurationMs: number | null;
  throttleWaitMs: number;
  estimatedRequests: number;
  lastAccessed: string | null;
}

export interface BreakdownModel {
  name: string;
  stats: BreakdownStats;
}

export interface BreakdownProvider {
  name: string;
  stats: BreakdownStats;
  models: BreakdownModel[];
}

export interface BreakdownView {
  query: BreakdownQuery;
  summary: BreakdownStats;
  providers: BreakdownProvider[];
}

export interface LimitWindowView {
  /** requests | tokens | input-tokens | output-tokens | unified | unified-5h | unified-7d | … */
  name: string;
  limit: number | null;
  remaining: number | null;
  /** 0..1 where the provider reports utilisation instead of counts (Anthropic 5h / 7d). */
  utilization: number | null;
  resetAt: string | null;
  status: string | null;
}

export interface HeadroomView {
  provider: string;
  updatedAt: string;
  windows: LimitWindowView[];
  retryAfterMs: number | null;
  /** Smallest remaining share of any window, 0..1; null when unknown. */
  lowestRemaining: number | null;
}

export interface ThrottleEventView {
  requestId: string;
  provider: string;
  model: string;
  status: number;
  at: string;
  retryAfterMs: number | null;
  /** Time lost until the client's retry; null while unknown. */
  waitMs: number | null;
  retriedBy: string | null;
}

export interface ThrottleView {
  events: ThrottleEventView[];
  headroom: HeadroomView[];
  waitMsByProvider: Record<string, number>;
  /** Providers with a throttle the client has not got past yet. */
  throttling: string[];
}

export type ChartRange = '15m' | 'session' | 'today' | '7d';
export const CHART_RANGES: readonly ChartRange[] = ['15m', 'session', 'today', '7d'];

/** Chart data: per-bucket means, one series per provider/model (the busiest ones). */
export interface SeriesView {
  range: ChartRange;
  /** False when the range needs history and there is none (e.g. the CLI without a data dir). */
  available: boolean;
  bucketSeconds: number;
  /** Bucket start times, epoch seconds (uPlot's x values). */
  x: number[];
  series: { key: string; tokensPerSecond: (number | null)[]; ttftMs: (number | null)[] }[];
  /** Provider/models in the range that were left out to keep the chart legible. */
  omitted: number;
}

/** Everything the panel shows; `state` carries all of it, later messages parts of it. */
export interface DashboardState {
  proxy: ProxyStatus;
  session: SessionView;
  recent: RequestRecord[];
  errors: RequestRecord[];
  active: ActiveView[];
  breakdown: BreakdownView;
  throttle: ThrottleView;
  series: SeriesView;
}

export type DashboardPart = keyof DashboardState;

// Host → webview
export interface StateMessage {
  type: 'state';
  state: DashboardState;
}
export interface CompletedMessage {
  type: 'completed';
  /** Oldest first: records that completed since the last message. */
  records: RequestRecord[];
  session: SessionView;
}
export interface ActiveMessage {
  type: 'active';
  active: ActiveView[];
}
export interface ProxyMessage {
  type: 'proxy';
  proxy: ProxyStatus;
}
export interface BreakdownMessage {
  type: 'breakdown';
  breakdown: BreakdownView;
}
export interface ThrottleMessage {
  type: 'throttle';
  throttle: ThrottleView;
}
export interface SeriesMessage {
  type: 'series';
  series: SeriesView;
}
export type HostMessage = StateMessage | CompletedMessage | ActiveMessage | ProxyMessage | BreakdownMessage | ThrottleMessage | SeriesMessage;

const hostTypes: ReadonlySet<string> = new Set<HostMessage['type']>(['state', 'completed', 'active', 'proxy', 'breakdown', 'throttle', 'series']);

export function isHostMessage(value: unknown): value is HostMessage {
  return typeof value === 'object' && value !== null && hostTypes.has(String((value as { type?: unknown }).type));
}

// Webview → host
/** What the panel currently shows, so the host computes only that. */
export interface PanelView {
  query: BreakdownQuery;
  range: ChartRange;
}
export interface ReadyMessage {
  type: 'ready';
  view: PanelView;
}
export interface ViewMessage {
  type: 'view';
  view: PanelView;
}
export interface CopyProxyUrlMessage {
  type: 'copyProxyUrl';
}
/** Commands the panel's buttons may run in the host; nothing else is accepted. */
export type PanelCommand = 'connectTools' | 'resetSession' | 'exportMetrics' | 'startProxy' | 'restartProxy';
export const PANEL_COMMANDS: readonly PanelCommand[] = ['connectTools', 'resetSession', 'exportMetrics', 'startProxy', 'restartProxy'];
export interface CommandMessage {
  type: 'command';
  command: PanelCommand;
}
export type WebviewMessage = ReadyMessage | ViewMessage | CopyProxyUrlMessage | CommandMessage;

const MAX_GLOB = 200;

function isView(v: unknown): v is PanelView {
  if (typeof v !== 'object' || v === null) {
    return false;
  }
  const { query, range } = v as { query?: unknown; range?: unknown };
  if (typeof query !== 'object' || query === null || !CHART_RANGES.includes(range as ChartRange)) {
    return false;
  }
  const q = query as Record<string, unknown>;
  return (
    typeof q.provider === 'string' &&
    typeof q.model === 'string' &&
    q.provider.length <= MAX_GLOB &&
    q.model.length <= MAX_GLOB &&
    SECTION_MODES.includes(q.mode as SectionMode)
  );
}

/** Messages from a webview are untrusted input: check the whole shape before acting on one. */
export function isWebviewMessage(value: unknown): value is WebviewMessage {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const m = value as { type?: unknown; view?: unknown; command?: unknown };
  switch (m.type) {
    case 'ready':
    case 'view':
      return isView(m.view);
    case 'copyProxyUrl':
      return true;
    case 'command':
      return PANEL_COMMANDS.includes(m.command as PanelCommand);
    default:
      return false;
  }
}
