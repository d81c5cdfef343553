/**
 * Two windows, one port: another Tokenmeter (standing in for the first window) holds the port; the
 * extension attaches to it, shows its requests, and takes the port over when it goes away.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { Tokenmeter } from '../../src/core/service';
import { activated, waitFor } from './helpers';

suite('Several windows share one proxy', () => {
  let other: Tokenmeter | undefined;
  const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('tokenmeter');
  let originalPort: number | undefined;

  suiteSetup(() => {
    originalPort = config().inspect<number>('proxy.port')?.globalValue;
  });

  suiteTeardown(async () => {
    await other?.close(100);
    await config().update('proxy.port', originalPort, vscode.ConfigurationTarget.Global);
  });

  test('attaches to the Tokenmeter holding the port, mirrors it, then takes the port over', async () => {
    const api = await activated();
    other = new Tokenmeter({ port: 0, version: 'other-window' });
    const otherUrl = await other.start();
    const port = Number(new URL(otherUrl).port);

    await config().update('proxy.port', port, vscode.ConfigurationTarget.Global);
    await waitFor('the extension to attach to the other window', () => api.proxyStatus().state === 'attached' && api.proxyStatus().url === otherUrl);

    // A request through the other window's proxy shows up here too (a provider whose server
    // refuses the connection makes a record without needing an upstream).
    other.proxy.setProviders({ openai: { baseUrl: 'http://127.0.0.1:1' } });
    const before = api.tracker.totalCompleted;
    const res = await fetch(`${otherUrl}/openai/v1/chat/completions`, { method: 'POST', body: '{"model":"seen-from-window-two"}' });
    assert.equal(res.status, 502);
    const mirrored = await waitFor('the mirrored record', () => api.tracker.totalCompleted > before && api.tracker.last());
    assert.equal(mirrored.model, 'seen-from-window-two');
    assert.equal(mirrored.errorCategory, 'network');

    await other.close(100);
    other = undefined;
    await waitFor('the extension to take the port over', () => api.proxyStatus().state === 'running', 15_000);
    assert.equal(api.proxyStatus().url, otherUrl, 'the same port, now held by this window');
    const health = (await (await fetch(`${otherUrl}/_tokenmeter/health`)).json()) as { version: string };
    assert.notEqual(health.version, 'other-window');
  });
});
