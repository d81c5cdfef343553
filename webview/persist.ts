/**
 * What survives a reload (getState in VS Code, localStorage in a browser): the user's view and a
 * small snapshot to paint before fresh data arrives. Checked on the way in: an older version's
 * state, or anything malformed, falls back to defaults.
 */
import { CHART_RANGES, SECTION_MODES, type ChartRange, type SectionMode } from '../src/protocol';
import { defaultPrefs, type AppState, type Prefs } from './store';

const VERSION = 3;
const SNAPSHOT_RECENT = 50;

interface Saved {
  version: number;
  prefs: Prefs;
  snapshot: Pick<AppState, 'proxy' | 'session' | 'recent'>;
}

const str = (v: unknown, max = 200): string => (typeof v === 'string' && v.length <= max ? v : '');

export function restore(value: unknown): { prefs: Prefs; snapshot: Partial<AppState> } {
  const prefs = defaultPrefs();
  const s = value as Partial<Saved> | null | undefined;
  if (s?.version !== VERSION || typeof s.prefs !== 'object' || s.prefs === null) {
    return { prefs, snapshot: {} };
  }
  const p = s.prefs;
  const q = p.view?.query;
  prefs.view = {
    query: {
      provider: str(q?.provider),
      model: str(q?.model),
      mode: SECTION_MODES.includes(q?.mode as SectionMode) ? (q?.mode as SectionMode) : 'total',
    },
    range: CHART_RANGES.includes(p.view?.range as ChartRange) ? (p.view?.range as ChartRange) : '15m',
  };
  prefs.expandAll = p.expandAll === true;
  prefs.expanded = Array.isArray(p.expanded) ? p.expanded.filter((x): x is string => typeof x === 'string').slice(0, 1000) : [];
  prefs.sort = typeof p.sort?.key === 'string' ? { key: p.sort.key, desc: p.sort.desc === true } : prefs.sort;
  prefs.recentFilter = p.recentFilter === 'errors' ? 'errors' : 'all';
  const snap = s.snapshot;
  return {
    prefs,
    snapshot: {
      proxy: snap?.proxy ?? null,
      session: snap?.session ?? null,
      recent: Array.isArray(snap?.recent) ? snap.recent : [],
    },
  };
}

export function snapshot(state: AppState): Saved {
  return { version: VERSION, prefs: state.prefs, snapshot: { proxy: state.proxy, session: state.session, recent: state.recent.slice(0, SNAPSHOT_RECENT) } };
}
