/** Recent requests and errors; a row opens its whole record (click, or Enter on the focused row). */
import type { RequestRecord } from '../src/protocol';
import { el, section, segmented } from './dom';
import { clock, int, ms, rate, text, tokens } from './format';
import type { AppState, Prefs } from './store';
import { createTable, reconcile, type Column } from './table';
import { createBadge, setBadgeText } from './toolkit';

const columns: Column<RequestRecord>[] = [
  { head: 'Time', cell: (r) => clock(r.startedAt), title: (r) => r.startedAt },
  { head: 'Provider', cell: (r) => text(r.provider) },
  { head: 'Model', cell: (r) => text(r.model) },
  { head: 'Stream', cell: (r) => (r.streaming ? 'yes' : 'no') },
  { head: 'Status', numeric: true, cell: (r) => int(r.status) },
  { head: 'TTFT', numeric: true, cell: (r) => ms(r.ttftMs) },
  { head: 'Duration', numeric: true, cell: (r) => ms(r.durationMs) },
  { head: 'In', numeric: true, cell: (r) => tokens(r.inputTokens, r.estimated) },
  { head: 'Out', numeric: true, cell: (r) => tokens(r.outputTokens, r.estimated) },
  { head: 'Cache read', numeric: true, cell: (r) => tokens(r.cacheReadTokens, r.estimated) },
  { head: 'Cache write', numeric: true, cell: (r) => tokens(r.cacheCreationTokens, r.estimated) },
  { head: 'Tokens/s', numeric: true, cell: (r) => rate(r.outputTokensPerSecond) },
  { head: 'Error', cell: (r) => text(r.errorCategory) },
];

/** Every field of a record, in the control API's order; null reads "—". */
function details(r: RequestRecord): HTMLElement {
  const dl = el('dl', { className: 'record' });
  for (const [key, value] of Object.entries(r)) {
    dl.append(el('dt', { text: key }), el('dd', { text: value === null ? '— (unknown)' : String(value) }));
  }
  return dl;
}

export function createRecent(prefs: Prefs, onPrefs: () => void): { element: HTMLElement; render(state: AppState): void } {
  const count = createBadge('0', 'recent-count');
  const { section: element } = section('recent', 'Recent requests ', count);
  let current: AppState | null = null;
  const filter = segmented('recent-filter', 'Which requests', [{ value: 'all', label: 'All' }, { value: 'errors', label: 'Errors only' }] as const, prefs.recentFilter, (v) => {
    prefs.recentFilter = v;
    onPrefs();
  });
  const { table, body } = createTable(columns, 'recent-rows', 'Recent requests, newest first; Enter shows a request in full');
  const scroll = el('div', { className: 'scroll' }, table);
  const none = el('p', { className: 'muted' });
  const heading = el('h3', { id: 'record-title', attrs: { tabindex: '-1' } });
  const close = el('button', { className: 'plain', text: 'Close', attrs: { type: 'button' } });
  const panel = el('section', { id: 'record-details', className: 'details', attrs: { 'aria-labelledby': 'record-title' } }, el('div', { className: 'toolbar' }, heading, close));
  panel.hidden = true;
  element.append(el('div', { className: 'toolbar' }, filter.element), none, scroll, panel);

  let openRow: HTMLTableRowElement | null = null;
  const show = (row: HTMLTableRowElement): void => {
    const r = current?.recent.find((x) => x.id === row.dataset.id) ?? current?.errors.find((x) => x.id === row.dataset.id);
    if (r === undefined) {
      return;
    }
    openRow?.classList.remove('selected');
    openRow = row;
    row.classList.add('selected');
    heading.textContent = `${r.provider}/${r.model} at ${clock(r.startedAt)}`;
    panel.replaceChildren(panel.firstChild as Node, details(r));
    panel.hidden = false;
    heading.focus();
  };
  close.addEventListener('click', () => {
    panel.hidden = true;
    openRow?.classList.remove('selected');
    openRow?.focus();
  });
  body.addEventListener('click', (e) => {
    const row = (e.target as HTMLElement).closest('tr');
    if (row !== null) {
      show(row);
    }
  });
  body.addEventListener('keydown', (e) => {
    const row = (e.target as HTMLElement).closest('tr');
    if (row === null) {
      return;
    }
    const move = (to: Element | null): void => {
      if (to instanceof HTMLTableRowElement) {
        row.tabIndex = -1;
        to.tabIndex = 0;
        to.focus();
      }
    };
    if (e.key === 'Enter' || e.key === ' ') {
      show(row);
    } else if (e.key === 'ArrowDown') {
      move(row.nextElementSibling);
    } else if (e.key === 'ArrowUp') {
      move(row.previousElementSibling);
    } else {
      return;
    }
    e.preventDefault();
  });

  return {
    element,
    render(state) {
      current = state;
      filter.set(prefs.recentFilter);
      const list = prefs.recentFilter === 'errors' ? state.errors : state.recent;
      reconcile(body, list, columns, (r) => {
        const row = el('tr', { className: r.errorCategory === null ? '' : 'failed', attrs: { 'data-id': r.id, 'data-provider': r.provider, 'data-model': r.model, tabindex: '-1' } });
        if (r.estimated) {
          row.title = 'Token counts estimated from the text (~): the provider sent no usage';
        }
        return row;
      }, false);
      // One row is the tab stop (the first, unless the user moved): a roving tabindex.
      if (body.querySelector('tr[tabindex="0"]') === null && body.rows[0] !== undefined) {
        body.rows[0].tabIndex = 0;
      }
      setBadgeText(count, String(list.length));
      none.textContent = prefs.recentFilter === 'errors' ? 'No errors this session.' : 'No completed requests yet.';
      none.hidden = list.length > 0;
      scroll.hidden = list.length === 0;
    },
  };
}
