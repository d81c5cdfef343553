/** The status bar item's text and tooltip, from plain data (the controller owns the item). */
import * as vscode from 'vscode';
import type { ActiveView, ProxyStatus, RequestRecord, SessionView } from '../protocol';
import type { StatusBarField } from './config';
import { formatCompact, formatCount, formatMs, formatRate, mdCode, UNKNOWN } from './format';

/** `$(pulse) 84 tok/s ×2 · TTFT 420 ms · 12.3k tok`, with the fields the settings ask for. */
export function statusText(show: readonly StatusBarField[], active: readonly ActiveView[], last: RequestRecord | undefined, session: SessionView): string {
  const parts: string[] = [];
  if (show.includes('tokensPerSecond')) {
    if (active.length > 0) {
      const known = active.filter((a) => a.outputTokensPerSecond !== null);
      const sum = known.reduce((s, a) => s + (a.outputTokensPerSecond ?? 0), 0);
      parts.push(`${known.length > 0 ? formatRate(sum) : UNKNOWN} tok/s${active.length > 1 ? ` ×${active.length}` : ''}`);
    } else {
      parts.push(`${formatRate(last?.outputTokensPerSecond ?? null)} tok/s`);
    }
  }
  if (show.includes('ttft')) {
    // The newest stream's TTFT once it has one; before that (and when idle) the last request's.
    const live = [...active].reverse().find((a) => a.ttftMs !== null);
    parts.push(`TTFT ${formatMs(live?.ttftMs ?? last?.ttftMs ?? null)}`);
  }
  if (show.includes('sessionTokens')) {
    parts.push(`${formatCompact(session.inputTokens + session.outputTokens)} tok`);
  }
  return `$(pulse) ${parts.join(' · ')}`;
}

export interface TooltipInput {
  status: ProxyStatus;
  last: RequestRecord | undefined;
  session: SessionView;
  warning: string | null;
  waitMs: number;
}

/** Commands the tooltip's links may run; nothing else is trusted in it. */
const LINKS = ['tokenmeter.openPanel', 'tokenmeter.copyProxyUrl', 'tokenmeter.connectTools', 'tokenmeter.startProxy'];

export function statusTooltip({ status, last, session, warning, waitMs }: TooltipInput): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.isTrusted = { enabledCommands: LINKS };
  md.appendMarkdown('**Tokenmeter**\n\n');
  if (last) {
    md.appendMarkdown(`Last request: ${mdCode(`${last.provider}/${last.model}`)}${last.errorCategory ? ` — ${last.errorCategory}` : ''}\n\n`);
    md.appendMarkdown(
      `TTFT ${formatMs(last.ttftMs)} · ${formatRate(last.outputTokensPerSecond)} tok/s · ` +
        `${formatCount(last.inputTokens)} in / ${formatCount(last.outputTokens)} out${last.estimated ? ' (estimated)' : ''} · ` +
        `${formatMs(last.durationMs)}\n\n`,
    );
  } else {
    md.appendMarkdown('No requests yet. [Connect AI tools…](command:tokenmeter.connectTools)\n\n');
  }
  md.appendMarkdown(
    `Session: ${formatCount(session.requests)} requests · ${formatCount(session.inputTokens)} in / ${formatCount(session.outputTokens)} out / ` +
      `${formatCount(session.cacheReadTokens + session.cacheCreationTokens)} cache tokens · ${formatCount(session.errors)} errors\n\n`,
  );
  md.appendMarkdown(`Throttle wait: ${waitMs > 0 ? formatMs(waitMs) : 'none'}${warning !== null ? ` — $(warning) ${warning.replace(/[`*_[\]\\]/g, ' ')}` : ''}\n\n`);
  if (status.state === 'running' || status.state === 'attached') {
    md.appendMarkdown(
      `Proxy: ${mdCode(status.url ?? '')}${status.state === 'attached' ? ' (shared with another window)' : ''} · [Copy](command:tokenmeter.copyProxyUrl)\n\n`,
    );
  } else {
    md.appendMarkdown(`Proxy ${status.state}${status.message ? `: ${status.message.replace(/[`*_[\]\\]/g, ' ')}` : ''}`);
    md.appendMarkdown(status.state === 'starting' ? '\n\n' : ' · [Start](command:tokenmeter.startProxy)\n\n');
  }
  md.appendMarkdown('Click to open the metrics panel.');
  return md;
}
