import type { ErrorCategory } from '../../metrics/record';
import { isObj, len, num, parse, type Json } from './common';
import { TemplatedObserver, type Hole } from './template';

const failureCategory: Record<string, ErrorCategory> = {
  rate_limit_exceeded: 'rate_limit',
  server_error: 'upstream_5xx',
  server_is_overloaded: 'overloaded',
};

/** A tool call is an output item whose type ends in `_call` (function_call, custom_tool_call, …). */
const isToolCall = (item: unknown): boolean => isObj(item) && typeof item.type === 'string' && item.type.endsWith('_call');

/**
 * The OpenAI Responses API (the only API Codex speaks). Streams are typed SSE events ending in
 * `response.completed` | `response.incomplete` | `response.failed`, which carry the usage.
 */
export class ResponsesObserver extends TemplatedObserver {
  /** Whether the taught delta counts as content even when empty (function-call arguments). */
  private templateAlways = false;

  onEvent(event: string, data: string): boolean {
    const text = this.template.match(event, data);
    if (text !== -1) {
      this.outputChars += text; // the taught delta with another text and sequence number
      return text > 0 || this.templateAlways;
    }
    const o = parse(data);
    if (!o) {
      return false;
    }
    const type = typeof o.type === 'string' ? o.type : event;
    if (type.endsWith('.delta')) {
      // output_text, function_call_arguments, reasoning_summary_text, reasoning_text, refusal, …
      const chars = len(o.delta);
      this.outputChars += chars;
      const always = type === 'response.function_call_arguments.delta';
      if (typeof o.delta === 'string') {
        // Each delta has the next sequence number and (from OpenAI) a random obfuscation string.
        const others: Hole[] = [];
        if (typeof o.sequence_number === 'number') {
          others.push({ value: o.sequence_number, key: 'sequence_number', read: (e) => e.sequence_number });
        }
        if (typeof o.obfuscation === 'string' && o.obfuscation.length > 0) {
          others.push({ value: o.obfuscation, read: (e) => e.obfuscation });
        }
        if (this.template.learn(event, data, { value: o.delta, read: (e) => e.delta }, ...others)) {
          this.templateAlways = always;
        }
      }
      return chars > 0 || always;
    }
    switch (type) {
      case 'response.created':
      case 'response.in_progress':
        this.readResponse(o.response, false);
        return false;
      case 'response.output_item.added':
        if (isToolCall(o.item)) {
          this.toolCalls++;
        }
        return false;
      case 'response.completed':
      case 'response.incomplete':
        this.readResponse(o.response, false);
        return false;
      case 'response.failed': {
        this.readResponse(o.response, false);
        const err = isObj(o.response) && isObj(o.response.error) ? String(o.response.error.code) : '';
        this.streamError = failureCategory[err] ?? 'stream_error';
        return false;
      }
      case 'error':
        this.streamError = failureCategory[String(o.code)] ?? 'stream_error';
        return false;
      default:
        return false;
    }
  }

  onJson(body: unknown): boolean {
    this.readResponse(body, true);
    return this.outputChars > 0 || this.toolCalls > 0;
  }

  private readResponse(r: unknown, complete: boolean): void {
    if (!isObj(r)) {
      return;
    }
    if (typeof r.model === 'string') {
      this.model = r.model;
    }
    if (isObj(r.usage)) {
      this.readUsage(r.usage);
    }
    if (complete && Array.isArray(r.output)) {
      for (const item of r.output) {
        if (!isObj(item)) {
          continue;
        }
        if (isToolCall(item)) {
          this.toolCalls++;
          this.outputChars += len(item.arguments) + len(item.input);
        }
        for (const part of Array.isArray(item.content) ? item.content : []) {
          this.outputChars += isObj(part) ? len(part.text) + len(part.refusal) : 0;
        }
        for (const part of Array.isArray(item.summary) ? item.summary : []) {
          this.outputChars += isObj(part) ? len(part.text) : 0;
        }
      }
    }
  }

  private readUsage(u: Json): void {
    // input_tokens includes the cached ones, as in Chat Completions.
    const cached = isObj(u.input_tokens_details) ? num(u.input_tokens_details.cached_tokens) : 0;
    this.usage = {
      inputTokens: Math.max(0, num(u.input_tokens) - cached),
      outputTokens: num(u.output_tokens),
      cacheReadTokens: cached,
      cacheCreationTokens: 0,
    };
    this.liveOutputTokens = this.usage.outputTokens;
    this.usageFinal = true;
  }
}
