/** Throttling: who is being rate-limited now, the time lost, headroom left and when it resets. */
import type { HeadroomView, LimitWindowView, ThrottleEventView } from '../src/protocol';
import { el, section, setText } from './dom';
import { clock, DASH, int, ms, percent, relative } from './format';
import type { AppState } from './store';
import { createTable, reconcile, type Column } from './table';

const WINDOW_NAMES: Record<string, string> = {
  unified: 'Subscription',
  'unified-5h': '5-hour (subscription)',
  'unified-7d': '7-day (subscription)',
  'unified-7d_opus': '7-day Opus (subscription)',
};
const windowName = (n: string): string => WINDOW_NAMES[n] ?? n.replace(/-/g, ' ');

/** Share used: the provider's utilisation, else 1 − remaining ÷ limit; null when neither is known. */
function used(w: LimitWindowView): number | null {
  if (w.utilization !== null) {
    return w.utilization;
  }
  return w.limit !== null && w.remaining !== null && w.limit > 0 ? 1 - w.remaining / w.limit : null;
}

interface HeadroomRow {
  id: string;
  provider: string;
  window: LimitWindowView;
}

const headroomColumns: Column<HeadroomRow>[] = [
  { head: 'Provider', cell: (r) => r.provider },
  { head: 'Limit', cell: (r) => windowName(r.window.name) },
  { head: 'Remaining', numeric: true, cell: (r) => (r.window.remaining === null ? DASH : `${int(r.window.remaining)} of ${int(r.window.limit)}`) },
  { head: 'Used', numeric: true, cell: (r) => percent(used(r.window)) },
  { head: 'Resets', cell: (r) => relative(r.window.resetAt), title: (r) => r.window.resetAt ?? '' },
  { head: 'Status', cell: (r) => r.window.status ?? DASH },
];

const eventColumns: Column<ThrottleEventView & { id: string }>[] = [
  { head: 'Time', cell: (e) => clock(e.at), title: (e) => e.at },
  { head: 'Provider / model', cell: (e) => `${e.provider}/${e.model}` },
  { head: 'Status', numeric: true, cell: (e) => String(e.status) },
  { head: 'Retry after', numeric: true, cell: (e) => ms(e.retryAfterMs) },
  { head: 'Waited', numeric: true, cell: (e) => (e.waitMs === null ? 'not retried yet' : ms(e.waitMs)) },
];

export function createThrottle(): { element: HTMLElement; render(state: AppState): void } {
  const { section: element } = section('throttle', 'Throttling');
  const status = el('p', { id: 'throttle-status', attrs: { role: 'status' } });
  const waits = el('ul', { id: 'throttle-waits', className: 'inline-list' });
  const headroom = createTable(headroomColumns, 'headroom-rows', 'Rate-limit headroom by provider');
  const events = createTable(eventColumns, 'throttle-rows', 'Throttle events, newest first');
  const headroomNone = el('p', { className: 'muted', text: 'No rate-limit headers seen yet.' });
  const eventsNone = el('p', { className: 'muted', text: 'No throttle events (429, 529 or retry-after) this session.' });
  element.append(
    status,
    el('h3', { text: 'Wait by provider' }),
    waits,
    el('h3', { text: 'Rate-limit headroom' }),
    headroomNone,
    el('div', { className: 'scroll' }, headroom.table),
    el('h3', { text: 'Throttle events' }),
    eventsNone,
    el('div', { className: 'scroll short' }, events.table),
  );

  return {
    element,
    render(state) {
      const t = state.throttle;
      if (t === null) {
        return;
      }
      setText(status, t.throttling.length > 0 ? `Throttled now: ${t.throttling.join(', ')} (waiting for the client to retry).` : 'No provider is throttling right now.');
      status.classList.toggle('warn', t.throttling.length > 0);
      const waitEntries = Object.entries(t.waitMsByProvider).sort((a, b) => b[1] - a[1]);
      waits.replaceChildren(...(waitEntries.length === 0 ? [el('li', { className: 'muted', text: 'No time lost to throttling.' })] : waitEntries.map(([p, w]) => el('li', { attrs: { 'data-provider': p } }, el('span', { text: `${p} ` }), el('strong', { text: ms(w) })))));

      const rows: HeadroomRow[] = t.headroom.flatMap((h: HeadroomView) => h.windows.map((w) => ({ id: `${h.provider}\u0000${w.name}`, provider: h.provider, window: w })));
      // Resets are relative times: every row is rewritten so "in 3m" keeps counting down.
      reconcile(headroom.body, rows, headroomColumns, (r) => el('tr', { attrs: { 'data-id': r.id, 'data-provider': r.provider, 'data-window': r.window.name } }), true, (row, r) => {
        const u = used(r.window);
        row.classList.toggle('low', u !== null && u > 0.9);
      });
      headroomNone.hidden = rows.length > 0;
      headroom.table.hidden = rows.length === 0;

      const list = t.events.map((e) => ({ ...e, id: e.requestId }));
      reconcile(events.body, list, eventColumns, (e) => el('tr', { attrs: { 'data-id': e.id, 'data-provider': e.provider } }), true);
      eventsNone.hidden = list.length > 0;
      events.table.hidden = list.length === 0;
    },
  };
}
