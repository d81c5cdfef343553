/** A keyed table body: rows are reused by id and moved only when out of place. */
import { el, setText } from './dom';

export interface Column<T> {
  head: string;
  numeric?: boolean;
  cell: (row: T) => string;
  title?: (row: T) => string;
}

export function createTable<T>(columns: Column<T>[], bodyId: string, caption: string): { table: HTMLTableElement; body: HTMLTableSectionElement } {
  const head = el('tr', {}, ...columns.map((c) => el('th', { className: c.numeric === true ? 'num' : '', text: c.head, attrs: { scope: 'col' } })));
  const body = el('tbody', { id: bodyId });
  return { table: el('table', { className: 'grid' }, el('caption', { className: 'visually-hidden', text: caption }), el('thead', {}, head), body), body };
}

/**
 * `live` rows are written on every call (in-flight values change); others once, when created,
 * since a completed record never changes. `extra` appends cells a column cannot express.
 */
export function reconcile<T extends { id: string }>(
  body: HTMLTableSectionElement,
  items: readonly T[],
  columns: Column<T>[],
  create: (item: T) => HTMLTableRowElement,
  live: boolean,
  extra?: (row: HTMLTableRowElement, item: T) => void,
): void {
  const existing = new Map<string, HTMLTableRowElement>();
  for (const row of Array.from(body.rows)) {
    existing.set(row.dataset.id ?? '', row);
  }
  let next: ChildNode | null = body.firstChild;
  for (const item of items) {
    let row = existing.get(item.id);
    existing.delete(item.id);
    if (row === undefined) {
      row = create(item);
      row.append(...columns.map((c) => el('td', { className: c.numeric === true ? 'num' : '' })));
      fill(row, item, columns);
      extra?.(row, item);
    } else if (live) {
      fill(row, item, columns);
      extra?.(row, item);
    }
    if (row === next) {
      next = row.nextSibling;
    } else {
      body.insertBefore(row, next);
    }
  }
  existing.forEach((row) => row.remove());
}

function fill<T>(row: HTMLTableRowElement, item: T, columns: Column<T>[]): void {
  columns.forEach((c, i) => {
    const cell = row.cells[i];
    if (cell !== undefined) {
      setText(cell, c.cell(item));
      if (c.title !== undefined) {
        cell.title = c.title(item);
      }
    }
  });
}
