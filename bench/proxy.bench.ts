/**
 * What the proxy costs: three arms on one scripted upstream, in one run — direct to the upstream
 * (the floor), Tokenmeter (`node dist/cli.js`, as a user runs it) and the peer, Portkey's
 * open-source gateway. Arms alternate inside every round (the order rotates), rounds repeat, and
 * each figure is the median of the rounds with their min–max, so the noise of a shared machine
 * falls on every arm alike. Run through `npm run bench` (bench/run.mjs installs and builds first).
 *
 *   node --import tsx bench/proxy.bench.ts [--quick] [--rounds N] [--no-peer] [--no-pin]
 *        [--phases a,b] [--tokens N] [--delay MS] [--per-write N] [--cpu-prof [--cpu-prof-interval US]] [--bare] [--out NAME]
 *        [--formats openai,anthropic]   (the streamcpu phase only: to iterate on one format)
 *        [--heap-sample]   (allocations of the Tokenmeter process: lib/heapsample.mjs)
 *
 * --bare adds a diagnostic arm, a bare undici relay (lib/bare-relay.mjs): what any Node proxy costs.
 * --patched CLI adds Tokenmeter built from another tree (bench/ab.mjs builds one with bench/patches);
 * --cli CLI runs the tokenmeter arm from another build than dist/cli.js.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { request, type Pool } from 'undici';
import {
  bareTarget,
  directTarget,
  portkeyEntry,
  portkeyTarget,
  repoRoot,
  startBare,
  startPortkey,
  startTokenmeter,
  startUpstream,
  tokenmeterTarget,
  type Proc,
} from './lib/arms';
import { closedLoop, dispatched, manyStreams, newPool, openLoop, prepare, sendOnce, type Format, type Target } from './lib/client';
import { coreBusyShare, coreTimes, cpuMicros, cpuSplit, machine, rssBytes } from './lib/proc';
import { renderMarkdown } from './lib/report';
import { dist, summarize, type Summary } from './lib/stats';
import type { Shape } from './lib/upstream';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    'no-peer': { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    phases: { type: 'string' },
    tokens: { type: 'string' },
    delay: { type: 'string' },
    'per-write': { type: 'string' },
    formats: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'cpu-prof-interval': { type: 'string' },
    'heap-sample': { type: 'boolean', default: false },
    bare: { type: 'boolean', default: false },
    patched: { type: 'string' },
    cli: { type: 'string' },
    metrics: { type: 'boolean' },
    out: { type: 'string' },
  },
  strict: true,
});

const QUICK = args.quick;
const ROUNDS = Number(args.rounds ?? (QUICK ? 1 : 3));
const ALL_PHASES = ['sanity', 'latency', 'throughput', 'streamcpu', 'ttft', 'streams', 'eld', 'metrics'];
const STREAM_FORMATS = (args.formats ? args.formats.split(',') : ['openai', 'anthropic']) as Format[];
const phases = new Set(args.phases ? args.phases.split(',') : ALL_PHASES);
if (QUICK && args.metrics !== true && !args.phases) {
  phases.delete('metrics'); // 25 s on its own: `--quick --metrics` runs it too
}
if (args.metrics === false) {
  phases.delete('metrics');
}
const PIN = !args['no-pin'] && os.cpus().length >= 2 && existsSync('/usr/bin/taskset');
// The proxy under test gets a core to itself; the client (this process) and the upstream share the other.
const PROXY_CPU = PIN ? '1' : null;
const LOAD_CPU = PIN ? '0' : null;
const streamShape = (d: Partial<Shape>): Shape => ({
  tokens: Number(args.tokens ?? d.tokens ?? 16),
  delayMs: Number(args.delay ?? d.delayMs ?? 2),
  perWrite: Number(args['per-write'] ?? d.perWrite ?? 1),
  firstDelayMs: d.firstDelayMs ?? 0,
});
const JSON_SHAPE: Shape = { tokens: 64, delayMs: 0, perWrite: 1, firstDelayMs: 0 };

const outName = args.out ?? (QUICK ? 'quick' : 'proxy');
const resultsDir = path.join(repoRoot, 'bench/results');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'tokenmeter-bench-'));
const log = (s: string): void => void process.stdout.write(`${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Arm {
  name: 'direct' | 'tokenmeter' | 'portkey' | 'bare' | 'patched';
  target: Target;
  proc: Proc | null;
  pool: Pool;
}

/** Rotates the arms so each round starts with a different one. */
const order = <T>(xs: T[], round: number): T[] => xs.map((_, i) => xs[(i + round) % xs.length]);

let upstreamPid = 0;

/**
 * Proxy CPU time (and its kernel part), the upstream's CPU time, wall time and per-core machine
 * load (all processes, other users' included) over one measured window.
 */
