import { performance } from 'node:perf_hooks';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import {
  outputTokensPerSecond,
  promptTokensPerSecond,
  tokensPerSecond,
  type ApiFlavour,
  type ErrorCategory,
  type RequestRecord,
  type TokenUsage,
} from '../metrics/record';
import type { ActiveRequest, RequestTracker } from '../metrics/requestTracker';
import { atEndOfTurn, type EndOfTurnTask } from './endOfTurn';
import { LineScanner } from './ndjson';
import { createObserver, type ResponseObserver } from './observers';
import { SseScanner } from './sse';

export interface ExchangeMeta {
  id: string;
  provider: string;
  model: string;
  streaming: boolean;
  /** Time lost to a throttle that this request is the client's retry of. */
  throttleWaitTimeMs: number;
  api: ApiFlavour;
  /** Upstream path and query: it says which API the exchange speaks. */
  path: string;
  /** Characters of prompt text in the request, for an estimate when usage never arrives. */
  inputChars: number;
  toolUses: number;
  toolResults: number;
}

/** Non-streaming bodies larger than this are relayed but not parsed (no usage from them). */
const MAX_JSON_BYTES = 32 * 1024 * 1024;
const CHARS_PER_TOKEN = 4;

export function categorizeStatus(status: number): ErrorCategory | null {
  if (status < 400) {
    return null;
  }
  if (status === 401 || status === 403) {
    return 'auth';
  }
  if (status === 429) {
    return 'rate_limit';
  }
  if (status === 529 || status === 503) {
    return 'overloaded';
  }
  if (status === 408 || status === 504) {
    return 'timeout';
  }
  if (status === 404) {
    return 'not_found';
  }
  if (status >= 500) {
    return 'upstream_5xx';
  }
  if (status === 400 || status === 413 || status === 422) {
    return 'bad_request';
  }
  return 'unknown';
}

/**
 * Measures one exchange as its bytes go by: the relay hands it each response chunk and never waits
 * on it. t0 is when the request is sent upstream; all times are monotonic, relative to t0.
 */
export class ExchangeMeter implements EndOfTurnTask {
  readonly active: ActiveRequest;
  private readonly observer: ResponseObserver;
  private scanner: SseScanner | LineScanner | null = null;
  private jsonParts: Buffer[] | null = null;
  private jsonBytes = 0;
  private decoder: Transform | null = null;
  private decoderDone: Promise<void> = Promise.resolve();
  private status: number | null = null;
  private ttfbMs: number | null = null;
  private lastByteMs: number | null = null;
  private contentEvents = 0;
  /** Stream chunks not scanned yet, with their arrival times: scanned at the end of the turn. */
  private queued: Buffer[] = [];
  private queuedAt: number[] = [];
  /** Arrival time of the chunk being scanned; null while scanning decompressed bytes. */
  private chunkMs: number | null = null;
  private streamingResponse: boolean;
  private ended = false;

  constructor(
    private readonly tracker: RequestTracker,
    private readonly meta: ExchangeMeta,
  ) {
    this.observer = createObserver(meta.api, meta.path);
    this.streamingResponse = meta.streaming;
    this.active = {
      id: meta.id,
      provider: meta.provider,
      model: meta.model,
      streaming: meta.streaming,
      startedAt: new Date().toISOString(),
      t0: performance.now(),
      ttftMs: null,
      outputTokens: 0,
      firstContentMs: null,
      lastContentMs: null,
    };
    tracker.start(this.active);
  }

  /** A proxy-side retry: times are measured from the attempt that answers. */
  restartClock(): void {
    this.active.t0 = performance.now();
  }

  addThrottleWait(ms: number): void {
    this.meta.throttleWaitTimeMs += ms;
  }

  onResponseHead(status: number, headers: Record<string, string | string[] | undefined>): void {
    this.status = status;
    const type = String(headers['content-type'] ?? '').toLowerCase();
    if (type.includes('text/event-stream')) {
      this.streamingResponse = true;
      this.scanner = new SseScanner((event, data) => this.onEvent(event, data));
    } else if (type.includes('ndjson')) {
      this.streamingResponse = true;
      this.scanner = new LineScanner((event, line) => this.onEvent(event, line));
    } else if (type.includes('json')) {
      this.streamingResponse = false;
      this.jsonParts = [];
    }
    const encoding = String(headers['content-encoding'] ?? '').toLowerCase().trim();
    if ((this.scanner || this.jsonParts) && encoding && encoding !== 'identity') {
      this.decoder = decoderFor(encoding);
      if (!this.decoder) {
        this.scanner = null; // an encoding we cannot read: relay it, measure timings only
        this.jsonParts = null;
      } else {
        this.decoder.on('data', (c: Buffer) => this.scan(c));
        this.decoderDone = new Promise((resolve) => {
          this.decoder!.once('end', resolve);
          this.decoder!.once('error', () => resolve()); // corrupt compression: measured as unknown
        });
      }
    }
  }

  onChunk(chunk: Buffer): void {
    if (this.ended) {
      return; // a chunk that raced the exchange's end: the record is written
    }
    const now = performance.now() - this.active.t0;
    this.ttfbMs ??= now;
    this.lastByteMs = now;
    if (this.decoder) {
      this.decoder.write(chunk);
    } else if (this.scanner) {
      this.queued.push(chunk);
      this.queuedAt.push(now);
      if (this.queued.length === 1) {
        atEndOfTurn(this);
      }
    } else {
      this.scan(chunk);
    }
  }

