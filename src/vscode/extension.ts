import { loadStartedAt } from './loadClock'; // first: it times the evaluation of everything below
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { version } from '../../package.json';
import { modelFor, type DashboardModel } from '../core/dashboard/model';
import type { HistoryStore } from '../core/metrics';
import type { RequestTracker } from '../core/metrics/requestTracker';
import type { ProxyStatus } from '../protocol';
import { registerCommands, trackProxyContext } from './commands';
import { startHistory } from './history';
import { registerPanelSerializer, type PanelSource } from './panel';
import { ProxyHost } from './proxyHost';
import { StatusBarController, type StatusBarState } from './statusBar';
import { TerminalRouting } from './terminalRouting';

/** What `activate()` returns: other extensions and our integration tests read the state here. */
export interface TokenmeterApi {
  readonly tracker: RequestTracker;
  /** Session totals, breakdown and series, as the panel shows them. */
  readonly model: DashboardModel;
  proxyUrl(): string | undefined;
  /** running, or attached to another window's proxy, or why not. */
  proxyStatus(): ProxyStatus;
  whenListening(): Promise<string>;
  /** What the status bar item shows now. */
  statusBar(): StatusBarState;
  /** The variables integrated terminals get (empty unless `tokenmeter.routeTerminals`). */
  terminalEnvironment(): Record<string, string>;
  /** How long activation took (ms): the bundle's modules evaluating, then `activate()` itself. */
  readonly activation: { readonly loadMs: number; readonly activateMs: number };
}

let host: ProxyHost | undefined;
let history: HistoryStore | undefined;

// Only wiring here. The proxy starts listening asynchronously so activation stays fast.
export function activate(context: vscode.ExtensionContext): TokenmeterApi {
  const activateStartedAt = performance.now();
  const log = vscode.window.createOutputChannel('Tokenmeter', { log: true });
  host = new ProxyHost(version, log);
  const proxy = host;
  const model = modelFor(proxy.core.tracker, proxy.core.throttle);
  const started = startHistory(context, model, proxy, log);
  history = started.store;

  const copyProxyUrl = async (): Promise<void> => {
    const url = proxy.current.url;
    if (!url) {
      void vscode.window.showWarningMessage(`Tokenmeter: the proxy is not running (${proxy.current.message ?? proxy.current.state}).`, 'Start Proxy').then((c) => {
        if (c) {
          void vscode.commands.executeCommand('tokenmeter.startProxy');
        }
      });
      return;
    }
    await vscode.env.clipboard.writeText(url);
    void vscode.window.showInformationMessage(`Copied ${url}`);
  };
  const panelSource: PanelSource = { model, proxyStatus: () => proxy.current, onProxyStatus: proxy.onStatus, copyProxyUrl };
  const statusBar = new StatusBarController(model, () => proxy.current, proxy.onStatus, proxy.settings.statusBar, proxy.onConfig);
  const terminals = new TerminalRouting(context.environmentVariableCollection, proxy);

  context.subscriptions.push(
    log,
    proxy,
    statusBar,
    terminals,
    started.disposable,
    registerPanelSerializer(context.extensionUri, panelSource),
    trackProxyContext(proxy),
    ...registerCommands({ extensionUri: context.extensionUri, host: proxy, model, history, panelSource, copyProxyUrl }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('tokenmeter')) {
        void proxy.onConfigurationChanged();
      }
    }),
  );

  const activation = { loadMs: round2(activateStartedAt - loadStartedAt), activateMs: round2(performance.now() - activateStartedAt) };
  log.info(`activated in ${activation.activateMs} ms (modules evaluated in ${activation.loadMs} ms before that)`);
  return {
    activation,
    tracker: proxy.core.tracker,
    model,
    proxyUrl: () => proxy.current.url ?? undefined,
    proxyStatus: () => proxy.current,
    whenListening: () => proxy.whenListening(),
    statusBar: () => statusBar.state,
    terminalEnvironment: () => terminals.environment,
  };
}

const round2 = (ms: number): number => Math.round(ms * 100) / 100;

/** VS Code waits for this promise: streams in flight get a moment to finish, history is written. */
export function deactivate(): Promise<void> | undefined {
  if (host === undefined) {
    return undefined;
  }
  return Promise.all([host.dispose(), history?.close()]).then(() => undefined);
}
