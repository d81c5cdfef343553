import * as vscode from 'vscode';
import type { DashboardModel } from '../core/dashboard/model';
import { throttleWarning } from '../core/dashboard/views';
import type { ProxyStatus } from '../protocol';
import type { StatusBarConfig } from './config';
import { statusText, statusTooltip } from './statusBarText';

/** At most 4 updates a second: enough to look live, cheap for the extension host. */
const MIN_INTERVAL_MS = 250;

export type StatusBackground = 'warning' | 'error' | null;

/** What the item shows; read by the integration tests and other extensions through the API. */
export interface StatusBarState {
  visible: boolean;
  text: string;
  tooltip: string;
  background: StatusBackground;
}

/**
 * `$(pulse) N tok/s`: the live generation speed while streams are active (their count when more
 * than one), the last request's otherwise; TTFT and session tokens when the settings ask. Driven
 * by events, coalesced; a timer runs only while a request is in flight.
 */
export class StatusBarController implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subscriptions: vscode.Disposable[] = [];
  private liveTimer: NodeJS.Timeout | undefined;
  private pending: NodeJS.Timeout | undefined;
  private lastUpdate = 0;
  private disposed = false;
  private snapshot: StatusBarState = { visible: false, text: '', tooltip: '', background: null };

  constructor(
    private readonly model: DashboardModel,
    private readonly proxyStatus: () => ProxyStatus,
    onProxyStatus: vscode.Event<ProxyStatus>,
    private config: StatusBarConfig,
    onConfig: vscode.Event<{ statusBar: StatusBarConfig }>,
  ) {
    this.item = vscode.window.createStatusBarItem('tokenmeter.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Tokenmeter';
    this.item.command = 'tokenmeter.openPanel';
    const schedule = (): void => this.schedule();
    const { tracker, throttle } = model;
    tracker.on('started', schedule);
    model.on('records', schedule);
    model.on('reset', schedule);
    throttle.on('changed', schedule);
    this.subscriptions.push(
      onProxyStatus(schedule),
      onConfig((c) => {
        this.config = c.statusBar;
        this.render();
      }),
      new vscode.Disposable(() => {
        tracker.off('started', schedule);
        model.off('records', schedule);
        model.off('reset', schedule);
        throttle.off('changed', schedule);
      }),
    );
    this.render();
  }

  get state(): StatusBarState {
    return this.snapshot;
  }

  /** Coalesces bursts of events into one render at most every MIN_INTERVAL_MS. */
  private schedule(): void {
    if (this.disposed || this.pending || !this.config.enabled) {
      return;
    }
    const wait = Math.max(0, this.lastUpdate + MIN_INTERVAL_MS - Date.now());
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.render();
    }, wait);
  }

  private render(): void {
    if (this.disposed) {
      return;
    }
    this.lastUpdate = Date.now();
    if (!this.config.enabled) {
      this.stopLive();
      this.item.hide();
      this.snapshot = { ...this.snapshot, visible: false };
      return;
    }
    const active = this.model.active();
    if (active.length > 0) {
      this.liveTimer ??= setInterval(() => this.schedule(), MIN_INTERVAL_MS);
    } else {
      this.stopLive();
    }
    const status = this.proxyStatus();
    const last = this.model.tracker.last();
    const session = this.model.sessionView();
    const throttle = this.model.throttle;
    const warning = throttleWarning(throttle.throttlingProviders(), throttle.headroom());
    const text = statusText(this.config.show, active, last, session);
    const background: StatusBackground = status.state === 'error' || status.state === 'stopped' ? 'error' : warning !== null ? 'warning' : null;
    const tooltip = statusTooltip({ status, last, session, warning, waitMs: session.throttleWaitMs });

    this.item.text = text;
    this.item.backgroundColor = background === null ? undefined : new vscode.ThemeColor(`statusBarItem.${background}Background`);
    this.item.tooltip = tooltip;
    const why = background === 'error' ? ` Proxy ${status.state}.` : warning !== null ? ` Warning: ${warning}.` : '';
    this.item.accessibilityInformation = { label: `Tokenmeter: ${text.replace('$(pulse) ', '')}.${why} Open the metrics panel.`, role: 'button' };
    this.item.show();
    this.snapshot = { visible: true, text, tooltip: tooltip.value, background };
  }

  private stopLive(): void {
    clearInterval(this.liveTimer);
    this.liveTimer = undefined;
  }

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    this.stopLive();
    clearTimeout(this.pending);
    for (const d of this.subscriptions) {
      d.dispose();
    }
    this.item.dispose();
  }
}
