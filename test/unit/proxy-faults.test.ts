import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Tokenmeter } from '../../src/core/service';
import { startStack, type Stack } from '../fixtures/stack';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A plain HTTP client, so tests control Host, Origin and body exactly. */
function raw(url: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: opts.method ?? 'POST', headers: { 'content-type': 'application/json', ...opts.headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const chatBody = (extra: object = {}): string => JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], ...extra });

describe('proxy faults and refusals', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.close();
  });

  it('answers an unknown provider with 404 in the OpenAI format and records nothing', async () => {
    const before = stack.app.tracker.totalCompleted;
    const res = await raw(stack.url, '/nosuch/v1/chat/completions', { body: chatBody() });
    assert.equal(res.status, 404);
    const body = JSON.parse(res.body.toString());
    assert.match(body.error.message, /unknown provider "nosuch".*openai, anthropic/);
    assert.equal(stack.app.tracker.totalCompleted, before);
  });

  it('answers in the Anthropic format for Anthropic-looking requests', async () => {
    const res = await raw(stack.url, '/nosuch/v1/messages', { body: '{}', headers: { 'anthropic-version': '2023-06-01' } });
    const body = JSON.parse(res.body.toString());
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'not_found_error');
  });

  it('refuses a foreign Host (DNS rebinding) and a foreign Origin with 403, without forwarding', async () => {
    const sent = stack.upstream.exchanges.length;
    const host = await raw(stack.url, '/openai/v1/chat/completions', { body: chatBody(), headers: { host: 'evil.example:8383' } });
    assert.equal(host.status, 403);
    assert.match(JSON.parse(host.body.toString()).error.message, /Host "evil.example:8383" refused/);
    const wrongPort = await raw(stack.url, '/openai/v1/chat/completions', { body: chatBody(), headers: { host: '127.0.0.1:1' } });
    assert.equal(wrongPort.status, 403);
    const origin = await raw(stack.url, '/openai/v1/chat/completions', { body: chatBody(), headers: { origin: 'https://evil.example' } });
    assert.equal(origin.status, 403);
    const control = await raw(stack.url, '/_tokenmeter/api/requests', { method: 'GET', headers: { origin: 'https://evil.example' } });
    assert.equal(control.status, 403);
    assert.equal(stack.upstream.exchanges.length, sent);
    const ok = await raw(stack.url, '/openai/v1/chat/completions', { body: chatBody(), headers: { host: `localhost:${stack.app.proxy.port}` } });
    assert.equal(ok.status, 200);
    await stack.records(1);
  });

  it('relays upstream errors untouched and categorises them', async () => {
    const errorBody = '{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}';
    stack.upstream.next({ status: 429, rawBody: errorBody, headers: { 'retry-after': '2', 'content-type': 'application/json' } });
    const res = await raw(stack.url, '/openai/v1/chat/completions', { body: chatBody() });
    assert.equal(res.status, 429);
    assert.equal(res.body.toString(), errorBody);
    assert.equal(res.headers['retry-after'], '2');
    const [r] = await stack.records(1);
    assert.equal(r.errorCategory, 'rate_limit');
    assert.equal(r.status, 429);
    assert.equal(r.inputTokens, null, 'tokens of a rejected request are unknown, not 0');
    assert.equal(r.outputTokensPerSecond, null);
  });

  it('answers 502 when the upstream is unreachable and records a network error', async () => {
    const dead = new Tokenmeter({ port: 0, version: 't', providers: { openai: { baseUrl: 'http://127.0.0.1:1' } } });
    const url = await dead.start();
    const records: string[] = [];
    dead.tracker.on('completed', (r) => records.push(r.errorCategory ?? 'ok'));
    const res = await raw(url, '/openai/v1/chat/completions', { body: chatBody() });
    await dead.close(100);
    assert.equal(res.status, 502);
    assert.match(JSON.parse(res.body.toString()).error.message, /could not reach openai.*ECONNREFUSED/);
    assert.deepEqual(records, ['network']);
  });

  it('answers 413 for a body over the limit', async () => {
    const small = new Tokenmeter({ port: 0, version: 't', providers: { openai: { baseUrl: stack.upstream.url } } });
    (small.proxy as unknown as { options: { maxBodyBytes: number } }).options.maxBodyBytes = 1000;
    const url = await small.start();
    const res = await raw(url, '/openai/v1/chat/completions', { body: chatBody({ pad: 'x'.repeat(5000) }) });
    await small.close(100);
    assert.equal(res.status, 413);
    assert.match(JSON.parse(res.body.toString()).error.message, /larger than 1000 bytes/);
  });

  it('cuts the client connection when the upstream drops mid-stream, and records a stream error', async () => {
    stack.upstream.next({ delayMs: 5, dropAfterEvents: 3 });
    await assert.rejects(raw(stack.url, '/openai/v1/chat/completions', { body: chatBody({ stream: true }) }), /aborted|socket hang up|ECONNRESET/);
    const [r] = await stack.records(1);
    assert.equal(r.errorCategory, 'stream_error');
    assert.equal(r.estimated, true, 'two content chunks arrived: tokens are estimated, not unknown');
    assert.equal(r.outputTokens, 3);
  });

  it('aborts the upstream request when the client goes away, and records client_disconnect', async () => {
    stack.upstream.next({ delayMs: 40 });
    const before = stack.upstream.exchanges.length;
    await new Promise<void>((resolve) => {
      const u = new URL(stack.url);
      const req = httpRequest({ host: u.hostname, port: u.port, path: '/openai/v1/chat/completions', method: 'POST' }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.end(chatBody({ stream: true }));
    });
    const [r] = await stack.records(1);
    assert.equal(r.errorCategory, 'client_disconnect');
    await stack.upstream.waitForExchanges(before + 1);
    assert.equal(stack.upstream.exchanges[before].aborted, true, 'the upstream saw the request aborted');
  });

  it('passes a gzip body through unchanged and still reads its usage', async () => {
    const json = JSON.stringify({ id: 'x', model: 'gpt-4o', choices: [{ message: { content: 'hello' } }], usage: { prompt_tokens: 9, completion_tokens: 2 } });
    const gz = gzipSync(json);
    stack.upstream.next({ rawBody: gz, headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' } });
    const res = await raw(stack.url, '/openai/v1/chat/completions', { body: chatBody(), headers: { 'accept-encoding': 'gzip, zstd' } });
    assert.equal(res.headers['content-encoding'], 'gzip');
    const [r] = await stack.records(1);
    assert.equal(stack.upstream.exchanges.at(-1)!.headers['accept-encoding'], 'gzip', 'zstd is not offered upstream: Node 20 cannot decode it');
    assert.deepEqual([r.inputTokens, r.outputTokens, r.estimated], [9, 2, false]);
  });

  it('serves health and recent requests on the control API', async () => {
    const health = JSON.parse((await raw(stack.url, '/_tokenmeter/health', { method: 'GET' })).body.toString());
    assert.equal(health.name, 'tokenmeter');
    assert.equal(health.url, stack.url);
    const recent = JSON.parse((await raw(stack.url, '/_tokenmeter/api/requests?limit=2', { method: 'GET' })).body.toString());
    assert.equal(recent.length, 2);
    assert.equal(recent[0].id, stack.app.tracker.recent(1)[0].id, 'newest first');
  });
});

describe('Prometheus exposition', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.close();
  });

  it('counts requests, tokens and throttle wait, and leaves unknown timings out of histograms', async () => {
    stack.upstream.next({ usage: { input: 10, output: 6, cacheRead: 4 } });
    await raw(stack.url, '/openai/v1/chat/completions', { body: chatBody() });
    stack.upstream.next({ status: 429, rawBody: '{}', headers: { 'content-type': 'application/json' } });
    await raw(stack.url, '/openai/v1/chat/completions', { body: chatBody() });
    await stack.records(2);
    const res = await raw(stack.url, '/_tokenmeter/metrics', { method: 'GET' });
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const text = res.body.toString();
    assert.match(text, /tokenmeter_requests_total\{provider="openai",model="gpt-4o",streaming="false",outcome="ok"\} 1/);
    assert.match(text, /tokenmeter_requests_total\{provider="openai",model="gpt-4o",streaming="false",outcome="rate_limit"\} 1/);
    assert.match(text, /tokenmeter_tokens_total\{provider="openai",model="gpt-4o",kind="cache_read"\} 4/);
    assert.match(text, /tokenmeter_time_to_first_token_seconds_count\{provider="openai",model="gpt-4o"\} 1\n/, 'the 429 has no TTFT: not observed');
    assert.match(text, /tokenmeter_active_requests 0/);
  });
});
