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

