/** Shared by the integration suites: bounded waits and the activated extension's API. */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { TokenmeterApi } from '../../src/vscode/extension';

export const EXTENSION_ID = 'tokenmeter.tokenmeter';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns something other than undefined/false; bounded. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(50);
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

export async function activated(): Promise<TokenmeterApi> {
  const ext = vscode.extensions.getExtension<TokenmeterApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not installed in this host`);
  return withTimeout(Promise.resolve(ext.activate()), 15_000, `${EXTENSION_ID} to activate`);
}


export const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('tokenmeter');

/** Sets a `tokenmeter.*` user setting (undefined removes it). */
export async function setSetting(key: string, value: unknown): Promise<void> {
  await config().update(key, value, vscode.ConfigurationTarget.Global);
}

/** The proxy's URL once it runs (a previous suite may have restarted it). */
export async function runningUrl(api: TokenmeterApi): Promise<string> {
  return waitFor('the proxy to run', () => (api.proxyStatus().state === 'running' ? api.proxyStatus().url ?? undefined : undefined), 15_000);
}

export function postJson(url: string, body: object, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
}

/**
 * Points the openai and anthropic providers at a scripted upstream and waits until a probe
 * request arrives there (the proxy applies settings on VS Code's change event). Returns a restore.
 */
export async function routeTo(api: TokenmeterApi, upstreamUrl: string, seen: () => string[]): Promise<() => Promise<void>> {
  const saved = config().inspect('providers')?.globalValue;
  await setSetting('providers', { openai: { baseUrl: upstreamUrl, api: 'openai' }, anthropic: { baseUrl: upstreamUrl, api: 'anthropic' } });
  const url = await runningUrl(api);
  const model = `probe-${Date.now().toString(36)}`;
  await waitFor(`the proxy to route to ${upstreamUrl}`, async () => {
    const res = await postJson(`${url}/openai/v1/chat/completions`, { model, messages: [] }).catch(() => undefined);
    await res?.arrayBuffer().catch(() => undefined);
    return seen().includes(model);
  });
  await waitFor('the probes to finish', () => api.tracker.activeCount === 0, 15_000);
  return () => setSetting('providers', saved);
}
