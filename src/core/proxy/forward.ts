import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import * as undiciErrors from 'undici/lib/core/errors.js';
import type { ErrorCategory, RequestRecord } from '../metrics/record';
import type { RequestTracker } from '../metrics/requestTracker';
import { parseRetryAfterMs } from '../throttle/rateLimitHeaders';
import { sessionOf, type ThrottleTracker } from '../throttle/throttleTracker';
import { sendProxyError } from './errors';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers';
import { EventBoundary, metricsEvent, performanceMetrics, serverTiming, type InjectionPolicy } from './injection';
import { ExchangeMeter } from './measurement';
import { modelFromPath } from './observers';
import type { Route } from './providers';
import { readRequest } from './request';
import { StreamUsageFilter, withStreamUsage } from './streamUsage';

/** Opt-in: the proxy itself retries a throttled request before any byte reached the client. */
export interface RetryPolicy {
  /** 0 turns proxy-side retries off (the default): the client sees the 429 and decides. */
  maxRetries: number;
  /** A retry-after longer than this is passed to the client instead of waited out. */
  maxWaitMs: number;
}

export interface ForwardContext {
  tracker: RequestTracker;
  throttle: ThrottleTracker;
  injection: InjectionPolicy;
  retry: RetryPolicy;
  dispatcher: Dispatcher;
}

class ClientGoneError extends Error {
  override name = 'ClientGoneError';
}

class RetryingError extends Error {
  override name = 'RetryingError';
}

const RETRYABLE = new Set([429, 529]);
/** Without a retry-after, wait 1 s, 2 s, 4 s, … */
const backoffMs = (attempt: number): number => 1000 * 2 ** attempt;

/** Non-streaming bodies held back for metrics injection are capped; larger ones pass untouched. */
const MAX_HELD_BYTES = 16 * 1024 * 1024;

/**
 * Forwards one request to its provider and relays the response byte for byte, measuring on the
 * way. Uses undici's dispatch() directly: no intermediate stream, one callback per chunk.
 * Backpressure: when the client's socket is full, the upstream is paused until `drain`.
 * A client that goes away aborts the upstream request.
 */
