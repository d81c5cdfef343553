/** The breakdown section: mode switch, wildcard filters, sortable headers, and the tree grid. */
import type { SectionMode } from '../src/protocol';
import { STAT_COLUMNS } from './breakdownColumns';
import { BreakdownGrid } from './breakdownGrid';
import { el, plainButton, section, segmented } from './dom';
import type { AppState, Prefs } from './store';

const MODES: { value: SectionMode; label: string }[] = [
  { value: 'total', label: 'Total' },
  { value: 'streaming', label: 'Streaming' },
  { value: 'nonStreaming', label: 'Non-streaming' },
];
const FILTER_DEBOUNCE_MS = 250;

export interface BreakdownCallbacks {
  /** The query changed (mode or filters): the host must recompute. */
  onQuery(): void;
  /** Only presentation changed (sort, expansion): save and render again. */
  onPrefs(): void;
}

export function createBreakdown(prefs: Prefs, cb: BreakdownCallbacks): { element: HTMLElement; render(state: AppState): void; sync(): void } {
  const q = prefs.view.query;
  const mode = segmented('mode', 'Requests to count', MODES, q.mode, (m) => {
    prefs.view.query.mode = m;
    cb.onQuery();
  });
  let debounce = 0;
  const filter = (id: string, label: string, placeholder: string, field: 'provider' | 'model'): HTMLInputElement => {
    const input = el('input', { id, attrs: { type: 'search', placeholder, 'aria-label': label, spellcheck: 'false', autocomplete: 'off' } });
    input.value = q[field];
    input.addEventListener('input', () => {
      window.clearTimeout(debounce);
      debounce = window.setTimeout(() => {
        prefs.view.query[field] = input.value.trim();
        cb.onQuery();
      }, FILTER_DEBOUNCE_MS);
    });
    return input;
  };
  const providerFilter = filter('filter-provider', 'Filter providers (wildcards * and ?)', 'Provider, e.g. open*', 'provider');
  const modelFilter = filter('filter-model', 'Filter models (wildcards * and ?)', 'Model, e.g. *sonnet*', 'model');

  // In expand-all mode the set holds the exceptions (closed ones), else the open ones.
  const exceptions = new Set(prefs.expanded);
  const isExpanded = (p: string): boolean => prefs.expandAll !== exceptions.has(p);
  const saveExpanded = (): void => {
    prefs.expanded = [...exceptions];
    cb.onPrefs();
  };
  const scroller = el('div', { className: 'scroll bd-scroll' });
  const grid = new BreakdownGrid(scroller, {
    isExpanded,
    toggle: (p, open) => {
      if ((open ?? !isExpanded(p)) !== isExpanded(p)) {
        if (exceptions.has(p)) {
          exceptions.delete(p);
        } else {
          exceptions.add(p);
        }
        saveExpanded();
      }
    },
  });
  const setAll = (open: boolean): void => {
    prefs.expandAll = open;
    exceptions.clear();
    saveExpanded();
  };
  const expandAll = plainButton('Expand all', () => setAll(true));
  const collapseAll = plainButton('Collapse all', () => setAll(false));

  const headers = [{ key: 'name', head: 'Provider / model', title: 'Sort by name' }, ...STAT_COLUMNS].map((c) => {
    const button = plainButton(c.head, () => {
      prefs.sort = { key: c.key, desc: prefs.sort.key === c.key ? !prefs.sort.desc : c.key !== 'name' };
      cb.onPrefs();
    }, { title: c.title, className: 'sort' });
    return { key: c.key, cell: el('div', { className: c.key === 'name' ? 'name' : 'num', attrs: { role: 'columnheader' } }, button) };
  });
  const headRow = el('div', { className: 'bd-row head', attrs: { role: 'row' } }, ...headers.map((h) => h.cell));
  const table = el('div', { id: 'breakdown-grid', className: 'bd', attrs: { role: 'treegrid', 'aria-labelledby': 'breakdown-title', 'aria-describedby': 'breakdown-hint' } }, el('div', { attrs: { role: 'rowgroup' } }, headRow), grid.body);
  const none = el('p', { className: 'muted', text: 'No provider or model matches the filters.' });
  const { section: element } = section('breakdown', 'Breakdown');
  element.append(
    el('div', { className: 'toolbar' }, mode.element, providerFilter, modelFilter, expandAll, collapseAll),
    el('p', { id: 'breakdown-hint', className: 'visually-hidden', text: 'Arrow keys move between rows; Right and Left expand and collapse a provider; Enter toggles it.' }),
    none,
    scroller,
  );
  scroller.append(table);

  return {
    element,
    render(state) {
      const view = state.breakdown;
      if (view === null) {
        return;
      }
      for (const h of headers) {
        const sorted = prefs.sort.key === h.key;
        const value = sorted ? (prefs.sort.desc ? 'descending' : 'ascending') : 'none';
        if (h.cell.getAttribute('aria-sort') !== value) {
          h.cell.setAttribute('aria-sort', value);
        }
      }
      const filtered = prefs.view.query.provider !== '' || prefs.view.query.model !== '';
      none.hidden = view.providers.length > 0 || !filtered;
      grid.render(view, prefs.sort);
      table.setAttribute('aria-rowcount', String(grid.rowCount + 1));
    },
    /** The persisted view came back (a reload): put the controls in step with it. */
    sync() {
      mode.set(prefs.view.query.mode);
      providerFilter.value = prefs.view.query.provider;
      modelFilter.value = prefs.view.query.model;
    },
  };
}
