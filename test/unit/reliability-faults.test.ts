/**
 * Faults the existing suites do not cover (proxy-faults and proxy-apis already have: connection
 * refused, 429, malformed JSON/SSE, an upstream drop and a client abort mid-stream, 413). Every
 * case ends with a clear answer for the client, exactly one record with the right error category
 * (none when nothing was forwarded), no request left in flight, and a proxy that keeps serving.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { HistoryStore } from '../../src/core/metrics/historyStore';
import type { RequestRecord } from '../../src/core/metrics/record';
import { RequestTracker } from '../../src/core/metrics/requestTracker';
import { PortInUseError, ProxyServer } from '../../src/core/proxy/server';
import { Tokenmeter } from '../../src/core/service';
import { ThrottleTracker } from '../../src/core/throttle/throttleTracker';
import { raw, settledMemory, sleep, spawnTs, until } from '../fixtures/reliability';
import { startStack, type Stack } from '../fixtures/stack';
import { startUpstream, type Upstream } from '../fixtures/upstream';

const chat = (extra: object = {}): string => JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], ...extra });
const claude = (extra: object = {}): string => JSON.stringify({ model: 'claude-sonnet-4', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], ...extra });

/** A proxy built directly, for the options Tokenmeter does not expose (the upstream timeout). */
interface Direct {
  upstream: Upstream;
  proxy: ProxyServer;
  tracker: RequestTracker;
  url: string;
  records: RequestRecord[];
  close(): Promise<void>;
}

async function startDirect(upstreamTimeoutMs: number): Promise<Direct> {
  const upstream = await startUpstream();
  const tracker = new RequestTracker();
  const records: RequestRecord[] = [];
  tracker.on('completed', (r) => records.push(r));
  const proxy = new ProxyServer({
    tracker,
    throttle: new ThrottleTracker(),
    port: 0,
    providers: { openai: { baseUrl: upstream.url }, anthropic: { baseUrl: upstream.url } },
    upstreamTimeoutMs,
  });
  const url = await proxy.start();
  return {
    upstream,
    proxy,
    tracker,
    url,
    records,
    async close() {
      await proxy.dispose(100);
      await upstream.close();
    },
  };
}

/** The proxy still answers a plain request, and records it as a success. */
async function stillServes(url: string, upstream: Upstream, recordsSoFar: () => number): Promise<void> {
  const before = recordsSoFar();
  upstream.next({});
  const res = await raw(url, '/openai/v1/chat/completions', { body: chat() });
  assert.equal(res.status, 200, 'the proxy keeps serving');
  await until(() => recordsSoFar() === before + 1, 'the record of the follow-up request');
}