async function window<T>(arm: Arm, fn: () => Promise<T>): Promise<{ r: T; cpuUs: number; sysUs: number; upstreamCpuUs: number; wallMs: number; cores: number[] }> {
  const c0 = arm.proc ? cpuSplit(arm.proc.pid) : { user: 0, sys: 0 };
  const u0 = cpuMicros(upstreamPid);
  const k0 = coreTimes();
  const t0 = performance.now();
  const r = await fn();
  const wallMs = performance.now() - t0;
  const c1 = arm.proc ? cpuSplit(arm.proc.pid) : { user: NaN, sys: NaN };
  return { r, cpuUs: c1.user + c1.sys - c0.user - c0.sys, sysUs: c1.sys - c0.sys, upstreamCpuUs: cpuMicros(upstreamPid) - u0, wallMs, cores: coreBusyShare(k0, coreTimes()) };
}

/** µs per 1,000 units of fixed CPU work on the proxies' core (lib/speedcheck.mjs): how fast it is now. */
function speedCheck(): number | null {
  try {
    const argv = [...(PIN ? ['-c', PROXY_CPU!, process.execPath] : []), path.join(repoRoot, 'bench/lib/speedcheck.mjs')];
    const out = execFileSync(PIN ? 'taskset' : process.execPath, argv, { encoding: 'utf8', timeout: 30_000 });
    return (JSON.parse(out) as { usPer1000: number }).usPer1000;
  } catch {
    return null;
  }
}

/** Starts the proxy's event-loop delay histogram; the next call returns it (preload.mjs, SIGUSR2). */
async function eld(proc: Proc | null): Promise<{ p50: number; p99: number; max: number; count: number } | null> {
  if (!proc?.eldFile) {
    return null;
  }
  const before = existsSync(proc.eldFile) ? statSync(proc.eldFile).mtimeMs : 0;
  const prevSeq = existsSync(proc.eldFile) ? (JSON.parse(readFileSync(proc.eldFile, 'utf8')) as { seq: number }).seq : 0;
  process.kill(proc.pid, 'SIGUSR2');
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    await sleep(20);
    if (existsSync(proc.eldFile) && statSync(proc.eldFile).mtimeMs >= before) {
      try {
        const v = JSON.parse(readFileSync(proc.eldFile, 'utf8')) as { seq: number; armed?: boolean; p50: number; p99: number; max: number; count: number };
        if (v.seq > prevSeq) {
          return v.armed ? null : v;
        }
      } catch {
        // half-written: read again
      }
    }
  }
  return null;
}

const results: Record<string, unknown> = {};
const started = Date.now();

