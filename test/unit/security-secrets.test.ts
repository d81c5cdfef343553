/**
 * A canary API key, sent every way clients send keys, must reach the upstream and nothing else:
 * not the records, the history files, the exports, the control API (the webview and the dashboard
 * are fed the same data), the live feed, the Prometheus text, the proxy's own error messages or
 * the logs — of the core in-process and of the CLI.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { get as httpGet } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Tokenmeter } from '../../src/core/service';
import { raw, sleep, spawnTs, until, type RawResponse } from '../fixtures/reliability';
import { startUpstream, type Upstream } from '../fixtures/upstream';

const CANARY = 'sk-canary-7f3a9c1e5b2d4a6f-DO-NOT-LEAK';
/** The canary and the forms it takes on the way (Basic auth, URL encoding, a key echoed back in part). */
const FORMS = [CANARY, 'canary-7f3a9c1e5b2d4a6f', Buffer.from(`user:${CANARY}`).toString('base64'), encodeURIComponent(CANARY), '7f3a9c1e5b2d4a6f'];

function assertClean(text: string, where: string): void {
  for (const form of FORMS) {
    assert.ok(!text.includes(form), `${where} contains the key (${form}):\n${text.slice(Math.max(0, text.indexOf(form) - 200), text.indexOf(form) + 100)}`);
  }
}

/** Every way a client sends a key, and requests that go well and badly. */
async function sendCanaries(url: string, upstream: Upstream, deadProvider: string | null): Promise<RawResponse[]> {
  const out: RawResponse[] = [];
  const chat = (extra: object = {}): string => JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], ...extra });
  const claude = (extra: object = {}): string => JSON.stringify({ model: 'claude-opus-4-1', max_tokens: 9, messages: [{ role: 'user', content: 'hi' }], ...extra });
  const send = async (p: string, body: string | undefined, headers: Record<string, string>, method = 'POST'): Promise<void> => {
    out.push(await raw(url, p, { method, body, headers }));
  };
  await send('/openai/v1/chat/completions', chat(), { authorization: `Bearer ${CANARY}` });
  await send('/openai/v1/chat/completions', chat({ stream: true }), { authorization: `Bearer ${CANARY}` });
  await send('/v1/messages', claude({ stream: true }), { 'x-api-key': CANARY, 'anthropic-version': '2023-06-01' });
  await send('/anthropic/v1/messages', claude(), { authorization: `Bearer ${CANARY}` });
  await send(`/gemini/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse&key=${CANARY}`, '{"contents":[]}', {});
  await send('/gemini/v1beta/models/gemini-2.5-pro:generateContent', '{"contents":[]}', { 'x-goog-api-key': CANARY });
  await send('/openai/v1/models', undefined, { 'api-key': CANARY, cookie: `session=${CANARY}`, authorization: `Basic ${Buffer.from(`user:${CANARY}`).toString('base64')}` }, 'GET');
  // The provider refuses the key and quotes it back: the client may see that, nothing else may.
  upstream.next({ status: 401, rawBody: `{"error":{"message":"Incorrect API key provided: ${CANARY}","type":"invalid_request_error","code":"invalid_api_key"}}`, headers: { 'content-type': 'application/json' } });
  await send('/openai/v1/chat/completions', chat(), { authorization: `Bearer ${CANARY}` });
  upstream.next({ status: 429, rawBody: '{"error":{"message":"slow down"}}', headers: { 'content-type': 'application/json', 'retry-after': '1' } });
  await send('/anthropic/v1/messages', claude(), { 'x-api-key': CANARY, 'x-claude-code-session-id': 'session-1' });
  // The proxy's own errors: a rebound Host, an unknown provider, an unreachable one.
  await send('/openai/v1/chat/completions', chat(), { authorization: `Bearer ${CANARY}`, host: 'evil.example' });
  await send('/nosuch/v1/chat/completions', chat(), { authorization: `Bearer ${CANARY}` });
  if (deadProvider) {
    await send(`/${deadProvider}/v1/chat/completions`, chat(), { authorization: `Bearer ${CANARY}` });
  }
  // A stream the client walks away from.
  upstream.next({ delayMs: 30 });
  await new Promise<void>((resolve) => {
    const u = new URL(url);
    const req = httpGet({ host: u.hostname, port: u.port, path: '/openai/v1/chat/completions', method: 'POST', headers: { authorization: `Bearer ${CANARY}` } }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => undefined);
    req.end(chat({ stream: true }));
  });
  return out;
}

