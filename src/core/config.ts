import { readFileSync } from 'node:fs';
import type { RetryPolicy } from './proxy/forward';
import { defaultInjection, type InjectionSettings } from './proxy/injection';
import { ConfigError, buildProviderTable, type ProvidersSetting } from './proxy/providers';

/** The CLI's config file; `providers` has the shape of the VS Code setting `tokenmeter.providers`. */
export interface FileConfig {
  providers?: ProvidersSetting;
  defaults?: { openai: string; anthropic: string };
  injection?: InjectionSettings;
  retry?: RetryPolicy;
  summaryEvery?: number;
  retentionDays?: number;
}

/** `tokenmeter.retry.*`: a bad value is reported and falls back to its default. */
export function parseRetry(input: { maxRetries?: unknown; maxWaitMs?: unknown }): { retry: RetryPolicy; problems: string[] } {
  const problems: string[] = [];
  const int = (key: 'maxRetries' | 'maxWaitMs', max: number, fallback: number): number => {
    const v = input[key] ?? fallback;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max) {
      return v;
    }
    problems.push(`retry.${key} must be an integer from 0 to ${max}, got ${JSON.stringify(v)}; using ${fallback}.`);
    return fallback;
  };
  return { retry: { maxRetries: int('maxRetries', 10, 0), maxWaitMs: int('maxWaitMs', 600_000, 30_000) }, problems };
}

/** The injection keys, named as in the VS Code settings (`tokenmeter.<key>`). */
export interface InjectionInput {
  metricsInResponse?: unknown;
  streamingMetrics?: unknown;
  streamingMetricsIntervalMs?: unknown;
  metricsExclude?: unknown;
}

const INJECTION_KEYS = ['metricsInResponse', 'streamingMetrics', 'streamingMetricsIntervalMs', 'metricsExclude'];
const OTHER_KEYS = ['retry', 'summaryEvery', 'retentionDays'];

/** Validates each key on its own: a bad one is reported and falls back to its default. */
export function parseInjection(input: InjectionInput): { settings: InjectionSettings; problems: string[] } {
  const problems: string[] = [];
  const bool = (key: keyof InjectionInput, fallback: boolean): boolean => {
    const v = input[key];
    if (v === undefined || typeof v === 'boolean') {
      return (v as boolean | undefined) ?? fallback;
    }
    problems.push(`${key} must be true or false, got ${JSON.stringify(v)}; using ${fallback}.`);
    return fallback;
  };
  let interval = input.streamingMetricsIntervalMs ?? defaultInjection.streamingIntervalMs;
  if (typeof interval !== 'number' || !Number.isInteger(interval) || interval < 100 || interval > 60_000) {
    problems.push(`streamingMetricsIntervalMs must be an integer from 100 to 60000, got ${JSON.stringify(interval)}; using 1000.`);
    interval = defaultInjection.streamingIntervalMs;
  }
  let exclude = input.metricsExclude ?? [];
  if (!Array.isArray(exclude) || !exclude.every((e) => typeof e === 'string')) {
    problems.push(`metricsExclude must be a list of "provider:model" globs, got ${JSON.stringify(exclude)}; excluding nothing.`);
    exclude = [];
  }
  return {
    settings: {
      metricsInResponse: bool('metricsInResponse', false),
      streamingMetrics: bool('streamingMetrics', false),
      streamingIntervalMs: interval as number,
      exclude: exclude as string[],
    },
    problems,
  };
}

export function loadConfigFile(path: string): FileConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return validateConfig(parsed, path);
}

export function validateConfig(value: unknown, where: string): FileConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`${where}: expected a JSON object with "providers" and/or "defaults"`);
  }
  const { providers, defaults, ...rest } = value as Record<string, unknown>;
  const unknownKeys = Object.keys(rest).filter((k) => !INJECTION_KEYS.includes(k) && !OTHER_KEYS.includes(k));
  if (unknownKeys.length > 0) {
    throw new ConfigError(`${where}: unknown key(s) ${unknownKeys.map((k) => `"${k}"`).join(', ')}`);
  }
  if (providers !== undefined && (typeof providers !== 'object' || providers === null || Array.isArray(providers))) {
    throw new ConfigError(`${where}: "providers" must be an object of NAME → {"baseUrl", "api"}`);
  }
  const table = buildProviderTable(providers as ProvidersSetting | undefined);
  const config: FileConfig = { providers: providers as ProvidersSetting | undefined };
  const injection = parseInjection(rest as InjectionInput);
  if (injection.problems.length > 0) {
    throw new ConfigError(`${where}: ${injection.problems.join(' ')}`);
  }
  config.injection = injection.settings;
  const retryInput = rest.retry ?? {};
  if (typeof retryInput !== 'object' || retryInput === null) {
    throw new ConfigError(`${where}: "retry" must be {"maxRetries": n, "maxWaitMs": n}`);
  }
  const retry = parseRetry(retryInput);
  if (retry.problems.length > 0) {
    throw new ConfigError(`${where}: ${retry.problems.join(' ')}`);
  }
  config.retry = retry.retry;
  for (const [key, min] of [['summaryEvery', 0], ['retentionDays', 1]] as const) {
    const v = rest[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 100_000)) {
      throw new ConfigError(`${where}: ${key} must be an integer from ${min} to 100000, got ${JSON.stringify(v)}`);
    }
    config[key] = v as number | undefined;
  }
  if (defaults !== undefined) {
    const d = defaults as Record<string, unknown>;
    if (typeof d !== 'object' || d === null) {
      throw new ConfigError(`${where}: "defaults" must be {"openai": NAME, "anthropic": NAME}`);
    }
    const pick = (flavour: 'openai' | 'anthropic'): string => {
      const name = d[flavour] === undefined ? flavour : String(d[flavour]).toLowerCase();
      if (!table.has(name)) {
        throw new ConfigError(`${where}: defaults.${flavour} names unknown provider "${name}"`);
      }
      return name;
    };
    config.defaults = { openai: pick('openai'), anthropic: pick('anthropic') };
  }
  return config;
}
