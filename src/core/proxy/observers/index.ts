import type { ApiFlavour } from '../../metrics/record';
import { AnthropicObserver } from './anthropic';
import type { ResponseObserver } from './common';
import { GeminiObserver } from './gemini';
import { OllamaObserver } from './ollama';
import { OpenAIChatObserver } from './openaiChat';
import { ResponsesObserver } from './responses';

export type { ResponseObserver } from './common';

/**
 * The path says which API a request speaks (OpenAI-compatible servers such as Ollama and Gemini
 * also serve /v1/chat/completions); the provider's flavour decides only when the path does not.
 */
export function createObserver(api: ApiFlavour, path: string): ResponseObserver {
  const p = path.split('?', 1)[0];
  if (/\/responses(\/|$)/.test(p)) {
    return new ResponsesObserver();
  }
  if (/\/(chat\/)?completions$|\/embeddings$/.test(p)) {
    return new OpenAIChatObserver();
  }
  if (/\/messages$/.test(p)) {
    return new AnthropicObserver();
  }
  if (/:(stream)?generateContent$/i.test(p)) {
    return new GeminiObserver();
  }
  if (/\/api\/(chat|generate)$/.test(p)) {
    return new OllamaObserver();
  }
  switch (api) {
    case 'anthropic':
      return new AnthropicObserver();
    case 'gemini':
      return new GeminiObserver();
    case 'ollama':
      return new OllamaObserver();
    default:
      return new OpenAIChatObserver();
  }
}

/** Gemini puts the model in the path: /v1beta/models/{model}:generateContent. */
export function modelFromPath(path: string): string | null {
  const m = /\/models\/([^/:?]+):/.exec(path);
  if (!m) {
    return null;
  }
  try {
    return decodeURIComponent(m[1]);
  } catch {
    // A malformed escape from any client must not throw on the request path: it would take the
    // whole proxy down (an uncaught exception in the CLI). The model is named as sent.
    return m[1];
  }
}
