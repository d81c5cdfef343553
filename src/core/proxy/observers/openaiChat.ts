import { isObj, len, num, parse, type Json } from './common';
import { TemplatedObserver } from './template';

/**
 * OpenAI Chat Completions, legacy Completions and Embeddings (and the many OpenAI-compatible
 * providers: OpenRouter, Groq, DeepSeek, Mistral, xAI, Together, Fireworks, LM Studio, Ollama /v1).
 */
export class OpenAIChatObserver extends TemplatedObserver {
  private readonly toolIndexes = new Set<number>();
  /** What the taught event does besides its text: the model it names, the characters it adds. */
  private templateModel: string | null = null;
  private templateChars = 0;

  onEvent(event: string, data: string): boolean {
    if (data === '[DONE]') {
      return false;
    }
    const text = this.template.match(event, data);
    if (text !== -1) {
      // The taught event with another text: what parsing it would do, without parsing it.
      if (this.templateModel !== null) {
        this.model = this.templateModel;
      }
      const chars = this.templateChars + text;
      this.outputChars += chars;
      return chars > 0;
    }
    const chunk = parse(data);
    if (!chunk) {
      return false;
    }
    const before = this.outputChars;
    const content = this.readChunk(chunk);
    this.teach(event, data, chunk, this.outputChars - before);
    return content;
  }

  /**
   * Teaches the template a chunk whose reading is its model and its characters: no usage, no
   * error, no tool call, and text in choices[0].delta.content (OpenAI's `obfuscation` may vary).
   */
  private teach(event: string, data: string, chunk: Json, chars: number): void {
    const choices = chunk.choices;
    if (isObj(chunk.usage) || isObj(chunk.error) || !Array.isArray(choices) || choices.length === 0) {
      return;
    }
    for (const c of choices) {
      if (isObj(c) && isObj(c.delta) && c.delta.tool_calls !== undefined) {
        return;
      }
    }
    const first: unknown = choices[0];
    const content = isObj(first) && isObj(first.delta) ? first.delta.content : undefined;
    if (typeof content !== 'string') {
      return;
    }
    const obfuscation = chunk.obfuscation;
    const others = typeof obfuscation === 'string' && obfuscation.length > 0 ? [{ value: obfuscation, read: obfuscationOf }] : [];
    if (this.template.learn(event, data, { value: content, read: contentOf }, ...others)) {
      this.templateModel = typeof chunk.model === 'string' ? chunk.model : null;
      this.templateChars = chars - content.length;
    }
  }

  private readChunk(chunk: Json): boolean {
    this.readCommon(chunk);
    let content = false;
    for (const choice of Array.isArray(chunk.choices) ? chunk.choices : []) {
      if (isObj(choice) && typeof choice.text === 'string') {
        this.outputChars += choice.text.length; // legacy /v1/completions
        content ||= choice.text.length > 0;
      }
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

function contentOf(o: Json): unknown {
  const first: unknown = Array.isArray(o.choices) ? o.choices[0] : undefined;
  return isObj(first) && isObj(first.delta) ? first.delta.content : undefined;
}

const obfuscationOf = (o: Json): unknown => o.obfuscation;
