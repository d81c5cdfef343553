/**
 * Every `tokenmeter.*` command, run the way a user or a keybinding runs it, in a real extension
 * host: what it changes (proxy state, clipboard, session totals, files) is checked afterwards.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { startUpstream, type Upstream } from '../fixtures/upstream';
import type { TokenmeterApi } from '../../src/vscode/extension';
import { activated, postJson, routeTo, runningUrl, sleep, waitFor } from './helpers';

const COMMANDS = [
  'openPanel',
  'copyProxyUrl',
  'connectTools',
  'startProxy',
  'stopProxy',
  'restartProxy',
  'resetSession',
  'exportMetrics',
  'gettingStarted',
].map((c) => `tokenmeter.${c}`);

const modelOf = (body: Buffer): string => {
  try {
    return String((JSON.parse(body.toString('utf8')) as { model?: unknown }).model);
  } catch {
    return '';
  }
};

suite('Commands', () => {
  let api: TokenmeterApi;
  let upstream: Upstream;
  let restore: () => Promise<void>;

  suiteSetup(async function () {
    this.timeout(60_000);
    api = await activated();
    upstream = await startUpstream();
    restore = await routeTo(api, upstream.url, () => upstream.exchanges.map((e) => modelOf(e.body)));
  });

  suiteTeardown(async function () {
    this.timeout(20_000);
    await vscode.commands.executeCommand('tokenmeter.startProxy');
    await restore?.();
    await upstream?.close();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  /** One completed request through the proxy, returning its model name. */
  async function request(stream = false): Promise<string> {
    const url = await runningUrl(api);
    const model = `cmd-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
    const before = api.tracker.totalCompleted;
    const res = await postJson(`${url}/openai/v1/chat/completions`, { model, stream, messages: [{ role: 'user', content: 'hi' }] });
    await res.text();
    await waitFor('the record', () => api.tracker.totalCompleted > before);
    await waitFor('the session totals', () => api.model.sessionView().requests > 0);
    return model;
  }

  test('are all registered and contributed', async () => {
    const registered = await vscode.commands.getCommands(true);
    const contributed = (vscode.extensions.getExtension('tokenmeter.tokenmeter')?.packageJSON as { contributes: { commands: { command: string }[] } }).contributes.commands.map((c) => c.command);
    for (const id of COMMANDS) {
      assert.ok(registered.includes(id), `${id} is not registered`);
      assert.ok(contributed.includes(id), `${id} is not in package.json`);
    }
  });

  test('Stop, Start and Restart Proxy change what listens on the port', async () => {
    const url = await runningUrl(api);
    await vscode.commands.executeCommand('tokenmeter.stopProxy');
    assert.equal(api.proxyStatus().state, 'stopped');
    assert.equal(api.proxyUrl(), undefined);
    await assert.rejects(fetch(`${url}/_tokenmeter/health`, { signal: AbortSignal.timeout(2000) }), 'the port still answers after Stop');
    await waitFor('the status bar to show the proxy down', () => api.statusBar().background === 'error');

    const started = await vscode.commands.executeCommand<string>('tokenmeter.startProxy');
    assert.equal(api.proxyStatus().state, 'running');
    // The test profile asks for port 0 (a free one): then any port will do, else the same one.
    const configured = vscode.workspace.getConfiguration('tokenmeter').get<number>('proxy.port');
    if (configured === 0) {
      assert.match(started, /^http:\/\/127\.0\.0\.1:\d+$/);
    } else {
      assert.equal(started, url, 'Start listens on the configured port again');
    }
    assert.equal((await fetch(`${started}/_tokenmeter/health`)).status, 200);
    assert.equal(await vscode.commands.executeCommand<string>('tokenmeter.startProxy'), started, 'Start while running is a no-op');
    await waitFor('the status bar to show the proxy up', () => api.statusBar().background === null);

    const restarted = await vscode.commands.executeCommand<string>('tokenmeter.restartProxy');
    assert.equal(api.proxyStatus().state, 'running');
    assert.equal(restarted, api.proxyUrl());
    assert.equal((await fetch(`${restarted}/_tokenmeter/health`)).status, 200);
  });

  test('Copy Proxy URL warns instead of copying while the proxy is stopped', async () => {
    await vscode.commands.executeCommand('tokenmeter.stopProxy');
    try {
      await vscode.env.clipboard.writeText('unchanged');
      await vscode.commands.executeCommand('tokenmeter.copyProxyUrl');
      assert.equal(await vscode.env.clipboard.readText(), 'unchanged');
    } finally {
      await vscode.commands.executeCommand('tokenmeter.startProxy');
    }
  });

  test('Connect AI Tools… copies and shows the chosen tool\'s snippet', async () => {
    const url = (await runningUrl(api)).replace(/\/$/, '');
    const snippet = await vscode.commands.executeCommand<string>('tokenmeter.connectTools', 'claude-code');
    assert.equal(snippet, `export ANTHROPIC_BASE_URL=${url}`);
    assert.equal(await vscode.env.clipboard.readText(), snippet);
    const doc = vscode.window.activeTextEditor?.document;
    assert.ok(doc?.getText().includes(snippet), 'the snippet is shown in an editor');
    assert.equal(doc?.languageId, 'shellscript');

    const codex = await vscode.commands.executeCommand<string>('tokenmeter.connectTools', 'codex');
    assert.match(codex, new RegExp(`base_url = "${url}/openai/v1"`));
    assert.ok(vscode.window.activeTextEditor?.document.getText().includes(codex), 'the Codex snippet is shown');
  });

  test('Connect AI Tools… offers every tool in a quick pick', async () => {
    const picked = vscode.commands.executeCommand<string | undefined>('tokenmeter.connectTools');
    await sleep(500); // the quick pick opens
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    const snippet = await picked;
    assert.ok(snippet?.includes('ANTHROPIC_BASE_URL'), `the first item (Claude Code) was accepted, got ${snippet}`);
  });

  test('Reset Session Metrics clears the session but not requests in flight', async () => {
    await request();
    assert.ok(api.model.sessionView().requests > 0);
    await vscode.commands.executeCommand('tokenmeter.resetSession');
    assert.equal(api.tracker.recent().length, 0);
    const s = api.model.sessionView();
    assert.deepEqual([s.requests, s.errors, s.inputTokens, s.outputTokens], [0, 0, 0, 0]);
    assert.equal(api.model.breakdown({ provider: '', model: '', mode: 'total' }).providers.length, 0);
    assert.equal(api.model.throttle.state().events.length, 0);
  });

  test('Export Metrics writes the session as CSV and as JSON', async () => {
    await vscode.commands.executeCommand('tokenmeter.resetSession');
    const a = await request();
    const b = await request(true);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tokenmeter-export-'));
    try {
      const csvFile = path.join(dir, 'session.csv');
      const written = await vscode.commands.executeCommand<vscode.Uri>('tokenmeter.exportMetrics', { format: 'csv', range: 'session', uri: csvFile });
      assert.equal(written?.fsPath, csvFile);
      const lines = (await fs.readFile(csvFile, 'utf8')).trimEnd().split('\r\n');
      assert.match(lines[0], /^id,provider,model,streaming,status,/);
      assert.deepEqual(lines.slice(1).map((l) => l.split(',')[2]).sort(), [a, b].sort(), 'exactly the session\'s two requests');

      const jsonFile = path.join(dir, 'today.json');
      await vscode.commands.executeCommand('tokenmeter.exportMetrics', { format: 'json', range: 'today', uri: jsonFile });
      const records = JSON.parse(await fs.readFile(jsonFile, 'utf8')) as { model: string; authorization?: unknown }[];
      for (const m of [a, b]) {
        assert.ok(records.some((r) => r.model === m), `today's export lacks ${m}`);
      }
      assert.ok(records.every((r) => !('authorization' in r)), 'only record fields are exported');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  test('Open Metrics Panel opens (and re-reveals) one panel', async () => {
    await vscode.commands.executeCommand('tokenmeter.openPanel');
    await vscode.commands.executeCommand('tokenmeter.openPanel');
    const panels = (): vscode.Tab[] => vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('tokenmeter.panel'));
    await waitFor('the panel tab', () => panels().length > 0);
    assert.equal(panels().length, 1, 'a second Open reveals the same panel');
    await vscode.window.tabGroups.close(panels());
  });

  test('Get Started opens the walkthrough', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('tokenmeter.gettingStarted');
    const labels = (): string[] => vscode.window.tabGroups.all.flatMap((g) => g.tabs).map((t) => t.label);
    await waitFor(`the walkthrough tab (tabs: ${JSON.stringify(labels())})`, () => labels().some((l) => /Welcome|Walkthrough/i.test(l)));
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
