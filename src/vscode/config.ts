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
  statusBar: StatusBarConfig;
  routeTerminals: boolean;
  historyRetentionDays: number;
}

/** What the status bar item may show, in this order. */
export const STATUS_BAR_FIELDS = ['tokensPerSecond', 'ttft', 'sessionTokens'] as const;
export type StatusBarField = (typeof STATUS_BAR_FIELDS)[number];

export interface StatusBarConfig {
  enabled: boolean;
  show: StatusBarField[];
}

export const DEFAULT_PORT = 8383;
export const DEFAULT_STATUS_BAR: StatusBarConfig = { enabled: true, show: ['tokensPerSecond'] };
export const DEFAULT_RETENTION_DAYS = 30;

/**
 * Reads `tokenmeter.*` through one typed getter. An invalid value is reported (with the reason)
 * and its default used, so a typo in settings.json never stops the proxy.
 */
export function readConfig(): { config: TokenmeterConfig; problems: string[] } {
  const c = vscode.workspace.getConfiguration('tokenmeter');
  return parseConfig((key) => c.get<unknown>(key));
}

/** The validation of readConfig over any source of values (`key` without the `tokenmeter.`). */
export function parseConfig(get: (key: string) => unknown): { config: TokenmeterConfig; problems: string[] } {
  const c = { get: <T>(key: string, fallback?: T): T => (get(key) ?? fallback) as T };
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
  const ui = parseUiSettings({
    enabled: c.get('statusBar.enabled'),
    show: c.get('statusBar.show'),
    routeTerminals: c.get('routeTerminals'),
    retentionDays: c.get('history.retentionDays'),
  });
  problems.push(...ui.problems);
  return { config: { port: port as number, providers, injection: injection.settings, retry: retry.retry, ...ui.settings }, problems };
}

/** The status bar, terminal and history settings; each bad value falls back on its own. */
export function parseUiSettings(input: { enabled: unknown; show: unknown; routeTerminals: unknown; retentionDays: unknown }): {
  settings: Pick<TokenmeterConfig, 'statusBar' | 'routeTerminals' | 'historyRetentionDays'>;
  problems: string[];
} {
  const problems: string[] = [];
  const bool = (name: string, v: unknown, fallback: boolean): boolean => {
    if (v === undefined || typeof v === 'boolean') {
      return v ?? fallback;
    }
    problems.push(`tokenmeter.${name} must be true or false, got ${JSON.stringify(v)}; using ${fallback}.`);
    return fallback;
  };
  let show = input.show ?? DEFAULT_STATUS_BAR.show;
  const known = (x: unknown): x is StatusBarField => STATUS_BAR_FIELDS.includes(x as StatusBarField);
  if (!Array.isArray(show) || show.length === 0 || !show.every(known)) {
    problems.push(
      `tokenmeter.statusBar.show must be a non-empty list of ${STATUS_BAR_FIELDS.map((f) => `"${f}"`).join(', ')}, got ${JSON.stringify(show)}; using ["tokensPerSecond"].`,
    );
    show = DEFAULT_STATUS_BAR.show;
  }
  let days = input.retentionDays ?? DEFAULT_RETENTION_DAYS;
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 3650) {
    problems.push(`tokenmeter.history.retentionDays must be an integer from 1 to 3650, got ${JSON.stringify(days)}; using ${DEFAULT_RETENTION_DAYS}.`);
    days = DEFAULT_RETENTION_DAYS;
  }
  return {
    settings: {
      // Shown in a fixed order, once each, whatever order the list has.
      statusBar: { enabled: bool('statusBar.enabled', input.enabled, true), show: STATUS_BAR_FIELDS.filter((f) => (show as StatusBarField[]).includes(f)) },
      routeTerminals: bool('routeTerminals', input.routeTerminals, false),
      historyRetentionDays: days as number,
    },
    problems,
  };
}