describe('upstream faults before and during the response', { timeout: 120_000 }, () => {
  let d: Direct;
  before(async () => {
    d = await startDirect(400);
  });
  after(async () => {
    await d.close();
  });
  afterEach(async () => {
    await until(() => d.tracker.activeCount === 0, 'no request left in flight');
    await stillServes(d.url, d.upstream, () => d.records.length);
  });

  for (const flavour of ['openai', 'anthropic'] as const) {
    const send = (stream: boolean): ReturnType<typeof raw> =>
      flavour === 'openai'
        ? raw(d.url, '/openai/v1/chat/completions', { body: chat({ stream, stream_options: { include_usage: true } }), timeoutMs: 5000 })
        : raw(d.url, '/anthropic/v1/messages', { body: claude({ stream }), timeoutMs: 5000 });
    const errorOf = (body: Buffer): { message: string; type: string } => {
      const j = JSON.parse(body.toString());
      if (flavour === 'anthropic') {
        assert.equal(j.type, 'error', 'Anthropic error format');
      }
      return j.error;
    };

    it(`${flavour}: the upstream resets the connection before answering → 502 in its format, one network record`, async () => {
      const before = d.records.length;
      d.upstream.next({ resetBeforeHead: true });
      const res = await send(false);
      assert.equal(res.status, 502);
      assert.equal(res.headers['x-tokenmeter-error'], '1');
      assert.match(errorOf(res.body).message, /Tokenmeter proxy: could not reach .* \(http:\/\/127\.0\.0\.1:\d+\)/);
      await until(() => d.records.length === before + 1, 'one record');
      assert.deepEqual([d.records.at(-1)!.errorCategory, d.records.at(-1)!.status], ['network', null]);
    });

    it(`${flavour}: the upstream stalls before its head past the timeout → 504 in its format, one timeout record`, async () => {
      const before = d.records.length;
      d.upstream.next({ stallBeforeHead: true });
      const t0 = Date.now();
      const res = await send(true);
      assert.equal(res.status, 504);
      assert.ok(Date.now() - t0 >= 350, 'not before the timeout');
      const e = errorOf(res.body);
      assert.match(e.message, /timed out waiting for/);
      if (flavour === 'anthropic') {
        assert.equal(e.type, 'timeout_error');
      }
      await until(() => d.records.length === before + 1, 'one record');
      assert.deepEqual([d.records.at(-1)!.errorCategory, d.records.at(-1)!.status], ['timeout', null]);
      await d.upstream.waitForExchanges(d.upstream.exchanges.length);
      assert.equal(d.upstream.exchanges.at(-1)!.aborted, true, 'the stalled upstream request was abandoned');
    });

    it(`${flavour}: the upstream stalls mid-stream past the timeout → the client's stream is cut, one timeout record`, async () => {
      const before = d.records.length;
      d.upstream.next({ stallAfterEvents: 5 });
      await assert.rejects(send(true), /aborted|socket hang up|ECONNRESET/, 'a cut, never a clean end');
      await until(() => d.records.length === before + 1, 'one record');
      const r = d.records.at(-1)!;
      assert.deepEqual([r.errorCategory, r.status], ['timeout', 200]);
      assert.ok(r.ttfbMs !== null && r.durationMs !== null, 'what arrived was measured');
    });
  }

  it('a head without any body byte, then a stall: the client gets the head, then a cut', async () => {
    const before = d.records.length;
    d.upstream.next({ stallAfterEvents: 0 });
    await assert.rejects(raw(d.url, '/openai/v1/chat/completions', { body: chat({ stream: true }), timeoutMs: 5000 }), /aborted|socket hang up|ECONNRESET/);
    await until(() => d.records.length === before + 1, 'one record');
    assert.deepEqual([d.records.at(-1)!.errorCategory, d.records.at(-1)!.ttfbMs], ['timeout', null]);
  });

  it('corrupt gzip labelled as gzip: relayed as sent, measured as unknown, no crash', async () => {
    const before = d.records.length;
    const garbage = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x13, 0x37]);
    d.upstream.next({ rawBody: garbage, headers: { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' } });
    const body = chat({ stream: true, stream_options: { include_usage: true } });
    const res = await raw(d.url, '/openai/v1/chat/completions', { body, headers: { 'accept-encoding': 'gzip' } });
    assert.deepEqual(res.body, garbage);
    await until(() => d.records.length === before + 1, 'one record');
    const r = d.records.at(-1)!;
    assert.deepEqual([r.errorCategory, r.outputTokens, r.inputTokens], [null, null, null]);
  });
});

describe('compressed streams', { timeout: 120_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.close();
  });

  it('a gzip stream sent although the proxy asked for identity streams through untouched', async () => {
    // The proxy asks for plain bytes when it adds include_usage; an upstream may compress anyway.
    const events = Array.from({ length: 40 }, (_, i) => `data: {"choices":[{"delta":{"content":"part ${i}"}}],"usage":null}\n\n`).join('');
    const gz = gzipSync(events);
    const split = 40;
    assert.ok(!gz.subarray(0, split).includes('\n\n'), 'the first piece has no event boundary of its own');
    stack.upstream.next({ rawChunks: [gz.subarray(0, split), gz.subarray(split)], rawChunkGapMs: 500, headers: { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' } });
    const { req, response } = clientRequest(stack.url, '/openai/v1/chat/completions', { 'accept-encoding': 'gzip' });
    req.end(chat({ stream: true }));
    const res = await response;
    const t0 = performance.now();
    let first = -1;
    const parts: Buffer[] = [];
    res.on('data', (c: Buffer) => {
      first = first < 0 ? performance.now() - t0 : first;
      parts.push(c);
    });
    await once(res, 'end');
    const total = performance.now() - t0;
    await stack.records(1);
    assert.equal(JSON.parse(stack.upstream.exchanges.at(-1)!.body.toString()).stream_options?.include_usage, true, 'the proxy had asked for usage');
    assert.ok(Buffer.concat(parts).equals(gz), 'compressed bytes reach the client exactly as sent');
    assert.ok(total - first > 300, `the first piece was held back until the end (first byte at ${first.toFixed(0)} ms, end at ${total.toFixed(0)} ms)`);
  });
});

describe('large bodies', { timeout: 120_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.close();
  });

  it('a 10 MB non-streaming answer reaches the client byte for byte, with its usage read', async () => {
    const content = 'y'.repeat(10 * 1024 * 1024);
    const body = JSON.stringify({ id: 'big', object: 'chat.completion', model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content } }], usage: { prompt_tokens: 7, completion_tokens: 2_621_440 } });
    stack.upstream.next({ rawBody: body, headers: { 'content-type': 'application/json' } });
    const res = await raw(stack.url, '/openai/v1/chat/completions', { body: chat() });
    const [r] = await stack.records(1);
    assert.equal(res.body.length, Buffer.byteLength(body));
    assert.equal(createHash('sha256').update(res.body).digest('hex'), createHash('sha256').update(body).digest('hex'));
    assert.deepEqual([r.inputTokens, r.outputTokens, r.estimated, r.errorCategory], [7, 2_621_440, false, null]);
  });

  it('a 10 MB request body reaches the upstream byte for byte', async () => {
    const body = chat({ messages: [{ role: 'user', content: 'z'.repeat(10 * 1024 * 1024) }] });
    stack.upstream.next({});
    const res = await raw(stack.url, '/openai/v1/chat/completions', { body });
    assert.equal(res.status, 200);
    await stack.records(1);
    assert.ok(stack.upstream.exchanges.at(-1)!.body.equals(Buffer.from(body)));
  });

  it('a single 1 MB SSE event passes whole and its usage counts', async () => {
    const big = 'w'.repeat(1024 * 1024);
    stack.upstream.next({ chunks: ['a', big, 'b'], usage: { input: 5, output: 262_146 } });
    const res = await raw(stack.url, '/anthropic/v1/messages', { body: claude({ stream: true }) });
    const [r] = await stack.records(1);
    assert.ok(res.body.equals(stack.upstream.exchanges.at(-1)!.sent));
    assert.ok(res.body.length > 1024 * 1024);
    assert.deepEqual([r.inputTokens, r.outputTokens, r.estimated, r.errorCategory], [5, 262_146, false, null]);
  });
});

