import * as vscode from 'vscode';
import { Tokenmeter } from '../core/service';
import type { ProxyStatus } from '../protocol';
import { readConfig, type TokenmeterConfig } from './config';

/**
 * Owns the Tokenmeter core inside the extension host: starts it without blocking activation,
 * applies setting changes (a new port restarts the proxy; providers apply in place) and
 * reports its state to the status bar and the panel.
 */
export class ProxyHost implements vscode.Disposable {
  readonly core: Tokenmeter;
  private status: ProxyStatus = { state: 'starting', url: null, message: null };
  private readonly statusEmitter = new vscode.EventEmitter<ProxyStatus>();
  readonly onStatus = this.statusEmitter.event;
  private config: TokenmeterConfig;
  private listening: Promise<string>;
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
    this.log.info(`providers: ${this.core.proxy.providers().map((p) => `${p.name} → ${p.baseUrl}`).join(', ')}`);
    if (portChanged) {
      await this.restart();
    }
  }

  async restart(): Promise<void> {
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
    await this.core.close(2000);
    this.statusEmitter.dispose();
  }

  private create(config: TokenmeterConfig): Tokenmeter {
    return new Tokenmeter({ port: config.port, providers: config.providers, injection: config.injection, version: this.version });
  }

  private startCore(): Promise<string> {
    this.setStatus({ state: 'starting', url: null, message: null });
    const started = this.core.start();
    started.then(
      (url) => {
        this.log.info(`proxy listening on ${url}`);
        this.setStatus({ state: 'running', url, message: null });
      },
      (err: Error) => {
        const message = `Tokenmeter could not start its proxy: ${err.message}`;
        this.log.error(message);
        this.setStatus({ state: 'error', url: null, message: err.message });
        void vscode.window.showErrorMessage(message, 'Open Settings').then((choice) => {
          if (choice) {
            void vscode.commands.executeCommand('workbench.action.openSettings', 'tokenmeter.proxy.port');
          }
        });
      },
    );
    return started;
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
