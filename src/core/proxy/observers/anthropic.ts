import type { ErrorCategory } from '../../metrics/record';
import { isObj, len, num, parse, type Json } from './common';
import { TemplatedObserver } from './template';

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
export class AnthropicObserver extends TemplatedObserver {
  /** Characters the taught content_block_delta adds besides its text. */
  private templateChars = 0;

  onEvent(event: string, data: string): boolean {
    const text = this.template.match(event, data);
    if (text !== -1) {
      this.outputChars += this.templateChars + text; // the taught delta with another text
      return true;
    }
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
        const chars = len(d.text) + len(d.partial_json) + len(d.thinking);
        this.outputChars += chars;
        // Its reading is only its characters: the template can read the next ones.
        const key = typeof d.text === 'string' ? 'text' : typeof d.thinking === 'string' ? 'thinking' : null;
        if (key !== null && this.template.learn(event, data, { value: d[key] as string, read: key === 'text' ? deltaText : deltaThinking })) {
          this.templateChars = chars - (d[key] as string).length;
        }
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

const deltaText = (o: Json): unknown => (isObj(o.delta) ? o.delta.text : undefined);
const deltaThinking = (o: Json): unknown => (isObj(o.delta) ? o.delta.thinking : undefined);
