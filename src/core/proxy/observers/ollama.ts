import { BaseObserver, isObj, len, num, parse, type Json } from './common';

/**
 * Ollama's native /api/chat and /api/generate: NDJSON lines (streaming is the default) whose last
 * object (`done: true`) carries `prompt_eval_count` and `eval_count`.
 */
export class OllamaObserver extends BaseObserver {
  onEvent(_event: string, line: string): boolean {
    const o = parse(line);
    return o ? this.read(o) : false;
  }

  onJson(body: unknown): boolean {
    return isObj(body) ? this.read(body) : false;
  }

  private read(o: Json): boolean {
    if (typeof o.model === 'string') {
      this.model = o.model;
    }
    if (typeof o.error === 'string') {
      this.streamError = 'stream_error';
    }
    const m = isObj(o.message) ? o.message : {};
    const chars = len(m.content) + len(m.thinking) + len(o.response) + len(o.thinking);
    this.outputChars += chars;
    let content = chars > 0;
    if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
      this.toolCalls += m.tool_calls.length;
      content = true;
    }
    // A final object without counts (some servers omit them) leaves the usage unknown.
    if (o.done === true && typeof o.eval_count === 'number') {
      this.usage = {
        inputTokens: num(o.prompt_eval_count),
        outputTokens: num(o.eval_count),
        cacheReadTokens: 0,
        cacheCreationTokens: 0,
      };
      this.liveOutputTokens = this.usage.outputTokens;
      this.usageFinal = true;
    }
    return content;
  }
}