describe('a canary API key never leaves the request it came with', { timeout: 120_000 }, () => {
  let upstream: Upstream;
  let dir: string;
  before(async () => {
    upstream = await startUpstream();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tokenmeter-canary-'));
  });
  after(async () => {
    await upstream.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('in-process: records, history, exports, control API, live feed, metrics, errors and logs are clean', async () => {
    const logs: string[] = [];
    const consoleMethods = ['log', 'info', 'warn', 'error', 'debug'] as const;
    const saved = consoleMethods.map((m) => console[m]);
    consoleMethods.forEach((m) => (console[m] = (...args: unknown[]) => void logs.push(args.map(String).join(' '))));
    const dataDir = path.join(dir, 'in-process');
    const app = new Tokenmeter({
      port: 0,
      version: 't',
      dataDir,
      summaryEvery: 1,
      providers: { ...Object.fromEntries(['openai', 'anthropic', 'gemini'].map((n) => [n, { baseUrl: upstream.url }])), dead: { baseUrl: 'http://127.0.0.1:1' } },
      log: { info: (m) => logs.push(m), warn: (m) => logs.push(m) },
    });
    let feed = '';
    try {
      const url = await app.start();
      await app.loadHistory();
      const feedReq = httpGet(`${url}/_tokenmeter/events`, (res) => res.on('data', (d: Buffer) => (feed += d.toString())));
      feedReq.on('error', () => undefined);
      await until(() => feed.includes('event: hello'), 'the live feed');
      const sentBefore = upstream.exchanges.length;
      const answers = await sendCanaries(url, upstream, 'dead');
      await until(() => app.tracker.activeCount === 0, 'every request finished');
      await sleep(50);
      assert.ok(upstream.exchanges.slice(sentBefore).every((e) => JSON.stringify(e.headers).includes(CANARY) || e.url.includes(CANARY)), 'the key did reach the upstream every time');
      assert.ok(app.tracker.totalCompleted >= 10);

      const proxyErrors = answers.filter((a) => a.headers['x-tokenmeter-error'] === '1');
      assert.equal(proxyErrors.length, 3, 'the 403, 404 and 502 the proxy made itself');
      for (const a of proxyErrors) {
        assertClean(JSON.stringify(a.headers) + a.body.toString(), `the proxy's own ${a.status} answer`);
      }

      const control = [
        'health',
        'api/requests?limit=1000',
        'api/errors',
        'api/active',
        'api/throttle',
        'metrics',
        'api/running-totals',
        'api/running-totals?range=today',
        'api/running-totals?range=all',
        'api/dashboard',
        '',
      ];
      for (const p of control) {
        const res = await raw(url, `/_tokenmeter/${p}`, { method: 'GET' });
        assert.ok(res.status === 200, `/_tokenmeter/${p}: ${res.status}`);
        assertClean(res.body.toString() + JSON.stringify(res.headers), `/_tokenmeter/${p}`);
      }
      assertClean(JSON.stringify(app.tracker.recent()) + JSON.stringify(app.tracker.active()) + JSON.stringify(app.throttle.state()), 'the tracker (what the webview is sent)');
      feedReq.destroy();
      assert.match(feed, /event: completed/);
      assertClean(feed, 'the live feed');

      assertClean(await app.history!.exportCsv('all'), 'the CSV export');
      assertClean(await app.history!.exportJson('all'), 'the JSON export');
    } finally {
      await app.close(100);
      consoleMethods.forEach((m, i) => (console[m] = saved[i]));
    }
    const files = await fs.readdir(dataDir);
    assert.ok(files.length > 0, 'history was written');
    for (const f of files) {
      const text = await fs.readFile(path.join(dataDir, f), 'utf8');
      assert.ok(text.split('\n').filter(Boolean).length >= 10, `${f} holds the records`);
      assertClean(text, `history file ${f}`);
    }
    assert.ok(logs.some((l) => /requests/.test(l)), 'the summary lines were logged');
    assertClean(logs.join('\n'), 'the logs');
  });

  it('the CLI: its output, its history folder and its answers are clean', async () => {
    const dataDir = path.join(dir, 'cli');
    const config = path.join(dir, 'cli.json');
    await fs.writeFile(
      config,
      JSON.stringify({ providers: { ...Object.fromEntries(['openai', 'anthropic', 'gemini'].map((n) => [n, { baseUrl: upstream.url }])), dead: { baseUrl: 'http://127.0.0.1:1' } } }),
    );
    const cli = spawnTs('src/cli.ts', ['--port', '0', '--config', config, '--data-dir', dataDir]);
    try {
      const [, url] = await cli.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      const answers = await sendCanaries(url, upstream, 'dead');
      for (const a of answers.filter((x) => x.headers['x-tokenmeter-error'] === '1')) {
        assertClean(a.body.toString(), `the CLI's own ${a.status} answer`);
      }
      await cli.waitFor(/openai\/gpt-4o 200/);
    } finally {
      cli.kill('SIGTERM');
    }
    const { code } = await cli.exited;
    assert.equal(code, 0, `a clean exit on SIGTERM; stderr: ${cli.stderr()}`);
    assert.match(cli.stdout(), /anthropic\/claude-opus-4-1 429 rate_limit/, 'the CLI logged the requests');
    assertClean(cli.stdout(), 'CLI stdout');
    assertClean(cli.stderr(), 'CLI stderr');
    const files = await fs.readdir(dataDir);
    assert.ok(files.length > 0);
    for (const f of files) {
      assertClean(await fs.readFile(path.join(dataDir, f), 'utf8'), `CLI history file ${f}`);
    }
  });
});