async function main(): Promise<void> {
  mkdirSync(resultsDir, { recursive: true });
  const env = { ...machine(), pinned: PIN ? { proxy: `cpu ${PROXY_CPU}`, clientAndUpstream: `cpu ${LOAD_CPU}` } : 'no', quick: QUICK, rounds: ROUNDS };
  results.machine = env;
  results.tree = gitState();
  results.loadavgStart = os.loadavg();
  results.speedStart = speedCheck();
  log(`tokenmeter bench: ${QUICK ? 'quick' : 'full'} run, ${ROUNDS} round(s), node ${process.version}, loadavg ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  log(PIN ? `pinned: proxies on cpu ${PROXY_CPU}, client + upstream on cpu ${LOAD_CPU}` : 'not pinned');

  if (phases.has('metrics')) {
    results.metricsCore = await metricsCore();
  }

  const up = await startUpstream(LOAD_CPU, scratch);
  upstreamPid = up.pid;
  const procs: Proc[] = [up];
  const nodeFlags = args['cpu-prof']
    ? ['--cpu-prof', `--cpu-prof-dir=${path.join(resultsDir, 'prof.tmp')}`, ...(args['cpu-prof-interval'] ? [`--cpu-prof-interval=${Number(args['cpu-prof-interval'])}`] : [])]
    : [];
  if (args['heap-sample']) {
    mkdirSync(path.join(resultsDir, 'prof.tmp'), { recursive: true });
    process.env.BENCH_HEAP_DIR = path.join(resultsDir, 'prof.tmp'); // read by the preload only
    nodeFlags.push('--import', path.join(repoRoot, 'bench/lib/heapsample.mjs'));
  }
  const arms: Arm[] = [{ name: 'direct', target: directTarget(up.port), proc: null, pool: newPool(`http://127.0.0.1:${up.port}`, 128) }];
  try {
    const tm = await startTokenmeter({ cpu: PROXY_CPU, upstreamPort: up.port, scratch, nodeFlags, cli: args.cli ? path.resolve(args.cli) : undefined });
    procs.push(tm);
    arms.push({ name: 'tokenmeter', target: tokenmeterTarget(tm), proc: tm, pool: newPool(`http://127.0.0.1:${tm.port}`, 128) });
    if (!args['no-peer']) {
      if (!existsSync(portkeyEntry)) {
        results.peerError = `${portkeyEntry} is missing: run npm ci --prefix bench`;
        log(`peer: ${results.peerError as string}`);
      } else {
        try {
          const pk = await startPortkey({ cpu: PROXY_CPU, upstreamPort: up.port, scratch, nodeFlags: [] });
          procs.push(pk);
          arms.push({ name: 'portkey', target: portkeyTarget(pk, up.port), proc: pk, pool: newPool(`http://127.0.0.1:${pk.port}`, 128) });
        } catch (err) {
          results.peerError = (err as Error).message;
          log(`peer: could not start Portkey: ${results.peerError as string}`);
        }
      }
    }
    if (args.patched) {
      const pt = await startTokenmeter({ cpu: PROXY_CPU, upstreamPort: up.port, scratch, nodeFlags, cli: path.resolve(args.patched), name: 'patched' });
      procs.push(pt);
      arms.push({ name: 'patched', target: tokenmeterTarget(pt), proc: pt, pool: newPool(`http://127.0.0.1:${pt.port}`, 128) });
    }
    if (args.bare) {
      const bare = await startBare({ cpu: PROXY_CPU, upstreamPort: up.port, scratch, nodeFlags: [] });
      procs.push(bare);
      arms.push({ name: 'bare', target: bareTarget(bare), proc: bare, pool: newPool(`http://127.0.0.1:${bare.port}`, 128) });
    }
    results.arms = arms.map((a) => a.name);
    await sleep(1000);
    results.rssIdleStart = Object.fromEntries(arms.filter((a) => a.proc).map((a) => [a.name, rssBytes(a.proc!.pid)]));

    if (phases.has('sanity')) {
      results.sanity = await sanity(arms);
    }
    await warmUp(arms);
    if (phases.has('latency')) {
      results.latency = await latency(arms);
    }
    if (phases.has('throughput') || phases.has('eld')) {
      results.throughput = await throughput(arms);
    }
    if (phases.has('streamcpu')) {
      results.streamCpu = await streamCpu(arms);
    }
    if (phases.has('ttft')) {
      results.ttft = await ttft(arms);
    }
    if (phases.has('eld')) {
      results.eld = await eventLoop(arms, results.throughput as ThroughputResult);
    }
    if (phases.has('streams')) {
      results.streams = await concurrentStreams(arms, results.rssIdleStart as Record<string, number>);
    }
    await sleep(1000);
    results.rssIdleEnd = Object.fromEntries(arms.filter((a) => a.proc).map((a) => [a.name, rssBytes(a.proc!.pid)]));
    results.recorded = await recordedCheck(arms);
  } finally {
    await Promise.all(arms.map((a) => a.pool.close().catch(() => undefined)));
    await Promise.all(procs.reverse().map((p) => p.stop()));
    rmSync(scratch, { recursive: true, force: true });
  }
  results.loadavgEnd = os.loadavg();
  results.speedEnd = speedCheck();
  results.wallSeconds = Math.round((Date.now() - started) / 1000);
  const ext = QUICK ? '.tmp' : '';
  const jsonFile = path.join(resultsDir, `${outName}.json${ext}`);
  const mdFile = path.join(resultsDir, `${outName}.md${ext}`);
  results.command = `node --import tsx bench/proxy.bench.ts ${process.argv.slice(2).join(' ')}`.trim();
  const md = renderMarkdown(results);
  writeFileSync(jsonFile, `${JSON.stringify(results, null, 1)}\n`);
  writeFileSync(mdFile, md);
  log('');
  log(md);
  log(`wrote ${path.relative(repoRoot, jsonFile)} and ${path.relative(repoRoot, mdFile)} in ${results.wallSeconds as number} s`);
}

/** Which source was measured: the commit and how many files under src/ differ from it (read-only git). */
function gitState(): { commit: string; dirtySrcFiles: number } | null {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: repoRoot, encoding: 'utf8' }).split('\n').filter(Boolean).length;
    return { commit, dirtySrcFiles: dirty };
  } catch {
    return null;
  }
}

