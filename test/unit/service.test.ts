import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningTotals } from '../../src/core/metrics/runningTotals';
import { Tokenmeter } from '../../src/core/service';
import { startStack, type Stack } from '../fixtures/stack';
import { startUpstream, type Upstream } from '../fixtures/upstream';

const totals = async (url: string): Promise<RunningTotals> => (await (await fetch(url)).json()) as RunningTotals;

const post = async (url: string, model: string, stream = false): Promise<void> => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, stream, messages: [] }) });
  await res.arrayBuffer();
};

describe('running totals on the control API', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.close();
  });

  it('serves the hierarchical totals of design.md, filtered by case-insensitive globs', async () => {
    await post(`${stack.url}/openai/v1/chat/completions`, 'gpt-4o');
    await post(`${stack.url}/openai/v1/chat/completions`, 'gpt-4o', true);
    await post(`${stack.url}/anthropic/v1/messages`, 'claude-sonnet-4-5:thinking');
    await stack.records(3);
    const all = await totals(`${stack.url}/_tokenmeter/api/running-totals`);
    assert.equal(all.summary.requests, 3);
    assert.equal(all.providers.openai.rollup.streaming.requests, 1);
    assert.equal(all.providers.openai.rollup.nonStreaming.requests, 1);
    assert.ok(all.providers.anthropic.models['claude-sonnet-4-5:thinking'], 'the model keeps its colon');
    const filtered = await totals(`${stack.url}/_tokenmeter/api/running-totals?provider=OPEN*&model=gpt-?o`);
    assert.deepEqual(Object.keys(filtered.providers), ['openai']);
    assert.equal(filtered.summary.requests, 2);
    assert.equal((await fetch(`${stack.url}/_tokenmeter/api/running-totals?range=month`)).status, 400);
    const noHistory = await fetch(`${stack.url}/_tokenmeter/api/running-totals?range=today`);
    assert.equal(noHistory.status, 404);
    assert.match(((await noHistory.json()) as { error: { message: string } }).error.message, /--data-dir/);
  });
});

describe('history across restarts', () => {
  let upstream: Upstream;
  let dir: string;
  before(async () => {
    upstream = await startUpstream();
    dir = await mkdtemp(join(tmpdir(), 'tokenmeter-history-'));
  });
  after(async () => {
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps today\'s totals when the proxy restarts', async () => {
    const options = { port: 0, version: 't', dataDir: dir, providers: { openai: { baseUrl: upstream.url } } };
    const first = new Tokenmeter(options);
    await first.loadHistory();
    const url = await first.start();
    await post(`${url}/openai/v1/chat/completions`, 'gpt-a');
    await post(`${url}/openai/v1/chat/completions`, 'gpt-b');
    await new Promise((r) => setTimeout(r, 50));
    await first.close(100);

    const second = new Tokenmeter(options);
    const loaded = await second.loadHistory();
    assert.equal(loaded?.records, 2);
    const url2 = await second.start();
    const today = await totals(`${url2}/_tokenmeter/api/running-totals?range=today`);
    assert.equal(today.summary.requests, 2);
    assert.deepEqual(Object.keys(today.providers.openai.models).sort(), ['gpt-a', 'gpt-b']);
    const session = await totals(`${url2}/_tokenmeter/api/running-totals`);
    assert.equal(session.summary.requests, 0, 'the session starts empty; history is separate');
    await second.close(100);
  });
});

describe('the standalone CLI (npm start)', () => {
  let upstream: Upstream;
  let dir: string;
  before(async () => {
    upstream = await startUpstream();
    dir = await mkdtemp(join(tmpdir(), 'tokenmeter-cli-'));
  });
  after(async () => {
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  const run = (args: string[]): { lines: string[]; url: Promise<string>; exit: Promise<number | null>; kill(sig: NodeJS.Signals): void } => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let resolveUrl!: (u: string) => void;
    const url = new Promise<string>((r) => (resolveUrl = r));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      lines.push(...d.split('\n').filter(Boolean));
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(d);
      if (m) {
        resolveUrl(m[1]);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return { lines, url, exit, kill: (sig) => child.kill(sig) };
  };

  it('prints its URL, forwards a request, exits 0 on SIGINT and keeps history in --data-dir', async () => {
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ providers: { openai: { baseUrl: upstream.url } } }));
    const cli = run(['--port', '0', '--config', config, '--data-dir', dir]);
    const url = await Promise.race([cli.url, cli.exit.then((c) => Promise.reject(new Error(`exited ${c}: ${cli.lines.join('\n')}`)))]);
    const res = await fetch(`${url}/openai/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"gpt-cli"}' });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Hello from the scripted upstream/);
    cli.kill('SIGINT');
    assert.equal(await cli.exit, 0);
    assert.ok(cli.lines.some((l) => /openai\/gpt-cli 200/.test(l)), `a line for the request in: ${cli.lines.join('\n')}`);

    const again = run(['--port', '0', '--config', config, '--data-dir', dir]);
    await again.url;
    const deadline = Date.now() + 5000;
    while (!again.lines.some((l) => l.includes('History:')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    again.kill('SIGTERM');
    assert.equal(await again.exit, 0);
    assert.ok(again.lines.some((l) => /History: .*\(1 records; today 1 requests\)/.test(l)), again.lines.join('\n'));
  });

  it('refuses bad flags and a busy port with a clear message and exit code 2', async () => {
    const bad = run(['--port', 'eighty']);
    assert.equal(await bad.exit, 2);
    assert.ok(bad.lines.some((l) => /--port must be an integer from 0 to 65535, got "eighty"/.test(l)));
    const busy = run(['--port', String(upstream.port)]);
    assert.equal(await busy.exit, 2);
    assert.ok(busy.lines.some((l) => new RegExp(`Port ${upstream.port} on 127.0.0.1 is already in use`).test(l)), busy.lines.join('\n'));
  });
});