/** Starts a POST and leaves sending the body (and going away) to the test. */
function clientRequest(url: string, path: string, headers: Record<string, string> = {}): { req: ReturnType<typeof httpRequest>; response: Promise<IncomingMessage> } {
  const u = new URL(url);
  const req = httpRequest({ host: u.hostname, port: u.port, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } });
  req.on('error', () => undefined); // the test aborts it on purpose
  const response = new Promise<IncomingMessage>((resolve) => req.once('response', resolve));
  return { req, response };
}

describe('the client goes away at every stage', { timeout: 120_000 }, () => {
  let stack: Stack;
  const records: RequestRecord[] = [];
  before(async () => {
    stack = await startStack({ retry: { maxRetries: 2, maxWaitMs: 30_000 } });
    stack.app.tracker.on('completed', (r) => records.push(r));
  });
  after(async () => {
    await stack.close();
  });
  afterEach(async () => {
    await until(() => stack.app.tracker.activeCount === 0, 'no request left in flight');
    await stillServes(stack.url, stack.upstream, () => records.length);
  });

  const oneRecord = async (before: number, category: string): Promise<RequestRecord> => {
    await until(() => records.length >= before + 1, `a ${category} record`);
    await sleep(50); // a second record would come now
    assert.equal(records.length, before + 1, 'exactly one record');
    assert.equal(records.at(-1)!.errorCategory, category);
    return records.at(-1)!;
  };

  it('while sending its body: nothing reaches the upstream, nothing is recorded', async () => {
    const before = records.length;
    const sent = stack.upstream.exchanges.length;
    const { req } = clientRequest(stack.url, '/openai/v1/chat/completions', { 'content-length': '100000' });
    req.write('{"model":"gpt-4o","messages":[');
    await sleep(50);
    req.destroy();
    await sleep(100);
    assert.equal(stack.upstream.exchanges.length, sent, 'an incomplete request is not forwarded');
    assert.equal(records.length, before, 'and not recorded');
  });

  it('before the upstream answers: the upstream request is aborted, one client_disconnect record', async () => {
    const before = records.length;
    stack.upstream.next({ firstDelayMs: 300 });
    const { req } = clientRequest(stack.url, '/openai/v1/chat/completions');
    req.end(chat({ stream: true }));
    await until(() => stack.upstream.exchanges.length > 0 && stack.upstream.exchanges.at(-1)!.headAt === null && stack.app.tracker.activeCount === 1, 'the request upstream');
    req.destroy();
    const r = await oneRecord(before, 'client_disconnect');
    assert.equal(r.status, null);
  });

  it('after the head, before any body byte (the head is relayed as soon as the upstream sends it)', async () => {
    const before = records.length;
    stack.upstream.next({ stallAfterEvents: 0 });
    const { req, response } = clientRequest(stack.url, '/openai/v1/chat/completions');
    req.end(chat({ stream: true }));
    const head = await Promise.race([response, sleep(1500).then(() => null)]);
    req.destroy();
    assert.ok(head, 'the upstream sent its head 1.5 s ago: the client must have it, not wait for the first body byte');
    const r = await oneRecord(before, 'client_disconnect');
    assert.deepEqual([r.status, r.ttfbMs], [200, null]);
    await stack.upstream.waitForExchanges(stack.upstream.exchanges.length);
    assert.equal(stack.upstream.exchanges.at(-1)!.aborted, true);
  });

  it('while the proxy waits out a 429 before retrying: no retry is sent, one client_disconnect record', async () => {
    const before = records.length;
    const sent = stack.upstream.exchanges.length;
    stack.upstream.next({ status: 429, rawBody: '{"error":{"message":"slow down"}}', headers: { 'retry-after': '1', 'content-type': 'application/json' } });
    const { req } = clientRequest(stack.url, '/openai/v1/chat/completions');
    req.end(chat());
    await until(() => stack.upstream.exchanges.length === sent + 1 && stack.upstream.exchanges.at(-1)!.endedAt !== null, 'the throttled attempt');
    req.destroy();
    await oneRecord(before, 'client_disconnect');
    await sleep(1200); // past the retry-after: a leaked retry timer would send now
    assert.equal(stack.upstream.exchanges.length, sent + 1, 'the retry was cancelled with the client');
  });

  it('while the proxy holds a JSON body to add metrics to', async () => {
    const before = records.length;
    const sent = stack.upstream.exchanges.length;
    stack.upstream.next({ stallAfterEvents: 0, headers: { 'content-type': 'application/json' } });
    const { req } = clientRequest(stack.url, '/openai/v1/chat/completions', { 'x-tokenmeter-metrics': '1' });
    req.end(chat({ stream: true }));
    await until(() => stack.upstream.exchanges.length === sent + 1 && stack.upstream.exchanges[sent].headAt !== null, 'the head sent to the proxy');
    await sleep(20);
    req.destroy();
    await oneRecord(before, 'client_disconnect');
  });

  it('while it is not reading (backpressure), then goes away', async () => {
    const before = records.length;
    stack.upstream.next({ bulk: { bytes: 64 * 1024 * 1024 } });
    const { req, response } = clientRequest(stack.url, '/openai/v1/chat/completions');
    req.end(chat({ stream: true }));
    const res = await response;
    res.pause();
    const ex = () => stack.upstream.exchanges.at(-1)!;
    await until(() => ex().sentBytes > 1024 * 1024, 'some of the stream');
    await sleep(200);
    req.destroy();
    await oneRecord(before, 'client_disconnect');
    await stack.upstream.waitForExchanges(stack.upstream.exchanges.length);
    assert.equal(ex().aborted, true, 'the upstream was aborted, not drained to the end');
    assert.ok(ex().sentBytes < 64 * 1024 * 1024);
  });
});

