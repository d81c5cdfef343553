/**
 * The benchmarks' scripted upstream: a lean OpenAI Chat Completions / Anthropic Messages server on
 * 127.0.0.1, streaming and not, built to cost as little as possible per request so the arms differ
 * only by what sits between the client and it. Every answer is precomputed once per shape (the
 * wire formats are test/fixtures/formats.ts, the same the unit tests check the proxy against).
 *
 * The shape of an answer is read from the model name, so it survives any proxy that forwards the
 * body: `bench-t64-d2-c1-f0` = 64 content tokens, 2 ms between writes, 1 content event per write,
 * 0 ms before the first write. The first write carries the preamble events with the first content
 * event (what TTFT is measured to); the last carries the trailer (finish, usage, [DONE]).
 *
 *   node --import tsx bench/lib/upstream.ts   → prints {"port":N} once listening
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatFor, type ScriptRequest } from '../../test/fixtures/formats';

export interface Shape {
  tokens: number;
  delayMs: number;
  /** Content events per write (0: the whole stream in one write). */
  perWrite: number;
  firstDelayMs: number;
}

export function modelName(s: Shape): string {
  return `bench-t${s.tokens}-d${s.delayMs}-c${s.perWrite}-f${s.firstDelayMs}`;
}

export function parseModel(model: string): Shape {
  const get = (k: string, dflt: number): number => {
    const m = new RegExp(`-${k}(\\d+(?:\\.\\d+)?)`).exec(model);
    return m ? Number(m[1]) : dflt;
  };
  return { tokens: get('t', 16), delayMs: get('d', 0), perWrite: get('c', 1), firstDelayMs: get('f', 0) };
}

const WORDS = [' the', ' proxy', ' measures', ' tokens', ' while', ' they', ' stream', ' through', ',', ' byte', ' for', ' byte', '.'];
export const tokenText = (n: number): string[] => Array.from({ length: n }, (_, i) => WORDS[i % WORDS.length]);

interface Answer {
  head: Record<string, string>;
  /** Non-streaming: one body; streaming: the writes, in order. */
  writes: Buffer[];
  streaming: boolean;
  shape: Shape;
}

export interface Expected {
  events: number;
  bytes: number;
}

/** Builds (and caches) the answer for a request: the events the API would send, grouped in writes. */
export function answerFor(url: string, request: ScriptRequest, cache = new Map<string, Answer>()): Answer {
  const format = formatFor(url);
  const model = request.model ?? 'bench';
  const streaming = format.streaming(url, request);
  const key = `${format.name}|${streaming}|${request.stream_options?.include_usage === true}|${model}`;
  let a = cache.get(key);
  if (a) {
    return a;
  }
  const shape = parseModel(model);
  const chunks = tokenText(shape.tokens);
  const usage = { input: 12, output: shape.tokens };
  const head = {
    'content-type': format.contentType(streaming),
    ...(format.name === 'anthropic' ? { 'request-id': 'req_bench' } : { 'x-request-id': 'req_bench' }),
  };
  if (!streaming) {
    a = { head, writes: [Buffer.from(JSON.stringify(format.body(model, chunks, usage)), 'utf8')], streaming, shape };
  } else {
    const events = format.events(model, chunks, usage, request);
    const firstContent = events.findIndex((e) => e.content);
    let lastContent = -1;
    events.forEach((e, i) => {
      if (e.content) {
        lastContent = i;
      }
    });
    const per = shape.perWrite <= 0 ? Infinity : shape.perWrite;
    const writes: string[] = [];
    let cur = '';
    let inGroup = 0;
    events.forEach((e, i) => {
      cur += e.text;
      if (e.content) {
        inGroup++;
      }
      const isPreamble = i < firstContent;
      const isTrailerNext = i >= lastContent; // the trailer joins the last content write
      if (!isPreamble && !isTrailerNext && inGroup >= per) {
        writes.push(cur);
        cur = '';
        inGroup = 0;
      }
    });
    if (cur) {
      writes.push(cur);
    }
    a = { head, writes: writes.map((w) => Buffer.from(w, 'utf8')), streaming, shape };
  }
  cache.set(key, a);
  return a;
}

/** What a client that asked `request` should receive (event count and bytes), whatever the path. */
export function expectedFor(url: string, request: ScriptRequest): Expected {
  const a = answerFor(url, request);
  const bytes = a.writes.reduce((n, w) => n + w.length, 0);
  if (!a.streaming) {
    return { events: 0, bytes };
  }
  let events = 0;
  for (const w of a.writes) {
    for (let i = w.indexOf('\n\n'); i !== -1; i = w.indexOf('\n\n', i + 2)) {
      events++;
    }
  }
  return { events, bytes };
}

function serve(): void {
  const cache = new Map<string, Answer>();
  const server = createServer({ noDelay: true, keepAliveTimeout: 120_000, requestTimeout: 0 }, (req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      let request: ScriptRequest = {};
      try {
        request = JSON.parse((parts.length === 1 ? parts[0] : Buffer.concat(parts)).toString('utf8')) as ScriptRequest;
      } catch {
        // an empty or odd body gets the default shape
      }
      const a = answerFor(req.url ?? '/', request, cache);
      const send = (): void => {
        if (!a.streaming) {
          res.writeHead(200, { ...a.head, 'content-length': a.writes[0].length });
          res.end(a.writes[0]);
          return;
        }
        res.writeHead(200, a.head);
        let i = 0;
        const next = (): void => {
          if (res.destroyed) {
            return;
          }
          if (a.shape.delayMs <= 0) {
            for (; i < a.writes.length; i++) {
              res.write(a.writes[i]);
            }
            res.end();
            return;
          }
          res.write(a.writes[i++]);
          if (i < a.writes.length) {
            setTimeout(next, a.shape.delayMs);
          } else {
            res.end();
          }
        };
        next();
      };
      if (a.shape.firstDelayMs > 0) {
        setTimeout(send, a.shape.firstDelayMs);
      } else {
        send();
      }
    });
  });
  server.headersTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
  // The harness owns this process: it goes when the harness does.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  process.on('SIGTERM', () => process.exit(0));
}

if (process.argv[1]?.endsWith('upstream.ts')) {
  serve();
}
