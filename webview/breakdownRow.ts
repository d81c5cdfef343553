/** One row of the breakdown grid: built once per key, then rewritten only where it changed. */
import type { BreakdownStats } from '../src/protocol';
import { sameStats, STAT_COLUMNS } from './breakdownColumns';
import { el } from './dom';

/** The key of the "All providers" row; NUL cannot occur in a provider's name. */
export const TOTAL_KEY = '\u0000total';

export interface Item {
  key: string;
  level: 1 | 2;
  provider: string;
  name: string;
  stats: BreakdownStats;
  /** Children: a provider's models, the totals row's providers. */
  models?: number;
}

export interface Row {
  el: HTMLElement;
  cells: HTMLElement[];
  note: HTMLElement;
  /** The numbers last written, to skip rewriting identical text. */
  stats: BreakdownStats | null;
}

export function createRow(item: Item): Row {
  const note = el('span', { className: 'note' });
  const name = el('div', { className: 'name', attrs: { role: item.level === 1 ? 'rowheader' : 'gridcell' } }, el('span', { className: 'twisty', attrs: { 'aria-hidden': 'true' } }), el('span', { className: 'label', text: item.name }), note);
  const cells = STAT_COLUMNS.map((c) => el('div', { className: 'num', title: c.title, attrs: { role: 'gridcell' } }));
  const attrs: Record<string, string> = { role: 'row', 'aria-level': String(item.level), tabindex: '-1', 'data-key': item.key };
  if (item.level === 2) {
    attrs['data-provider'] = item.provider;
    attrs['data-model'] = item.name;
  } else if (item.key !== TOTAL_KEY) {
    attrs['data-provider'] = item.provider;
  }
  return { el: el('div', { className: `bd-row level-${item.level}${item.key === TOTAL_KEY ? ' total' : ''}`, attrs }, name, ...cells), cells, note, stats: null };
}

export interface Placement {
  index: number;
  rowHeight: number;
  focused: boolean;
  /** A provider's state; null for a model or the totals row. */
  expanded: boolean | null;
}

export function updateRow(row: Row, item: Item, p: Placement): void {
  const attr = (name: string, value: string): void => {
    if (row.el.getAttribute(name) !== value) {
      row.el.setAttribute(name, value);
    }
  };
  attr('aria-rowindex', String(p.index + 2)); // the header row is 1
  attr('tabindex', p.focused ? '0' : '-1');
  if (p.expanded !== null) {
    attr('aria-expanded', String(p.expanded));
  }
  const y = `${p.index * p.rowHeight}px`;
  if (row.el.style.top !== y) {
    row.el.style.top = y;
  }
  const children = item.models === undefined ? '' : `${item.models} ${item.key === TOTAL_KEY ? 'provider' : 'model'}${item.models === 1 ? '' : 's'}`;
  if (row.note.textContent !== children) {
    row.note.textContent = children;
  }
  if (row.stats !== null && sameStats(row.stats, item.stats)) {
    return;
  }
  row.stats = item.stats;
  row.el.classList.toggle('has-errors', item.stats.errors > 0);
  for (let c = 0; c < STAT_COLUMNS.length; c++) {
    const col = STAT_COLUMNS[c];
    const text = col.format(col.value(item.stats));
    if (row.cells[c].textContent !== text) {
      row.cells[c].textContent = text;
    }
  }
}
