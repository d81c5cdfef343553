/**
 * Every `tokenmeter.*` setting: a valid value changes behaviour in the running extension, and an
 * invalid one is reported (naming the setting) while its default is used.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { startUpstream, type Upstream } from '../fixtures/upstream';
import { parseConfig, readConfig } from '../../src/vscode/config';
import type { TokenmeterApi } from '../../src/vscode/extension';
import { activated, config, postJson, routeTo, runningUrl, setSetting, waitFor } from './helpers';

const modelOf = (body: Buffer): string => {
  try {
    return String((JSON.parse(body.toString('utf8')) as { model?: unknown }).model);
  } catch {
    return '';
  }
};

/** Every setting this suite touches, put back afterwards. */
const KEYS = [
  'statusBar.enabled',
  'statusBar.show',
  'routeTerminals',
  'history.retentionDays',
  'metricsInResponse',
  'streamingMetrics',
  'streamingMetricsIntervalMs',
  'metricsExclude',
  'retry.maxRetries',
  'retry.maxWaitMs',
];

suite('Settings', () => {
  let api: TokenmeterApi;
  let upstream: Upstream;
  let restore: () => Promise<void>;
  const saved = new Map<string, unknown>();

  suiteSetup(async function () {
    this.timeout(60_000);
    api = await activated();
    for (const k of KEYS) {
      saved.set(k, config().inspect(k)?.globalValue);
    }
    upstream = await startUpstream();
    restore = await routeTo(api, upstream.url, () => upstream.exchanges.map((e) => modelOf(e.body)));
  });

  suiteTeardown(async function () {
    this.timeout(20_000);
    for (const [k, v] of saved) {
      await setSetting(k, v);
    }
    await restore?.();
    await upstream?.close();
  });

  const chat = async (body: object, headers: Record<string, string> = {}): Promise<Response> =>
    postJson(`${await runningUrl(api)}/openai/v1/chat/completions`, { messages: [{ role: 'user', content: 'hi' }], ...body }, headers);

  /** Each setting's invalid value, the message's key words, and the default it falls back to. */
  const invalid: [key: string, value: unknown, read: (c: ReturnType<typeof readConfig>['config']) => unknown, fallback: unknown][] = [
    ['proxy.port', 70000, (c) => c.port, 8383],
    ['providers', 'openai', (c) => c.providers, undefined],
    ['metricsInResponse', 'yes', (c) => c.injection.metricsInResponse, false],
    ['streamingMetrics', 1, (c) => c.injection.streamingMetrics, false],
    ['streamingMetricsIntervalMs', 5, (c) => c.injection.streamingIntervalMs, 1000],
    ['metricsExclude', 'openai:*', (c) => c.injection.exclude, []],
    ['retry.maxRetries', -1, (c) => c.retry.maxRetries, 0],
    ['retry.maxWaitMs', 'long', (c) => c.retry.maxWaitMs, 30000],
    ['statusBar.enabled', 'no', (c) => c.statusBar.enabled, true],
    ['statusBar.show', ['tokensPerSecond', 'cost'], (c) => c.statusBar.show, ['tokensPerSecond']],
    ['routeTerminals', 'yes', (c) => c.routeTerminals, false],
    ['history.retentionDays', 0, (c) => c.historyRetentionDays, 30],
  ];
  for (const [key, value, read, fallback] of invalid) {
    test(`an invalid tokenmeter.${key} is reported and its default used`, async () => {
      const before = config().inspect(key)?.globalValue;
      // The proxy's own settings are only read here: writing them would reroute or restart the
      // proxy under the other tests' feet.
      const readOnly = key === 'proxy.port' || key === 'providers';
      const { config: c, problems } = readOnly ? readWith(key, value) : await readAfterSetting(key, value);
      try {
        assert.ok(problems.some((p) => p.includes(`tokenmeter.${key}`)), `no problem names tokenmeter.${key}: ${JSON.stringify(problems)}`);
        assert.deepEqual(read(c), fallback);
      } finally {
        if (!readOnly) {
          await setSetting(key, before);
        }
      }
    });
  }

  async function readAfterSetting(key: string, value: unknown): Promise<ReturnType<typeof readConfig>> {
    await setSetting(key, value);
    return readConfig();
  }

  /** The extension's validation over the real settings with only `key` different, unwritten. */
  function readWith(key: string, value: unknown): ReturnType<typeof readConfig> {
    const c = config();
    return parseConfig((k) => (k === key ? value : c.get(k)));
  }

  test('every contributed setting has a description and a default', () => {
    const props = (vscode.extensions.getExtension('tokenmeter.tokenmeter')?.packageJSON as { contributes: { configuration: { properties: Record<string, Record<string, unknown>> } } }).contributes.configuration.properties;
    for (const [name, p] of Object.entries(props)) {
      assert.ok(typeof p.description === 'string' || typeof p.markdownDescription === 'string', `${name} has no description`);
      assert.ok('default' in p, `${name} has no default`);
      assert.ok(invalid.some(([k]) => `tokenmeter.${k}` === name), `${name} has no invalid-value test here`);
    }
  });

  test('tokenmeter.statusBar.enabled hides and shows the item', async () => {
    await setSetting('statusBar.enabled', false);
    await waitFor('the item to hide', () => !api.statusBar().visible);
    await setSetting('statusBar.enabled', true);
    await waitFor('the item to show', () => api.statusBar().visible);
  });

  test('tokenmeter.statusBar.show picks what the item shows', async () => {
    await (await chat({ model: 'status-fields', stream: true })).text();
    await setSetting('statusBar.show', ['sessionTokens', 'ttft']);
    const text = await waitFor('TTFT and session tokens', () => (/TTFT/.test(api.statusBar().text) ? api.statusBar().text : undefined));
    assert.match(text, /^\$\(pulse\) TTFT (\d+ ms|[\d.]+ s) · [\d.]+[kMG]? tok$/, 'fixed order: TTFT before session tokens, no tok/s');
    await setSetting('statusBar.show', ['tokensPerSecond']);
    await waitFor('tok/s only', () => /^\$\(pulse\) [\d,.—]+ tok\/s$/.test(api.statusBar().text));
  });

  test('tokenmeter.routeTerminals sets the base URLs in new integrated terminals', async function () {
    this.timeout(30_000);
    const url = (await runningUrl(api)).replace(/\/$/, '');
    await setSetting('routeTerminals', true);
    const env = await waitFor('the environment collection', () => (api.terminalEnvironment().ANTHROPIC_BASE_URL ? api.terminalEnvironment() : undefined));
    assert.deepEqual(env, { ANTHROPIC_BASE_URL: url, OPENAI_BASE_URL: `${url}/openai/v1`, OPENAI_API_BASE: `${url}/openai/v1`, GOOGLE_GEMINI_BASE_URL: `${url}/gemini` });

    // A real terminal: its shell writes what it got.
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tokenmeter-term-'));
    const out = path.join(dir, 'env.txt');
    const terminal = vscode.window.createTerminal({ name: 'tokenmeter-env', shellPath: '/bin/sh', shellArgs: ['-c', `printf '%s %s' "$ANTHROPIC_BASE_URL" "$OPENAI_BASE_URL" > '${out}'`] });
    try {
      const written = await waitFor('the terminal to write its environment', () => fs.readFile(out, 'utf8').catch(() => undefined), 20_000);
      assert.equal(written, `${url} ${url}/openai/v1`);
    } finally {
      terminal.dispose();
      await fs.rm(dir, { recursive: true, force: true });
    }

    await setSetting('routeTerminals', false);
    await waitFor('the collection to empty', () => Object.keys(api.terminalEnvironment()).length === 0);
  });

  test('tokenmeter.routeTerminals routes nothing while the proxy is stopped', async () => {
    await setSetting('routeTerminals', true);
    await waitFor('routing on', () => Object.keys(api.terminalEnvironment()).length > 0);
    await vscode.commands.executeCommand('tokenmeter.stopProxy');
    try {
      assert.deepEqual(api.terminalEnvironment(), {}, 'a dead base URL would break the tools');
    } finally {
      await vscode.commands.executeCommand('tokenmeter.startProxy');
      await setSetting('routeTerminals', false);
    }
  });

  test('tokenmeter.history.retentionDays is applied', async () => {
    await setSetting('history.retentionDays', 7);
    await waitFor('the new retention', () => readConfig().config.historyRetentionDays === 7);
    assert.deepEqual(readConfig().problems, []);
  });

  test('tokenmeter.metricsInResponse adds performance_metrics to JSON answers', async () => {
    await setSetting('metricsInResponse', true);
    const body = await waitFor('metrics in the answer', async () => {
      const json = (await (await chat({ model: 'inject-json' })).json()) as { performance_metrics?: Record<string, unknown> };
      return json.performance_metrics;
    });
    assert.ok('time_to_first_token_ms' in body || Object.keys(body).length > 0);
    await setSetting('metricsInResponse', false);
    await waitFor('no metrics', async () => !('performance_metrics' in ((await (await chat({ model: 'inject-json' })).json()) as object)));
  });

  test('tokenmeter.streamingMetrics and streamingMetricsIntervalMs add metrics events to streams', async () => {
    await setSetting('streamingMetricsIntervalMs', 100);
    await setSetting('streamingMetrics', true);
    upstream.setDefault({ chunks: ['a', 'b', 'c', 'd', 'e', 'f'], delayMs: 60 });
    try {
      const text = await waitFor('metrics events in the stream', async () => {
        const t = await (await chat({ model: 'inject-sse', stream: true })).text();
        return (t.match(/^event: metrics$/gm) ?? []).length >= 2 ? t : undefined;
      });
      assert.match(text, /^event: metrics-final$/m);
    } finally {
      upstream.setDefault({});
      await setSetting('streamingMetrics', false);
    }
  });

  test('tokenmeter.metricsExclude keeps metrics out of matching models', async () => {
    await setSetting('metricsInResponse', true);
    await setSetting('metricsExclude', ['openai:secret-*']);
    try {
      await waitFor('metrics for other models', async () => 'performance_metrics' in ((await (await chat({ model: 'visible-model' })).json()) as object));
      const excluded = (await (await chat({ model: 'secret-model' })).json()) as object;
      assert.ok(!('performance_metrics' in excluded), 'an excluded model got metrics');
    } finally {
      await setSetting('metricsExclude', undefined);
      await setSetting('metricsInResponse', false);
    }
  });

  test('tokenmeter.retry.maxRetries and retry.maxWaitMs: the proxy waits out a short retry-after itself', async function () {
    this.timeout(30_000);
    await setSetting('retry.maxWaitMs', 2000);
    await setSetting('retry.maxRetries', 2);
    await waitFor('the retry policy', () => readConfig().config.retry.maxRetries === 2);
    const throttled = { status: 429, rawBody: '{"error":{"message":"slow down"}}', headers: { 'retry-after': '0', 'content-type': 'application/json' } };
    try {
      // Retries applied: the client sees the second attempt's 200.
      await waitFor('a retried 200', async () => {
        upstream.next(throttled);
        const res = await chat({ model: 'retried' });
        await res.text();
        return res.status === 200;
      });
      // A retry-after above maxWaitMs is the client's to wait out: the 429 reaches it.
      upstream.next({ ...throttled, headers: { ...throttled.headers, 'retry-after': '30' } });
      const res = await chat({ model: 'passed-through' });
      await res.text();
      assert.equal(res.status, 429);
    } finally {
      await setSetting('retry.maxRetries', undefined);
      await setSetting('retry.maxWaitMs', undefined);
      // The passed-through 429 is never retried: left alone it reads as throttling for minutes.
      await vscode.commands.executeCommand('tokenmeter.resetSession');
    }
  });
});
