/**
 * The three arms, each its own process (pinned with taskset when asked): the scripted upstream,
 * Tokenmeter as a user runs it (`node dist/cli.js --port N --config FILE`), and the peer, Portkey's
 * open-source gateway (`@portkey-ai/gateway`'s build/start-server.js), both pointed at the upstream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import type { Format, Target } from './client';

export const repoRoot = path.resolve(__dirname, '../..');
const benchDir = path.join(repoRoot, 'bench');
const PRELOAD = pathToFileURL(path.join(benchDir, 'lib/preload.mjs')).href;

export interface Proc {
  name: string;
  pid: number;
  port: number;
  /** Where the proxy's event-loop delay histogram lands on SIGUSR2 (proxies only). */
  eldFile: string | null;
  child: ChildProcess;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function launch(cpu: string | null, args: string[], env: NodeJS.ProcessEnv, logFile: string, stdout: 'pipe' | 'ignore'): ChildProcess {
  const cmd = cpu === null ? process.execPath : 'taskset';
  const argv = cpu === null ? args : ['-c', cpu, process.execPath, ...args];
  const err = openSync(logFile, 'w');
  // stdin is a pipe the child watches (the upstream exits when the harness does); a proxy's
  // per-request log line goes to /dev/null, as cheap as a log line gets.
  return spawn(cmd, argv, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['pipe', stdout, err] });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve();
        return;
      }
      const t = setTimeout(() => child.kill('SIGKILL'), 12_000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.kill('SIGTERM');
    });
}

async function waitReady(url: string, child: ChildProcess, name: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`${name} exited (${child.exitCode}) before it was ready`);
    }
    try {
      const r = await request(url, { headersTimeout: 1000, bodyTimeout: 1000 });
      await r.body.dump();
      if (r.statusCode === 200) {
        return;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`${name} not ready at ${url} after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startUpstream(cpu: string | null, scratch: string): Promise<Proc> {
  const child = launch(cpu, ['--import', 'tsx', path.join(benchDir, 'lib/upstream.ts')], {}, path.join(scratch, 'upstream.log'), 'pipe');
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error('the bench upstream did not start in 20 s')), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /\{"port":(\d+)\}/.exec(buf);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`the bench upstream exited (${code})`)));
  });
  return { name: 'upstream', pid: child.pid!, port, eldFile: null, child, stop: stopper(child) };
}

export interface ProxyLaunch {
  cpu: string | null;
  upstreamPort: number;
  scratch: string;
  /** Extra node flags, e.g. --cpu-prof --cpu-prof-dir=DIR. */
  nodeFlags: string[];
  /** Another build of the CLI (an A/B arm, see bench/ab.mjs); default dist/cli.js. */
  cli?: string;
  name?: string;
  /** Merged into each provider entry of the config, e.g. {streamUsage: false}. */
  providerExtra?: Record<string, unknown>;
}

export async function startTokenmeter(o: ProxyLaunch): Promise<Proc> {
  const port = await freePort();
  const name = o.name ?? 'tokenmeter';
  const config = path.join(o.scratch, `${name}.json`);
  const up = `http://127.0.0.1:${o.upstreamPort}`;
  const extra = o.providerExtra ?? {};
  writeFileSync(config, JSON.stringify({ providers: { openai: { baseUrl: up, api: 'openai', ...extra }, anthropic: { baseUrl: up, api: 'anthropic', ...extra } } }));
  const eldFile = path.join(o.scratch, `eld-${name}.json`);
  const child = launch(
    o.cpu,
    // --data-dir: request history is written to disk, as the extension always does.
    [...o.nodeFlags, '--import', PRELOAD, o.cli ?? path.join(repoRoot, 'dist/cli.js'), '--port', String(port), '--config', config, '--data-dir', path.join(o.scratch, `${name}-data`)],
    { BENCH_ELD_FILE: eldFile },
    path.join(o.scratch, `${name}.log`),
    'ignore',
  );
  await waitReady(`http://127.0.0.1:${port}/_tokenmeter/health`, child, name);
  return { name, pid: child.pid!, port, eldFile, child, stop: stopper(child) };
}

export const portkeyEntry = path.join(benchDir, 'node_modules/@portkey-ai/gateway/build/start-server.js');

export async function startPortkey(o: ProxyLaunch): Promise<Proc> {
  const port = await freePort();
  const eldFile = path.join(o.scratch, 'eld-portkey.json');
  const child = launch(
    o.cpu,
    [...o.nodeFlags, '--import', PRELOAD, portkeyEntry, `--port=${port}`, '--headless'],
    // Its own defaults, as `npx @portkey-ai/gateway` runs; only the listening address is pinned.
    { BENCH_ELD_FILE: eldFile, BENCH_LOOPBACK: '1' },
    path.join(o.scratch, 'portkey.log'),
    'ignore',
  );
  await waitReady(`http://127.0.0.1:${port}/`, child, 'portkey');
  return { name: 'portkey', pid: child.pid!, port, eldFile, child, stop: stopper(child) };
}

/** Diagnostic arm: the least a Node relay does (bare-relay.mjs), same preload, same core. */
export async function startBare(o: ProxyLaunch): Promise<Proc> {
  const port = await freePort();
  const eldFile = path.join(o.scratch, 'eld-bare.json');
  const child = launch(
    o.cpu,
    [...o.nodeFlags, '--import', PRELOAD, path.join(benchDir, 'lib/bare-relay.mjs'), String(port), `http://127.0.0.1:${o.upstreamPort}`],
    { BENCH_ELD_FILE: eldFile },
    path.join(o.scratch, 'bare.log'),
    'ignore',
  );
  await waitReady(`http://127.0.0.1:${port}/v1/models`, child, 'bare relay');
  return { name: 'bare', pid: child.pid!, port, eldFile, child, stop: stopper(child) };
}

export function bareTarget(p: Proc): Target {
  return { arm: 'bare', origin: `http://127.0.0.1:${p.port}`, path: (f) => `/${f}${UPSTREAM_PATH[f]}`, headers: (f) => AUTH[f] };
}

const UPSTREAM_PATH: Record<Format, string> = { openai: '/v1/chat/completions', anthropic: '/v1/messages' };
const AUTH: Record<Format, Record<string, string>> = {
  openai: { authorization: 'Bearer sk-bench-not-a-key' },
  anthropic: { 'x-api-key': 'sk-bench-not-a-key', 'anthropic-version': '2023-06-01' },
};

export function directTarget(upstreamPort: number): Target {
  return { arm: 'direct', origin: `http://127.0.0.1:${upstreamPort}`, path: (f) => UPSTREAM_PATH[f], headers: (f) => AUTH[f] };
}

export function tokenmeterTarget(p: Proc): Target {
  return { arm: p.name, origin: `http://127.0.0.1:${p.port}`, path: (f) => `/${f}${UPSTREAM_PATH[f]}`, headers: (f) => AUTH[f] };
}

export function portkeyTarget(p: Proc, upstreamPort: number): Target {
  return {
    arm: 'portkey',
    origin: `http://127.0.0.1:${p.port}`,
    path: (f) => UPSTREAM_PATH[f],
    headers: (f) => ({ ...AUTH[f], 'x-portkey-provider': f, 'x-portkey-custom-host': `http://127.0.0.1:${upstreamPort}/v1` }),
  };
}
