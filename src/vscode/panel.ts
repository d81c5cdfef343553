/**
 * The metrics panel's host side: owns one webview panel, pushes tracker events to it, and keeps it
 * alive across reloads through a serializer. The webview asks (`ready`) before anything is pushed,
 * because messages posted before its script listens are lost.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { liveTokensPerSecond, type ActiveRequest, type RequestRecord, type RequestTracker } from '../core/metrics';
import { isWebviewMessage, type ActiveView, type HostMessage, type ProxyStatus } from '../protocol';

export interface PanelSource {
  tracker: RequestTracker;
  proxyStatus(): ProxyStatus;
  onProxyStatus(listener: (s: ProxyStatus) => void): vscode.Disposable;
  copyProxyUrl(): Promise<void>;
}

/** Live rows at most 4 times a second: enough to watch tokens arrive, cheap for the relay path. */
const ACTIVE_INTERVAL_MS = 250;
const RECENT_LIMIT = 200;

function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

function toView(a: ActiveRequest, now: number): ActiveView {
  const rate = liveTokensPerSecond(a, now);
  return {
    id: a.id,
    provider: a.provider,
    model: a.model,
    streaming: a.streaming,
    startedAt: a.startedAt,
    elapsedMs: Math.max(0, Math.round(now - a.t0)),
    ttftMs: a.ttftMs,
    outputTokens: a.outputTokens,
    outputTokensPerSecond: rate === null ? null : Math.round(rate * 10) / 10,
  };
}

export class MetricsPanel implements vscode.Disposable {
  static readonly viewType = 'tokenmeter.panel';
  static current: MetricsPanel | undefined;

  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private disposed = false;
  private ticker: ReturnType<typeof setInterval> | undefined;

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

    const { tracker } = source;
    const onCompleted = (record: RequestRecord): void => this.post({ type: 'completed', record });
    const onReset = (): void => this.postState();
    const onStarted = (): void => this.startTicker();
    tracker.on('completed', onCompleted);
    tracker.on('reset', onReset);
    tracker.on('started', onStarted);
    this.disposables.push(
      new vscode.Disposable(() => {
        tracker.off('completed', onCompleted);
        tracker.off('reset', onReset);
        tracker.off('started', onStarted);
      }),
      source.onProxyStatus((proxy) => this.post({ type: 'proxy', proxy })),
      panel.webview.onDidReceiveMessage((message: unknown) => this.onMessage(message)),
      panel.onDidChangeViewState(() => {
        // A hidden webview is torn down (no retained context); it sends `ready` again when shown.
        if (!panel.visible) {
          this.ready = false;
          this.stopTicker();
        }
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    this.ready = false;
    this.stopTicker();
    if (MetricsPanel.current === this) {
      MetricsPanel.current = undefined;
    }
    for (const d of this.disposables.splice(0)) {
      d.dispose();
    }
    // Disposing an already-disposed panel is a no-op, so this is safe from onDidDispose too.
    this.panel.dispose();
  }

  private onMessage(message: unknown): void {
    if (!isWebviewMessage(message)) {
      return;
    }
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.postState();
        if (this.source.tracker.activeCount > 0) {
          this.startTicker();
        }
        break;
      case 'copyProxyUrl':
        void this.source.copyProxyUrl().catch((err: unknown) => {
          void vscode.window.showErrorMessage(`Tokenmeter: could not copy the proxy URL (${String(err)}).`);
        });
        break;
    }
  }

  private postState(): void {
    const now = performance.now();
    this.post({
      type: 'state',
      proxy: this.source.proxyStatus(),
      recent: this.source.tracker.recent(RECENT_LIMIT),
      active: this.source.tracker.active().map((a) => toView(a, now)),
    });
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
    const { tracker } = this.source;
    if (tracker.activeCount === 0) {
      this.stopTicker();
      // The last completion may have landed between ticks: clear the rows it leaves behind.
      this.post({ type: 'active', active: [] });
      return;
    }
    const now = performance.now();
    this.post({ type: 'active', active: tracker.active().map((a) => toView(a, now)) });
  }

  private stopTicker(): void {
    if (this.ticker !== undefined) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  private post(message: HostMessage): void {
    if (!this.ready || this.disposed) {
      return;
    }
    void this.panel.webview.postMessage(message);
  }
}

function html(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', 'main.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'panel.css'));
  const src = webview.cspSource;
  // The UI toolkit (FAST) probes for :focus-visible by adding a <style> element; the csp-nonce meta
  // lets it tag that element with our nonce, so styles need no 'unsafe-inline'
  // (microsoft/vscode-webview-ui-toolkit#545).
  const csp = `default-src 'none'; img-src ${src} data:; style-src ${src} 'nonce-${nonce}'; script-src 'nonce-${nonce}'; font-src ${src};`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta property="csp-nonce" content="${nonce}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>Tokenmeter</title>
</head>
<body>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
}

export function registerPanelSerializer(extensionUri: vscode.Uri, source: PanelSource): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(MetricsPanel.viewType, {
    deserializeWebviewPanel(panel: vscode.WebviewPanel): Thenable<void> {
      MetricsPanel.revive(panel, extensionUri, source);
      return Promise.resolve();
    },
  });
}