/** colleague's bench/metrics.bench.ts, run as it is, on the proxies' core while nothing else runs. */
async function metricsCore(): Promise<unknown> {
  log('metrics core micro-benchmarks (bench/metrics.bench.ts)…');
  const out = path.join(scratch, 'metrics.json');
  const cmd = PIN ? 'taskset' : process.execPath;
  const argv = [...(PIN ? ['-c', PROXY_CPU!, process.execPath] : []), '--import', 'tsx', path.join(repoRoot, 'bench/metrics.bench.ts'), out];
  const code = await new Promise<number>((resolve) => {
    const child = spawn(cmd, argv, { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
    const t = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (c) => {
      clearTimeout(t);
      resolve(c ?? 1);
    });
  });
  if (code !== 0 || !existsSync(out)) {
    return { error: `bench/metrics.bench.ts exited ${code}` };
  }
  const r = JSON.parse(readFileSync(out, 'utf8')) as { rows: unknown };
  return { rows: r.rows };
}

/** Every arm answers every kind of request completely; Tokenmeter's bytes equal the upstream's. */
async function sanity(arms: Arm[]): Promise<unknown> {
  log('sanity: every arm, both formats, streaming and not…');
  const out: Record<string, unknown> = {};
  const bodies = new Map<string, string>();
  for (const arm of arms) {
    for (const format of ['openai', 'anthropic'] as Format[]) {
      for (const stream of [false, true]) {
        const p = prepare(arm.target, { format, stream, shape: stream ? streamShape({ tokens: 8, delayMs: 1 }) : JSON_SHAPE });
        dispatched.set(p.origin, (dispatched.get(p.origin) ?? 0) + 1);
        const r = await request(`${p.origin}${p.path}`, { method: 'POST', headers: p.headers, body: p.body });
        const text = await r.body.text();
        const key = `${format}/${stream ? 'stream' : 'json'}`;
        if (arm.name === 'direct') {
          bodies.set(key, text);
        }
        const events = (text.match(/\n\n/g) ?? []).length;
        out[`${arm.name} ${key}`] = {
          status: r.statusCode,
          bytes: text.length,
          events: stream ? events : null,
          expectedEvents: stream ? p.expectEvents : null,
          identicalToDirect: text === bodies.get(key),
        };
      }
    }
  }
  const tm = arms.find((a) => a.name === 'tokenmeter');
  if (tm) {
    await sleep(200);
    const r = await request(`${tm.target.origin}/_tokenmeter/api/requests?limit=4`);
    const recs = (await r.body.json()) as Record<string, unknown>[];
    out.tokenmeterRecords = recs.map((x) => ({
      model: x.model,
      streaming: x.streaming,
      inputTokens: x.inputTokens,
      outputTokens: x.outputTokens,
      estimated: x.estimated,
      ttfbMs: x.ttfbMs,
      ttftMs: x.ttftMs,
      durationMs: x.durationMs,
      outputTokensPerSecond: x.outputTokensPerSecond,
    }));
  }
  for (const [k, v] of Object.entries(out)) {
    if (k !== 'tokenmeterRecords') {
      const x = v as { status: number; events: number | null; expectedEvents: number | null; identicalToDirect: boolean };
      log(`  ${k.padEnd(28)} ${x.status} ${x.events === null ? '' : `${x.events}/${x.expectedEvents} events `}${x.identicalToDirect ? 'byte-identical' : 'DIFFERS from direct'}`);
    }
  }
  return out;
}

/** JIT and connection pools warm in every arm before anything is measured. */
async function warmUp(arms: Arm[]): Promise<void> {
  log('warm-up…');
  for (const arm of arms) {
    for (const format of ['openai', 'anthropic'] as Format[]) {
      await closedLoop(arm.pool, prepare(arm.target, { format, stream: false, shape: JSON_SHAPE }), 8, QUICK ? 400 : 800, 4000);
      await closedLoop(arm.pool, prepare(arm.target, { format, stream: true, shape: streamShape({ tokens: 16, delayMs: 0 }) }), 8, QUICK ? 300 : 600, 2000);
    }
  }
}

interface PerArmRounds {
  [arm: string]: Record<string, number>[];
}

/**
 * Added latency at 1 request in flight. Each round interleaves the arms in blocks of sequential
 * requests (the order rotating block by block), so a burst of load from elsewhere on the machine
 * hits every arm about equally; per round and arm the blocks' latencies are pooled.
 */
async function latency(arms: Arm[]): Promise<unknown> {
  const N = QUICK ? 300 : 1000;
  const BLOCKS = QUICK ? 5 : 10;
  const out: Record<string, { rounds: PerArmRounds; summary: Record<string, Record<string, Summary>> }> = {};
  for (const format of ['openai', 'anthropic'] as Format[]) {
    log(`latency, 1 in flight, ${format} JSON: ${ROUNDS} round(s) × ${N} requests per arm, in ${BLOCKS} interleaved blocks…`);
    const rounds: PerArmRounds = {};
    const preps = new Map(arms.map((a) => [a.name, prepare(a.target, { format, stream: false, shape: JSON_SHAPE })]));
    for (const arm of arms) {
      await closedLoop(arm.pool, preps.get(arm.name)!, 1, 2000, 50);
    }
    for (let round = 0; round < ROUNDS; round++) {
      const acc = new Map(arms.map((a) => [a.name, { lat: [] as number[], cpu: 0, sys: 0, up: 0, done: 0, failed: 0 }]));
      for (let b = 0; b < BLOCKS; b++) {
        for (const arm of order(arms, round * BLOCKS + b)) {
          const w = await window(arm, () => closedLoop(arm.pool, preps.get(arm.name)!, 1, 20_000, Math.ceil(N / BLOCKS)));
          const a = acc.get(arm.name)!;
          a.lat.push(...w.r.latencies);
          a.cpu += w.cpuUs;
          a.sys += w.sysUs;
          a.up += w.upstreamCpuUs;
          a.done += w.r.ok + w.r.failed;
          a.failed += w.r.failed;
        }
      }
      const perRound: Record<string, Record<string, number>> = {};
      for (const arm of arms) {
        const a = acc.get(arm.name)!;
        const d = dist(a.lat);
        perRound[arm.name] = { p50: d.p50, p99: d.p99, mean: d.mean, n: d.n, failed: a.failed, cpuPerReqUs: a.cpu / a.done, sysPerReqUs: a.sys / a.done, upstreamCpuPerReqUs: a.up / a.done };
      }
      for (const arm of arms) {
        const r = perRound[arm.name];
        r.addedP50 = r.p50 - perRound.direct.p50;
        r.addedP99 = r.p99 - perRound.direct.p99;
        (rounds[arm.name] ??= []).push(r);
      }
      log(`  round ${round + 1}: ${arms.map((a) => `${a.name} p50 ${perRound[a.name].p50.toFixed(0)} µs p99 ${perRound[a.name].p99.toFixed(0)} µs`).join(' | ')}`);
    }
    out[format] = { rounds, summary: summarizeRounds(rounds) };
  }
  return out;
}

function summarizeRounds(rounds: PerArmRounds): Record<string, Record<string, Summary>> {
  const out: Record<string, Record<string, Summary>> = {};
  for (const [arm, rs] of Object.entries(rounds)) {
    out[arm] = {};
    for (const key of Object.keys(rs[0] ?? {})) {
      out[arm][key] = summarize(rs.map((r) => r[key]));
    }
  }
  return out;
}

interface ThroughputResult {
  levels: number[];
  rounds: Record<string, Record<number, Record<string, number>[]>>;
  summary: Record<string, { saturationRps: Summary; saturationConcurrency: number; rpsP99Under10ms: number | null; byLevel: Record<number, Record<string, Summary>> }>;
}

/** Closed-loop sweep of concurrency: throughput, latency and proxy CPU per request at each level. */
async function throughput(arms: Arm[]): Promise<ThroughputResult> {
  const levels = QUICK ? [1, 8, 32] : [1, 4, 8, 16, 32, 64];
  const windowMs = QUICK ? 1000 : 1500;
  log(`throughput sweep, openai JSON, concurrency ${levels.join('/')}: ${ROUNDS} round(s) × ${windowMs} ms per arm and level, in 3 interleaved blocks…`);
  const rounds: ThroughputResult['rounds'] = {};
  const BLOCKS = 3;
  const preps = new Map(arms.map((a) => [a.name, prepare(a.target, { format: 'openai', stream: false, shape: JSON_SHAPE })]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const level of levels) {
      const acc = new Map(arms.map((a) => [a.name, { lat: [] as number[], ok: 0, failed: 0, ms: 0, cpu: 0, sys: 0, up: 0, wall: 0, core0: 0, core1: 0 }]));
      for (let b = 0; b < BLOCKS; b++) {
        for (const arm of order(arms, round + level + b)) {
          const p = preps.get(arm.name)!;
          await closedLoop(arm.pool, p, level, 100, 1_000_000); // fill the pipeline before the window
          const w = await window(arm, () => closedLoop(arm.pool, p, level, windowMs / BLOCKS, 2_000_000));
          const a = acc.get(arm.name)!;
          a.lat.push(...w.r.latencies);
          a.ok += w.r.ok;
          a.failed += w.r.failed;
          a.ms += w.r.elapsedMs;
          a.cpu += w.cpuUs;
          a.sys += w.sysUs;
          a.up += w.upstreamCpuUs;
          a.wall += w.wallMs;
          a.core0 += (w.cores[0] ?? NaN) * w.wallMs;
          a.core1 += (w.cores[1] ?? NaN) * w.wallMs;
        }
      }
      for (const arm of arms) {
        const a = acc.get(arm.name)!;
        const d = dist(a.lat);
        const done = a.ok + a.failed;
        ((rounds[arm.name] ??= {})[level] ??= []).push({
          rps: (a.ok / a.ms) * 1000,
          p50: d.p50,
          p99: d.p99,
          failed: a.failed,
          cpuPerReqUs: a.cpu / done,
          sysPerReqUs: a.sys / done,
          upstreamCpuPerReqUs: a.up / done,
          proxyCoreShare: a.cpu / 1000 / a.wall,
          // Busy share of each core, every process on the machine included (others' load shows here).
          core0: a.core0 / a.wall,
          core1: a.core1 / a.wall,
        });
      }
    }
    log(`  round ${round + 1}: ${arms.map((a) => `${a.name} ${Math.max(...levels.map((l) => rounds[a.name][l][round].rps)).toFixed(0)} req/s`).join(' | ')}`);
  }
  const summary: ThroughputResult['summary'] = {};
  for (const arm of arms) {
    const byLevel: Record<number, Record<string, Summary>> = {};
    for (const level of levels) {
      byLevel[level] = summarizeRounds({ x: rounds[arm.name][level] }).x;
    }
    // Saturation: the level with the highest median throughput; its spread is over the rounds.
    const best = levels.reduce((a, b) => (byLevel[b].rps.median > byLevel[a].rps.median ? b : a));
    const under = levels.filter((l) => byLevel[l].p99.median < 10_000).map((l) => byLevel[l].rps.median);
    summary[arm.name] = { saturationRps: byLevel[best].rps, saturationConcurrency: best, rpsP99Under10ms: under.length ? Math.max(...under) : null, byLevel };
  }
  return { levels, rounds, summary };
}

/**
 * Proxy CPU per relayed SSE event: the slope between a short and a long stream (the per-request
 * cost cancels out), one event per write, both formats.
 */
async function streamCpu(arms: Arm[]): Promise<unknown> {
    const short = streamShape({ tokens: 8, delayMs: 1 });
  const long = { ...short, tokens: QUICK ? 96 : 160 };
  const windowMs = QUICK ? 1200 : 2000;
  const conc = 16;
  log(`CPU per relayed event: streams of ${short.tokens} and ${long.tokens} tokens, ${short.delayMs} ms apart, ${conc} in flight, ${ROUNDS} round(s)…`);
  const out: Record<string, Record<string, Record<string, number>[]>> = {};
  const BLOCKS = 2;
  for (let round = 0; round < ROUNDS; round++) {
    for (const format of STREAM_FORMATS) {
      const acc = new Map<string, Record<string, number>>(arms.map((a) => [a.name, {}]));
      for (let b = 0; b < BLOCKS; b++) {
        for (const arm of order(arms, round + b)) {
          const per = acc.get(arm.name)!;
          for (const [label, shape] of [
            ['short', short],
            ['long', long],
          ] as [string, Shape][]) {
            const p = prepare(arm.target, { format, stream: true, shape });
            await closedLoop(arm.pool, p, conc, 100, 100_000);
            const w = await window(arm, () => closedLoop(arm.pool, p, conc, windowMs / BLOCKS, 1_000_000));
            const add = (k: string, v: number): void => void (per[k] = (per[k] ?? 0) + v);
            add(`${label}Done`, w.r.ok + w.r.failed);
            add(`${label}Cpu`, w.cpuUs);
            add(`${label}Sys`, w.sysUs);
            add(`${label}Up`, w.upstreamCpuUs);
            add(`${label}Lost`, w.r.lostEvents);
            add(`${label}Wall`, w.wallMs);
            per[`${label}Events`] = p.expectEvents;
          }
        }
      }
      for (const arm of arms) {
        const per = acc.get(arm.name)!;
        for (const label of ['short', 'long']) {
          const done = per[`${label}Done`];
          per[`${label}CpuPerReqUs`] = per[`${label}Cpu`] / done;
          per[`${label}SysPerReqUs`] = per[`${label}Sys`] / done;
          per[`${label}UpstreamCpuPerReqUs`] = per[`${label}Up`] / done;
          per[`${label}EventsPerS`] = (done * per[`${label}Events`]) / (per[`${label}Wall`] / 1000);
        }
        per.cpuPerEventUs = (per.longCpuPerReqUs - per.shortCpuPerReqUs) / (per.longEvents - per.shortEvents);
        per.sysPerEventUs = (per.longSysPerReqUs - per.shortSysPerReqUs) / (per.longEvents - per.shortEvents);
        // The upstream writes each event once: a floor for what one node:http hop costs per event.
        per.upstreamCpuPerEventUs = (per.longUpstreamCpuPerReqUs - per.shortUpstreamCpuPerReqUs) / (per.longEvents - per.shortEvents);
        per.cpuPerEventAllInUs = per.longCpuPerReqUs / per.longEvents;
        ((out[arm.name] ??= {})[format] ??= []).push(per);
      }
    }
    log(
      `  round ${round + 1}: ${arms
        .map((a) => `${a.name} ${STREAM_FORMATS.map((f) => `${f} ${(a.proc ? out[a.name][f][round].cpuPerEventUs : out[a.name][f][round].upstreamCpuPerEventUs).toFixed(1)} µs`).join(', ')}${a.proc ? '' : ' (upstream)'}`)
        .join(' | ')}`,
    );
  }
  const summary: Record<string, Record<string, Record<string, Summary>>> = {};
  for (const [arm, byFormat] of Object.entries(out)) {
    summary[arm] = {};
    for (const [format, rs] of Object.entries(byFormat)) {
      summary[arm][format] = summarizeRounds({ x: rs }).x;
    }
  }
  return { short, long, concurrency: conc, rounds: out, summary };
}

/** Added TTFT and inter-event gaps: sequential streams (1 in flight), arms interleaved 10 streams at a time. */
async function ttft(arms: Arm[]): Promise<unknown> {
  const shape = streamShape({ tokens: 12, delayMs: 2 });
  const N = QUICK ? 20 : 50;
  log(`TTFT and inter-event gaps: ${N} streams of ${shape.tokens} tokens ${shape.delayMs} ms apart per arm, 1 in flight, ${ROUNDS} round(s)…`);
  const out: Record<string, Record<string, Record<string, number>[]>> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const format of ['openai', 'anthropic'] as Format[]) {
      const per: Record<string, Record<string, number>> = {};
      const acc = new Map(arms.map((a) => [a.name, { ttfts: [] as number[], gaps: [] as number[], lost: 0, failed: 0 }]));
      const BLOCK = 10; // streams per arm before the next arm's turn
      const deadline = performance.now() + 60_000;
      for (let b = 0; b * BLOCK < N && performance.now() < deadline; b++) {
        for (const arm of order(arms, round + b)) {
          const p = prepare(arm.target, { format, stream: true, shape });
          const a = acc.get(arm.name)!;
          for (let i = 0; i < Math.min(BLOCK, N - b * BLOCK); i++) {
            const o = await sendOnce(arm.pool, p, a.gaps);
            if (o.status !== 200 || o.error) {
              a.failed++;
            }
            a.lost += Math.max(0, p.expectEvents - o.events);
            a.ttfts.push(o.ttftUs);
          }
        }
      }
      for (const arm of arms) {
        const a = acc.get(arm.name)!;
        const t = dist(a.ttfts);
        const g = dist(a.gaps);
        per[arm.name] = { ttftP50: t.p50, ttftP99: t.p99, gapP50: g.p50, gapP99: g.p99, gapMax: g.max, lost: a.lost, failed: a.failed };
      }
      for (const arm of arms) {
        const r = per[arm.name];
        r.addedTtftP50 = r.ttftP50 - per.direct.ttftP50;
        r.addedTtftP99 = r.ttftP99 - per.direct.ttftP99;
        r.addedGapP99 = r.gapP99 - per.direct.gapP99;
        ((out[arm.name] ??= {})[format] ??= []).push(r);
      }
    }
    log(`  round ${round + 1}: ${arms.map((a) => `${a.name} TTFT p50 ${(out[a.name].openai[round].ttftP50 / 1000).toFixed(2)} ms`).join(' | ')} (openai)`);
  }
  const summary: Record<string, Record<string, Record<string, Summary>>> = {};
  for (const [arm, byFormat] of Object.entries(out)) {
    summary[arm] = {};
    for (const [format, rs] of Object.entries(byFormat)) {
      summary[arm][format] = summarizeRounds({ x: rs }).x;
    }
  }
  return { shape, streams: N, rounds: out, summary };
}

