import * as vscode from 'vscode';
import { parseInjection, parseRetry } from '../core/config';
import type { RetryPolicy } from '../core/proxy/forward';
import type { InjectionSettings } from '../core/proxy/injection';
import { buildProviderTable, type ProvidersSetting } from '../core/proxy/providers';

export interface TokenmeterConfig {
  port: number;
  providers: ProvidersSetting | undefined;
  injection: InjectionSettings;
  retry: RetryPolicy;
}

export const DEFAULT_PORT = 8383;

/**
 * Reads `tokenmeter.*` through one typed getter. An invalid value is reported (with the reason)
 * and its default used, so a typo in settings.json never stops the proxy.
 */
export function readConfig(): { config: TokenmeterConfig; problems: string[] } {
  const c = vscode.workspace.getConfiguration('tokenmeter');
  const problems: string[] = [];

  let port = c.get<unknown>('proxy.port', DEFAULT_PORT);
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    problems.push(`tokenmeter.proxy.port must be an integer from 0 to 65535, got ${JSON.stringify(port)}; using ${DEFAULT_PORT}.`);
    port = DEFAULT_PORT;
  }

  let providers = c.get<unknown>('providers', {}) as ProvidersSetting | undefined;
  try {
    if (typeof providers !== 'object' || providers === null || Array.isArray(providers)) {
      throw new Error(`expected an object of NAME → {"baseUrl", "api"}, got ${JSON.stringify(providers)}`);
    }
    buildProviderTable(providers);
  } catch (err) {
    problems.push(`tokenmeter.providers is invalid: ${(err as Error).message}. Using the built-in providers.`);
    providers = undefined;
  }
  const injection = parseInjection({
    metricsInResponse: c.get('metricsInResponse'),
    streamingMetrics: c.get('streamingMetrics'),
    streamingMetricsIntervalMs: c.get('streamingMetricsIntervalMs'),
    metricsExclude: c.get('metricsExclude'),
  });
  problems.push(...injection.problems.map((p) => `tokenmeter.${p}`));
  const retry = parseRetry({ maxRetries: c.get('retry.maxRetries'), maxWaitMs: c.get('retry.maxWaitMs') });
  problems.push(...retry.problems.map((p) => `tokenmeter.${p}`));
  return { config: { port: port as number, providers, injection: injection.settings, retry: retry.retry }, problems };
}
