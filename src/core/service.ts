import { createControlHandler } from './control/controlApi';
import { RequestTracker } from './metrics/requestTracker';
import type { ProvidersSetting } from './proxy/providers';
import type { InjectionSettings } from './proxy/injection';
import { ProxyServer } from './proxy/server';
import { ThrottleTracker } from './throttle/throttleTracker';

export interface TokenmeterOptions {
  host?: string;
  port: number;
  providers?: ProvidersSetting;
  defaults?: { openai: string; anthropic: string };
  injection?: InjectionSettings;
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

  constructor(options: TokenmeterOptions) {
    this.proxy = new ProxyServer({
      tracker: this.tracker,
      throttle: this.throttle,
      host: options.host,
      port: options.port,
      providers: options.providers,
      defaults: options.defaults,
      injection: options.injection,
      control: createControlHandler({ tracker: this.tracker, throttle: this.throttle, version: options.version, url: () => this.proxy.url }),
    });
  }

  start(): Promise<string> {
    return this.proxy.start();
  }

  /** Stops listening; start() may be called again. */
  stop(graceMs?: number): Promise<void> {
    return this.proxy.stop(graceMs);
  }

  /** Stops for good and releases upstream connections. */
  close(graceMs?: number): Promise<void> {
    return this.proxy.dispose(graceMs);
  }
}
