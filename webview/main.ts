/**
 * The metrics panel's browser side: keeps the last state the host sent, renders it at most once per
 * animation frame, and persists it with setState so a hidden-then-shown panel paints at once.
 */
import type { ActiveView, HostMessage, ProxyStatus, RequestRecord, WebviewMessage } from '../src/protocol';
import { createBadge, createButton, createSpinner, registerComponents, setBadgeText, setButtonDisabled } from './toolkit';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: PersistedState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

/** In-flight rows are stale within a second, and the host resends them on `ready`: not persisted. */
interface PersistedState {
  version: 1;
  proxy: ProxyStatus | null;
  recent: RequestRecord[];
}

const MAX_RECENT = 200;
const DASH = '—';
const hostTypes: ReadonlySet<string> = new Set<HostMessage['type']>(['state', 'completed', 'active', 'proxy']);

const vscode = acquireVsCodeApi();
let proxy: ProxyStatus | null = null;
let recent: RequestRecord[] = [];
let active: ActiveView[] = [];
const dirty = { header: true, active: true, recent: true, persist: false };
let frame = 0;

// Formatting: null means "unknown" and must never read as 0.
const intFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const rateFmt = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const int = (n: number | null): string => (n === null ? DASH : intFmt.format(n));
const rate = (n: number | null): string => (n === null ? DASH : rateFmt.format(n));
const tokens = (n: number | null, estimated: boolean): string => (n === null ? DASH : (estimated ? '~' : '') + intFmt.format(n));
const text = (s: string | null): string => (s === null || s === '' ? DASH : s);
function clock(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? DASH : d.toLocaleTimeString(undefined, { hour12: false });
}

interface Column<T> {
  head: string;
  numeric?: boolean;
  cell: (row: T) => string;
}
const recentColumns: Column<RequestRecord>[] = [
  { head: 'Time', cell: (r) => clock(r.startedAt) },
  { head: 'Provider', cell: (r) => text(r.provider) },
  { head: 'Model', cell: (r) => text(r.model) },
  { head: 'Stream', cell: (r) => (r.streaming ? 'yes' : 'no') },
  { head: 'Status', numeric: true, cell: (r) => int(r.status) },
  { head: 'TTFT ms', numeric: true, cell: (r) => int(r.ttftMs) },
  { head: 'Duration ms', numeric: true, cell: (r) => int(r.durationMs) },
  { head: 'In', numeric: true, cell: (r) => tokens(r.inputTokens, r.estimated) },
  { head: 'Out', numeric: true, cell: (r) => tokens(r.outputTokens, r.estimated) },
  { head: 'Cache read', numeric: true, cell: (r) => tokens(r.cacheReadTokens, r.estimated) },
  { head: 'Cache write', numeric: true, cell: (r) => tokens(r.cacheCreationTokens, r.estimated) },
  { head: 'Out tok/s', numeric: true, cell: (r) => rate(r.outputTokensPerSecond) },
  { head: 'Error', cell: (r) => text(r.errorCategory) },
];
const activeColumns: Column<ActiveView>[] = [
  { head: 'Provider', cell: (a) => text(a.provider) },
  { head: 'Model', cell: (a) => text(a.model) },
  { head: 'Stream', cell: (a) => (a.streaming ? 'yes' : 'no') },
  { head: 'Elapsed s', numeric: true, cell: (a) => rate(a.elapsedMs / 1000) },
  { head: 'TTFT ms', numeric: true, cell: (a) => int(a.ttftMs) },
  { head: 'Tokens so far', numeric: true, cell: (a) => int(a.outputTokens) },
  { head: 'Live tok/s', numeric: true, cell: (a) => rate(a.outputTokensPerSecond) },
];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { id?: string; className?: string; text?: string } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.id !== undefined) {
    node.id = props.id;
  }
  if (props.className !== undefined) {
    node.className = props.className;
  }
  if (props.text !== undefined) {
    node.textContent = props.text;
  }
  node.append(...children);
  return node;
}

