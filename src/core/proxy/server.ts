import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type Agent from 'undici/lib/dispatcher/agent.js';
import type { RequestTracker } from '../metrics/requestTracker';
import type { ThrottleTracker } from '../throttle/throttleTracker';
import { guessFlavour, sendProxyError } from './errors';
import { HostNames } from './hostNames';
import { forward, type RetryPolicy } from './forward';
import { InjectionPolicy, type InjectionSettings } from './injection';
import { buildProviderTable, resolveRoute, type ProviderConfig, type ProvidersSetting } from './providers';

export const CONTROL_PREFIX = '/_tokenmeter/';

export type ControlHandler = (req: IncomingMessage, res: ServerResponse, path: string) => void;

export interface ProxyServerOptions {
  tracker: RequestTracker;
  throttle: ThrottleTracker;
  /** Default 127.0.0.1; anything else only when the user says so. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  providers?: ProvidersSetting;
  defaults?: { openai: string; anthropic: string };
  /** Request bodies above this get a 413 (default 32 MiB). */
  maxBodyBytes?: number;
  /** How long to wait for the upstream's response head and between body chunks (default 10 min). */
  upstreamTimeoutMs?: number;
  /** Browser origins allowed besides the proxy's own. */
  allowedOrigins?: string[];
  /** Host names accepted besides loopback and the machine's own (e.g. host.docker.internal). */
  allowedHosts?: string[];
  control?: ControlHandler;
  injection?: InjectionSettings;
  retry?: RetryPolicy;
}

export class PortInUseError extends Error {
  override name = 'PortInUseError';
  constructor(readonly host: string, readonly port: number) {
    super(`Port ${port} on ${host} is already in use. Choose another port (0 picks a free one) or stop what holds it.`);
  }
}