describe('a slow client: backpressure reaches the upstream', { timeout: 120_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.close();
  });

  for (const asked of [true, false]) {
    it(`the upstream is held back while the client does not read (48 MB, ${asked ? 'relayed as is' : 'through the usage filter'})`, async () => {
      const total = 48 * 1024 * 1024;
      const base = settledMemory();
      stack.upstream.next({ bulk: { bytes: total } });
      const body = chat({ model: 'bulk', stream: true, ...(asked && { stream_options: { include_usage: true } }) });
      const { req, response } = clientRequest(stack.url, '/openai/v1/chat/completions');
      req.end(body);
      const res = await response;
      res.pause();
      const ex = () => stack.upstream.exchanges.at(-1)!;
      // Wait until the upstream cannot write more: every buffer on the way is full.
      let last = -1;
      while (ex().sentBytes !== last) {
        last = ex().sentBytes;
        await sleep(150);
      }
      const inFlight = ex().sentBytes;
      const held = settledMemory();
      const grew = held.heapUsed + held.arrayBuffers - (base.heapUsed + base.arrayBuffers);
      assert.ok(inFlight < 24 * 1024 * 1024, `the upstream wrote ${(inFlight / 2 ** 20).toFixed(1)} MB of 48 MB to a client that read nothing`);
      assert.ok(grew < 16 * 1024 * 1024, `heap + buffers grew by ${(grew / 2 ** 20).toFixed(1)} MB while the stream was held`);

      const hash = createHash('sha256');
      let received = 0;
      res.on('data', (c: Buffer) => {
        received += c.length;
        hash.update(c);
      });
      res.resume();
      await once(res, 'end');
      const [r] = await stack.records(1, 15_000);
      await stack.upstream.waitForExchanges(stack.upstream.exchanges.length);
      assert.ok(ex().sentBytes >= total);
      if (asked) {
        assert.equal(received, ex().sentBytes);
        assert.equal(hash.digest('hex'), ex().sentSha256, 'byte for byte');
      } else {
        // What the filter removes: `,"usage":null` from every chunk and the usage chunk.
        assert.ok(received < ex().sentBytes && received > total * 0.99);
      }
      assert.deepEqual([r.outputTokens, r.inputTokens, r.estimated, r.errorCategory], [ex().contentEvents, 3, false, null]);
    });
  }
});

