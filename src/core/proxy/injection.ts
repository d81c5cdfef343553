import type { IncomingHttpHeaders } from 'node:http';
import { compileGlob, type NameMatcher } from '../metrics/glob';
import type { RequestRecord } from '../metrics/record';

/**
 * Performance metrics written into responses (the ConduitLLM specification), off by default.
 * Non-streaming JSON gets a `performance_metrics` object; SSE streams get `event: metrics` on a
 * timer and `event: metrics-final` at the end. A value that cannot be known is left out, never 0.
 */
export interface InjectionSettings {
  metricsInResponse: boolean;
  streamingMetrics: boolean;
  streamingIntervalMs: number;
  /** `provider:model` globs (case-insensitive) that never get metrics, e.g. `anthropic:*`. */
  exclude: string[];
}

export const defaultInjection: InjectionSettings = { metricsInResponse: false, streamingMetrics: false, streamingIntervalMs: 1000, exclude: [] };

export interface InjectionDecision {
  json: boolean;
  sse: boolean;
}

export class InjectionPolicy {
  private excluded: { provider: NameMatcher; model: NameMatcher }[] = [];

  constructor(private settings: InjectionSettings = defaultInjection) {
    this.update(settings);
  }

  get intervalMs(): number {
    return this.settings.streamingIntervalMs;
  }

  update(settings: InjectionSettings): void {
    this.settings = settings;
    this.excluded = settings.exclude.map((rule) => {
      const colon = rule.indexOf(':');
      return colon === -1
        ? { provider: compileGlob(rule), model: compileGlob('*') }
        : { provider: compileGlob(rule.slice(0, colon)), model: compileGlob(rule.slice(colon + 1)) };
    });
  }

  /** The `x-tokenmeter-metrics: 1|0` request header overrides settings and exclusions. */
  decide(provider: string, model: string, headers: IncomingHttpHeaders): InjectionDecision {
    const header = headers['x-tokenmeter-metrics'];
    if (header === '1' || header === 'true') {
      return { json: true, sse: true };
    }
    if (header === '0' || header === 'false') {
      return { json: false, sse: false };
    }
    const s = this.settings;
    if ((!s.metricsInResponse && !s.streamingMetrics) || this.excluded.some((e) => e.provider(provider) && e.model(model))) {
      return { json: false, sse: false };
    }
    return { json: s.metricsInResponse, sse: s.streamingMetrics };
  }
}

const r3 = (n: number): number => Math.round(n * 1000) / 1000;

function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));
}

/** The `performance_metrics` object of a finished exchange, snake_case. */
export function performanceMetrics(r: RequestRecord, firstContentMs: number | null, lastContentMs: number | null): Record<string, unknown> {
  const spanTokens = (r.outputTokens ?? 0) - 1;
  const interToken =
    r.streaming && firstContentMs !== null && lastContentMs !== null && spanTokens > 0 ? r3((lastContentMs - firstContentMs) / spanTokens) : null;
  return defined({
    total_latency_ms: r.durationMs,
    time_to_first_token_ms: r.ttftMs,
    tokens_per_second: r.tokensPerSecond,
    prompt_tokens_per_second: r.promptTokensPerSecond,
    completion_tokens_per_second: r.outputTokensPerSecond,
    avg_inter_token_latency_ms: interToken,
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
    cache_read_tokens: r.cacheReadTokens,
    cache_creation_tokens: r.cacheCreationTokens,
    estimated: r.outputTokens === null ? null : r.estimated,
    provider: r.provider,
    model: r.model,
    streaming: r.streaming,
  });
}

/** `Server-Timing` (W3C): what the proxy knows when it writes the head. */
export function serverTiming(parts: Record<string, number | null>): string {
  return Object.entries(parts)
    .filter((e): e is [string, number] => e[1] !== null)
    .map(([name, dur]) => `${name};dur=${r3(dur)}`)
    .join(', ');
}

/**
 * An SSE event for the client, named `metrics` / `metrics-final`. SDKs yield every named event
 * as a chunk, so its data must look harmless to them: an empty `choices` for openai's chat stream
 * helper, an unknown `type` for Anthropic's accumulator, and for the Responses API — whose
 * accumulator throws on any type it does not know — the no-op `keepalive` type OpenAI itself sends.
 */
export function metricsEvent(name: 'metrics' | 'metrics-final', data: Record<string, unknown>, responsesApi = false): Buffer {
  const type = responsesApi ? 'keepalive' : `tokenmeter.${name}`;
  return Buffer.from(`event: ${name}\ndata: ${JSON.stringify({ type, object: `tokenmeter.${name}`, choices: [], ...data })}\n\n`);
}

/** Tracks whether the bytes written so far end between two SSE events. */
export class EventBoundary {
  private tail = '\n\n';

  update(chunk: Buffer): void {
    if (chunk.length === 0) {
      return;
    }
    this.tail = (this.tail + chunk.subarray(Math.max(0, chunk.length - 4)).toString('latin1')).slice(-4);
  }

  get atBoundary(): boolean {
    return this.tail.endsWith('\n\n') || this.tail.endsWith('\r\n\r\n') || this.tail.endsWith('\r\r');
  }
}