/** The local proxy: routes `/{provider}/…` upstream, `/_tokenmeter/…` to the control API. */
export class ProxyServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** The upstream connection pool; undici is loaded by the first start(), not with the extension. */
  private dispatcher: Agent | null = null;
  private readonly upstreamTimeoutMs: number;
  private table: Map<string, ProviderConfig>;
  private listeningPort: number | null = null;
  private readonly host: string;
  /** Host names a request may address (DNS-rebinding check). */
  private readonly hostNames: HostNames;
  readonly injection: InjectionPolicy;
  /** Read on every throttled response, so a settings change applies to the next one. */
  readonly retry: RetryPolicy;

  constructor(private readonly options: ProxyServerOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.hostNames = new HostNames(this.host, options.allowedHosts ?? []);
    this.table = buildProviderTable(options.providers);
    this.injection = new InjectionPolicy(options.injection);
    this.retry = { maxRetries: 0, maxWaitMs: 30_000, ...options.retry };
    this.upstreamTimeoutMs = options.upstreamTimeoutMs ?? 600_000;
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    // Clients that stream for minutes must not be cut by Node's default request timeout.
    this.server.requestTimeout = 0;
    this.server.keepAliveTimeout = 30_000;
  }

  get url(): string | null {
    return this.listeningPort === null ? null : `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.listeningPort}`;
  }

  get port(): number | null {
    return this.listeningPort;
  }

  /** Takes effect at the next start(). */
  setPort(port: number): void {
    this.options.port = port;
  }

  /** Replaces the provider table; throws ConfigError (and keeps the old one) when invalid. */
  setProviders(providers: ProvidersSetting | undefined): void {
    this.table = buildProviderTable(providers);
  }

  providers(): ProviderConfig[] {
    return [...this.table.values()];
  }

  async start(): Promise<string> {
    if (this.dispatcher === null) {
      // undici is most of the bundle: evaluating it here keeps it off the extension's load time.
      const { default: UndiciAgent } = await import('undici/lib/dispatcher/agent.js');
      const timeout = this.upstreamTimeoutMs;
      this.dispatcher ??= new UndiciAgent({ headersTimeout: timeout, bodyTimeout: timeout, keepAliveTimeout: 30_000 });
    }
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(err.code === 'EADDRINUSE' ? new PortInUseError(this.host, this.options.port) : err);
      };
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.host, () => {
        this.server.off('error', onError);
        this.listeningPort = (this.server.address() as AddressInfo).port;
        resolve(this.url!);
      });
    });
  }

  /** Stops accepting, lets requests in flight finish for up to `graceMs`, then cuts the rest. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.listeningPort === null) {
      return;
    }
    this.listeningPort = null;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    // A keep-alive connection whose request finishes during the grace period goes idle, not
    // closed: close those as they go idle, or every stop would wait out the whole grace period.
    const sweep = setInterval(() => this.server.closeIdleConnections(), 25);
    const timer = setTimeout(() => {
      for (const s of this.sockets) {
        s.destroy();
      }
    }, graceMs);
    await closed;
    clearInterval(sweep);
    clearTimeout(timer);
  }

  /** stop(), then closes the upstream connection pool: the server cannot start again. */
  async dispose(graceMs = 5000): Promise<void> {
    await this.stop(graceMs);
    await this.dispatcher?.close().catch(() => undefined);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? '/';
    const refusal = this.checkHostAndOrigin(req);
    if (refusal) {
      req.resume();
      sendProxyError(res, guessFlavour(path, req.headers), 403, refusal);
      return;
    }
    if (path.startsWith(CONTROL_PREFIX) || path === '/_tokenmeter') {
      if (this.options.control) {
        this.options.control(req, res, path);
      } else {
        sendProxyError(res, 'openai', 404, 'no control API on this server');
      }
      return;
    }
    const route = resolveRoute(this.table, path, this.options.defaults);
    if (!route) {
      req.resume();
      const name = /^\/([^/?]*)/.exec(path)?.[1] ?? '';
      sendProxyError(
        res,
        guessFlavour(path, req.headers),
        404,
        `unknown provider "${name}". Use /{provider}/… with one of: ${[...this.table.keys()].join(', ')}`,
      );
      return;
    }
    this.readBody(req, res, route.provider.api, (body) => {
      forward(
        { tracker: this.options.tracker, throttle: this.options.throttle, injection: this.injection, retry: this.retry, dispatcher: this.dispatcher! },
        req,
        res,
        route,
        body,
      );
    });
  }

  private readBody(req: IncomingMessage, res: ServerResponse, api: ProviderConfig['api'], done: (body: Buffer) => void): void {
    const max = this.options.maxBodyBytes ?? 32 * 1024 * 1024;
    const declared = Number(req.headers['content-length'] ?? 0);
    const tooLarge = (): void => {
      sendProxyError(res, api, 413, `request body larger than ${max} bytes`);
      req.resume(); // drain the rest so the client reads our answer instead of a reset
    };
    if (declared > max) {
      tooLarge();
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > max) {
        req.off('data', onData);
        req.off('end', onEnd);
        parts.length = 0;
        tooLarge();
        return;
      }
      parts.push(c);
    };
    const onEnd = (): void => done(parts.length === 1 ? parts[0] : Buffer.concat(parts, size));
    req.on('data', onData);
    req.on('end', onEnd);
  }

  /**
   * DNS rebinding: a page on evil.example that resolves to 127.0.0.1 still sends its own Host, so
   * only names of this proxy are accepted (HostNames). Browsers always send Origin on cross-origin
   * requests, and no AI tool runs in a foreign web page, so a foreign Origin is refused.
   */
  private checkHostAndOrigin(req: IncomingMessage): string | null {
    const port = this.listeningPort;
    const host = (req.headers.host ?? '').toLowerCase();
    const m = HOST.exec(host);
    if (!m || !this.hostNames.has(m[1]) || (m[2] !== undefined && Number(m[2]) !== port)) {
      return `Host "${host}" refused: only requests addressed to ${this.hostNames.describe(port)} are served (DNS rebinding protection).`;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== 'null') {
      // The dashboard's own pages: http://NAME:PORT for a name of this proxy.
      const o = ORIGIN.exec(origin.toLowerCase());
      const own = o !== null && this.hostNames.has(o[1]) && Number(o[2]) === port;
      if (!own && !(this.options.allowedOrigins ?? []).includes(origin)) {
        return `Origin "${origin}" refused: browser requests from other sites are not served.`;
      }
    } else if (origin === 'null') {
      return 'Origin "null" refused: browser requests from sandboxed or file pages are not served.';
    } else if (req.headers['sec-fetch-site'] === 'cross-site') {
      // Browsers leave Origin out of no-cors GETs (<img>, <script>, <link>), but Fetch Metadata
      // still says another site's page sent them (W3C Fetch Metadata Request Headers).
      return 'Sec-Fetch-Site "cross-site" refused: browser requests from other sites are not served.';
    }
    return null;
  }
}

const HOST = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/;
const ORIGIN = /^http:\/\/(\[[^\]]+\]|[^:/]+):(\d+)$/;
