import * as vscode from 'vscode';
import type { DashboardModel } from '../core/dashboard/model';
import type { HistoryStore } from '../core/metrics';
import { connectTools } from './connectTools';
import { exportMetrics, type ExportArgs } from './exportMetrics';
import { MetricsPanel, type PanelSource } from './panel';
import type { ProxyHost } from './proxyHost';

export interface CommandDeps {
  extensionUri: vscode.Uri;
  host: ProxyHost;
  model: DashboardModel;
  history: HistoryStore | undefined;
  panelSource: PanelSource;
  copyProxyUrl(): Promise<void>;
}

const WALKTHROUGH = 'tokenmeter.tokenmeter#tokenmeter.gettingStarted';

/** Every `tokenmeter.*` command; each resolves when its work is done, so scripts can chain them. */
export function registerCommands(d: CommandDeps): vscode.Disposable[] {
  const { host, model } = d;
  const reg = (id: string, fn: (...args: unknown[]) => unknown): vscode.Disposable => vscode.commands.registerCommand(`tokenmeter.${id}`, fn);
  return [
    reg('openPanel', () => void MetricsPanel.createOrShow(d.extensionUri, d.panelSource)),
    reg('copyProxyUrl', () => d.copyProxyUrl()),
    reg('connectTools', (toolId) => connectTools(host, toolId)),
    reg('startProxy', async () => {
      const url = await host.start();
      if (url !== undefined) {
        void vscode.window.setStatusBarMessage(`Tokenmeter: proxy on ${url}`, 3000);
      }
      return url;
    }),
    reg('stopProxy', async () => {
      await host.stop();
      void vscode.window.setStatusBarMessage('Tokenmeter: proxy stopped', 3000);
    }),
    reg('restartProxy', async () => {
      await host.restart();
      return host.current.url ?? undefined;
    }),
    reg('resetSession', () => {
      model.resetSession();
      void vscode.window.setStatusBarMessage('Tokenmeter: session metrics reset', 3000);
    }),
    reg('exportMetrics', (args) => exportMetrics(model, d.history, (args ?? {}) as ExportArgs)),
    reg('gettingStarted', () => vscode.commands.executeCommand('workbench.action.openWalkthrough', WALKTHROUGH, false)),
  ];
}

/** `tokenmeter.proxyState` drives the Start / Stop commands' visibility in the palette. */
export function trackProxyContext(host: ProxyHost): vscode.Disposable {
  const set = (): void => void vscode.commands.executeCommand('setContext', 'tokenmeter.proxyState', host.current.state);
  set();
  return host.onStatus(set);
}
