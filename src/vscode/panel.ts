/**
 * The metrics panel's host side: owns one webview panel and feeds it from the DashboardModel with
 * coalesced messages, and keeps it alive across reloads through a serializer. The webview asks
 * (`ready`, with what it shows) before anything is pushed: messages posted before its script
 * listens are lost.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { dashboardPage, webviewCsp } from '../core/dashboard/html';
import type { DashboardModel } from '../core/dashboard/model';
import type { RequestRecord } from '../core/metrics';
import { isWebviewMessage, type HostMessage, type PanelCommand, type PanelView, type ProxyStatus } from '../protocol';
import { Coalescer } from './coalesce';

export interface PanelSource {
  model: DashboardModel;
  proxyStatus(): ProxyStatus;
  onProxyStatus: vscode.Event<ProxyStatus>;
  copyProxyUrl(): Promise<void>;
}

/** Live rows 4 times a second; the heavier breakdown and charts at most twice a second. */
const ACTIVE_INTERVAL_MS = 250;
const DERIVED_INTERVAL_MS = 500;
/** The "15 minutes" chart slides even when nothing completes. */
const SERIES_REFRESH_MS = 10_000;
const DEFAULT_VIEW: PanelView = { query: { provider: '', model: '', mode: 'total' }, range: '15m' };

function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

export class MetricsPanel implements vscode.Disposable {
  static readonly viewType = 'tokenmeter.panel';
  static current: MetricsPanel | undefined;

  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private disposed = false;
  private view: PanelView = DEFAULT_VIEW;
  private ticker: NodeJS.Timeout | undefined;
  private seriesTimer: NodeJS.Timeout | undefined;
  private readonly derived = new Coalescer(DERIVED_INTERVAL_MS, () => void this.postDerived());
  private readonly throttle = new Coalescer(ACTIVE_INTERVAL_MS, () => this.post({ type: 'throttle', throttle: this.source.model.throttleView() }));

