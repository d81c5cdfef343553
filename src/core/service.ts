import { createControlApi, type ControlApi } from './control/controlApi';
import { RequestTracker } from './metrics/requestTracker';
import type { ProvidersSetting } from './proxy/providers';
import type { RetryPolicy } from './proxy/forward';
import type { InjectionSettings } from './proxy/injection';
import { ProxyServer } from './proxy/server';
import { ThrottleTracker } from './throttle/throttleTracker';

export interface TokenmeterOptions {
  host?: string;
  port: number;
  providers?: ProvidersSetting;
  defaults?: { openai: string; anthropic: string };
  injection?: InjectionSettings;
  retry?: RetryPolicy;
  version: string;
}

/**
 * The core as one unit: the tracker, the proxy and its control API. The extension and the CLI
 * both build one of these; nothing here knows about VS Code.
 */
export class Tokenmeter {
  readonly tracker = new RequestTracker();
  readonly throttle = new ThrottleTracker();
  readonly proxy: ProxyServer;
  private readonly control: ControlApi;

  constructor(options: TokenmeterOptions) {
    this.control = createControlApi({ tracker: this.tracker, throttle: this.throttle, version: options.version, url: () => this.proxy.url });
    this.proxy = new ProxyServer({
      tracker: this.tracker,
      throttle: this.throttle,
      host: options.host,
      port: options.port,
      providers: options.providers,
      defaults: options.defaults,
      injection: options.injection,
      retry: options.retry,
      control: (req, res, path) => this.control.handle(req, res, path),
    });
  }

  start(): Promise<string> {
    return this.proxy.start();
  }

  /** Stops listening; start() may be called again. */
  stop(graceMs?: number): Promise<void> {
    const stopped = this.proxy.stop(graceMs);
    this.control.closeFeeds();
    return stopped;
  }

  /** Stops for good and releases upstream connections. */
  close(graceMs?: number): Promise<void> {
    const closed = this.proxy.dispose(graceMs);
    this.control.closeFeeds();
    return closed;
  }
}
