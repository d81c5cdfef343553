import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { errors as undiciErrors, request, type Dispatcher } from 'undici';
import type { ErrorCategory } from '../metrics/record';
import type { RequestTracker } from '../metrics/requestTracker';
import { sendProxyError } from './errors';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers';
import { ExchangeMeter } from './measurement';
import type { Route } from './providers';
import { modelFromPath } from './observers';
import { readRequest } from './request';

export interface ForwardContext {
  tracker: RequestTracker;
  dispatcher: Dispatcher;
}

/**
 * Forwards one request to its provider and relays the response byte for byte, measuring on the
 * way. Backpressure: when the client's socket is full, the upstream body is paused until `drain`.
 * A client that goes away aborts the upstream request.
 */
export async function forward(ctx: ForwardContext, req: IncomingMessage, res: ServerResponse, route: Route, body: Buffer): Promise<void> {
  const info = readRequest(body, req.headers['content-type']);
  const meter = new ExchangeMeter(ctx.tracker, {
    id: randomUUID(),
    provider: route.provider.name,
    model: info.model !== 'unknown' ? info.model : (modelFromPath(route.upstreamPath) ?? 'unknown'),
    streaming: info.streaming || /:streamGenerateContent/i.test(route.upstreamPath),
    api: route.provider.api,
    path: route.upstreamPath,
    inputChars: info.inputChars,
  });
  const abort = new AbortController();
  let clientGone = false;
  res.once('close', () => {
    if (!res.writableFinished) {
      clientGone = true;
      abort.abort();
    }
  });

  let upstream: Dispatcher.ResponseData;
  try {
    upstream = await request(route.provider.baseUrl + route.upstreamPath, {
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: upstreamRequestHeaders(req.headers),
      body: body.length > 0 ? body : undefined,
      signal: abort.signal,
      dispatcher: ctx.dispatcher,
    });
  } catch (err) {
    const category = clientGone ? 'client_disconnect' : categorizeError(err);
    if (!clientGone) {
      const timeout = category === 'timeout';
      sendProxyError(
        res,
        route.provider.api,
        timeout ? 504 : 502,
        `${timeout ? 'timed out waiting for' : 'could not reach'} ${route.provider.name} (${route.provider.baseUrl}): ${describe(err)}`,
      );
    }
    await meter.finish(category);
    return;
  }

  meter.onResponseHead(upstream.statusCode, upstream.headers);
  if (clientGone) {
    upstream.body.destroy();
    await meter.finish('client_disconnect');
    return;
  }
  res.writeHead(upstream.statusCode, clientResponseHeaders(upstream.headers));
  const failure = await relay(upstream.body, res, meter, () => clientGone);
  await meter.finish(failure);
}

function relay(body: Readable, res: ServerResponse, meter: ExchangeMeter, clientGone: () => boolean): Promise<ErrorCategory | null> {
  return new Promise((resolve) => {
    const resume = (): void => void body.resume();
    res.on('drain', resume);
    body.on('data', (chunk: Buffer) => {
      meter.onChunk(chunk);
      if (!res.write(chunk)) {
        body.pause();
      }
    });
    body.once('end', () => {
      res.off('drain', resume);
      res.end();
      resolve(null);
    });
    body.once('error', (err) => {
      res.off('drain', resume);
      // After the head is sent the only honest signal left is to cut the client's connection,
      // so a truncated stream never looks complete.
      res.destroy();
      resolve(clientGone() ? 'client_disconnect' : categorizeError(err, true));
    });
  });
}

function categorizeError(err: unknown, midStream = false): ErrorCategory {
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) {
    return 'timeout';
  }
  if (err instanceof Error && err.name === 'AbortError') {
    return 'cancelled';
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
