/**
 * Who can reach the proxy and its control API: DNS-rebinding Host headers, foreign origins and
 * cross-site no-cors requests are refused (403, in the client's API format) before anything is
 * forwarded or recorded; nothing listens beyond loopback by default; the control API cannot be
 * driven cross-origin; the dashboard page and the webview run under a CSP without unsafe-inline or
 * unsafe-eval; hostile requests never take the proxy down.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import * as esbuild from 'esbuild';
import { HostNames } from '../../src/core/proxy/hostNames';
import { Tokenmeter } from '../../src/core/service';
import { raw, repoRoot, spawnTs, type Child } from '../fixtures/reliability';
import { startStack, type Stack } from '../fixtures/stack';
import { startUpstream, type Upstream } from '../fixtures/upstream';

const chat = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });

describe('DNS rebinding, foreign origins and cross-site requests are refused', { timeout: 120_000 }, () => {
  let stack: Stack;
  let port: number;
  before(async () => {
    stack = await startStack();
    port = stack.app.proxy.port!;
  });
  after(async () => {
    await stack.close();
  });

  const nothingForwarded = async (what: () => Promise<void>): Promise<void> => {
    const sent = stack.upstream.exchanges.length;
    const recorded = stack.app.tracker.totalCompleted;
    await what();
    assert.equal(stack.upstream.exchanges.length, sent, 'nothing reached the upstream');
    assert.equal(stack.app.tracker.totalCompleted, recorded, 'nothing was recorded');
    assert.equal(stack.app.tracker.activeCount, 0);
  };

  const refusedHosts = (): string[] => [
    'evil.example',
    `evil.example:${port}`,
    `127.0.0.1.nip.io:${port}`,
    `localhost.evil.example:${port}`,
    `localhost.:${port}`,
    `127.0.0.2:${port}`,
    `0.0.0.0:${port}`,
    `[::ffff:127.0.0.1]:${port}`,
    `127.1:${port}`,
    `2130706433:${port}`,
    `localhost:${port + 1}`,
    `user@127.0.0.1:${port}`,
    `127.0.0.1:${port}@evil.example`,
  ];

  it('refuses every Host that is not the proxy itself: 403 in the OpenAI format for OpenAI paths', async () => {
    for (const host of refusedHosts()) {
      await nothingForwarded(async () => {
        const res = await raw(stack.url, '/openai/v1/chat/completions', { body: chat, headers: { host } });
        assert.equal(res.status, 403, `Host "${host}"`);
        assert.equal(res.headers['x-tokenmeter-error'], '1');
        const body = JSON.parse(res.body.toString());
        assert.equal(body.error.code, 'tokenmeter_403', `OpenAI error shape for Host "${host}"`);
        assert.match(body.error.message, /DNS rebinding protection/);
      });
    }
  });

  it('refuses a request without a Host header (HTTP/1.0)', async () => {
    await nothingForwarded(async () => {
      const answer = await new Promise<string>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => s.end('GET /openai/v1/models HTTP/1.0\r\n\r\n'));
        let text = '';
        s.on('data', (d: Buffer) => (text += d.toString()));
        s.on('end', () => resolve(text));
        s.on('error', reject);
      });
      assert.match(answer, /^HTTP\/1\.[01] (400|403) /);
    });
  });

  it('and in the Anthropic format for Anthropic clients, the control API included', async () => {
    for (const host of [`evil.example:${port}`, `localhost.evil.example:${port}`]) {
      for (const p of ['/v1/messages', '/anthropic/v1/messages?beta=true']) {
        await nothingForwarded(async () => {
          const res = await raw(stack.url, p, { body: '{"model":"claude-opus-4-1","max_tokens":1,"messages":[]}', headers: { host, 'x-api-key': 'k' } });
          assert.equal(res.status, 403);
          const body = JSON.parse(res.body.toString());
          assert.deepEqual([body.type, body.error.type], ['error', 'permission_error']);
        });
      }
      const control = await raw(stack.url, '/_tokenmeter/api/requests', { method: 'GET', headers: { host } });
      assert.equal(control.status, 403, 'the control API answers nobody behind a rebound name');
      assert.doesNotMatch(control.body.toString(), /"provider"/);
    }
  });

  it('serves the names of the proxy itself', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LocalHost:${port}`, `[::1]:${port}`]) {
      stack.upstream.next({});
      const res = await raw(stack.url, '/openai/v1/chat/completions', { body: chat, headers: { host } });
      assert.equal(res.status, 200, `Host "${host}"`);
      await stack.records(1);
    }
  });

  it('refuses foreign and opaque origins, and cross-site requests that carry no Origin', async () => {
    const refused: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: `http://127.0.0.1:${port + 1}` },
      { origin: `http://localhost.evil.example:${port}` },
      { origin: `http://127.0.0.1:${port}.evil.example` },
      { origin: `https://127.0.0.1:${port}` },
      { origin: 'null' },
      { origin: 'file://' },
      // An <img>/<script> on another site: browsers send no Origin, but Sec-Fetch-Site says it.
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' },
    ];
    for (const headers of refused) {
      for (const [p, method] of [
        ['/openai/v1/chat/completions', 'POST'],
        ['/openai/v1/models', 'GET'],
        ['/_tokenmeter/api/requests', 'GET'],
        ['/_tokenmeter/events', 'GET'],
        ['/_tokenmeter/metrics', 'GET'],
        ['/_tokenmeter/', 'GET'],
      ]) {
        await nothingForwarded(async () => {
          const res = await raw(stack.url, p, { method, body: method === 'POST' ? chat : undefined, headers });
          assert.equal(res.status, 403, `${method} ${p} with ${JSON.stringify(headers)}`);
          assert.match(JSON.parse(res.body.toString()).error.message, /refused/);
        });
      }
    }
  });

  it('serves its own origin and same-origin browser requests', async () => {
    const allowed: Record<string, string>[] = [
      { origin: `http://127.0.0.1:${port}` },
      { origin: `HTTP://LOCALHOST:${port}` },
      { 'sec-fetch-site': 'same-origin', origin: `http://127.0.0.1:${port}` },
      { 'sec-fetch-site': 'none' },
    ];
    for (const headers of allowed) {
      const res = await raw(stack.url, '/_tokenmeter/health', { method: 'GET', headers });
      assert.equal(res.status, 200, JSON.stringify(headers));
    }
  });
});

describe('the control API cannot be driven cross-origin', { timeout: 120_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
    stack.upstream.next({});
    await raw(stack.url, '/openai/v1/chat/completions', { body: chat });
    await stack.records(1);
  });
  after(async () => {
    await stack.close();
  });

  const endpoints = ['/_tokenmeter/health', '/_tokenmeter/api/requests', '/_tokenmeter/api/errors', '/_tokenmeter/api/active', '/_tokenmeter/api/throttle', '/_tokenmeter/metrics'];

  it('grants no CORS: no Access-Control-Allow-* header on any answer, allowed or refused', async () => {
    for (const p of endpoints) {
      for (const origin of [undefined, 'https://evil.example']) {
        const res = await raw(stack.url, p, { method: 'GET', headers: origin ? { origin } : {} });
        for (const name of Object.keys(res.headers)) {
          assert.doesNotMatch(name, /^access-control-/, `${p} (${origin ?? 'no origin'}) sent ${name}`);
        }
      }
    }
  });

  it('refuses preflights from other origins, so no non-simple request can follow', async () => {
    for (const p of [...endpoints, '/openai/v1/chat/completions']) {
      const res = await raw(stack.url, p, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
      });
      assert.equal(res.status, 403, p);
      assert.equal(res.headers['access-control-allow-origin'], undefined);
    }
  });

  it('is read-only: every method but GET and HEAD is refused, even from its own origin', async () => {
    const before = stack.app.tracker.totalCompleted;
    for (const p of endpoints) {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const res = await raw(stack.url, p, { method, body: '{}', headers: { origin: stack.url } });
        assert.equal(res.status, 405, `${method} ${p}`);
      }
    }
    assert.equal(stack.app.tracker.totalCompleted, before);
    assert.equal(JSON.parse((await raw(stack.url, '/_tokenmeter/api/requests', { method: 'GET' })).body.toString()).length, before, 'nothing was reset');
  });
});

describe('nothing listens beyond loopback by default', { timeout: 120_000 }, () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
  });

  const externalAddresses = (): string[] =>
    Object.values(os.networkInterfaces())
      .flat()
      .filter((a): a is os.NetworkInterfaceInfo => a !== undefined && !a.internal && a.family === 'IPv4')
      .map((a) => a.address);

  const refusedAt = (host: string, port: number): Promise<string> =>
    new Promise((resolve) => {
      const s = net.connect({ host, port });
      s.setTimeout(2000, () => {
        s.destroy();
        resolve('timeout');
      });
      s.once('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });

  it('the core listens on 127.0.0.1 only', async (t) => {
    const app = new Tokenmeter({ port: 0, version: 't' });
    try {
      const url = await app.start();
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const external = externalAddresses();
      if (external.length === 0) {
        t.diagnostic('no external IPv4 interface on this machine: the connect check is skipped');
      }
      for (const addr of external) {
        assert.notEqual(await refusedAt(addr, app.proxy.port!), 'connected', `reachable at ${addr}:${app.proxy.port}`);
      }
      assert.equal(await refusedAt('127.0.0.1', app.proxy.port!), 'connected');
    } finally {
      await app.close(100);
    }
  });

  it('the CLI listens on 127.0.0.1 by default, and warns when told to listen elsewhere', async () => {
    const cli = spawnTs('src/cli.ts', ['--port', '0']);
    let wide: Child | undefined;
    try {
      const [, port] = await cli.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      for (const addr of externalAddresses()) {
        assert.notEqual(await refusedAt(addr, Number(port)), 'connected', `the CLI is reachable at ${addr}:${port}`);
      }
      assert.doesNotMatch(cli.stderr(), /warning/);
      wide = spawnTs('src/cli.ts', ['--port', '0', '--host', '0.0.0.0']);
      const [, widePort] = await wide.waitFor(/listening on http:\/\/0\.0\.0\.0:(\d+)/);
      assert.match(wide.stderr(), /warning: listening on 0\.0\.0\.0, not loopback: other machines can use this proxy/);
      // Listening beyond loopback, it answers to this machine's addresses and name, and still
      // refuses other names (connecting over loopback, addressed as another machine would).
      const at = `http://127.0.0.1:${widePort}`;
      for (const name of [...externalAddresses(), os.hostname().toLowerCase(), 'localhost']) {
        const res = await raw(at, '/_tokenmeter/api/requests', { method: 'GET', headers: { host: `${name}:${widePort}` } });
        assert.equal(res.status, 200, `Host ${name}:${widePort}`);
      }
      for (const name of ['evil.example', '0.0.0.0', `${os.hostname()}.evil.example`]) {
        const res = await raw(at, '/_tokenmeter/api/requests', { method: 'GET', headers: { host: `${name}:${widePort}` } });
        assert.equal(res.status, 403, `Host ${name}:${widePort}`);
        assert.match(res.body.toString(), /this machine's addresses and name; more with --allow-host/);
      }
    } finally {
      cli.kill('SIGTERM');
      wide?.kill('SIGTERM');
      await Promise.all([cli.exited, wide?.exited]);
    }
  });
});

describe('the names a request may address the proxy by', () => {
  const machine = (names: string[]) => () => names;

  it('on loopback: loopback names, the listening address and the names the user allows', () => {
    const n = new HostNames('127.0.0.1', ['Devbox.LAN'], machine(['192.168.1.5', 'myhost']));
    for (const ok of ['127.0.0.1', 'localhost', '[::1]', 'devbox.lan']) {
      assert.equal(n.has(ok), true, ok);
    }
    for (const no of ['192.168.1.5', 'myhost', '0.0.0.0', 'evil.example', '127.0.0.2', 'devbox.lan.evil.example']) {
      assert.equal(n.has(no), false, no);
    }
    assert.equal(n.describe(8383), '127.0.0.1:8383, localhost:8383, [::1]:8383, devbox.lan:8383');
    assert.equal(new HostNames('::1').has('[::1]'), true);
  });

  it('beyond loopback: also the machine\'s addresses and name, read again when they change', () => {
    const names = ['192.168.1.5', '[fe80::1]', 'myhost'];
    const n = new HostNames('0.0.0.0', [], machine(names), 0);
    for (const ok of ['127.0.0.1', 'localhost', '192.168.1.5', '[fe80::1]', 'myhost']) {
      assert.equal(n.has(ok), true, ok);
    }
    for (const no of ['0.0.0.0', 'evil.example', '10.0.0.7']) {
      assert.equal(n.has(no), false, no);
    }
    names.push('10.0.0.7'); // a VPN came up
    assert.equal(n.has('10.0.0.7'), true);
    assert.equal(new HostNames('192.168.1.5', [], machine(['192.168.1.5', '0.0.0.0'])).has('0.0.0.0'), false, '0.0.0.0 is never a name');
  });

  it('the OS lists this machine\'s own addresses and name', () => {
    const n = new HostNames('::');
    assert.equal(n.has(os.hostname().toLowerCase()), true);
    for (const a of Object.values(os.networkInterfaces()).flat()) {
      if (a && a.family === 'IPv4') {
        assert.equal(n.has(a.address), true, a.address);
      }
    }
  });

  it('a name the user allows is served over loopback, its origin too; others still are not', async () => {
    const stack = await startStack({ allowedHosts: ['host.docker.internal'] });
    try {
      const port = stack.app.proxy.port!;
      const ok = await raw(stack.url, '/openai/v1/chat/completions', { body: chat, headers: { host: `host.docker.internal:${port}` } });
      assert.equal(ok.status, 200);
      await stack.records(1);
      const page = await raw(stack.url, '/_tokenmeter/api/requests', { method: 'GET', headers: { host: `host.docker.internal:${port}`, origin: `http://host.docker.internal:${port}` } });
      assert.equal(page.status, 200);
      const other = await raw(stack.url, '/_tokenmeter/api/requests', { method: 'GET', headers: { origin: `http://evil.example:${port}` } });
      assert.equal(other.status, 403);
      const evil = await raw(stack.url, '/openai/v1/chat/completions', { body: chat, headers: { host: `evil.example:${port}` } });
      assert.equal(evil.status, 403);
    } finally {
      await stack.close();
    }
  });
});

/** The directives of a CSP, name → sources. */
function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...sources]) => [name.toLowerCase(), sources]),
  );
}

