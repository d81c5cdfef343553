/**
 * The provider → model tree grid, virtualised: of 1,000+ rows only those in view (plus a margin)
 * are in the DOM, absolutely placed in a body as tall as all of them, so an update costs the same
 * style, layout and paint work whether there are 10 rows or 10,000. Rows are kept by key and their
 * text rewritten only when their numbers changed. ARIA treegrid (aria-rowcount / aria-rowindex for
 * the rows not in the DOM) with a roving tabindex: arrows move, Right/Left expand and collapse,
 * Enter toggles; the focused row stays in the DOM while it has focus.
 */
import type { BreakdownView } from '../src/protocol';
import { comparator } from './breakdownColumns';
import { createRow, TOTAL_KEY, updateRow, type Item, type Row } from './breakdownRow';
import { el } from './dom';
import { treeAction } from './treeKeys';

export interface GridOptions {
  isExpanded(provider: string): boolean;
  toggle(provider: string, expanded?: boolean): void;
}

/** Rows rendered beyond the visible ones, above and below: smooth scrolling without blank gaps. */
const OVERSCAN = 10;
/** Rows rendered while the grid cannot be measured (hidden). */
const UNMEASURED = 40;

export class BreakdownGrid {
  readonly body = el('div', { className: 'bd-body', attrs: { role: 'rowgroup' } });
  private readonly rows = new Map<string, Row>();
  private items: Item[] = [];
  private index = new Map<string, number>();
  private focusKey: string | null = null;
  private rowHeight = 0;
  private frame = 0;
  /**
   * The scroller's geometry, kept from its scroll and resize events: reading it during a render
   * would force a layout of everything written before it in the same frame.
   */
  private scrollTop = 0;
  private viewHeight = 0;
  private headHeight = 0;

  constructor(
    private readonly scroller: HTMLElement,
    private readonly options: GridOptions,
  ) {
    scroller.addEventListener(
      'scroll',
      () => {
        this.scrollTop = scroller.scrollTop;
        this.frame ||= requestAnimationFrame(() => this.renderWindow());
      },
      { passive: true },
    );
    new ResizeObserver(([entry]) => {
      this.viewHeight = entry.contentRect.height;
      this.frame ||= requestAnimationFrame(() => this.renderWindow());
    }).observe(scroller);
    this.body.addEventListener('keydown', (e) => this.onKey(e));
    // Focus that arrives by Tab or by a click moves the roving tab stop with it.
    this.body.addEventListener('focusin', (e) => {
      const key = (e.target as HTMLElement).closest<HTMLElement>('[role="row"]')?.dataset.key;
      if (key !== undefined && key !== this.focusKey && this.index.has(key)) {
        this.focus(key, false);
      }
    });
    this.body.addEventListener('click', (e) => {
      const key = (e.target as HTMLElement).closest<HTMLElement>('[role="row"]')?.dataset.key;
      const item = key === undefined ? undefined : this.item(key);
      if (item !== undefined) {
        this.focus(item.key, false);
        if (item.level === 1 && item.key !== TOTAL_KEY) {
          this.options.toggle(item.provider);
        }
      }
    });
  }

  /** All rows, in order (the totals row first, then providers, each followed by its models if expanded). */
  get rowCount(): number {
    return this.items.length;
  }

  render(view: BreakdownView, sort: { key: string; desc: boolean }): void {
    const items: Item[] = [{ key: TOTAL_KEY, level: 1, provider: '', name: 'All providers', stats: view.summary, models: view.providers.length }];
    const cmp = comparator(sort.key, sort.desc);
    for (const p of [...view.providers].sort(cmp)) {
      items.push({ key: p.name, level: 1, provider: p.name, name: p.name, stats: p.stats, models: p.models.length });
      if (this.options.isExpanded(p.name)) {
        for (const m of [...p.models].sort(cmp)) {
          // NUL cannot occur in a provider name: a model key never equals a provider key.
          items.push({ key: `${p.name}\u0000${m.name}`, level: 2, provider: p.name, name: m.name, stats: m.stats });
        }
      }
    }
    this.items = items;
    this.index = new Map(items.map((it, i) => [it.key, i]));
    if (this.focusKey === null || !this.index.has(this.focusKey)) {
      this.focusKey = TOTAL_KEY;
    }
    this.renderWindow();
  }

