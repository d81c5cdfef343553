import type { ApiFlavour } from '../metrics/record';

export interface ProviderConfig {
  name: string;
  /** Base URL the request path is appended to (no trailing slash). */
  baseUrl: string;
  api: ApiFlavour;
  /**
   * Whether the proxy may add `stream_options.include_usage` to chat streams whose client did not
   * ask (and hide the extra chunk). Off for servers that reject unknown options.
   */
  streamUsage?: boolean;
}

/** User-facing shape, shared by the VS Code setting `tokenmeter.providers` and the CLI config. */
export interface ProvidersSetting {
  [name: string]: { baseUrl: string; api?: ApiFlavour; streamUsage?: boolean };
}

/** Base URLs are what the provider's own paths (`/v1/chat/completions`, …) are appended to. */
export const builtInProviders: readonly ProviderConfig[] = [
  { name: 'openai', baseUrl: 'https://api.openai.com', api: 'openai' },
  { name: 'anthropic', baseUrl: 'https://api.anthropic.com', api: 'anthropic' },
  { name: 'openrouter', baseUrl: 'https://openrouter.ai/api', api: 'openai' },
  { name: 'gemini', baseUrl: 'https://generativelanguage.googleapis.com', api: 'gemini' },
  { name: 'groq', baseUrl: 'https://api.groq.com/openai', api: 'openai' },
  { name: 'deepseek', baseUrl: 'https://api.deepseek.com', api: 'openai' },
  { name: 'mistral', baseUrl: 'https://api.mistral.ai', api: 'openai' },
  { name: 'xai', baseUrl: 'https://api.x.ai', api: 'openai' },
  { name: 'together', baseUrl: 'https://api.together.xyz', api: 'openai' },
  { name: 'fireworks', baseUrl: 'https://api.fireworks.ai/inference', api: 'openai' },
  { name: 'ollama', baseUrl: 'http://127.0.0.1:11434', api: 'ollama' },
  { name: 'lmstudio', baseUrl: 'http://127.0.0.1:1234', api: 'openai' },
];

const FLAVOURS: ReadonlySet<string> = new Set<ApiFlavour>(['openai', 'anthropic', 'gemini', 'ollama']);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const NAME = /^[a-z0-9][a-z0-9_.-]*$/i;

/** Built-ins overridden or extended by the user's entries; invalid entries throw with the reason. */
export function buildProviderTable(setting: ProvidersSetting | undefined): Map<string, ProviderConfig> {
  const table = new Map(builtInProviders.map((p) => [p.name, p]));
  for (const [rawName, entry] of Object.entries(setting ?? {})) {
    const name = rawName.toLowerCase();
    if (!NAME.test(name) || name.startsWith('_')) {
      throw new ConfigError(`provider name "${rawName}" must be letters, digits, '.', '_' or '-'`);
    }
    if (typeof entry !== 'object' || entry === null || typeof entry.baseUrl !== 'string') {
      throw new ConfigError(`provider "${rawName}" needs a "baseUrl" string`);
    }
    let url: URL;
    try {
      url = new URL(entry.baseUrl);
    } catch {
      throw new ConfigError(`provider "${rawName}": baseUrl "${entry.baseUrl}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError(`provider "${rawName}": baseUrl must be http or https, got ${url.protocol}`);
    }
    const api = entry.api ?? table.get(name)?.api ?? 'openai';
    if (!FLAVOURS.has(api)) {
      throw new ConfigError(`provider "${rawName}": api must be one of ${[...FLAVOURS].join(', ')}, got "${String(api)}"`);
    }
    if (entry.streamUsage !== undefined && typeof entry.streamUsage !== 'boolean') {
      throw new ConfigError(`provider "${rawName}": streamUsage must be true or false`);
    }
    table.set(name, { name, baseUrl: url.href.replace(/\/+$/, ''), api, streamUsage: entry.streamUsage ?? table.get(name)?.streamUsage });
  }
  return table;
}

export interface Route {
  provider: ProviderConfig;
  /** Path and query to append to the provider's base URL. */
  upstreamPath: string;
}

const ANTHROPIC_UNPREFIXED = /^\/v1\/messages(\/|\?|$)/;
const OPENAI_UNPREFIXED = /^\/v1\/(chat\/completions|responses|completions|embeddings|models)(\/|\?|$)/;

/**
 * `/{provider}/{rest}` → that provider; unprefixed `/v1/messages…` → the Anthropic default and the
 * usual OpenAI paths → the OpenAI default, so `ANTHROPIC_BASE_URL=http://127.0.0.1:PORT` just works.
 */
export function resolveRoute(
  table: ReadonlyMap<string, ProviderConfig>,
  pathAndQuery: string,
  defaults: { openai: string; anthropic: string } = { openai: 'openai', anthropic: 'anthropic' },
): Route | null {
  if (ANTHROPIC_UNPREFIXED.test(pathAndQuery)) {
    const provider = table.get(defaults.anthropic);
    return provider ? { provider, upstreamPath: pathAndQuery } : null;
  }
  if (OPENAI_UNPREFIXED.test(pathAndQuery)) {
    const provider = table.get(defaults.openai);
    return provider ? { provider, upstreamPath: pathAndQuery } : null;
  }
  const m = /^\/([^/?]+)(.*)$/.exec(pathAndQuery);
  if (!m) {
    return null;
  }
  const provider = table.get(m[1].toLowerCase());
  if (!provider) {
    return null;
  }
  const rest = m[2] === '' ? '/' : m[2].startsWith('?') ? `/${m[2]}` : m[2];
  return { provider, upstreamPath: rest };
}
