import { BaseObserver, isObj, len, num, parse, type Json } from './common';

/**
 * Gemini generateContent / streamGenerateContent (`?alt=sse` for SSE; without it the stream is one
 * JSON array, read whole at the end). `usageMetadata` is cumulative in each chunk: the latest wins.
 */
export class GeminiObserver extends BaseObserver {
  onEvent(_event: string, data: string): boolean {
    const o = parse(data);
    return o ? this.readChunk(o, false) : false;
  }

  onJson(body: unknown): boolean {
    let content = false;
    for (const chunk of Array.isArray(body) ? body : [body]) {
      if (isObj(chunk)) {
        content = this.readChunk(chunk, true) || content;
      }
    }
    return content;
  }

  private readChunk(o: Json, complete: boolean): boolean {
    if (typeof o.modelVersion === 'string') {
      this.model = o.modelVersion;
    }
    if (isObj(o.error)) {
      this.streamError = num(o.error.code) === 429 ? 'rate_limit' : 'stream_error';
    }
    let content = false;
    let finished = complete;
    for (const cand of Array.isArray(o.candidates) ? o.candidates : []) {
      if (!isObj(cand)) {
        continue;
      }
      finished ||= typeof cand.finishReason === 'string';
      const parts = isObj(cand.content) && Array.isArray(cand.content.parts) ? cand.content.parts : [];
      for (const part of parts) {
        if (!isObj(part)) {
          continue;
        }
        const chars = len(part.text);
        this.outputChars += chars;
        content ||= chars > 0;
        if (isObj(part.functionCall)) {
          this.toolCalls++;
          this.outputChars += JSON.stringify(part.functionCall.args ?? {}).length;
          content = true;
        }
      }
    }
    if (isObj(o.usageMetadata)) {
      const u = o.usageMetadata;
      // promptTokenCount includes the cached tokens; thoughts are billed as output.
      const cached = num(u.cachedContentTokenCount);
      this.usage = {
        inputTokens: Math.max(0, num(u.promptTokenCount) - cached),
        outputTokens: num(u.candidatesTokenCount) + num(u.thoughtsTokenCount),
        cacheReadTokens: cached,
        cacheCreationTokens: 0,
      };
      this.liveOutputTokens = this.usage.outputTokens;
      this.usageFinal ||= finished;
    }
    return content;
  }
}