  private item(key: string): Item | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.items[i];
  }

  /** Brings the DOM in line with the rows in view. */
  private renderWindow(): void {
    this.frame = 0;
    const h = this.rowHeight || 24;
    const height = `${this.items.length * h}px`;
    if (this.body.style.height !== height) {
      this.body.style.height = height;
    }
    const top = this.scrollTop - this.headHeight;
    const visible = this.viewHeight > 0 ? Math.ceil(this.viewHeight / h) : UNMEASURED;
    const first = Math.max(0, Math.floor(top / h) - OVERSCAN);
    const last = Math.min(this.items.length, first + visible + 2 * OVERSCAN);
    const keep = new Set<string>();
    for (let i = first; i < last; i++) {
      keep.add(this.items[i].key);
    }
    // The focused row stays while it has focus, or the keyboard user would lose their place.
    const focused = this.focusKey !== null && this.rows.get(this.focusKey)?.el === document.activeElement ? this.focusKey : null;
    if (focused !== null && this.index.has(focused)) {
      keep.add(focused);
    }
    for (const [key, row] of this.rows) {
      if (!keep.has(key)) {
        row.el.remove();
        this.rows.delete(key);
      }
    }
    let next: ChildNode | null = this.body.firstChild;
    for (const key of [...keep].sort((a, b) => (this.index.get(a) ?? 0) - (this.index.get(b) ?? 0))) {
      const i = this.index.get(key) ?? 0;
      const item = this.items[i];
      let row = this.rows.get(key);
      if (row === undefined) {
        row = createRow(item);
        this.rows.set(key, row);
      }
      updateRow(row, item, { index: i, rowHeight: h, focused: item.key === this.focusKey, expanded: item.level === 1 && item.key !== TOTAL_KEY ? this.options.isExpanded(item.provider) : null });
      if (row.el === next) {
        next = row.el.nextSibling;
      } else {
        this.body.insertBefore(row.el, next);
      }
    }
    if (this.rowHeight === 0 && this.rows.size > 0) {
      // One forced layout, once: rows are as tall as the theme's font makes them.
      const measured = this.body.firstElementChild?.getBoundingClientRect().height ?? 0;
      if (measured > 0) {
        this.rowHeight = measured;
        // The header rows above the body, inside the same scroller.
        this.headHeight = this.body.getBoundingClientRect().top - (this.body.parentElement?.getBoundingClientRect().top ?? 0);
        this.renderWindow();
      }
    }
  }

  /** Moves the roving tab stop; scrolls the row into view and focuses it when asked. */
  private focus(key: string, move = true): void {
    this.focusKey = key;
    for (const [k, row] of this.rows) {
      row.el.tabIndex = k === key ? 0 : -1;
    }
    if (!move) {
      return;
    }
    const i = this.index.get(key) ?? 0;
    const h = this.rowHeight || 24;
    const head = this.headHeight; // the sticky header above the body
    const y = head + i * h;
    if (y < this.scrollTop + head) {
      this.scroller.scrollTop = this.scrollTop = y - head;
    } else if (y + h > this.scrollTop + this.viewHeight) {
      this.scroller.scrollTop = this.scrollTop = y + h - this.viewHeight;
    }
    this.renderWindow();
    this.rows.get(key)?.el.focus();
  }

  private onKey(e: KeyboardEvent): void {
    const key = this.focusKey;
    const i = key === null ? undefined : this.index.get(key);
    if (key === null || i === undefined) {
      return;
    }
    const item = this.items[i];
    const parent = item.level === 1 && key !== TOTAL_KEY;
    const expanded = parent && this.options.isExpanded(item.provider);
    const page = Math.max(1, Math.floor(this.viewHeight / (this.rowHeight || 24)) - 1);
    const action = treeAction(e.key, { parent, expanded, level: item.level }, page);
    if (action === null) {
      return;
    }
    e.preventDefault();
    const at = (j: number): string => this.items[Math.max(0, Math.min(this.items.length - 1, j))].key;
    switch (action.kind) {
      case 'move':
        this.focus(at(i + action.by));
        break;
      case 'first':
        this.focus(at(0));
        break;
      case 'last':
        this.focus(at(this.items.length - 1));
        break;
      case 'parent':
        this.focus(item.provider);
        break;
      case 'expand':
        this.options.toggle(item.provider, action.open);
        break;
      case 'toggle':
        this.options.toggle(item.provider);
        break;
    }
  }
}