/** Event-loop delay of each proxy under an open-loop load at 80 % of its own saturation rate. */
async function eventLoop(arms: Arm[], tp: ThroughputResult | undefined): Promise<unknown> {
  const proxies = arms.filter((a) => a.proc);
  const windowMs = QUICK ? 1500 : 3000;
  const out: Record<string, Record<string, number>[]> = {};
  log(`event-loop delay at 80 % of each proxy's saturation throughput, openai JSON, ${windowMs} ms, ${ROUNDS} round(s)…`);
  for (let round = 0; round < ROUNDS; round++) {
    for (const arm of order(proxies, round)) {
      const sat = tp?.summary[arm.name]?.saturationRps.median ?? 1000;
      const rate = Math.round(sat * 0.8);
      const p = prepare(arm.target, { format: 'openai', stream: false, shape: JSON_SHAPE });
      await eld(arm.proc);
      const w = await window(arm, () => openLoop(arm.pool, p, rate, windowMs, 1024));
      const e = await eld(arm.proc);
      const d = dist(w.r.latencies);
      (out[arm.name] ??= []).push({
        rate,
        achievedRps: (w.r.ok / w.wallMs) * 1000,
        eldP50Ms: e?.p50 ?? NaN,
        eldP99Ms: e?.p99 ?? NaN,
        eldMaxMs: e?.max ?? NaN,
        latencyP50Us: d.p50,
        latencyP99Us: d.p99,
        failed: w.r.failed,
        proxyCoreShare: w.cpuUs / 1000 / w.wallMs,
      });
    }
    log(`  round ${round + 1}: ${proxies.map((a) => `${a.name} @${out[a.name][round].rate} req/s: ELD p99 ${out[a.name][round].eldP99Ms.toFixed(2)} ms`).join(' | ')}`);
  }
  return { rounds: out, summary: Object.fromEntries(Object.entries(out).map(([k, rs]) => [k, summarizeRounds({ x: rs }).x])) };
}

