/**
 * The status bar item and the panel's data as the user meets them: live text during two concurrent
 * streams, the tooltip, the warning background while throttled or short of headroom, and the
 * breakdown and dashboard the panel is fed from.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { startUpstream, type Upstream } from '../fixtures/upstream';
import type { TokenmeterApi } from '../../src/vscode/extension';
import type { DashboardState } from '../../src/protocol';
import { activated, postJson, routeTo, runningUrl, setSetting, sleep, waitFor } from './helpers';

const modelOf = (body: Buffer): string => {
  try {
    return String((JSON.parse(body.toString('utf8')) as { model?: unknown }).model);
  } catch {
    return '';
  }
};

suite('Status bar and panel data', () => {
  let api: TokenmeterApi;
  let upstream: Upstream;
  let restore: () => Promise<void>;
  let url: string;

  suiteSetup(async function () {
    this.timeout(60_000);
    api = await activated();
    upstream = await startUpstream();
    restore = await routeTo(api, upstream.url, () => upstream.exchanges.map((e) => modelOf(e.body)));
    url = (await runningUrl(api)).replace(/\/$/, '');
    await setSetting('statusBar.show', undefined);
    await setSetting('statusBar.enabled', undefined);
  });

  // Each test starts from a clean session: a throttle left by another test would paint the
  // background before this one does anything.
  setup(async () => {
    await vscode.commands.executeCommand('tokenmeter.resetSession');
  });

  suiteTeardown(async function () {
    this.timeout(20_000);
    await restore?.();
    await upstream?.close();
  });

  const chat = (model: string, extra: object = {}, headers: Record<string, string> = {}): Promise<Response> =>
    postJson(`${url}/openai/v1/chat/completions`, { model, messages: [{ role: 'user', content: 'hi' }], ...extra }, headers);

  test('two concurrent streams: live tok/s with their count, then the last request\'s', async function () {
    this.timeout(30_000);
    const chunks = Array.from({ length: 25 }, (_, i) => ` t${i}`);
    upstream.next({ chunks, delayMs: 80, firstDelayMs: 30 });
    upstream.next({ chunks, delayMs: 80, firstDelayMs: 30 });
    const streams = [chat('live-a', { stream: true }), chat('live-b', { stream: true })].map((p) => p.then((r) => r.text()));
    const live = await waitFor('"… tok/s ×2" while both stream', () => {
      const t = api.statusBar().text;
      return /^\$\(pulse\) [\d,.]+ tok\/s ×2$/.test(t) ? t : undefined;
    });
    assert.ok(Number(/([\d,.]+) tok/.exec(live)?.[1].replace(/,/g, '')) > 0, live);
    await Promise.all(streams);
    const after = await waitFor('the last request\'s rate', () => (/^\$\(pulse\) [\d,.]+ tok\/s$/.test(api.statusBar().text) ? api.statusBar().text : undefined));
    assert.doesNotMatch(after, /—/, 'a finished stream has a known rate');

    const tip = api.statusBar().tooltip;
    assert.match(tip, /Last request: `openai\/live-[ab]`/);
    assert.match(tip, /TTFT \d+ ms · [\d,.]+ tok\/s · \d+ in \/ \d+ out · [\d,.]+ (ms|s)/);
    assert.match(tip, /Session: [\d,]+ requests/);
    assert.match(tip, /Throttle wait: /);
    assert.ok(tip.includes(url), 'the tooltip names the proxy URL');
    assert.equal(api.statusBar().background, null);
  });

  test('warning background while a provider is throttling, cleared by the client\'s retry', async () => {
    upstream.next({ status: 429, rawBody: '{"error":{"message":"slow down"}}', headers: { 'retry-after': '1', 'content-type': 'application/json' } });
    assert.equal((await chat('throttled-model')).status, 429);
    await waitFor('the warning background', () => api.statusBar().background === 'warning');
    assert.match(api.statusBar().tooltip, /throttled: openai/);
    await sleep(300);
    await (await chat('throttled-model')).text(); // the client's retry
    await waitFor('the warning to clear', () => api.statusBar().background === null);
    const waits = api.model.throttle.state().waitMsByProvider;
    assert.ok((waits.openai ?? 0) >= 250, `throttle wait recorded: ${JSON.stringify(waits)}`);
    await waitFor('the wait in the tooltip', () => /Throttle wait: \d+ ms/.test(api.statusBar().tooltip));
  });

  test('warning background while a rate limit has less than 10 % left', async () => {
    const limits = (remaining: number): Record<string, string> => ({ 'x-ratelimit-limit-requests': '100', 'x-ratelimit-remaining-requests': String(remaining), 'x-ratelimit-reset-requests': '20s' });
    upstream.next({ headers: limits(5) });
    await (await chat('headroom-model')).text();
    await waitFor('the warning background', () => api.statusBar().background === 'warning');
    assert.match(api.statusBar().tooltip, /openai 5% left/);
    upstream.next({ headers: limits(60) });
    await (await chat('headroom-model')).text();
    await waitFor('the warning to clear', () => api.statusBar().background === null);
  });

  test('the breakdown has provider rows with their models, filters and sections', async () => {
    await (await chat('breakdown-plain')).text();
    await (await chat('breakdown-stream', { stream: true })).text();
    await sleep(100); // completions are applied in 50 ms batches
    const all = api.model.breakdown({ provider: '', model: '', mode: 'total' });
    const openai = all.providers.find((p) => p.name === 'openai');
    assert.ok(openai, 'an openai row');
    const plain = openai.models.find((m) => m.name === 'breakdown-plain');
    assert.equal(plain?.stats.requests, 1);
    assert.ok(plain?.stats.avgTtftMs !== null && plain?.stats.ttftP50Ms !== null);
    assert.equal(openai.stats.requests, openai.models.reduce((n, m) => n + m.stats.requests, 0));

    const filtered = api.model.breakdown({ provider: 'OPEN*', model: 'breakdown-*', mode: 'streaming' });
    assert.deepEqual(filtered.providers.map((p) => p.models.map((m) => [m.name, m.stats.requests])), [[['breakdown-plain', 0], ['breakdown-stream', 1]]]);
    assert.equal(filtered.providers[0].stats.requests, 1, 'the provider row counts the matching models\' streaming requests');
  });

  test('the proxy serves the dashboard page and its state', async () => {
    await (await chat('dashboard-model')).text();
    await sleep(100);
    const page = await fetch(`${url}/_tokenmeter/`);
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(await page.text(), /<script nonce="[^"]+" src="\/_tokenmeter\/dashboard\/main\.js">/);
    for (const asset of ['main.js', 'main.css', 'panel.css', 'standalone.css']) {
      const res = await fetch(`${url}/_tokenmeter/dashboard/${asset}`);
      assert.equal(res.status, 200, asset);
      await res.arrayBuffer();
    }
    const state = (await (await fetch(`${url}/_tokenmeter/api/dashboard?mode=total&range=session`)).json()) as DashboardState;
    assert.equal(state.proxy.url, url);
    assert.ok(state.breakdown.providers.some((p) => p.name === 'openai'));
    assert.equal(state.series.range, 'session');
    assert.ok(state.series.series.length > 0, 'the session chart has series');
    const foreign = await fetch(`${url}/_tokenmeter/api/dashboard`, { headers: { origin: 'http://evil.example' } });
    assert.equal(foreign.status, 403, 'other sites cannot read it');
  });

  test('history feeds the "today" chart', async () => {
    const series = await waitFor('today\'s series from history', async () => {
      const s = await api.model.seriesView('today');
      return s.available && s.series.some((x) => x.key.startsWith('openai/')) ? s : undefined;
    });
    assert.equal(series.bucketSeconds, 300);
  });
});