function table<T>(columns: Column<T>[], bodyId: string, caption: string): { table: HTMLTableElement; body: HTMLTableSectionElement } {
  const head = el('tr', {}, ...columns.map((c) => el('th', { className: c.numeric === true ? 'num' : '', text: c.head })));
  head.querySelectorAll('th').forEach((th) => th.setAttribute('scope', 'col'));
  const body = el('tbody', { id: bodyId });
  return { table: el('table', { className: 'grid' }, el('caption', { className: 'visually-hidden', text: caption }), el('thead', {}, head), body), body };
}

// The skeleton is built once; renders only touch text and rows, so focus and scroll survive updates.
registerComponents();
const proxyState = createBadge(DASH, 'proxy-state');
const proxyUrl = el('code', { id: 'proxy-url', text: DASH });
const copyButton = createButton({ id: 'copy-url', label: 'Copy', title: 'Copy proxy URL', secondary: true, onClick: () => vscode.postMessage({ type: 'copyProxyUrl' } satisfies WebviewMessage) });
const proxyMessage = el('p', { id: 'proxy-message', className: 'muted' });
const emptyState = el('section', { id: 'empty-state', className: 'empty' });
const activeCount = createBadge('0', 'active-count');
const spinner = createSpinner('Requests in flight');
const activeNone = el('p', { className: 'muted', text: 'Nothing in flight.' });
const activeTable = table(activeColumns, 'active-rows', 'Requests in flight');
const activeSection = el('section', { id: 'active' }, el('h2', {}, 'In flight ', activeCount, spinner), activeNone, activeTable.table);
const recentCount = createBadge('0', 'recent-count');
const recentTable = table(recentColumns, 'recent-rows', 'Recent requests, newest first');
const recentScroll = el('div', { className: 'scroll' }, recentTable.table);
// Focusable so keyboard users can scroll a table wider or taller than the panel.
recentScroll.tabIndex = 0;
recentScroll.setAttribute('role', 'region');
recentScroll.setAttribute('aria-label', 'Recent requests');
const recentSection = el('section', { id: 'recent' }, el('h2', {}, 'Recent requests ', recentCount), recentScroll);
const header = el('header', {}, el('h1', { text: 'Tokenmeter' }), el('div', { className: 'proxy' }, el('span', { text: 'Proxy' }), proxyState, proxyUrl, copyButton), proxyMessage);
document.body.append(el('main', {}, header, emptyState, activeSection, recentSection));

function renderHeader(): void {
  const state = proxy?.state ?? 'unknown';
  setBadgeText(proxyState, proxy === null ? DASH : state);
  proxyState.dataset.state = state;
  proxyUrl.textContent = proxy?.url ?? DASH;
  setButtonDisabled(copyButton, (proxy?.url ?? null) === null);
  proxyMessage.textContent = proxy?.message ?? '';
  proxyMessage.hidden = (proxy?.message ?? null) === null;
  renderEmptyState();
}

function renderEmptyState(): void {
  const url = proxy?.url ?? 'http://127.0.0.1:PORT';
  const line = (tool: string, setting: string): HTMLLIElement => el('li', {}, el('span', { text: `${tool}: ` }), el('code', { text: setting }));
  emptyState.replaceChildren(
    el('h2', { text: 'No requests yet' }),
    el('p', { text: (proxy?.url ?? null) === null ? 'Once the proxy is running, point a tool at it:' : 'Point a tool at the proxy, then use it as usual:' }),
    el('ul', {}, line('Claude Code', `ANTHROPIC_BASE_URL=${url}`), line('OpenAI SDK', `OPENAI_BASE_URL=${url}/openai/v1`), line('Other providers (tokenmeter.providers setting)', `${url}/NAME/…`)),
  );
}