/**
 * Concurrent streams: N long-lived streams at once (OpenAI, the proxy's heaviest relay path),
 * N rising level by level; per arm the largest N where every event of every stream arrived,
 * the proxy's RSS while they are open, its event-loop delay, and TTFT/gap under that load.
 */
async function concurrentStreams(arms: Arm[], rssIdleStart: Record<string, number>): Promise<unknown> {
  const levels = QUICK ? [100, 400] : [100, 250, 400, 600, 800, 1000];
  const shape = streamShape({ tokens: QUICK ? 30 : 60, delayMs: 50 });
  log(`concurrent streams: ${levels.join('/')} streams of ${shape.tokens} tokens ${shape.delayMs} ms apart (openai)…`);
  const out: Record<string, Record<string, number>[]> = {};
  const failedAt: Record<string, number> = {};
  for (const level of levels) {
    for (const arm of order(arms, level)) {
      if (failedAt[arm.name] !== undefined) {
        continue;
      }
      const pool = newPool(arm.target.origin, level + 16);
      const p = prepare(arm.target, { format: 'openai', stream: true, shape });
      const rssBefore = arm.proc ? rssBytes(arm.proc.pid) : NaN;
      await eld(arm.proc);
      let rssPeak = rssBefore;
      let allOpenRss = NaN;
      const sampler = setInterval(() => {
        if (arm.proc) {
          rssPeak = Math.max(rssPeak, rssBytes(arm.proc.pid));
        }
      }, 100);
      const w = await window(arm, () =>
        manyStreams(pool, p, level, 500, shape.tokens * shape.delayMs + 30_000, () => {
          // Sampled once every stream has been sent, half-way through their lives.
          setTimeout(() => {
            if (arm.proc) {
              allOpenRss = rssBytes(arm.proc.pid);
            }
          }, (shape.tokens * shape.delayMs) / 3);
        }),
      );
      clearInterval(sampler);
      const e = await eld(arm.proc);
      await pool.close().catch(() => undefined);
      const t = dist(w.r.ttftUs);
      const g = dist(w.r.gapsUs);
      const rec = {
        streams: level,
        ok: w.r.ok,
        failed: w.r.failed,
        lostEvents: w.r.lostEvents,
        ttftP50Us: t.p50,
        ttftP99Us: t.p99,
        gapP50Us: g.p50,
        gapP99Us: g.p99,
        gapMaxUs: g.max,
        rssBefore,
        rssOpen: allOpenRss,
        rssPeak,
        rssPerStreamKB: arm.proc ? (Math.max(rssPeak, allOpenRss) - rssBefore) / 1024 / level : NaN,
        cpuPerEventUs: w.cpuUs / (level * p.expectEvents),
        eldP99Ms: e?.p99 ?? NaN,
        eldMaxMs: e?.max ?? NaN,
      };
      (out[arm.name] ??= []).push(rec);
      if (rec.failed > 0 || rec.lostEvents > 0) {
        failedAt[arm.name] = level;
      }
      log(
        `  ${arm.name.padEnd(10)} ${String(level).padStart(5)} streams: ${rec.ok} ok, ${rec.failed} failed, ${rec.lostEvents} events lost; gap p99 ${(rec.gapP99Us / 1000).toFixed(1)} ms` +
          (arm.proc ? `, RSS +${(rec.rssPerStreamKB * level) / 1024 > 0 ? ((rec.rssPerStreamKB * level) / 1024).toFixed(1) : '0'} MB (${rec.rssPerStreamKB.toFixed(1)} KB/stream), ELD p99 ${rec.eldP99Ms.toFixed(1)} ms` : '') +
          (w.r.firstError ? ` — ${w.r.firstError}` : ''),
      );
      await sleep(300);
    }
  }
  const summary: Record<string, unknown> = {};
  for (const [arm, rs] of Object.entries(out)) {
    const passed = rs.filter((r) => r.failed === 0 && r.lostEvents === 0);
    const top = passed[passed.length - 1];
    summary[arm] = {
      maxStreamsNoLoss: top?.streams ?? 0,
      testedUpTo: levels[levels.length - 1],
      failedAt: failedAt[arm] ?? null,
      rssPerStreamKB: top?.rssPerStreamKB ?? NaN,
      // Conservative: everything the process grew since it started idle, charged to the streams.
      rssPerStreamVsStartKB: top && rssIdleStart[arm] ? (Math.max(top.rssPeak, top.rssOpen || 0) - rssIdleStart[arm]) / 1024 / top.streams : NaN,
      rssPer1000StreamsMB: top ? (top.rssPerStreamKB * 1000) / 1024 : NaN,
      gapP99AtMaxMs: top ? top.gapP99Us / 1000 : NaN,
      eldP99AtMaxMs: top?.eldP99Ms ?? NaN,
    };
  }
  return { levels, shape, results: out, summary };
}

/** Tokenmeter recorded every request it relayed (its Prometheus counter against our count). */
async function recordedCheck(arms: Arm[]): Promise<unknown> {
  const tm = arms.find((a) => a.name === 'tokenmeter');
  if (!tm) {
    return null;
  }
  await sleep(500);
  const r = await request(`${tm.target.origin}/_tokenmeter/metrics`);
  const text = await r.body.text();
  let recorded = 0;
  for (const m of text.matchAll(/^tokenmeter_requests_total\{[^}]*\} (\d+)/gm)) {
    recorded += Number(m[1]);
  }
  const sent = dispatched.get(tm.target.origin) ?? 0;
  log(`tokenmeter recorded ${recorded} of the ${sent} requests sent through it`);
  return { sent, recorded };
}

void main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