  static createOrShow(extensionUri: vscode.Uri, source: PanelSource): MetricsPanel {
    if (MetricsPanel.current) {
      MetricsPanel.current.panel.reveal();
      return MetricsPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(MetricsPanel.viewType, 'Tokenmeter', vscode.window.activeTextEditor?.viewColumn ?? vscode.ViewColumn.One, {
      ...webviewOptions(extensionUri),
      // The webview restores itself from getState and a fresh `state`, so no hidden DOM is kept.
      retainContextWhenHidden: false,
    });
    return new MetricsPanel(panel, extensionUri, source);
  }

  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, source: PanelSource): MetricsPanel {
    panel.webview.options = webviewOptions(extensionUri);
    MetricsPanel.current?.dispose();
    return new MetricsPanel(panel, extensionUri, source);
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly source: PanelSource,
  ) {
    MetricsPanel.current = this;
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.png');
    panel.webview.html = html(panel.webview, extensionUri);

    const { model } = source;
    const onRecords = (records: RequestRecord[]): void => {
      this.post({ type: 'completed', records, session: model.sessionView() });
      this.derived.trigger();
    };
    const onReset = (): void => void this.postState();
    const onStarted = (): void => this.startTicker();
    const onThrottle = (): void => this.throttle.trigger();
    model.on('records', onRecords);
    model.on('reset', onReset);
    model.tracker.on('started', onStarted);
    model.throttle.on('changed', onThrottle);
    this.disposables.push(
      new vscode.Disposable(() => {
        model.off('records', onRecords);
        model.off('reset', onReset);
        model.tracker.off('started', onStarted);
        model.throttle.off('changed', onThrottle);
      }),
      source.onProxyStatus((proxy) => this.post({ type: 'proxy', proxy })),
      panel.webview.onDidReceiveMessage((message: unknown) => this.onMessage(message)),
      panel.onDidChangeViewState(() => {
        // A hidden webview is torn down (no retained context); it sends `ready` again when shown.
        if (!panel.visible) {
          this.pause();
        }
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  /** For tests and the reveal command: whether the webview has said `ready`. */
  get isReady(): boolean {
    return this.ready;
  }

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    this.pause();
    if (MetricsPanel.current === this) {
      MetricsPanel.current = undefined;
    }
    for (const d of this.disposables.splice(0)) {
      d.dispose();
    }
    // Disposing an already-disposed panel is a no-op, so this is safe from onDidDispose too.
    this.panel.dispose();
  }

  private pause(): void {
    this.ready = false;
    this.stopTicker();
    this.derived.cancel();
    this.throttle.cancel();
    clearInterval(this.seriesTimer);
    this.seriesTimer = undefined;
  }

  private onMessage(message: unknown): void {
    if (!isWebviewMessage(message)) {
      return;
    }
    switch (message.type) {
      case 'ready':
        this.view = message.view;
        this.ready = true;
        void this.postState();
        this.seriesTimer ??= setInterval(() => void this.postSeries(), SERIES_REFRESH_MS);
        if (this.source.model.tracker.activeCount > 0) {
          this.startTicker();
        }
        break;
      case 'view':
        this.view = message.view;
        void this.postDerived();
        break;
      case 'copyProxyUrl':
        void this.source.copyProxyUrl().catch((err: unknown) => {
          void vscode.window.showErrorMessage(`Tokenmeter: could not copy the proxy URL (${String(err)}).`);
        });
        break;
      case 'command':
        void vscode.commands.executeCommand(commandId(message.command));
        break;
    }
  }

  private async postState(): Promise<void> {
    if (!this.ready) {
      return;
    }
    const state = await this.source.model.state(this.view.query, this.view.range, this.source.proxyStatus());
    this.post({ type: 'state', state });
  }

  /** The breakdown and the charts: recomputed only for what the panel shows. */
  private async postDerived(): Promise<void> {
    if (!this.ready) {
      return;
    }
    this.post({ type: 'breakdown', breakdown: this.source.model.breakdown(this.view.query) });
    await this.postSeries();
  }

  private async postSeries(): Promise<void> {
    const series = await this.source.model.seriesView(this.view.range);
    // The panel may have switched range meanwhile: a late answer for the old one is dropped.
    if (series.range === this.view.range) {
      this.post({ type: 'series', series });
    }
  }

  /** Runs only while requests are in flight, so an idle panel costs no timer at all. */
  private startTicker(): void {
    if (this.ticker !== undefined || !this.ready) {
      return;
    }
    this.tick();
    this.ticker = setInterval(() => this.tick(), ACTIVE_INTERVAL_MS);
  }

  private tick(): void {
    const active = this.source.model.active();
    // The last completion may have landed between ticks: this empty list clears its row.
    this.post({ type: 'active', active });
    if (active.length === 0) {
      this.stopTicker();
    }
  }

  private stopTicker(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  private post(message: HostMessage): void {
    if (this.ready && !this.disposed) {
      void this.panel.webview.postMessage(message);
    }
  }
}

const commandId = (c: PanelCommand): string => `tokenmeter.${c}`;

function html(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = randomBytes(16).toString('base64');
  const uri = (...parts: string[]): string => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...parts)).toString();
  return dashboardPage({
    csp: webviewCsp(webview.cspSource, nonce),
    nonce,
    script: uri('dist', 'webview', 'main.js'),
    // uPlot's stylesheet comes bundled in main.css: as a file, so the CSP needs no inline styles.
    styles: [uri('dist', 'webview', 'main.css'), uri('media', 'panel.css')],
    transport: 'vscode',
  });
}

export function registerPanelSerializer(extensionUri: vscode.Uri, source: PanelSource): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(MetricsPanel.viewType, {
    deserializeWebviewPanel(panel: vscode.WebviewPanel): Thenable<void> {
      MetricsPanel.revive(panel, extensionUri, source);
      return Promise.resolve();
    },
  });
}
