import { createControlApi, type ControlApi } from './control/controlApi';
import { HistoryStore, type HistoryLogger, type LoadResult } from './metrics/historyStore';
import { RequestTracker } from './metrics/requestTracker';
import { SummaryMetrics } from './metrics/summaryMetrics';
import type { RetryPolicy } from './proxy/forward';
import type { InjectionSettings } from './proxy/injection';
import type { ProvidersSetting } from './proxy/providers';
import { ProxyServer } from './proxy/server';
import { ThrottleTracker } from './throttle/throttleTracker';

export interface TokenmeterOptions {
  host?: string;
  /** Host names accepted besides loopback and the machine's own (the CLI's --allow-host). */
  allowedHosts?: string[];
  port: number;
  providers?: ProvidersSetting;
  defaults?: { openai: string; anthropic: string };
  injection?: InjectionSettings;
  retry?: RetryPolicy;
  version: string;
  /** Where request history is kept (the extension's global storage, the CLI's --data-dir). */
  dataDir?: string;
  retentionDays?: number;
  /** A cumulative summary line every N completed requests (0: never). */
  summaryEvery?: number;
  /** Where summary lines and storage warnings go. */
  log?: HistoryLogger & { info(message: string): void };
}

/**
 * The core as one unit: the tracker and the session roll-up, the history store, the proxy and its
 * control API. The extension and the CLI both build one of these; nothing here knows about VS Code.
 */
export class Tokenmeter {
  readonly tracker = new RequestTracker();
  readonly throttle = new ThrottleTracker();
  readonly summary: SummaryMetrics;
  readonly history: HistoryStore | null;
  readonly proxy: ProxyServer;
  private readonly control: ControlApi;
  private detachHistory: (() => void) | null = null;

  constructor(options: TokenmeterOptions) {
    this.summary = new SummaryMetrics({ summaryEvery: options.summaryEvery, log: (line) => options.log?.info(line) });
    this.summary.attach(this.tracker);
    this.history = options.dataDir ? new HistoryStore({ dir: options.dataDir, retentionDays: options.retentionDays, logger: options.log }) : null;
    this.control = createControlApi({
      tracker: this.tracker,
      throttle: this.throttle,
      summary: this.summary,
      history: this.history,
      version: options.version,
      url: () => this.proxy.url,
    });
    this.proxy = new ProxyServer({
      tracker: this.tracker,
      throttle: this.throttle,
      host: options.host,
      allowedHosts: options.allowedHosts,
      port: options.port,
      providers: options.providers,
      defaults: options.defaults,
      injection: options.injection,
      retry: options.retry,
      control: (req, res, path) => this.control.handle(req, res, path),
    });
  }

  /** Reads history in the background (newest day first); totals fill in as it goes. */
  loadHistory(): Promise<LoadResult | null> {
    return this.history ? this.history.load() : Promise.resolve(null);
  }

  /**
   * Listens; history records only what this proxy relays. A window that mirrors another window's
   * proxy must not write that window's records a second time, so it never calls start() with success.
   */
  async start(): Promise<string> {
    const url = await this.proxy.start();
    if (this.history && !this.detachHistory) {
      this.detachHistory = this.history.attach(this.tracker);
    }
    return url;
  }

  /** Stops listening; start() may be called again. */
  async stop(graceMs?: number): Promise<void> {
    const stopped = this.proxy.stop(graceMs);
    this.control.closeFeeds();
    await stopped;
    this.stopRecording();
    await this.history?.flush();
  }

  /** Stops for good, releases upstream connections and writes what history still holds. */
  async close(graceMs?: number): Promise<void> {
    const closed = this.proxy.dispose(graceMs);
    this.control.closeFeeds();
    await closed;
    this.stopRecording();
    await this.history?.close();
  }

  private stopRecording(): void {
    this.detachHistory?.();
    this.detachHistory = null;
  }
}