  /** Scans the stream chunks that arrived in this turn; each event is timed by its chunk's arrival. */
  runAtEndOfTurn(): void {
    const chunks = this.queued;
    const times = this.queuedAt;
    this.queued = [];
    this.queuedAt = [];
    for (let i = 0; i < chunks.length; i++) {
      this.chunkMs = times[i];
      this.scan(chunks[i]);
    }
    this.chunkMs = null;
  }

  /** Ends the exchange and records it, exactly once. */
  async finish(error: ErrorCategory | null = null): Promise<RequestRecord | null> {
    if (this.ended) {
      return null;
    }
    this.ended = true;
    this.runAtEndOfTurn();
    if (this.decoder) {
      this.decoder.end();
      await this.decoderDone;
    }
    this.scanner?.end();
    if (this.jsonParts && error === null) {
      this.parseJson();
    }
    const record = this.buildRecord(error);
    this.tracker.end(record);
    return record;
  }

  private scan(chunk: Buffer): void {
    if (this.scanner) {
      this.scanner.push(chunk);
    } else if (this.jsonParts) {
      this.jsonBytes += chunk.length;
      if (this.jsonBytes > MAX_JSON_BYTES) {
        this.jsonParts = null;
      } else {
        this.jsonParts.push(chunk);
      }
    }
  }

  private onEvent(event: string, data: string): void {
    if (!this.observer.onEvent(event, data)) {
      return;
    }
    const now = this.chunkMs ?? performance.now() - this.active.t0;
    this.contentEvents++;
    this.active.firstContentMs ??= now;
    this.active.ttftMs ??= now;
    this.active.lastContentMs = now;
    const estimate = Math.ceil(this.observer.outputChars / CHARS_PER_TOKEN);
    this.active.outputTokens = Math.max(this.observer.liveOutputTokens ?? 0, estimate);
  }

  private parseJson(): void {
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(this.jsonParts!).toString('utf8'));
    } catch {
      return; // malformed JSON is relayed as is; this record simply has no usage
    }
    if (this.observer.onJson(body)) {
      // Without a stream, the content is there as soon as the body starts to arrive.
      this.contentEvents = 1;
      this.active.firstContentMs = this.active.ttftMs = this.ttfbMs;
      this.active.lastContentMs = this.lastByteMs;
    }
  }

  private buildRecord(error: ErrorCategory | null): RequestRecord {
    const o = this.observer;
    const errorCategory = error ?? (this.status !== null ? categorizeStatus(this.status) : 'network') ?? o.streamError;
    const usage = this.usage();
    const durationMs = this.lastByteMs;
    const a = this.active;
    const outputTokens = usage?.tokens.outputTokens ?? null;
    const tokensIn = usage ? usage.tokens.inputTokens + usage.tokens.cacheReadTokens + usage.tokens.cacheCreationTokens : null;
    return {
      id: a.id,
      provider: a.provider,
      model: this.meta.model !== 'unknown' ? this.meta.model : (o.model ?? 'unknown'),
      streaming: this.streamingResponse,
      status: this.status,
      errorCategory,
      inputTokens: usage?.tokens.inputTokens ?? null,
      outputTokens,
      cacheReadTokens: usage?.tokens.cacheReadTokens ?? null,
      cacheCreationTokens: usage?.tokens.cacheCreationTokens ?? null,
      estimated: usage?.estimated ?? false,
      ttfbMs: round(this.ttfbMs),
      ttftMs: round(a.ttftMs),
      durationMs: round(durationMs),
      outputTokensPerSecond: outputTokensPerSecond(outputTokens, {
        ttfbMs: this.ttfbMs,
        firstContentMs: a.firstContentMs,
        lastContentMs: a.lastContentMs,
        contentEvents: this.contentEvents,
        durationMs,
      }),
      promptTokensPerSecond: promptTokensPerSecond(usage?.tokens ?? null, a.ttftMs),
      tokensPerSecond:
        tokensIn !== null && outputTokens !== null && durationMs !== null
          ? Math.round(tokensPerSecond(tokensIn, outputTokens, durationMs) * 1000) / 1000
          : null,
      throttleWaitTimeMs: this.meta.throttleWaitTimeMs,
      toolUses: this.meta.toolUses,
      toolResults: this.meta.toolResults,
      toolCalls: o.toolCalls,
      startedAt: a.startedAt,
    };
  }

  /** The provider's usage when it sent a final count; an estimate from the text when content flowed. */
  private usage(): { tokens: TokenUsage; estimated: boolean } | null {
    const o = this.observer;
    if (o.usage && o.usageFinal) {
      return { tokens: o.usage, estimated: false };
    }
    if (this.contentEvents === 0) {
      return null; // no usage and no generated text: the token counts cannot be known
    }
    return {
      tokens: {
        inputTokens: o.usage?.inputTokens ?? Math.ceil(this.meta.inputChars / CHARS_PER_TOKEN),
        outputTokens: Math.ceil(o.outputChars / CHARS_PER_TOKEN),
        cacheReadTokens: o.usage?.cacheReadTokens ?? 0,
        cacheCreationTokens: o.usage?.cacheCreationTokens ?? 0,
      },
      estimated: true,
    };
  }
}

const round = (n: number | null): number | null => (n === null ? null : Math.round(n * 1000) / 1000);

function decoderFor(encoding: string): Transform | null {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return null;
  }
}