function assertStrictCsp(csp: string, where: string): string {
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|unsafe-hashes|wasm-unsafe-eval/, `${where}: ${csp}`);
  const d = directives(csp);
  assert.deepEqual(d.get('default-src'), ["'none'"], `${where}: default-src 'none'`);
  const scripts = d.get('script-src');
  assert.ok(scripts && scripts.length === 1 && /^'nonce-[A-Za-z0-9+/=]{22,}'$/.test(scripts[0]), `${where}: scripts by a nonce of 128 bits or more only, got ${scripts?.join(' ')}`);
  for (const [name, sources] of d) {
    assert.ok(!sources.includes('*') && !sources.some((s) => /^(https?:|data:|blob:)$/.test(s) && name !== 'img-src'), `${where}: ${name} ${sources.join(' ')} is too wide`);
  }
  return /'nonce-([^']+)'/.exec(scripts[0])![1];
}

describe('content security policy of the dashboard and the webview', { timeout: 120_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.close();
  });

  it('the dashboard page: a strict CSP header and meta, a fresh nonce every load, every script tag nonced', async () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const res = await raw(stack.url, '/_tokenmeter/', { method: 'GET' });
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      const header = String(res.headers['content-security-policy'] ?? '');
      const nonce = assertStrictCsp(header, 'CSP header');
      assert.deepEqual(directives(header).get('frame-ancestors'), ["'none'"], 'never framed (clickjacking)');
      const html = res.body.toString();
      const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
      assert.ok(meta, 'a meta CSP too');
      assert.equal(assertStrictCsp(meta[1].replace(/&#39;|&apos;/g, "'"), 'CSP meta'), nonce);
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      assert.ok(scripts.length > 0);
      for (const [, attrs, body] of scripts) {
        assert.match(attrs, new RegExp(`nonce="${nonce.replace(/[+/=]/g, '\\$&')}"`), 'every script carries the nonce');
        assert.equal(body.trim(), '', 'no inline script body');
      }
      assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'no inline event handlers');
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      nonces.add(nonce);
    }
    assert.equal(nonces.size, 3, 'a new nonce on every load');
  });

  it('the VS Code webview: its policy is strict, and the panel builds its page with it', async () => {
    // Imported by path at run time: the page module belongs to the panel's owners and may move.
    const htmlModule = path.join(repoRoot, 'src', 'core', 'dashboard', 'html.ts');
    const { webviewCsp } = (await import(htmlModule)) as { webviewCsp: (cspSource: string, nonce: string) => string };
    assertStrictCsp(webviewCsp('https://file+.vscode-resource.vscode-cdn.net', 'r4nd0mN0nceOf16BytesXX=='), 'webview CSP');
    const panel = await fs.readFile(path.join(repoRoot, 'src', 'vscode', 'panel.ts'), 'utf8');
    assert.match(panel, /webviewCsp\(/, 'panel.ts builds its CSP with webviewCsp');
    assert.match(panel, /randomBytes\((1[6-9]|[2-9]\d)\)/, 'its nonce comes from crypto.randomBytes(≥16)');
    assert.doesNotMatch(panel, /'unsafe-(inline|eval)'/);
  });

  it('the webview bundle needs no eval: its one Function() use is a guarded globalThis probe', async () => {
    const out = await fs.mkdtemp(path.join(os.tmpdir(), 'tokenmeter-webview-'));
    try {
      const built = await esbuild.build({
        entryPoints: [path.join(repoRoot, 'webview', 'main.ts')],
        bundle: true,
        platform: 'browser',
        format: 'iife',
        target: 'es2022',
        minify: true,
        write: false,
        outdir: out,
        logLevel: 'silent',
      });
      const js = built.outputFiles.find((f) => f.path.endsWith('.js'))!.text;
      const uses = [...js.matchAll(/(?<![\w$.])eval\(|new Function\(|(?<![\w$.])Function\(|set(?:Timeout|Interval)\(\s*["'`]/g)];
      for (const m of uses) {
        const around = js.slice(Math.max(0, m.index - 40), m.index + 60);
        assert.match(around, /try\{return new Function\("return this"\)\(\)\}catch/, `an eval-like call the CSP would block: …${around}…`);
      }
    } finally {
      await fs.rm(out, { recursive: true, force: true });
    }
  });
});

describe('hostile requests never take the proxy down', { timeout: 120_000 }, () => {
  let upstream: Upstream;
  let cli: Child | undefined;
  let url: string;
  let dir: string;
  let config: string;
  before(async () => {
    upstream = await startUpstream();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tokenmeter-hostile-'));
    config = path.join(dir, 'config.json');
    const providers = Object.fromEntries(['openai', 'anthropic', 'gemini', 'ollama'].map((n) => [n, { baseUrl: upstream.url }]));
    await fs.writeFile(config, JSON.stringify({ providers }));
  });
  // The proxy runs as the CLI, in a process of its own: a crash fails one case, not the suite.
  beforeEach(async () => {
    if (cli === undefined || cli.proc.exitCode !== null) {
      cli = spawnTs('src/cli.ts', ['--port', '0', '--config', config]);
      url = (await cli.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1];
    }
  });
  after(async () => {
    cli?.kill('SIGKILL');
    await cli?.exited;
    await upstream.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const alive = async (what: string): Promise<void> => {
    const proc = cli!;
    await new Promise((r) => setTimeout(r, 20)); // a crash on the request is reported by now
    assert.equal(proc.proc.exitCode, null, `${what}: the proxy process died:\n${proc.stderr()}`);
    const res = await raw(url, '/_tokenmeter/health', { method: 'GET' }).catch((err: Error) => assert.fail(`${what}: no health answer (${err.message}); stderr:\n${proc.stderr()}`));
    assert.equal(res.status, 200, what);
  };

  const hostile: [string, string, { method?: string; body?: string; headers?: Record<string, string> }][] = [
    // A page can send this with an <img> (a GET without Origin): decodeURIComponent must not throw.
    ['a malformed percent-escape in a Gemini model path', '/gemini/v1beta/models/%E0%A4%A:generateContent', { method: 'GET' }],
    ['a malformed percent-escape, streaming', '/gemini/v1beta/models/%:streamGenerateContent?alt=sse', { body: '{}' }],
    ['JSON nested 100,000 deep', '/openai/v1/chat/completions', { body: `{"model":"m","messages":${'['.repeat(100_000)}${']'.repeat(100_000)}}` }],
    ['a body that is not JSON', '/anthropic/v1/messages', { body: '\u0000\uffff{{{' }],
    ['a model that is an object', '/openai/v1/chat/completions', { body: '{"model":{"a":1},"stream":true,"stream_options":7}' }],
    ['a 1 MB model name', '/openai/v1/chat/completions', { body: JSON.stringify({ model: 'm'.repeat(1 << 20) }) }],
    ['dot segments', '/openai/../../_tokenmeter/../etc/passwd', { method: 'GET' }],
    ['a control path with a garbage query', '/_tokenmeter/api/requests?limit=-1e309&limit=NaN&provider=%', { method: 'GET' }],
    ['a running-totals query with bad globs', '/_tokenmeter/api/running-totals?provider=[&model=%E0', { method: 'GET' }],
    ['an absolute-form request target', 'http://evil.example/openai/v1/models', { method: 'GET' }],
  ];

  for (const [what, p, opts] of hostile) {
    it(what, async () => {
      upstream.setDefault({});
      await raw(url, p, { method: opts.method ?? 'POST', body: opts.body, headers: opts.headers }).catch(() => undefined);
      await alive(what);
    });
  }
});
