import { get as httpGet, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ActiveView } from '../../protocol';
import type { RequestRecord } from '../metrics/record';
import type { RequestTracker } from '../metrics/requestTracker';
import { SseScanner } from '../proxy/sse';
import type { ThrottleState, ThrottleTracker } from '../throttle/throttleTracker';

export interface RemoteHealth {
  name: string;
  version: string;
  url: string | null;
  pid: number;
}

/** An in-flight request on the control API: the panel's view plus its content times. */
export interface ActiveWire extends ActiveView {
  firstContentMs: number | null;
  lastContentMs: number | null;
}

// `agent: false`: a connection of its own per request. These requests are few, and a pooled
// keep-alive socket to a window that has since restarted its proxy would fail the next one.
function getJson<T>(url: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { timeout: timeoutMs, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        try {
          if (res.statusCode !== 200) {
            throw new Error(`HTTP ${res.statusCode}`);
          }
          resolve(JSON.parse(Buffer.concat(parts).toString('utf8')) as T);
        } catch (err) {
          reject(err as Error);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Whether a Tokenmeter answers at this URL (another window's proxy), and which. */
export async function probeTokenmeter(url: string, timeoutMs = 1500): Promise<RemoteHealth | null> {
  try {
    const h = await getJson<RemoteHealth>(`${url}/_tokenmeter/health`, timeoutMs);
    return h.name === 'tokenmeter' ? h : null;
  } catch {
    return null;
  }
}

/**
 * Mirrors another window's proxy into a local tracker through its control API: the `events` feed
 * for starts, completions and throttle state, and api/active (4 times a second, only while
 * requests are in flight) for live token counts. `closed` resolves when the feed ends: the other
 * window is gone (the throttle tracker then shows this window's own state again).
 */
export class RemoteMirror {
  readonly closed: Promise<void>;
  private res: IncomingMessage | null = null;
  private poll: NodeJS.Timeout | undefined;
  private stopped = false;
  private resolveClosed!: () => void;

  constructor(
    readonly url: string,
    private readonly tracker: RequestTracker,
    private readonly throttle?: ThrottleTracker,
  ) {
    this.closed = new Promise((r) => (this.resolveClosed = r));
  }

  /** Resolves once the first snapshot is mirrored; rejects when the feed cannot be opened. */
  start(timeoutMs = 3000): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = httpGet(`${this.url}/_tokenmeter/events`, { timeout: timeoutMs, agent: false }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`events feed answered HTTP ${res.statusCode}`));
          return;
        }
        req.setTimeout(0); // the feed is long-lived; its heartbeat keeps it honest
        this.res = res;
        const scanner = new SseScanner((event, data) => {
          this.onEvent(event, data);
          if (event === 'hello') {
            resolve();
          }
        });
        res.on('data', (c: Buffer) => scanner.push(c));
        res.once('close', () => this.finish());
      });
      req.on('timeout', () => req.destroy(new Error(`no events feed from ${this.url} within ${timeoutMs} ms`)));
      req.on('error', (err) => {
        reject(err);
        this.finish();
      });
    });
  }

  close(): void {
    this.stopped = true;
    this.res?.destroy();
    this.finish();
  }

  private finish(): void {
    clearInterval(this.poll);
    this.poll = undefined;
    this.tracker.forgetActive();
    this.throttle?.mirror(null);
    this.resolveClosed();
  }

  private onEvent(event: string, data: string): void {
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch {
      return;
    }
    switch (event) {
      case 'hello': {
        const { recent, active, throttle } = payload as { recent: RequestRecord[]; active: ActiveWire[]; throttle?: ThrottleState };
        for (const r of [...recent].reverse()) {
          this.tracker.adopt(r);
        }
        for (const a of active) {
          this.onStarted(a);
        }
        if (throttle) {
          this.throttle?.mirror(throttle); // a holder before this feed field had none to send
        }
        return;
      }
      case 'throttle':
        this.throttle?.mirror(payload as ThrottleState);
        return;
      case 'started':
        this.onStarted(payload as ActiveWire);
        return;
      case 'completed':
        this.tracker.adopt(payload as RequestRecord);
        return;
      case 'reset':
        this.tracker.reset();
        return;
    }
  }

  private onStarted(a: ActiveWire): void {
    this.tracker.start({
      id: a.id,
      provider: a.provider,
      model: a.model,
      streaming: a.streaming,
      startedAt: a.startedAt,
      t0: performance.now() - a.elapsedMs,
      ttftMs: a.ttftMs,
      outputTokens: a.outputTokens,
      firstContentMs: a.firstContentMs,
      lastContentMs: a.lastContentMs,
    });
    this.poll ??= setInterval(() => void this.refreshActive(), 250);
  }

  private async refreshActive(): Promise<void> {
    if (this.stopped || this.tracker.activeCount === 0) {
      clearInterval(this.poll);
      this.poll = undefined;
      return;
    }
    try {
      for (const a of await getJson<ActiveWire[]>(`${this.url}/_tokenmeter/api/active`, 1000)) {
        const mine = this.tracker.get(a.id);
        if (mine) {
          mine.ttftMs = a.ttftMs;
          mine.outputTokens = a.outputTokens;
          mine.firstContentMs = a.firstContentMs;
          mine.lastContentMs = a.lastContentMs;
        }
      }
    } catch {
      // a missed refresh is only a stale number; the feed says when the other side is gone
    }
  }
}
