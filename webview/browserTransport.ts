/**
 * The standalone dashboard's transport: the page is served by the proxy itself, so it reads the
 * control API (`api/dashboard` for the panel's state, same origin) and follows the `events` feed,
 * turning both into the same HostMessages the extension host posts. Commands that change the proxy
 * need VS Code: the control API is read-only.
 */
import type { DashboardPart, DashboardState, HostMessage, PanelCommand, PanelView, RequestRecord, WebviewMessage } from '../src/protocol';

const STORAGE_KEY = 'tokenmeter.dashboard';
const ACTIVE_MS = 250;
const DERIVED_MS = 500;
const SERIES_REFRESH_MS = 10_000;

export class BrowserTransport {
  readonly kind = 'browser';
  readonly commands: ReadonlySet<PanelCommand> = new Set<PanelCommand>();
  private handler: (m: HostMessage) => void = () => undefined;
  private view: PanelView | undefined;
  private events: EventSource | undefined;
  private completed: RequestRecord[] = [];
  private completedTimer = 0;
  private derivedTimer = 0;
  private activeTimer = 0;
  private lost = false;

  constructor(private readonly origin: string) {}

  listen(handler: (message: HostMessage) => void): void {
    this.handler = handler;
  }

  send(message: WebviewMessage): void {
    switch (message.type) {
      case 'ready':
        this.view = message.view;
        void this.fetchState();
        this.follow();
        window.setInterval(() => void this.fetchParts(['series']), SERIES_REFRESH_MS);
        break;
      case 'view':
        this.view = message.view;
        void this.fetchParts(['breakdown', 'series']);
        break;
      case 'copyProxyUrl':
        void navigator.clipboard?.writeText(this.origin);
        break;
      case 'command':
        break; // none offered (commands is empty)
    }
  }

  load(): unknown {
    try {
      return JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null');
    } catch {
      return undefined;
    }
  }

  save(state: unknown): void {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(state));
    } catch {
      // Storage full or blocked: the dashboard works without remembering its view.
    }
  }

  private url(parts: readonly DashboardPart[]): string {
    const v = this.view ?? { query: { provider: '', model: '', mode: 'total' }, range: '15m' };
    const q = new URLSearchParams({ provider: v.query.provider, model: v.query.model, mode: v.query.mode, range: v.range, parts: parts.join(',') });
    return `${this.origin}/_tokenmeter/api/dashboard?${q.toString()}`;
  }

  private async get(parts: readonly DashboardPart[]): Promise<Partial<DashboardState> | undefined> {
    try {
      const res = await fetch(this.url(parts), { cache: 'no-store' });
      return res.ok ? ((await res.json()) as Partial<DashboardState>) : undefined;
    } catch {
      return undefined; // the feed's error handler reports the lost connection
    }
  }

  private async fetchState(): Promise<void> {
    const s = await this.get(['proxy', 'session', 'recent', 'errors', 'active', 'breakdown', 'throttle', 'series']);
    if (s !== undefined) {
      this.handler({ type: 'state', state: s as DashboardState });
      this.pollActive(s.active?.length ?? 0);
    }
  }

  private async fetchParts(parts: readonly DashboardPart[]): Promise<void> {
    const s = await this.get(parts);
    if (s?.breakdown) {
      this.handler({ type: 'breakdown', breakdown: s.breakdown });
    }
    if (s?.series) {
      this.handler({ type: 'series', series: s.series });
    }
    if (s?.throttle) {
      this.handler({ type: 'throttle', throttle: s.throttle });
    }
    if (s?.active) {
      this.handler({ type: 'active', active: s.active });
      this.pollActive(s.active.length);
    }
  }

  /** In-flight rows refresh 4 times a second, only while there are any. */
  private pollActive(count: number): void {
    window.clearTimeout(this.activeTimer);
    if (count > 0) {
      this.activeTimer = window.setTimeout(() => void this.fetchParts(['active']), ACTIVE_MS);
    }
  }

  private follow(): void {
    this.events = new EventSource(`${this.origin}/_tokenmeter/events`);
    this.events.addEventListener('hello', () => {
      if (this.lost) {
        this.lost = false;
        void this.fetchState(); // back after a restart: everything may have changed
      }
    });
    this.events.addEventListener('started', () => void this.fetchParts(['active']));
    this.events.addEventListener('completed', (e) => this.onCompleted(e as MessageEvent<string>));
    this.events.addEventListener('reset', () => void this.fetchState());
    this.events.onerror = () => {
      if (!this.lost) {
        this.lost = true;
        this.handler({ type: 'proxy', proxy: { state: 'error', url: this.origin, message: 'Lost the connection to the proxy; retrying…' } });
      }
    };
  }

  /** Completions are batched like the host does: a burst becomes one message and one refetch. */
  private onCompleted(e: MessageEvent<string>): void {
    try {
      this.completed.push(JSON.parse(e.data) as RequestRecord);
    } catch {
      return;
    }
    if (this.completedTimer === 0) {
      this.completedTimer = window.setTimeout(() => void this.flushCompleted(), 50);
    }
    if (this.derivedTimer === 0) {
      this.derivedTimer = window.setTimeout(() => {
        this.derivedTimer = 0;
        void this.fetchParts(['breakdown', 'series', 'throttle']);
      }, DERIVED_MS);
    }
  }

  private async flushCompleted(): Promise<void> {
    this.completedTimer = 0;
    const records = this.completed;
    this.completed = [];
    const s = await this.get(['session', 'active']);
    if (s?.session) {
      this.handler({ type: 'completed', records, session: s.session });
    }
    if (s?.active) {
      this.handler({ type: 'active', active: s.active });
      this.pollActive(s.active.length);
    }
  }
}
