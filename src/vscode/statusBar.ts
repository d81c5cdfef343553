import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { RequestRecord } from '../core/metrics/record';
import { liveTokensPerSecond, type RequestTracker } from '../core/metrics/requestTracker';
import type { ProxyStatus } from '../protocol';
import { formatCount, formatMs, formatRate, UNKNOWN } from './format';

/** At most 4 updates a second: enough to look live, cheap for the extension host. */
const MIN_INTERVAL_MS = 250;

/**
 * `$(pulse) N tok/s`: the live generation speed while streams are active (their count when more
 * than one), the last request's otherwise. Driven by tracker events; a timer runs only while a
 * request is in flight.
 */
export class StatusBarController implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subscriptions: vscode.Disposable[] = [];
  private liveTimer: NodeJS.Timeout | undefined;
  private pending: NodeJS.Timeout | undefined;
  private lastUpdate = 0;
  private disposed = false;

  constructor(
    private readonly tracker: RequestTracker,
    private readonly proxyStatus: () => ProxyStatus,
    onProxyStatus: vscode.Event<ProxyStatus>,
  ) {
    this.item = vscode.window.createStatusBarItem('tokenmeter.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Tokenmeter';
    this.item.command = 'tokenmeter.openPanel';
    const schedule = (): void => this.schedule();
    tracker.on('started', schedule);
    tracker.on('completed', schedule);
    tracker.on('reset', schedule);
    this.subscriptions.push(
      onProxyStatus(schedule),
      new vscode.Disposable(() => {
        tracker.off('started', schedule);
        tracker.off('completed', schedule);
        tracker.off('reset', schedule);
      }),
    );
    this.render();
    this.item.show();
  }

  /** Coalesces bursts of events into one render at most every MIN_INTERVAL_MS. */
  private schedule(): void {
    if (this.disposed || this.pending) {
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
    const active = this.tracker.active();
    const now = performance.now();
    let text: string;
    if (active.length > 0) {
      let sum = 0;
      let known = 0;
      for (const a of active) {
        const tps = liveTokensPerSecond(a, now);
        if (tps !== null) {
          sum += tps;
          known++;
        }
      }
      const count = active.length > 1 ? ` ×${active.length}` : '';
      text = `$(pulse) ${known > 0 ? formatRate(sum) : UNKNOWN} tok/s${count}`;
      this.liveTimer ??= setInterval(() => this.schedule(), MIN_INTERVAL_MS);
    } else {
      clearInterval(this.liveTimer);
      this.liveTimer = undefined;
      text = `$(pulse) ${formatRate(this.tracker.last()?.outputTokensPerSecond ?? null)} tok/s`;
    }
    const status = this.proxyStatus();
    this.item.text = text;
    this.item.backgroundColor =
      status.state === 'error' || status.state === 'stopped' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.item.tooltip = this.tooltip(status, this.tracker.last());
    this.item.accessibilityInformation = { label: `Tokenmeter: ${text.replace('$(pulse) ', '')}. Open the metrics panel.`, role: 'button' };
  }

  private tooltip(status: ProxyStatus, last: RequestRecord | undefined): vscode.MarkdownString {
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown('**Tokenmeter**\n\n');
    if (last) {
      md.appendMarkdown(`Last request: \`${last.provider}/${last.model}\`${last.errorCategory ? ` — ${last.errorCategory}` : ''}\n\n`);
      md.appendMarkdown(
        `TTFT ${formatMs(last.ttftMs)} · ${formatRate(last.outputTokensPerSecond)} tok/s · ` +
          `${formatCount(last.inputTokens)} in / ${formatCount(last.outputTokens)} out${last.estimated ? ' (estimated)' : ''} · ` +
          `${formatMs(last.durationMs)}\n\n`,
      );
    } else {
      md.appendMarkdown('No requests yet.\n\n');
    }
    md.appendMarkdown(
      status.state === 'running' || status.state === 'attached'
        ? `Proxy: \`${status.url}\`${status.state === 'attached' ? ' (shared with another window)' : ''}\n\n`
        : `Proxy ${status.state}${status.message ? `: ${status.message}` : ''}\n\n`,
    );
    md.appendMarkdown('Click to open the metrics panel.');
    return md;
  }

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    clearInterval(this.liveTimer);
    clearTimeout(this.pending);
    for (const d of this.subscriptions) {
      d.dispose();
    }
    this.item.dispose();
  }
}
