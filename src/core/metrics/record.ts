/**
 * The request record: one per request that went through the proxy, with the metric definitions of
 * design.md ("Metric definitions"). A value that cannot be known is `null`, never 0.
 */

export type ApiFlavour = 'openai' | 'anthropic' | 'gemini' | 'ollama';

export type ErrorCategory =
  | 'auth'
  | 'rate_limit'
  | 'overloaded'
  | 'bad_request'
  | 'not_found'
  | 'timeout'
  | 'upstream_5xx'
  | 'network'
  | 'client_disconnect'
  | 'cancelled'
  | 'stream_error'
  | 'proxy_error'
  | 'unknown';

export interface TokenUsage {
  /** Input tokens that were neither read from nor written to the cache. */
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
}

export interface RequestRecord {
  id: string;
  provider: string;
  model: string;
  streaming: boolean;
  /** Upstream HTTP status, or null when no response head arrived. */
  status: number | null;
  errorCategory: ErrorCategory | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cacheReadTokens: number | null;
  cacheCreationTokens: number | null;
  /** True when the tokens were estimated from the text because the provider sent no usage. */
  estimated: boolean;
  ttfbMs: number | null;
  ttftMs: number | null;
  durationMs: number | null;
  outputTokensPerSecond: number | null;
  promptTokensPerSecond: number | null;
  tokensPerSecond: number | null;
  throttleWaitTimeMs: number;
  toolUses: number;
  toolResults: number;
  toolCalls: number;
  /** ISO 8601 wall-clock time at which the request was sent upstream. */
  startedAt: string;
}

/** Monotonic timings of one exchange, all in ms relative to t0 (request sent upstream). */
export interface Timings {
  ttfbMs: number | null;
  firstContentMs: number | null;
  lastContentMs: number | null;
  /** Number of content-bearing events seen (1 for a non-streaming body with content). */
  contentEvents: number;
  durationMs: number | null;
}

const round = (n: number): number => Math.round(n * 1000) / 1000;

/**
 * Generation speed: output tokens over the span from the first to the last content event.
 * design.md says to divide by (durationMs − ttfbMs) when there is no such span (non-streaming or a
 * single event), but a non-streaming model generates *before* its first byte, so that span is only
 * the body's transfer time and gives absurd speeds; the whole duration is the honest lower bound.
 */
export function outputTokensPerSecond(outputTokens: number | null, t: Timings): number | null {
  if (outputTokens === null) {
    return null;
  }
  let spanMs: number | null = null;
  if (t.contentEvents > 1 && t.firstContentMs !== null && t.lastContentMs !== null) {
    spanMs = t.lastContentMs - t.firstContentMs;
  }
  if (spanMs === null || spanMs <= 0) {
    spanMs = t.durationMs;
  }
  if (spanMs === null || spanMs <= 0) {
    return null;
  }
  return round(outputTokens / (spanMs / 1000));
}

/** Prefill speed: all input tokens (cache included) over the time to first token. */
export function promptTokensPerSecond(usage: TokenUsage | null, ttftMs: number | null): number | null {
  if (usage === null || ttftMs === null || ttftMs <= 0) {
    return null;
  }
  const input = usage.inputTokens + usage.cacheReadTokens + usage.cacheCreationTokens;
  return round(input / (ttftMs / 1000));
}

/** Seed 000 definition: (in + out) / duration; 0 when the duration is 0. */
export function tokensPerSecond(tokensIn: number, tokensOut: number, durationMs: number): number {
  return durationMs === 0 ? 0 : (tokensIn + tokensOut) / (durationMs / 1000);
}