export function forward(ctx: ForwardContext, req: IncomingMessage, res: ServerResponse, route: Route, body: Buffer): void {
  const info = readRequest(body, req.headers['content-type']);
  const id = randomUUID();
  const provider = route.provider.name;
  const model = info.model !== 'unknown' ? info.model : (modelFromPath(route.upstreamPath) ?? 'unknown');
  const session = sessionOf(req.headers);
  const meter = new ExchangeMeter(ctx.tracker, {
    id,
    provider,
    model,
    throttleWaitTimeMs: ctx.throttle.onRequest(id, provider, model, session),
    streaming: info.streaming || /:streamGenerateContent/i.test(route.upstreamPath),
    api: route.provider.api,
    path: route.upstreamPath,
    inputChars: info.inputChars,
    toolUses: info.toolUses,
    toolResults: info.toolResults,
  });
  const inject = ctx.injection.decide(provider, model, req.headers);
  const responsesApi = /\/responses$/.test(route.upstreamPath.split('?', 1)[0]);

  let upstreamBody = body;
  let filter: StreamUsageFilter | null = null;
  if (info.json && route.provider.api === 'openai' && route.provider.streamUsage !== false && /\/chat\/completions$/.test(route.upstreamPath.split('?', 1)[0])) {
    const changed = withStreamUsage(body, info.json);
    if (changed) {
      upstreamBody = changed;
      filter = new StreamUsageFilter();
    }
  }
  const headers = upstreamRequestHeaders(req.headers);
  if (filter || inject.json || inject.sse) {
    headers['accept-encoding'] = 'identity'; // the bytes must be rewritten: ask for plain ones
  }

  let controller: Dispatcher.DispatchController | null = null;
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let clientGone = false;
  let done = false;
  let held: Buffer[] | null = null; // non-streaming body held back for performance_metrics
  let heldBytes = 0;
  let status = 0;
  let head: Record<string, string | string[] | undefined> = {};
  let sse: { boundary: EventBoundary; timer: NodeJS.Timeout; due: boolean } | null = null;

  const finish = (error: ErrorCategory | null): Promise<RequestRecord | null> => {
    if (done) {
      return Promise.resolve(null);
    }
    done = true;
    if (sse) {
      clearInterval(sse.timer);
    }
    return meter.finish(error);
  };
  const resume = (): void => controller?.resume();
  /** The head leaves with the first body bytes written (node:http sends them together). */
  let bodyWritten = false;
  const write = (c: Dispatcher.DispatchController, out: Buffer): void => {
    if (out.length === 0) {
      return;
    }
    bodyWritten = true;
    sse?.boundary.update(out);
    if (!res.write(out)) {
      c.pause();
      res.once('drain', resume);
    }
  };
  const writeLiveMetrics = (): void => {
    if (!sse || res.writableEnded || res.destroyed) {
      return;
    }
    if (!sse.boundary.atBoundary) {
      sse.due = true; // never in the middle of an upstream event: after the next one
      return;
    }
    sse.due = false;
    const a = meter.active;
    const elapsed = performance.now() - a.t0;
    const span = a.firstContentMs === null ? null : elapsed - a.firstContentMs;
    res.write(
      metricsEvent('metrics', {
        elapsed_ms: Math.round(elapsed),
        tokens_generated: a.outputTokens,
        ...(span !== null && span > 0 && { current_tokens_per_second: Math.round((a.outputTokens / (span / 1000)) * 1000) / 1000 }),
        ...(a.ttftMs !== null && { time_to_first_token_ms: Math.round(a.ttftMs * 1000) / 1000 }),
      }, responsesApi),
    );
  };

  res.once('close', () => {
    if (!res.writableFinished && !done) {
      clientGone = true;
      if (retryTimer) {
        clearTimeout(retryTimer);
        void finish('client_disconnect');
      }
      controller?.abort(new ClientGoneError('the client closed the connection'));
    }
  });

  /** Waits out a throttle and sends again; false when this response should go to the client. */
  const retryLater = (c: Dispatcher.DispatchController, statusCode: number, h: Record<string, string | string[] | undefined>): boolean => {
    if (!RETRYABLE.has(statusCode) || attempt >= ctx.retry.maxRetries || clientGone) {
      return false;
    }
    const wait = parseRetryAfterMs(h, Date.now()) ?? backoffMs(attempt);
    if (wait > ctx.retry.maxWaitMs) {
      return false;
    }
    ctx.throttle.onResponse(id, provider, model, session, statusCode, h);
    c.abort(new RetryingError(`throttled (${statusCode}): retrying in ${wait} ms`));
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      attempt++;
      // The same tracker pairs the throttle with its retry, so the wait is the time really lost.
      meter.addThrottleWait(ctx.throttle.onRequest(id, provider, model, session));
      meter.restartClock();
      send();
    }, wait);
    return true;
  };

  const makeHandler = (): Dispatcher.DispatchHandler => ({
    onRequestStart(c) {
      controller = c;
      if (clientGone) {
        c.abort(new ClientGoneError('the client closed the connection'));
      }
    },
    onResponseStart(c, statusCode, responseHeaders) {
      if (statusCode < 200) {
        return; // 1xx informational: the final head follows
      }
      if (retryLater(c, statusCode, responseHeaders as Record<string, string | string[] | undefined>)) {
        return;
      }
      status = statusCode;
      head = responseHeaders as Record<string, string | string[] | undefined>;
      meter.onResponseHead(status, head);
      ctx.throttle.onResponse(id, provider, model, session, status, head);
      const type = String(head['content-type'] ?? '');
      const eventStream = type.includes('text/event-stream');
      const encoded = String(head['content-encoding'] ?? 'identity').trim().toLowerCase() !== 'identity';
      if (filter && (status !== 200 || !eventStream || encoded)) {
        // An error body has nothing added to it; a compressed one (asked for identity, got gzip)
        // cannot be rewritten without decoding: both pass as they came.
        filter = null;
      }
      if (inject.json && !eventStream && type.includes('json') && status >= 200 && status < 300) {
        held = []; // the head waits: content-length and Server-Timing change with the body
        return;
      }
      const out = clientResponseHeaders(head);
      if (filter) {
        delete out['content-length'];
      }
      if (inject.sse && eventStream) {
        out['server-timing'] = serverTiming({ 'upstream-head': performance.now() - meter.active.t0 });
        sse = { boundary: new EventBoundary(), timer: setInterval(writeLiveMetrics, ctx.injection.intervalMs), due: false };
      }
      res.writeHead(status, out);
      // Node holds a head until the first body byte; the client must see it when the upstream sent
      // it. A body that came in the same read (most JSON answers) goes out with it in one write;
      // otherwise the head leaves alone at the end of this turn.
      setImmediate(() => {
        if (!bodyWritten && !res.writableEnded && !res.destroyed) {
          res.flushHeaders();
        }
      });
    },
    onResponseData(c, chunk) {
      meter.onChunk(chunk);
      if (held) {
        heldBytes += chunk.length;
        held.push(chunk);
        if (heldBytes > MAX_HELD_BYTES) {
          res.writeHead(status, clientResponseHeaders(head)); // too big to rewrite: relay as is
          const all = Buffer.concat(held);
          held = null;
          write(c, all);
        }
        return;
      }
      write(c, filter ? filter.push(chunk) : chunk);
      if (sse?.due) {
        writeLiveMetrics();
      }
    },
    onResponseEnd() {
      const tail = filter?.end();
      if (!held && !sse) {
        res.end(tail);
        void finish(null);
        return;
      }
      void finish(null).then((record) => {
        if (!record || res.destroyed) {
          return;
        }
        const metrics = performanceMetrics(record, meter.active.firstContentMs, meter.active.lastContentMs);
        if (held) {
          endWithMetrics(res, status, head, Buffer.concat(held), metrics, record);
        } else {
          if (tail && tail.length > 0) {
            res.write(tail);
          }
          res.end(metricsEvent('metrics-final', metrics, responsesApi));
        }
      });
    },
    onResponseError(_c, err) {
      if (err instanceof RetryingError) {
        return; // the throttled attempt, abandoned on purpose
      }
      res.off('drain', resume);
      if (clientGone || err instanceof ClientGoneError) {
        void finish('client_disconnect');
        return;
      }
      const category = categorizeError(err, res.headersSent);
      if (res.headersSent) {
        // After the head is sent the only honest signal left is to cut the client's connection,
        // so a truncated stream never looks complete.
        res.destroy();
      } else {
        const timeout = category === 'timeout';
        sendProxyError(
          res,
          route.provider.api,
          timeout ? 504 : 502,
          `${timeout ? 'timed out waiting for' : 'could not reach'} ${route.provider.name} (${route.provider.baseUrl}): ${describe(err)}`,
        );
      }
      void finish(category);
    },
  });

  const base = baseOf(route.provider);
  const send = (): void => {
    ctx.dispatcher.dispatch(
      {
        origin: base.origin,
        path: base.prefix + route.upstreamPath,
        method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
        headers,
        body: upstreamBody.length > 0 ? upstreamBody : null,
      },
      makeHandler(),
    );
  };
  send();
}