/** Keyed update: rows are reused by id and only moved when out of place, so 200 rows stay cheap. */
function reconcile<T extends { id: string }>(body: HTMLTableSectionElement, items: T[], columns: Column<T>[], create: (item: T) => HTMLTableRowElement, live: boolean): void {
  const existing = new Map<string, HTMLTableRowElement>();
  for (const row of Array.from(body.rows)) {
    existing.set(row.dataset.id ?? '', row);
  }
  let next: ChildNode | null = body.firstChild;
  for (const item of items) {
    let row = existing.get(item.id);
    existing.delete(item.id);
    // Completed records never change, so their cells are written once; live rows on every tick.
    if (row === undefined) {
      row = create(item);
      row.append(...columns.map((c) => el('td', { className: c.numeric === true ? 'num' : '' })));
      fill(row, item, columns);
    } else if (live) {
      fill(row, item, columns);
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
    const value = c.cell(item);
    if (cell !== undefined && cell.textContent !== value) {
      cell.textContent = value;
    }
  });
}

function recentRow(r: RequestRecord): HTMLTableRowElement {
  const row = el('tr');
  row.dataset.id = r.id;
  row.dataset.provider = r.provider;
  row.dataset.model = r.model;
  row.classList.toggle('failed', r.errorCategory !== null);
  row.title = r.estimated ? `${r.startedAt} — token counts estimated from the text (~)` : r.startedAt;
  return row;
}

function activeRow(a: ActiveView): HTMLTableRowElement {
  const row = el('tr');
  row.dataset.id = a.id;
  row.dataset.provider = a.provider;
  row.dataset.model = a.model;
  return row;
}

function flush(): void {
  frame = 0;
  if (dirty.header) {
    renderHeader();
  }
  if (dirty.active) {
    reconcile(activeTable.body, active, activeColumns, activeRow, true);
    setBadgeText(activeCount, String(active.length));
  }
  if (dirty.recent) {
    reconcile(recentTable.body, recent, recentColumns, recentRow, false);
    setBadgeText(recentCount, String(recent.length));
  }
  const empty = recent.length === 0 && active.length === 0;
  emptyState.hidden = !empty;
  activeSection.hidden = empty;
  recentSection.hidden = recent.length === 0;
  activeNone.hidden = active.length > 0;
  activeTable.table.hidden = active.length === 0;
  spinner.hidden = active.length === 0;
  if (dirty.persist) {
    vscode.setState({ version: 1, proxy, recent });
  }
  dirty.header = dirty.active = dirty.recent = dirty.persist = false;
}

/** Many messages in one frame (a burst of completions) become one render and one setState. */
function schedule(): void {
  if (frame === 0) {
    frame = requestAnimationFrame(flush);
  }
}

function isHostMessage(value: unknown): value is HostMessage {
  return typeof value === 'object' && value !== null && hostTypes.has(String((value as { type?: unknown }).type));
}

function onMessage(msg: HostMessage): void {
  switch (msg.type) {
    case 'state':
      proxy = msg.proxy;
      recent = msg.recent.slice(0, MAX_RECENT);
      active = msg.active;
      dirty.header = dirty.active = dirty.recent = dirty.persist = true;
      break;
    case 'completed':
      recent = [msg.record, ...recent.filter((r) => r.id !== msg.record.id)].slice(0, MAX_RECENT);
      // Drop the finished row now rather than at the host's next in-flight tick.
      active = active.filter((a) => a.id !== msg.record.id);
      dirty.recent = dirty.active = dirty.persist = true;
      break;
    case 'active':
      active = msg.active;
      dirty.active = true;
      break;
    case 'proxy':
      proxy = msg.proxy;
      dirty.header = dirty.persist = true;
      break;
  }
  schedule();
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (isHostMessage(event.data)) {
    onMessage(event.data);
  }
});

const saved = vscode.getState() as Partial<PersistedState> | undefined;
if (saved?.version === 1 && Array.isArray(saved.recent)) {
  proxy = saved.proxy ?? null;
  recent = saved.recent;
}
// Paint synchronously (restored or empty) so the panel never flashes blank, then ask for fresh state.
flush();
vscode.postMessage({ type: 'ready' } satisfies WebviewMessage);
