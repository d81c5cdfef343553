import * as vscode from 'vscode';
import { probeTokenmeter, RemoteMirror } from '../core/attach/remote';
import { PortInUseError } from '../core/proxy/server';
import { Tokenmeter } from '../core/service';
import type { ProxyStatus } from '../protocol';
import { readConfig, type TokenmeterConfig } from './config';

/**
 * Owns the Tokenmeter core inside the extension host: starts it without blocking activation,
 * applies setting changes (a new port restarts the proxy; providers apply in place) and
 * reports its state to the status bar and the panel.
 *
 * Several windows share one port: the first one listens; the others find a Tokenmeter there,
 * mirror it through its control API (state `attached`) and race to take the port over when it
 * goes away, so every window's status bar shows the same numbers.
 */
export class ProxyHost implements vscode.Disposable {
  readonly core: Tokenmeter;
  private status: ProxyStatus = { state: 'starting', url: null, message: null };
  private readonly statusEmitter = new vscode.EventEmitter<ProxyStatus>();
  readonly onStatus = this.statusEmitter.event;
  /** Fires with the new settings after a change was applied (problems already reported). */
  private readonly configEmitter = new vscode.EventEmitter<TokenmeterConfig>();
  readonly onConfig = this.configEmitter.event;
  private config: TokenmeterConfig;
  private listening: Promise<string>;
  private mirror: RemoteMirror | undefined;
  private disposed = false;

  constructor(
    private readonly version: string,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const { config, problems } = readConfig();
    this.report(problems);
    this.config = config;
    this.core = this.create(config);
    this.listening = this.startCore();
  }

  get current(): ProxyStatus {
    return this.status;
  }

  get settings(): TokenmeterConfig {
    return this.config;
  }

  /** Resolves with the proxy URL once it listens; rejects when it could not start. */
  whenListening(): Promise<string> {
    return this.listening;
  }

  async onConfigurationChanged(): Promise<void> {
    const { config, problems } = readConfig();
    this.report(problems);
    const portChanged = config.port !== this.config.port;
    this.config = config;
    this.core.proxy.setProviders(config.providers);
    this.core.proxy.injection.update(config.injection);
    Object.assign(this.core.proxy.retry, config.retry);
    this.log.info(`providers: ${this.core.proxy.providers().map((p) => `${p.name} → ${p.baseUrl}`).join(', ')}`);
    this.configEmitter.fire(config);
    if (portChanged && this.status.state !== 'stopped') {
      await this.restart();
    }
  }

  /** Tokenmeter: Stop Proxy. Streams in flight get a moment to finish; the window stays stopped. */
  async stop(): Promise<void> {
    this.mirror?.close();
    this.mirror = undefined;
    await this.core.stop(2000);
    this.log.info('proxy stopped');
    this.setStatus({ state: 'stopped', url: null, message: 'stopped (run "Tokenmeter: Start Proxy" to start it again)' });
  }

  /** Tokenmeter: Start Proxy. A no-op while it runs or mirrors another window's proxy. */
  async start(): Promise<string | undefined> {
    if (this.status.state === 'running' || this.status.state === 'attached') {
      return this.status.url ?? undefined;
    }
    if (this.status.state !== 'starting') {
      this.core.proxy.setPort(this.config.port);
      this.listening = this.startCore();
    }
    return this.listening.catch(() => undefined);
  }

  async restart(): Promise<void> {
    this.mirror?.close();
    this.mirror = undefined;
    await this.core.stop(2000);
    this.core.proxy.setPort(this.config.port);
    this.listening = this.startCore();
    await this.listening.catch(() => undefined);
  }

  async dispose(): Promise<void> {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    this.mirror?.close();
    await this.core.close(2000);
    this.statusEmitter.dispose();
    this.configEmitter.dispose();
  }

  private create(config: TokenmeterConfig): Tokenmeter {
    return new Tokenmeter({ port: config.port, providers: config.providers, injection: config.injection, retry: config.retry, version: this.version });
  }

  private startCore(): Promise<string> {
    this.setStatus({ state: 'starting', url: null, message: null });
    const started = this.core.start().then(
      (url) => {
        this.log.info(`proxy listening on ${url}`);
        this.setStatus({ state: 'running', url, message: null });
        return url;
      },
      (err: Error) => this.attachOrFail(err),
    );
    started.catch(() => undefined); // reported through the status; whenListening() callers see it
    return started;
  }

  private async attachOrFail(err: Error): Promise<string> {
    if (err instanceof PortInUseError && !this.disposed) {
      const url = `http://127.0.0.1:${err.port}`;
      const health = await probeTokenmeter(url);
      if (health) {
        const mirror = new RemoteMirror(url, this.core.tracker, this.core.throttle);
        try {
          await mirror.start();
          this.mirror = mirror;
          this.log.info(`port ${err.port} is held by Tokenmeter ${health.version} (pid ${health.pid}): showing its numbers`);
          this.setStatus({ state: 'attached', url, message: `shared with another window (pid ${health.pid})` });
          void mirror.closed.then(() => this.takeOver(mirror));
          return url;
        } catch (mirrorErr) {
          this.log.warn(`could not attach to ${url}: ${(mirrorErr as Error).message}`);
        }
      }
    }
    const message = `Tokenmeter could not start its proxy: ${err.message}`;
    this.log.error(message);
    this.setStatus({ state: 'error', url: null, message: err.message });
    void vscode.window.showErrorMessage(message, 'Open Settings').then((choice) => {
      if (choice) {
        void vscode.commands.executeCommand('workbench.action.openSettings', 'tokenmeter.proxy.port');
      }
    });
    throw err;
  }

  /** The window whose proxy we mirrored went away: race the other windows for the port. */
  private async takeOver(mirror: RemoteMirror): Promise<void> {
    if (this.disposed || this.mirror !== mirror) {
      return;
    }
    this.mirror = undefined;
    this.log.info('the window holding the proxy went away: taking the port over');
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 250)); // spread the race
    if (!this.disposed) {
      this.listening = this.startCore();
    }
  }

  private setStatus(status: ProxyStatus): void {
    this.status = status;
    if (!this.disposed) {
      this.statusEmitter.fire(status);
    }
  }

  private report(problems: string[]): void {
    for (const p of problems) {
      this.log.warn(p);
      void vscode.window.showWarningMessage(`Tokenmeter: ${p}`);
    }
  }
}
