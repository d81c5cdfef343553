/**
 * The panel's state: the last data the transport delivered and the user's view choices. Messages
 * only update it and mark what changed; rendering happens once per animation frame (main.ts).
 */
import type {
  ActiveView,
  BreakdownView,
  HostMessage,
  PanelView,
  ProxyStatus,
  RequestRecord,
  SeriesView,
  SessionView,
  ThrottleView,
} from '../src/protocol';

export type Part = 'header' | 'active' | 'recent' | 'breakdown' | 'throttle' | 'series';

export type SortKey = string;
export interface Prefs {
  view: PanelView;
  /** "Expand all" is a mode: providers that show up later open too, except those closed since. */
  expandAll: boolean;
  /** Providers opened (or, in expandAll mode, closed) one by one. */
  expanded: string[];
  sort: { key: SortKey; desc: boolean };
  recentFilter: 'all' | 'errors';
}

export interface AppState {
  proxy: ProxyStatus | null;
  session: SessionView | null;
  recent: RequestRecord[];
  errors: RequestRecord[];
  active: ActiveView[];
  breakdown: BreakdownView | null;
  throttle: ThrottleView | null;
  series: SeriesView | null;
  /** The last live tokens/s samples of each in-flight request, for its sparkline. */
  sparks: Map<string, number[]>;
  prefs: Prefs;
}

const MAX_RECENT = 200;
const MAX_ERRORS = 100;
const SPARK_SAMPLES = 40;

export const defaultPrefs = (): Prefs => ({
  view: { query: { provider: '', model: '', mode: 'total' }, range: '15m' },
  expandAll: false,
  expanded: [],
  sort: { key: 'requests', desc: true },
  recentFilter: 'all',
});

export function createState(prefs: Prefs): AppState {
  return { proxy: null, session: null, recent: [], errors: [], active: [], breakdown: null, throttle: null, series: null, sparks: new Map(), prefs };
}

function trackSparks(state: AppState, active: ActiveView[]): void {
  const live = new Set<string>();
  for (const a of active) {
    live.add(a.id);
    if (a.outputTokensPerSecond === null) {
      continue;
    }
    const samples = state.sparks.get(a.id) ?? [];
    samples.push(a.outputTokensPerSecond);
    if (samples.length > SPARK_SAMPLES) {
      samples.shift();
    }
    state.sparks.set(a.id, samples);
  }
  for (const id of state.sparks.keys()) {
    if (!live.has(id)) {
      state.sparks.delete(id);
    }
  }
}

/** Applies a message; returns the parts to render again. */
export function reduce(state: AppState, msg: HostMessage): Part[] {
  switch (msg.type) {
    case 'state': {
      const s = msg.state;
      Object.assign(state, { proxy: s.proxy, session: s.session, recent: s.recent, errors: s.errors, active: s.active, breakdown: s.breakdown, throttle: s.throttle, series: s.series });
      trackSparks(state, s.active);
      return ['header', 'active', 'recent', 'breakdown', 'throttle', 'series'];
    }
    case 'completed': {
      const ids = new Set(msg.records.map((r) => r.id));
      const newest = [...msg.records].reverse();
      state.recent = [...newest, ...state.recent.filter((r) => !ids.has(r.id))].slice(0, MAX_RECENT);
      const failed = newest.filter((r) => r.errorCategory !== null);
      if (failed.length > 0) {
        state.errors = [...failed, ...state.errors.filter((r) => !ids.has(r.id))].slice(0, MAX_ERRORS);
      }
      state.session = msg.session;
      // Drop finished rows now rather than at the next in-flight tick.
      state.active = state.active.filter((a) => !ids.has(a.id));
      return ['header', 'recent', 'active'];
    }
    case 'active':
      state.active = msg.active;
      trackSparks(state, msg.active);
      return ['active', 'header'];
    case 'proxy':
      state.proxy = msg.proxy;
      return ['header'];
    case 'breakdown':
      state.breakdown = msg.breakdown;
      return ['breakdown'];
    case 'throttle':
      state.throttle = msg.throttle;
      return ['throttle'];
    case 'series':
      state.series = msg.series;
      return ['series'];
  }
}

/** Whether the user has never sent a request through the proxy in this session. */
export function isEmpty(state: AppState): boolean {
  return state.recent.length === 0 && state.active.length === 0 && (state.session?.requests ?? 0) === 0;
}
