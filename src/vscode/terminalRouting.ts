import * as vscode from 'vscode';
import { terminalEnvironment } from '../core/dashboard/connectTools';
import type { ProxyHost } from './proxyHost';

/**
 * `tokenmeter.routeTerminals` (opt-in): ANTHROPIC_BASE_URL, OPENAI_BASE_URL and the like in the
 * integrated terminals, through the extension's environment variable collection, while the proxy
 * runs. Off, or with the proxy down, the collection is empty: a dead base URL would break the
 * tools. VS Code marks terminals opened before a change as stale and offers to relaunch them.
 */
export class TerminalRouting implements vscode.Disposable {
  private readonly subscriptions: vscode.Disposable[];
  private applied: string | null = null;

  constructor(
    private readonly collection: vscode.GlobalEnvironmentVariableCollection,
    private readonly host: ProxyHost,
  ) {
    // Values from a previous window must not outlive a port change before this one activates.
    collection.persistent = false;
    this.subscriptions = [host.onStatus(() => this.update()), host.onConfig(() => this.update())];
    this.update();
  }

  /** The variables terminals get now (empty when routing is off). */
  get environment(): Record<string, string> {
    const out: Record<string, string> = {};
    this.collection.forEach((name, m) => {
      out[name] = m.value;
    });
    return out;
  }

  private update(): void {
    const { state, url } = this.host.current;
    const target = this.host.settings.routeTerminals && url !== null && (state === 'running' || state === 'attached') ? url : null;
    if (target === this.applied) {
      return;
    }
    this.applied = target;
    this.collection.clear();
    if (target === null) {
      return;
    }
    for (const [name, value] of Object.entries(terminalEnvironment(target))) {
      this.collection.replace(name, value);
    }
    this.collection.description = new vscode.MarkdownString(`Tokenmeter routes AI tools in this terminal through its proxy at \`${target}\` (setting \`tokenmeter.routeTerminals\`).`);
  }

  dispose(): void {
    for (const d of this.subscriptions) {
      d.dispose();
    }
  }
}
