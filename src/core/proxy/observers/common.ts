import type { ErrorCategory, TokenUsage } from '../../metrics/record';

/**
 * Reads one response of one API: usage (normalised so inputTokens excludes cache, as design.md
 * says), content events for TTFT and speed, tool calls, and errors sent inside a stream.
 */
export interface ResponseObserver {
  /** One SSE event; returns true when it carries content (text, reasoning or a tool call). */
  onEvent(event: string, data: string): boolean;
  /** A whole non-streaming JSON body; returns true when it carries content. */
  onJson(body: unknown): boolean;
  usage: TokenUsage | null;
  /**
   * True once the usage is the provider's final count. Anthropic sends input usage at the start
   * and the output count only at the end, so a stream cut in between has usage that is not final.
   */
  usageFinal: boolean;
  /** Characters of generated text, for estimates when usage never arrives. */
  outputChars: number;
  toolCalls: number;
  /** Output tokens so far as the provider counted them, when it says mid-stream. */
  liveOutputTokens: number | null;
  streamError: ErrorCategory | null;
  /** The model the provider says answered, if any. */
  model: string | null;
}



export type Json = Record<string, unknown>;
export const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
export const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
export const len = (v: unknown): number => (typeof v === 'string' ? v.length : 0);

export function parse(data: string): Json | null {
  try {
    const v: unknown = JSON.parse(data);
    return isObj(v) ? v : null;
  } catch {
    return null; // malformed events are relayed untouched; they just tell us nothing
  }
}


export abstract class BaseObserver implements ResponseObserver {
  usage: TokenUsage | null = null;
  usageFinal = false;
  outputChars = 0;
  toolCalls = 0;
  liveOutputTokens: number | null = null;
  streamError: ErrorCategory | null = null;
  model: string | null = null;
  abstract onEvent(event: string, data: string): boolean;
  abstract onJson(body: unknown): boolean;
}

