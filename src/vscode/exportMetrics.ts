import { homedir } from 'node:os';
import * as vscode from 'vscode';
import type { DashboardModel } from '../core/dashboard/model';
import { recordsToCsv, recordsToJson, type HistoryStore, type RequestRecord } from '../core/metrics';

export type ExportFormat = 'csv' | 'json';
export type ExportRange = 'session' | 'today' | '7d' | 'all';

export interface ExportArgs {
  format?: ExportFormat;
  range?: ExportRange;
  /** Where to write; a save dialog asks when absent. */
  uri?: vscode.Uri | string;
}

const RANGES: { range: ExportRange; label: string }[] = [
  { range: 'session', label: 'This session' },
  { range: 'today', label: 'Today (UTC)' },
  { range: '7d', label: 'Last 7 days' },
  { range: 'all', label: 'All history' },
];

/** The records of a range: history holds every completed request of this window's proxy. */
async function recordsOf(model: DashboardModel, history: HistoryStore | undefined, range: ExportRange): Promise<RequestRecord[]> {
  if (history === undefined) {
    return model.tracker.recent().reverse(); // the most the window keeps in memory, oldest first
  }
  if (range !== 'session') {
    return history.records(range);
  }
  const since = model.sessionView().startedAt;
  // The store's days are UTC: read no more days than the session spans.
  const age = Date.now() - Math.floor(Date.parse(since) / 86_400_000) * 86_400_000;
  const days = age < 86_400_000 ? 'today' : age < 7 * 86_400_000 ? '7d' : 'all';
  return (await history.records(days)).filter((r) => r.startedAt >= since);
}

/**
 * Tokenmeter: Export Metrics — request records as CSV or JSON (the fields of `api/requests`).
 * Arguments skip the pickers (tests, keybindings). Resolves with the file written, if any.
 */
export async function exportMetrics(model: DashboardModel, history: HistoryStore | undefined, args: ExportArgs = {}): Promise<vscode.Uri | undefined> {
  const format =
    args.format ??
    (await vscode.window.showQuickPick([{ label: 'CSV', format: 'csv' as const }, { label: 'JSON', format: 'json' as const }], { title: 'Export Tokenmeter metrics as' }))?.format;
  if (format !== 'csv' && format !== 'json') {
    return undefined;
  }
  const range = args.range ?? (await vscode.window.showQuickPick(RANGES, { title: 'Which requests?' }))?.range;
  if (range === undefined || !RANGES.some((r) => r.range === range)) {
    return undefined;
  }
  let uri = typeof args.uri === 'string' ? vscode.Uri.file(args.uri) : args.uri;
  uri ??= await vscode.window.showSaveDialog({
    title: 'Export Tokenmeter metrics',
    defaultUri: vscode.Uri.joinPath(vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(homedir()), `tokenmeter-${range}.${format}`),
    filters: format === 'csv' ? { CSV: ['csv'] } : { JSON: ['json'] },
  });
  if (uri === undefined) {
    return undefined;
  }
  const records = await recordsOf(model, history, range);
  const text = format === 'csv' ? recordsToCsv(records) : recordsToJson(records);
  await vscode.workspace.fs.writeFile(uri, Buffer.from(text, 'utf8'));
  void vscode.window.showInformationMessage(`Tokenmeter: exported ${records.length} request${records.length === 1 ? '' : 's'} to ${uri.fsPath}`);
  return uri;
}