/**
 * A provider's origin and path prefix, parsed once per provider entry instead of once per request.
 * The base URL's own path (e.g. https://openrouter.ai/api) prefixes the client's path.
 */
const bases = new WeakMap<Route['provider'], { origin: string; prefix: string }>();
function baseOf(provider: Route['provider']): { origin: string; prefix: string } {
  let b = bases.get(provider);
  if (b === undefined) {
    const u = new URL(provider.baseUrl);
    b = { origin: u.origin, prefix: u.pathname.replace(/\/$/, '') };
    bases.set(provider, b);
  }
  return b;
}

/** Adds `performance_metrics` to a JSON object body; anything else is sent as it came. */
function endWithMetrics(
  res: ServerResponse,
  status: number,
  head: Record<string, string | string[] | undefined>,
  body: Buffer,
  metrics: Record<string, unknown>,
  record: RequestRecord,
): void {
  let out = body;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      out = Buffer.from(JSON.stringify({ ...parsed, performance_metrics: metrics }), 'utf8');
    }
  } catch {
    // not JSON after all: relay untouched
  }
  const headers = clientResponseHeaders(head);
  headers['content-length'] = out.length;
  headers['server-timing'] = serverTiming({ ttfb: record.ttfbMs, ttft: record.ttftMs, total: record.durationMs });
  res.writeHead(status, headers);
  res.end(out);
}

function categorizeError(err: unknown, midStream: boolean): ErrorCategory {
  if (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError
  ) {
    return 'timeout';
  }
  return midStream ? 'stream_error' : 'network';
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code ?? (err.cause as { code?: string } | undefined)?.code;
    return code ? `${code} ${err.message}` : err.message;
  }
  return String(err);
}
