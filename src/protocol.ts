/**
 * The typed messages between the extension host and the metrics panel (webview). Imported by both
 * bundles, so it holds types only (plus the tiny `isWebviewMessage` guard) and no Node or DOM API.
 * Sends are built with `satisfies HostMessage` / `satisfies WebviewMessage`.
 */
import type { RequestRecord } from './core/metrics/record';

export type { RequestRecord };

/** `attached`: another window holds the port; this one shows that proxy's numbers. */
export type ProxyState = 'starting' | 'running' | 'attached' | 'stopped' | 'error';

export interface ProxyStatus {
  state: ProxyState;
  /** http://127.0.0.1:PORT while running or attached, else null. */
  url: string | null;
  /** Why the proxy is stopped or failed, for the user. */
  message: string | null;
}

/** An in-flight request as the panel shows it. */
export interface ActiveView {
  id: string;
  provider: string;
  model: string;
  streaming: boolean;
  startedAt: string;
  elapsedMs: number;
  ttftMs: number | null;
  outputTokens: number;
  /** Live generation speed; null until it can be known. */
  outputTokensPerSecond: number | null;
}

// Host → webview
export interface StateMessage {
  type: 'state';
  proxy: ProxyStatus;
  recent: RequestRecord[];
  active: ActiveView[];
}
export interface CompletedMessage {
  type: 'completed';
  record: RequestRecord;
}
export interface ActiveMessage {
  type: 'active';
  active: ActiveView[];
}
export interface ProxyMessage {
  type: 'proxy';
  proxy: ProxyStatus;
}
export type HostMessage = StateMessage | CompletedMessage | ActiveMessage | ProxyMessage;

// Webview → host
export interface ReadyMessage {
  type: 'ready';
}
export interface CopyProxyUrlMessage {
  type: 'copyProxyUrl';
}
export type WebviewMessage = ReadyMessage | CopyProxyUrlMessage;

const webviewTypes: ReadonlySet<string> = new Set<WebviewMessage['type']>(['ready', 'copyProxyUrl']);

/** Messages from a webview are untrusted input: check the shape before acting on one. */
export function isWebviewMessage(value: unknown): value is WebviewMessage {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { type?: unknown }).type === 'string' &&
    webviewTypes.has((value as { type: string }).type)
  );
}
