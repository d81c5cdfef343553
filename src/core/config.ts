import { readFileSync } from 'node:fs';
import { ConfigError, buildProviderTable, type ProvidersSetting } from './proxy/providers';

/** The CLI's config file; `providers` has the shape of the VS Code setting `tokenmeter.providers`. */
export interface FileConfig {
  providers?: ProvidersSetting;
  defaults?: { openai: string; anthropic: string };
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
  const unknownKeys = Object.keys(rest);
  if (unknownKeys.length > 0) {
    throw new ConfigError(`${where}: unknown key(s) ${unknownKeys.map((k) => `"${k}"`).join(', ')}`);
  }
  if (providers !== undefined && (typeof providers !== 'object' || providers === null || Array.isArray(providers))) {
    throw new ConfigError(`${where}: "providers" must be an object of NAME → {"baseUrl", "api"}`);
  }
  const table = buildProviderTable(providers as ProvidersSetting | undefined);
  const config: FileConfig = { providers: providers as ProvidersSetting | undefined };
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
