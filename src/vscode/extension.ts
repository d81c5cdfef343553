import * as vscode from 'vscode';
import { version } from '../../package.json';
import type { RequestTracker } from '../core/metrics/requestTracker';
import type { ProxyStatus } from '../protocol';
import { MetricsPanel, registerPanelSerializer, type PanelSource } from './panel';
import { ProxyHost } from './proxyHost';
import { StatusBarController } from './statusBar';

/** What `activate()` returns: other extensions and our integration tests read the state here. */
export interface TokenmeterApi {
  readonly tracker: RequestTracker;
  proxyUrl(): string | undefined;
  /** running, or attached to another window's proxy, or why not. */
  proxyStatus(): ProxyStatus;
  whenListening(): Promise<string>;
}

let host: ProxyHost | undefined;

// Only wiring here. The proxy starts listening asynchronously so activation stays fast.
export function activate(context: vscode.ExtensionContext): TokenmeterApi {
  const log = vscode.window.createOutputChannel('Tokenmeter', { log: true });
  host = new ProxyHost(version, log);
  const proxy = host;

  const copyProxyUrl = async (): Promise<void> => {
    const url = proxy.current.url;
    if (!url) {
      void vscode.window.showWarningMessage(`Tokenmeter: the proxy is not running (${proxy.current.message ?? proxy.current.state}).`);
      return;
    }
    await vscode.env.clipboard.writeText(url);
    void vscode.window.showInformationMessage(`Copied ${url}`);
  };
  const source: PanelSource = {
    tracker: proxy.core.tracker,
    proxyStatus: () => proxy.current,
    onProxyStatus: (listener) => proxy.onStatus(listener),
    copyProxyUrl,
  };

  context.subscriptions.push(
    log,
    proxy,
    new StatusBarController(proxy.core.tracker, () => proxy.current, proxy.onStatus),
    registerPanelSerializer(context.extensionUri, source),
    vscode.commands.registerCommand('tokenmeter.openPanel', () => void MetricsPanel.createOrShow(context.extensionUri, source)),
    vscode.commands.registerCommand('tokenmeter.copyProxyUrl', copyProxyUrl),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('tokenmeter')) {
        void proxy.onConfigurationChanged();
      }
    }),
  );

  return {
    tracker: proxy.core.tracker,
    proxyUrl: () => proxy.current.url ?? undefined,
    proxyStatus: () => proxy.current,
    whenListening: () => proxy.whenListening(),
  };
}

/** VS Code waits for this promise: streams in flight get a moment to finish. */
export function deactivate(): Promise<void> | undefined {
  return host?.dispose();
}
