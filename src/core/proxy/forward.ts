import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import * as undiciErrors from 'undici/lib/core/errors.js';
import type { ErrorCategory } from '../metrics/record';
import type { RequestTracker } from '../metrics/requestTracker';
import { sessionOf, type ThrottleTracker } from '../throttle/throttleTracker';
import { sendProxyError } from './errors';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers';
import { ExchangeMeter } from './measurement';
import { modelFromPath } from './observers';
import type { Route } from './providers';
import { readRequest } from './request';
import { StreamUsageFilter, withStreamUsage } from './streamUsage';

export interface ForwardContext {
  tracker: RequestTracker;
  throttle: ThrottleTracker;
  dispatcher: Dispatcher;
}

class ClientGoneError extends Error {
  override name = 'ClientGoneError';
}

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
  const base = new URL(route.provider.baseUrl);
  let upstreamBody = body;
  let filter: StreamUsageFilter | null = null;
  if (info.json && route.provider.api === 'openai' && route.provider.streamUsage !== false && /\/chat\/completions$/.test(route.upstreamPath.split('?', 1)[0])) {
    const changed = withStreamUsage(body, info.json);
    if (changed) {
      upstreamBody = changed;
      filter = new StreamUsageFilter();
    }
  }
  let controller: Dispatcher.DispatchController | null = null;
  let clientGone = false;
  let done = false;
  const finish = (error: ErrorCategory | null): void => {
    if (!done) {
      done = true;
      void meter.finish(error);
    }
  };
  const resume = (): void => controller?.resume();

  res.once('close', () => {
    if (!res.writableFinished && !done) {
      clientGone = true;
      controller?.abort(new ClientGoneError('the client closed the connection'));
    }
  });

  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(c) {
      controller = c;
      if (clientGone) {
        c.abort(new ClientGoneError('the client closed the connection'));
      }
    },
    onResponseStart(_c, status, headers) {
      if (status < 200) {
        return; // 1xx informational: the final head follows
      }
      const h = headers as Record<string, string | string[] | undefined>;
      meter.onResponseHead(status, h);
      ctx.throttle.onResponse(id, provider, model, session, status, h);
      if (filter && (status !== 200 || !String(h['content-type']).includes('text/event-stream'))) {
        filter = null; // an error body: nothing was added to it
      }
      if (filter) {
        delete h['content-length']; // cannot be: an event stream; and the filtered one is shorter
      }
      res.writeHead(status, clientResponseHeaders(h));
    },
    onResponseData(c, chunk) {
      meter.onChunk(chunk);
      const out = filter ? filter.push(chunk) : chunk;
      if (out.length > 0 && !res.write(out)) {
        c.pause();
        res.once('drain', resume);
      }
    },
    onResponseEnd() {
      res.end(filter?.end());
      finish(null);
    },
    onResponseError(_c, err) {
      res.off('drain', resume);
      if (clientGone || err instanceof ClientGoneError) {
        finish('client_disconnect');
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
      finish(category);
    },
  };

  ctx.dispatcher.dispatch(
    {
      origin: base.origin,
      // The base URL's own path (e.g. https://openrouter.ai/api) prefixes the client's path.
      path: base.pathname.replace(/\/$/, '') + route.upstreamPath,
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: filter ? { ...upstreamRequestHeaders(req.headers), 'accept-encoding': 'identity' } : upstreamRequestHeaders(req.headers),
      body: upstreamBody.length > 0 ? upstreamBody : null,
    },
    handler,
  );
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
