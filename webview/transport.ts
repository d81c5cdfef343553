/**
 * How the panel talks to its data: inside VS Code through the webview's postMessage, in the
 * standalone dashboard through the control API (see browserTransport.ts). The rest of the UI sees
 * only this interface and the protocol's messages, so one bundle serves both.
 */
import { isHostMessage, type HostMessage, type PanelCommand, type WebviewMessage } from '../src/protocol';
import { BrowserTransport } from './browserTransport';

export interface Transport {
  readonly kind: 'vscode' | 'browser';
  /** Host commands the panel may offer buttons for. */
  readonly commands: ReadonlySet<PanelCommand>;
  send(message: WebviewMessage): void;
  listen(handler: (message: HostMessage) => void): void;
  /** The UI state saved by `save`, or undefined. */
  load(): unknown;
  save(state: unknown): void;
}

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare const acquireVsCodeApi: (() => VsCodeApi) | undefined;

class VsCodeTransport implements Transport {
  readonly kind = 'vscode';
  readonly commands: ReadonlySet<PanelCommand> = new Set<PanelCommand>(['connectTools', 'resetSession', 'exportMetrics', 'startProxy', 'restartProxy']);

  constructor(private readonly api: VsCodeApi) {}

  send(message: WebviewMessage): void {
    this.api.postMessage(message);
  }

  listen(handler: (message: HostMessage) => void): void {
    window.addEventListener('message', (event: MessageEvent<unknown>) => {
      if (isHostMessage(event.data)) {
        handler(event.data);
      }
    });
  }

  load(): unknown {
    return this.api.getState();
  }

  save(state: unknown): void {
    this.api.setState(state);
  }
}

export function createTransport(): Transport {
  // acquireVsCodeApi exists only inside a VS Code webview, and may be called once.
  return typeof acquireVsCodeApi === 'function' ? new VsCodeTransport(acquireVsCodeApi()) : new BrowserTransport(window.location.origin);
}