describe('the port, the settings and the history folder', { timeout: 120_000 }, () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
  });

  it('port in use: a clear error, the holder keeps serving, and the loser can start once the port is free', async () => {
    const holder = new Tokenmeter({ port: 0, version: 't', providers: { openai: { baseUrl: upstream.url } } });
    const url = await holder.start();
    const port = holder.proxy.port!;
    const second = new Tokenmeter({ port, version: 't', providers: { openai: { baseUrl: upstream.url } } });
    try {
      await assert.rejects(second.start(), (err: Error) => {
        assert.ok(err instanceof PortInUseError);
        assert.match(err.message, new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is already in use\\. Choose another port \\(0 picks a free one\\)`));
        return true;
      });
      assert.equal(second.proxy.url, null);
      upstream.next({});
      assert.equal((await raw(url, '/openai/v1/chat/completions', { body: chat() })).status, 200, 'the holder is untouched');
      // What a second window does when the first one closes: the same instance starts again.
      await holder.close(100);
      assert.equal(await second.start(), url);
      upstream.next({});
      assert.equal((await raw(url, '/openai/v1/chat/completions', { body: chat() })).status, 200);
      assert.equal(second.tracker.totalCompleted, 1);
    } finally {
      await holder.close(100);
      await second.close(100);
    }
  });

  it('stopping lets a request in flight finish, then closes its keep-alive connection without waiting out the grace period', async () => {
    const app = new Tokenmeter({ port: 0, version: 't', providers: { openai: { baseUrl: upstream.url } } });
    const url = await app.start();
    const agent = new HttpAgent({ keepAlive: true });
    try {
      upstream.next({ firstDelayMs: 300 });
      const inFlight = raw(url, '/openai/v1/chat/completions', { body: chat(), agent });
      await until(() => app.tracker.activeCount === 1, 'the request in flight');
      const t0 = Date.now();
      await app.stop(5000);
      const took = Date.now() - t0;
      assert.equal((await inFlight).status, 200, 'the request in flight finished');
      assert.ok(took < 1500, `stop() took ${took} ms for a 300 ms request: it waited for the idle keep-alive socket`);
      assert.equal(app.tracker.totalCompleted, 1);
    } finally {
      agent.destroy();
      await app.close(100);
    }
  });

  it('the CLI on a port in use exits 2 with the reason, and leaves the holder alone', async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const cli = spawnTs('src/cli.ts', ['--port', String(port)]);
      const { code } = await cli.exited;
      assert.equal(code, 2);
      assert.match(cli.stderr(), new RegExp(`tokenmeter: Port ${port} on 127\\.0\\.0\\.1 is already in use`));
      assert.equal(cli.stdout(), '', 'it never claims to be listening');
      assert.equal(holder.listening, true);
    } finally {
      holder.close();
    }
  });

  it('invalid settings: the CLI names the problem and exits 2; a bad provider change keeps the old table', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tokenmeter-settings-'));
    try {
      const write = async (name: string, text: string): Promise<string> => {
        const f = path.join(dir, name);
        await fs.writeFile(f, text);
        return f;
      };
      const cases: [string[], RegExp][] = [
        [['--port', 'abc'], /--port must be an integer from 0 to 65535, got "abc"/],
        [['--port', '70000'], /--port must be an integer from 0 to 65535/],
        [['--config', path.join(dir, 'missing.json')], /cannot read config file .*missing\.json/],
        [['--config', await write('bad.json', '{"providers": ')], /is not valid JSON/],
        [['--config', await write('url.json', '{"providers": {"x": {"baseUrl": "ftp://h"}}}')], /baseUrl must be http or https/],
        [['--config', await write('key.json', '{"metricsInResponse": "yes"}')], /metricsInResponse must be true or false/],
        [['--bogus'], /Unknown option '--bogus'/],
        [['--allow-host', 'evil.example:80'], /--allow-host takes a host name or address without a port/],
      ];
      const runs = cases.map(([args]) => spawnTs('src/cli.ts', ['--port', '0', ...args]));
      for (const [i, cli] of runs.entries()) {
        const { code } = await cli.exited;
        assert.equal(code, 2, `${cases[i][0].join(' ')}: exit code`);
        assert.match(cli.stderr(), cases[i][1]);
        assert.doesNotMatch(cli.stdout(), /listening/);
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }

    const app = new Tokenmeter({ port: 0, version: 't', providers: { openai: { baseUrl: upstream.url } } });
    const url = await app.start();
    try {
      assert.throws(() => app.proxy.setProviders({ openai: { baseUrl: 'not a url' } }), /is not a URL/);
      upstream.next({});
      assert.equal((await raw(url, '/openai/v1/chat/completions', { body: chat() })).status, 200, 'still routed to the old upstream');
    } finally {
      await app.close(100);
    }
  });

  it('the CLI with a --data-dir it cannot use: one clear warning, it keeps serving, SIGTERM exits 0', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tokenmeter-unwritable-'));
    try {
      const file = path.join(dir, 'a-file');
      await fs.writeFile(file, '');
      const config = path.join(dir, 'config.json');
      await fs.writeFile(config, JSON.stringify({ providers: { openai: { baseUrl: upstream.url } } }));
      const cli = spawnTs('src/cli.ts', ['--port', '0', '--config', config, '--data-dir', path.join(file, 'history')]);
      try {
        const [, url] = await cli.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
        for (let i = 0; i < 3; i++) {
          upstream.next({});
          assert.equal((await raw(url, '/openai/v1/chat/completions', { body: chat() })).status, 200);
        }
        await cli.waitFor(/(openai\/gpt-4o 200[^]*){3}/);
      } finally {
        cli.kill('SIGTERM');
      }
      const { code } = await cli.exited;
      assert.equal(code, 0);
      const warnings = cli.stderr().split('\n').filter((l) => /warning/.test(l));
      assert.equal(warnings.length, 1, cli.stderr());
      assert.match(warnings[0], /cannot (read|write) request history in .*a-file.*history \(ENOTDIR/);
      assert.match(warnings[0], /memory only/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('a full disk under the history: one clear warning, the proxy keeps serving, totals and export from memory', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tokenmeter-full-'));
    const app = new Tokenmeter({ port: 0, version: 't', providers: { openai: { baseUrl: upstream.url } } });
    const warnings: string[] = [];
    try {
      // Today's file is /dev/full: every write fails with ENOSPC, as on a full disk.
      await fs.symlink('/dev/full', path.join(dir, `requests-${new Date().toISOString().slice(0, 10)}.jsonl`));
      const history = new HistoryStore({ dir, flushIntervalMs: 10, logger: { warn: (m) => warnings.push(m) } });
      history.attach(app.tracker);
      const url = await app.start();
      for (let i = 0; i < 5; i++) {
        upstream.next({ usage: { input: 10, output: 1 } });
        assert.equal((await raw(url, '/openai/v1/chat/completions', { body: chat() })).status, 200);
        await history.flush();
      }
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0], /cannot write request history in .*\(ENOSPC/);
      assert.match(warnings[0], /memory only/);
      assert.equal(history.writable, false);
      assert.equal(history.totals('today').summary.inputTokens, 50);
      // Reading /dev/full never ends: the "disk" goes away before the export reads the folder.
      await fs.rm(path.join(dir, `requests-${new Date().toISOString().slice(0, 10)}.jsonl`));
      assert.equal((await history.records('today')).length, 5, 'export still has every record');
    } finally {
      await app.close(100);
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
