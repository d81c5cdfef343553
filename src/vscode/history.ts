import * as vscode from 'vscode';
import type { DashboardModel } from '../core/dashboard/model';
import { HistoryStore, type RequestRecord } from '../core/metrics';
import type { ProxyHost } from './proxyHost';

/**
 * Request history in the extension's global storage: the "today" and "7 days" charts and the
 * export read it. Only the window whose proxy listens writes: an attached window sees the same
 * records mirrored, and writing them too would count every request twice.
 */
export function startHistory(context: vscode.ExtensionContext, model: DashboardModel, host: ProxyHost, log: vscode.LogOutputChannel): { store: HistoryStore | undefined; disposable: vscode.Disposable } {
  if (context.globalStorageUri.scheme !== 'file') {
    log.warn(`history is off: global storage ${context.globalStorageUri.toString()} is not a local folder`);
    return { store: undefined, disposable: new vscode.Disposable(() => undefined) };
  }
  const store = new HistoryStore({
    dir: context.globalStorageUri.fsPath,
    retentionDays: host.settings.historyRetentionDays,
    logger: { warn: (m) => log.warn(m) },
  });
  // In the background: activation must not wait for days of files.
  void store.load().then(
    (r) => log.info(`history: ${r.records} records from ${r.files} day files${r.skippedLines > 0 ? `, ${r.skippedLines} unreadable lines skipped` : ''}`),
    (err: unknown) => log.warn(`history could not be read: ${String(err)}`),
  );
  model.setHistory(store);
  const onCompleted = (r: RequestRecord): void => {
    if (host.current.state === 'running') {
      store.append(r);
    }
  };
  model.tracker.on('completed', onCompleted);
  let days = host.settings.historyRetentionDays;
  const config = host.onConfig((c) => {
    if (c.historyRetentionDays !== days) {
      days = c.historyRetentionDays;
      void store.setRetentionDays(days); // deletes the days that fell out of it
    }
  });
  return {
    store,
    disposable: new vscode.Disposable(() => {
      model.tracker.off('completed', onCompleted);
      config.dispose();
      model.setHistory(undefined);
    }),
  };
}
