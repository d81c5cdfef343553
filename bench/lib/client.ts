/**
 * The load client: undici Pool + dispatch() (the leanest client undici has), one callback per
 * chunk, times from performance.now(). Every loop here is bounded in count and in time.
 */
import { performance } from 'node:perf_hooks';
import { Pool, type Dispatcher } from 'undici';
import { expectedFor, modelName, type Shape } from './upstream';

export type Format = 'openai' | 'anthropic';

export interface Target {
  arm: string;
  origin: string;
  path(format: Format): string;
  headers(format: Format): Record<string, string>;
}

export interface Spec {
  format: Format;
  stream: boolean;
  shape: Shape;
}

export interface Prepared {
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Events a complete stream has (0 for a JSON answer) and bytes of a byte-exact relay. */
  expectEvents: number;
  expectBytes: number;
}

const UPSTREAM_PATH: Record<Format, string> = { openai: '/v1/chat/completions', anthropic: '/v1/messages' };

export function prepare(t: Target, s: Spec): Prepared {
  const model = modelName(s.shape);
  // What tools send: a short conversation; OpenAI clients that do not ask for usage (the proxy
  // then asks for it upstream and strips it again: its most expensive relay path).
  const body =
    s.format === 'openai'
      ? { model, messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Say something about proxies.' }], max_tokens: 256, ...(s.stream && { stream: true }) }
      : { model, max_tokens: 256, system: 'You are terse.', messages: [{ role: 'user', content: 'Say something about proxies.' }], ...(s.stream && { stream: true }) };
  const exp = expectedFor(UPSTREAM_PATH[s.format], body);
  return {
    origin: t.origin,
    path: t.path(s.format),
    headers: { 'content-type': 'application/json', ...t.headers(s.format) },
    body: Buffer.from(JSON.stringify(body)),
    expectEvents: exp.events,
    expectBytes: exp.bytes,
  };
}

export interface Outcome {
  status: number;
  /** µs from dispatch to the last byte. */
  latencyUs: number;
  /** µs from dispatch to the first body byte (the first content event, see upstream.ts). */
  ttftUs: number;
  events: number;
  bytes: number;
  error: string | null;
}

const NL = 10;

/** Requests dispatched per origin, to check that the proxy recorded every one of them. */
export const dispatched = new Map<string, number>();

/** Sends one request; `gaps` (if given) gets the µs between successive body chunks. */
export function send(pool: Dispatcher, p: Prepared, done: (o: Outcome) => void, gaps?: number[]): void {
  const t0 = performance.now();
  let first = 0;
  let last = 0;
  let status = 0;
  let events = 0;
  let bytes = 0;
  let prevNl = false;
  let finished = false;
  const end = (error: string | null): void => {
    if (finished) {
      return;
    }
    finished = true;
    const now = performance.now();
    done({ status, latencyUs: (now - t0) * 1000, ttftUs: first ? (first - t0) * 1000 : NaN, events, bytes, error });
  };
  dispatched.set(p.origin, (dispatched.get(p.origin) ?? 0) + 1);
  pool.dispatch(
    { origin: p.origin, path: p.path, method: 'POST', headers: p.headers, body: p.body },
    {
      onRequestStart() {},
      onResponseStart(_c, statusCode) {
        status = statusCode;
      },
      onResponseData(_c, chunk: Buffer) {
        const now = performance.now();
        if (first === 0) {
          first = now;
        } else if (gaps) {
          gaps.push((now - last) * 1000);
        }
        last = now;
        bytes += chunk.length;
        if (p.expectEvents > 0) {
          // Events end with a blank line; one may be split across chunks.
          if (prevNl && chunk[0] === NL) {
            events++;
          }
          for (let i = chunk.indexOf('\n\n'); i !== -1; i = chunk.indexOf('\n\n', i + 2)) {
            events++;
          }
          prevNl = chunk[chunk.length - 1] === NL && !(chunk.length >= 2 && chunk[chunk.length - 2] === NL);
        }
      },
      onResponseEnd() {
        end(null);
      },
      onResponseError(_c, err) {
        end(err.message || String(err));
      },
    },
  );
}

export const sendOnce = (pool: Dispatcher, p: Prepared, gaps?: number[]): Promise<Outcome> => new Promise((resolve) => send(pool, p, resolve, gaps));

export function okOutcome(p: Prepared, o: Outcome): boolean {
  if (o.error !== null || o.status !== 200) {
    return false;
  }
  return p.expectEvents > 0 ? o.events >= p.expectEvents : true;
}

export interface LoadResult {
  /** Latencies of the requests that completed inside the window, µs. */
  latencies: Float64Array;
  ok: number;
  failed: number;
  lostEvents: number;
  elapsedMs: number;
  firstError: string | null;
}

/** Tallies the outcomes of one loop: latencies of the good ones (up to `cap`), failures, lost events. */
class Collector {
  private readonly lat: Float64Array;
  private n = 0;
  ok = 0;
  failed = 0;
  lost = 0;
  firstError: string | null = null;

  constructor(cap: number) {
    this.lat = new Float64Array(cap);
  }

  add(p: Prepared, o: Outcome): void {
    if (okOutcome(p, o)) {
      this.ok++;
      if (this.n < this.lat.length) {
        this.lat[this.n++] = o.latencyUs;
      }
    } else {
      this.failed++;
      this.firstError ??= o.error ?? `status ${o.status}${p.expectEvents > 0 ? `, ${o.events}/${p.expectEvents} events` : ''}`;
    }
    if (p.expectEvents > 0 && o.events < p.expectEvents) {
      this.lost += p.expectEvents - o.events;
    }
  }

  result(elapsedMs: number): LoadResult {
    return { latencies: this.lat.subarray(0, this.n), ok: this.ok, failed: this.failed, lostEvents: this.lost, elapsedMs, firstError: this.firstError };
  }
}

/**
 * Closed loop: `concurrency` requests in flight, each replaced as it completes, for `durationMs`
 * or `maxRequests` (whichever comes first); then waits (bounded) for the ones in flight.
 */
export function closedLoop(pool: Dispatcher, p: Prepared, concurrency: number, durationMs: number, maxRequests: number): Promise<LoadResult> {
  return new Promise((resolve) => {
    const c = new Collector(maxRequests);
    const t0 = performance.now();
    const deadline = t0 + durationMs;
    let started = 0;
    let inFlight = 0;
    let tEnd = 0;
    const finish = (): void => {
      clearTimeout(guard);
      resolve(c.result(tEnd - t0));
    };
    const guard = setTimeout(() => {
      tEnd ||= performance.now();
      c.firstError ??= `${inFlight} requests still in flight 10 s after the window`;
      finish();
    }, durationMs + 10_000);
    const onDone = (o: Outcome): void => {
      inFlight--;
      const now = performance.now();
      c.add(p, o);
      if (now < deadline && started < maxRequests) {
        started++;
        inFlight++;
        send(pool, p, onDone);
      } else {
        tEnd ||= now;
        if (inFlight === 0) {
          finish();
        }
      }
    };
    for (; started < Math.min(concurrency, maxRequests); ) {
      started++;
      inFlight++;
      send(pool, p, onDone);
    }
  });
}

/**
 * Open loop: requests start at `rate` per second whatever the answers do (up to `maxInFlight`
 * outstanding; past that the arrival is counted as failed), for `durationMs`.
 */
export function openLoop(pool: Dispatcher, p: Prepared, rate: number, durationMs: number, maxInFlight: number): Promise<LoadResult> {
  return new Promise((resolve) => {
    const cap = Math.ceil((rate * durationMs) / 1000) + 16;
    const c = new Collector(cap);
    const t0 = performance.now();
    let sent = 0;
    let inFlight = 0;
    let stopped = false;
    const finish = (): void => {
      clearTimeout(guard);
      resolve(c.result(performance.now() - t0));
    };
    const guard = setTimeout(() => {
      c.firstError ??= `${inFlight} requests still in flight 10 s after the window`;
      clearInterval(tick);
      finish();
    }, durationMs + 10_000);
    const onDone = (o: Outcome): void => {
      inFlight--;
      c.add(p, o);
      if (stopped && inFlight === 0) {
        finish();
      }
    };
    const tick = setInterval(() => {
      const elapsed = performance.now() - t0;
      const due = Math.min(cap - 16, Math.floor((Math.min(elapsed, durationMs) * rate) / 1000));
      for (; sent < due; sent++) {
        if (inFlight >= maxInFlight) {
          c.failed++;
          c.firstError ??= `more than ${maxInFlight} requests outstanding`;
          continue;
        }
        inFlight++;
        send(pool, p, onDone);
      }
      if (elapsed >= durationMs) {
        clearInterval(tick);
        stopped = true;
        if (inFlight === 0) {
          finish();
        }
      }
    }, 1);
  });
}

export interface StreamsResult {
  ok: number;
  failed: number;
  lostEvents: number;
  ttftUs: number[];
  gapsUs: number[];
  firstError: string | null;
  elapsedMs: number;
}

/** Opens `n` streams over `rampMs` and waits for all of them (bounded by `timeoutMs`). */
export function manyStreams(pool: Dispatcher, p: Prepared, n: number, rampMs: number, timeoutMs: number, onAllStarted?: () => void): Promise<StreamsResult> {
  return new Promise((resolve) => {
    const r: StreamsResult = { ok: 0, failed: 0, lostEvents: 0, ttftUs: [], gapsUs: [], firstError: null, elapsedMs: 0 };
    const t0 = performance.now();
    let done = 0;
    let started = 0;
    const finish = (): void => {
      clearTimeout(guard);
      clearInterval(tick);
      r.elapsedMs = performance.now() - t0;
      resolve(r);
    };
    const guard = setTimeout(() => {
      r.failed += n - done;
      r.lostEvents += (n - done) * p.expectEvents; // counted as lost: they never completed in time
      r.firstError ??= `${n - done} streams unfinished after ${timeoutMs} ms`;
      finish();
    }, timeoutMs);
    const onDone = (o: Outcome): void => {
      done++;
      if (okOutcome(p, o)) {
        r.ok++;
      } else {
        r.failed++;
        r.firstError ??= o.error ?? `status ${o.status}, ${o.events}/${p.expectEvents} events`;
      }
      r.lostEvents += Math.max(0, p.expectEvents - o.events);
      if (Number.isFinite(o.ttftUs)) {
        r.ttftUs.push(o.ttftUs);
      }
      if (done === n) {
        finish();
      }
    };
    const perTick = Math.max(1, Math.ceil(n / Math.max(1, rampMs / 5)));
    const tick = setInterval(() => {
      for (let k = 0; k < perTick && started < n; k++, started++) {
        send(pool, p, onDone, r.gapsUs);
      }
      if (started >= n) {
        clearInterval(tick);
        onAllStarted?.();
      }
    }, 5);
  });
}

export function newPool(origin: string, connections: number): Pool {
  return new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
}
