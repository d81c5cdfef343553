import type { ApiFlavour, ErrorCategory, TokenUsage } from '../metrics/record';

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

export function createObserver(api: ApiFlavour): ResponseObserver {
  return api === 'anthropic' ? new AnthropicObserver() : new OpenAIObserver();
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
const len = (v: unknown): number => (typeof v === 'string' ? v.length : 0);

function parse(data: string): Json | null {
  try {
    const v: unknown = JSON.parse(data);
    return isObj(v) ? v : null;
  } catch {
    return null; // malformed events are relayed untouched; they just tell us nothing
  }
}

abstract class BaseObserver implements ResponseObserver {
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

/** OpenAI Chat Completions (and the many OpenAI-compatible providers). */
class OpenAIObserver extends BaseObserver {
  private readonly toolIndexes = new Set<number>();

  onEvent(_event: string, data: string): boolean {
    if (data === '[DONE]') {
      return false;
    }
    const chunk = parse(data);
    if (!chunk) {
      return false;
    }
    this.readCommon(chunk);
    let content = false;
    for (const choice of Array.isArray(chunk.choices) ? chunk.choices : []) {
      const delta = isObj(choice) ? choice.delta : undefined;
      if (!isObj(delta)) {
        continue;
      }
      const chars = len(delta.content) + len(delta.reasoning_content) + len(delta.reasoning) + len(delta.refusal);
      this.outputChars += chars;
      content ||= chars > 0;
      if (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0) {
        content = true;
        for (const call of delta.tool_calls) {
          if (!isObj(call)) {
            continue;
          }
          // A call's first delta carries its index (and id); later deltas only add arguments.
          const index = typeof call.index === 'number' ? call.index : this.toolIndexes.size;
          this.toolIndexes.add(index);
          this.outputChars += isObj(call.function) ? len(call.function.arguments) + len(call.function.name) : 0;
        }
        this.toolCalls = this.toolIndexes.size;
      }
    }
    return content;
  }

  onJson(body: unknown): boolean {
    if (!isObj(body)) {
      return false;
    }
    this.readCommon(body);
    for (const choice of Array.isArray(body.choices) ? body.choices : []) {
      const message = isObj(choice) ? choice.message : undefined;
      if (isObj(message)) {
        this.outputChars += len(message.content) + len(message.reasoning_content) + len(message.refusal);
        this.toolCalls += Array.isArray(message.tool_calls) ? message.tool_calls.length : 0;
      } else if (isObj(choice)) {
        this.outputChars += len(choice.text); // legacy completions
      }
    }
    return this.outputChars > 0 || this.toolCalls > 0;
  }

  private readCommon(o: Json): void {
    if (typeof o.model === 'string') {
      this.model = o.model;
    }
    if (isObj(o.usage)) {
      // prompt_tokens includes the cached ones; report them apart.
      const cached = isObj(o.usage.prompt_tokens_details) ? num(o.usage.prompt_tokens_details.cached_tokens) : 0;
      const prompt = num(o.usage.prompt_tokens);
      this.usage = {
        inputTokens: Math.max(0, prompt - cached),
        outputTokens: num(o.usage.completion_tokens),
        cacheReadTokens: cached,
        cacheCreationTokens: 0,
      };
      this.liveOutputTokens = this.usage.outputTokens;
      this.usageFinal = true;
    }
    if (isObj(o.error)) {
      this.streamError = 'stream_error';
    }
  }
}

const anthropicErrorCategory: Record<string, ErrorCategory> = {
  overloaded_error: 'overloaded',
  rate_limit_error: 'rate_limit',
  api_error: 'upstream_5xx',
  authentication_error: 'auth',
  permission_error: 'auth',
  invalid_request_error: 'bad_request',
  not_found_error: 'not_found',
  request_too_large: 'bad_request',
};

/** Anthropic Messages. */
class AnthropicObserver extends BaseObserver {
  onEvent(event: string, data: string): boolean {
    const o = parse(data);
    if (!o) {
      return false;
    }
    const type = typeof o.type === 'string' ? o.type : event;
    switch (type) {
      case 'message_start':
        if (isObj(o.message)) {
          this.readMessage(o.message, false);
        }
        return false;
      case 'content_block_start':
        if (isObj(o.content_block) && /tool_use$/.test(String(o.content_block.type))) {
          this.toolCalls++;
        }
        return false;
      case 'content_block_delta': {
        const d = isObj(o.delta) ? o.delta : {};
        this.outputChars += len(d.text) + len(d.partial_json) + len(d.thinking);
        return true;
      }
      case 'message_delta':
        // message_delta usage is cumulative: take the latest, never add them up.
        if (isObj(o.usage)) {
          this.mergeUsage(o.usage);
          this.usageFinal = true;
        }
        return false;
      case 'error': {
        const e = isObj(o.error) ? String(o.error.type) : '';
        this.streamError = anthropicErrorCategory[e] ?? 'stream_error';
        return false;
      }
      default:
        return false;
    }
  }

  onJson(body: unknown): boolean {
    if (!isObj(body)) {
      return false;
    }
    this.readMessage(body, true);
    this.usageFinal = this.usage !== null;
    return this.outputChars > 0 || this.toolCalls > 0;
  }

  private readMessage(m: Json, complete: boolean): void {
    if (typeof m.model === 'string') {
      this.model = m.model;
    }
    if (isObj(m.usage)) {
      this.mergeUsage(m.usage);
    }
    if (complete && Array.isArray(m.content)) {
      for (const block of m.content) {
        if (!isObj(block)) {
          continue;
        }
        this.outputChars += len(block.text) + len(block.thinking);
        if (/tool_use$/.test(String(block.type))) {
          this.toolCalls++;
          this.outputChars += JSON.stringify(block.input ?? '').length;
        }
      }
    }
  }

  private mergeUsage(u: Json): void {
    const prev = this.usage;
    const pick = (key: string, fallback: number): number => (typeof u[key] === 'number' ? num(u[key]) : fallback);
    this.usage = {
      inputTokens: pick('input_tokens', prev?.inputTokens ?? 0),
      outputTokens: pick('output_tokens', prev?.outputTokens ?? 0),
      cacheReadTokens: pick('cache_read_input_tokens', prev?.cacheReadTokens ?? 0),
      cacheCreationTokens: pick('cache_creation_input_tokens', prev?.cacheCreationTokens ?? 0),
    };
    this.liveOutputTokens = this.usage.outputTokens;
  }
}
