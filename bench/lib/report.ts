/** The markdown table of a run: one row per figure, the three arms side by side, targets checked. */
import type { Summary } from './stats';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const LABEL: Record<string, string> = { direct: 'Direct (floor)', tokenmeter: 'Tokenmeter', portkey: 'Portkey gateway (peer)', bare: 'Bare undici relay (reference)', patched: 'Tokenmeter + bench/patches' };

const n0 = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
const n1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '—');
const n2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '—');

/** "median (min–max)" over the rounds; just the median when there was one round. */
function cell(s: Summary | undefined, f: (x: number) => string, scale = 1, sign = ''): string {
  if (!s || !Number.isFinite(s.median)) {
    return '—';
  }
  const m = `${sign && s.median >= 0 ? sign : ''}${f(s.median * scale)}`;
  return s.rounds.length > 1 ? `${m} (${f(s.min * scale)}–${f(s.max * scale)})` : m;
}

function met(value: number | undefined, ok: (v: number) => boolean): string {
  if (value === undefined || !Number.isFinite(value)) {
    return '—';
  }
  return ok(value) ? 'met' : '**missed**';
}

export function renderMarkdown(r: Any, command: string = r.command ?? 'node --import tsx bench/proxy.bench.ts'): string {
  const arms: string[] = ['direct', 'tokenmeter', 'patched', 'portkey', 'bare'].filter((a) => (r.arms ?? ['direct', 'tokenmeter', 'portkey']).includes(a));
  const rows: string[][] = [];
  /** One figure: `f(arm)` gives each arm's cell (a missing arm or value shows as —). */
  const row = (figure: string, target: string, f: (arm: string) => string | undefined, verdict: string): void => {
    rows.push([figure, target, ...arms.map((a) => f(a) ?? '—'), verdict]);
  };

  for (const format of ['openai', 'anthropic']) {
    const s = r.latency?.[format]?.summary as Any | undefined;
    if (!s) {
      continue;
    }
    const label = format === 'openai' ? 'OpenAI' : 'Anthropic';
    row(
      `Added latency p50, 1 in flight, ${label} JSON (µs)`,
      '≤ 200',
      (a) => (a === 'direct' ? `floor ${cell(s.direct?.p50, n0)}` : cell(s[a]?.addedP50, n0, 1, '+')),
      met(s.tokenmeter?.addedP50?.median, (v) => v <= 200),
    );
    row(
      `Added latency p99, 1 in flight, ${label} JSON (µs)`,
      '≤ 1,000',
      (a) => (a === 'direct' ? `floor ${cell(s.direct?.p99, n0)}` : cell(s[a]?.addedP99, n0, 1, '+')),
      met(s.tokenmeter?.addedP99?.median, (v) => v <= 1000),
    );
    if (s.portkey && s.tokenmeter) {
      const ratio = s.portkey.addedP50.median / s.tokenmeter.addedP50.median;
      row(`Peer's added latency p50 ÷ Tokenmeter's, ${label}`, '≥ 4×', (a) => (a === 'portkey' ? `${n1(ratio)}×` : ''), met(ratio, (v) => v >= 4));
    }
  }

  const tp = r.throughput?.summary as Any | undefined;
  if (tp) {
    const sat = (a: string): string => (tp[a] ? `${cell(tp[a].saturationRps, n0)} @${tp[a].saturationConcurrency}` : '—');
    row('Throughput at saturation, OpenAI JSON (req/s @ concurrency)', '≥ 4,000', sat, met(tp.tokenmeter?.saturationRps?.median, (v) => v >= 4000));
    row('Throughput with p99 < 10 ms (req/s)', '—', (a) => (tp[a] ? n0(tp[a].rpsP99Under10ms ?? NaN) : '—'), '');
    const atSat = (a: string, k: string): Summary | undefined => tp[a]?.byLevel?.[tp[a].saturationConcurrency]?.[k];
    row(
      'CPU per request at saturation (µs; direct: the upstream)',
      '≤ 250',
      (a) => cell(atSat(a, a === 'direct' ? 'upstreamCpuPerReqUs' : 'cpuPerReqUs'), n0),
      met(atSat('tokenmeter', 'cpuPerReqUs')?.median, (v) => v <= 250),
    );
    row('Req/s one core could carry at that CPU cost (10⁶ ÷ CPU µs)', '≥ 4,000', (a) => (a === 'direct' ? '' : n0(1e6 / (atSat(a, 'cpuPerReqUs')?.median ?? NaN))), '');
  }
  const lat = r.latency?.openai?.summary as Any | undefined;
  if (lat) {
    row('CPU per request, 1 in flight, OpenAI JSON (µs; direct: the upstream)', '—', (a) => cell(lat[a]?.[a === 'direct' ? 'upstreamCpuPerReqUs' : 'cpuPerReqUs'], n0), '');
  }

  const sc = r.streamCpu?.summary as Any | undefined;
  if (sc) {
    for (const format of ['openai', 'anthropic']) {
      row(
        `CPU per relayed SSE event, ${format === 'openai' ? 'OpenAI' : 'Anthropic'} (µs; direct: the upstream writing it)`,
        '≤ 30',
        (a) => cell(sc[a]?.[format]?.[a === 'direct' ? 'upstreamCpuPerEventUs' : 'cpuPerEventUs'], n1),
        met(sc.tokenmeter?.[format]?.cpuPerEventUs?.median, (v) => v <= 30),
      );
    }
    // The kernel's part (socket reads, writes, epoll) moves most with the VM's neighbours.
    row(
      'of which in the kernel (sys), OpenAI / Anthropic (µs)',
      '—',
      (a) => (a === 'direct' ? '' : ['openai', 'anthropic'].map((f) => n1(sc[a]?.[f]?.sysPerEventUs?.median ?? NaN)).join(' / ')),
      '',
    );
  }

  const tt = r.ttft?.summary as Any | undefined;
  if (tt) {
    for (const format of ['openai', 'anthropic']) {
      const L = format === 'openai' ? 'OpenAI' : 'Anthropic';
      row(
        `Added TTFT p50, ${L} stream (ms)`,
        '≤ 0.5',
        (a) => (a === 'direct' ? `floor ${cell(tt.direct?.[format]?.ttftP50, n2, 1e-3)}` : cell(tt[a]?.[format]?.addedTtftP50, n2, 1e-3, '+')),
        met(tt.tokenmeter?.[format]?.addedTtftP50?.median, (v) => v <= 500),
      );
      row(
        `Added TTFT p99, ${L} stream (ms)`,
        '—',
        (a) => (a === 'direct' ? `floor ${cell(tt.direct?.[format]?.ttftP99, n2, 1e-3)}` : cell(tt[a]?.[format]?.addedTtftP99, n2, 1e-3, '+')),
        '',
      );
      row(
        `Added inter-event gap p99, ${L} stream (ms)`,
        '—',
        (a) => (a === 'direct' ? `floor ${cell(tt.direct?.[format]?.gapP99, n2, 1e-3)}` : cell(tt[a]?.[format]?.addedGapP99, n2, 1e-3, '+')),
        '',
      );
    }
  }

  const st = r.streams?.summary as Any | undefined;
  if (st) {
    const upTo = r.streams.levels[r.streams.levels.length - 1];
    row(
      `Concurrent streams with no lost event (tested up to ${n0(upTo)})`,
      '≥ 400',
      (a) => (st[a] ? `${n0(st[a].maxStreamsNoLoss)}${st[a].failedAt ? ` (lost at ${n0(st[a].failedAt)})` : ''}` : '—'),
      met(st.tokenmeter?.maxStreamsNoLoss, (v) => v >= 400),
    );
    row(
      'RSS per open stream (KB), at that many streams: growth during the level',
      '≤ 100',
      (a) => (a === 'direct' ? '' : n1(st[a]?.rssPerStreamKB)),
      met(st.tokenmeter?.rssPerStreamKB, (v) => v <= 100),
    );
    row(
      'RSS per open stream (KB), conservative: peak − RSS idle at start, all charged to the streams',
      '≤ 100',
      (a) => (a === 'direct' ? '' : n1(st[a]?.rssPerStreamVsStartKB)),
      met(st.tokenmeter?.rssPerStreamVsStartKB, (v) => v <= 100),
    );
    row('RSS per 1,000 open streams (MB)', '≤ 98', (a) => (a === 'direct' ? '' : n1(st[a]?.rssPer1000StreamsMB)), '');
    row('Inter-event gap p99 with that many streams open (ms)', '—', (a) => n1(st[a]?.gapP99AtMaxMs), '');
    row('Event-loop delay p99 with that many streams open (ms)', '—', (a) => (a === 'direct' ? '' : n1(st[a]?.eldP99AtMaxMs)), '');
  }
  if (r.rssIdleStart) {
    const mb = (a: string): string => (r.rssIdleStart[a] ? `${n1(r.rssIdleStart[a] / 2 ** 20)}${r.rssIdleEnd?.[a] ? ` (after run ${n1(r.rssIdleEnd[a] / 2 ** 20)})` : ''}` : '—');
    row('RSS idle, after start (MB)', '—', (a) => (a === 'direct' ? '' : mb(a)), '');
  }
  const el = r.eld?.summary as Any | undefined;
  if (el) {
    row(
      "Event-loop delay p99 at 80 % of the proxy's saturation (ms)",
      '≤ 10',
      (a) => (el[a] ? `${cell(el[a].eldP99Ms, n2)} @${n0(el[a].rate?.median)} req/s` : a === 'direct' ? '' : '—'),
      met(el.tokenmeter?.eldP99Ms?.median, (v) => v <= 10),
    );
    row(
      'Latency p99 at 80 % of saturation (µs)',
      '—',
      (a) => (a === 'direct' ? '' : cell(el[a]?.latencyP99Us, n0)),
      '',
    );
  }

  const header = ['Figure', 'Target (Tokenmeter)', ...arms.map((a) => LABEL[a] ?? a), 'Tokenmeter vs target'];
  const table = [header, header.map(() => '---'), ...rows].map((c) => `| ${c.join(' | ')} |`).join('\n');

  const m = r.machine ?? {};
  const lines = [
    `# Tokenmeter proxy benchmark`,
    '',
    `${new Date().toISOString().slice(0, 19)}Z · ${m.cpus} × ${m.cpu} · node ${m.node} · ${m.quick ? 'quick run' : 'full run'}, ${m.rounds} round(s) · ` +
      `pinned: ${typeof m.pinned === 'object' ? `proxy on ${m.pinned.proxy}, client + upstream on ${m.pinned.clientAndUpstream}` : 'no'} · ` +
      `loadavg at start ${(r.loadavgStart ?? []).map((x: number) => x.toFixed(2)).join(' ')}, at end ${(r.loadavgEnd ?? []).map((x: number) => x.toFixed(2)).join(' ')} · ` +
      (r.speedStart ? `speed check on the proxies' core ${n0(r.speedStart)} µs at start, ${r.speedEnd ? n0(r.speedEnd) : '?'} at end (lib/speedcheck.mjs; lower is faster) · ` : '') +
      `${r.wallSeconds ?? '?'} s`,
    '',
    r.tree ? `Source: commit ${r.tree.commit}${r.tree.dirtySrcFiles ? ` with ${r.tree.dirtySrcFiles} uncommitted file(s) under src/` : ''}, built by \`node esbuild.mjs --only=cli\`.` : '',
    '',
    `Command: \`npm run bench\` (bench/run.mjs, then \`${command}\`). Cells are the median of the rounds with (min–max); "+" is what the arm adds to the direct floor measured in the same round.`,
    '',
    table,
    '',
  ];
  if (r.metricsCore?.rows) {
    lines.push('## Metrics core (bench/metrics.bench.ts)', '', '| Benchmark | Value | Unit | Goal |', '| --- | --- | --- | --- |');
    for (const x of r.metricsCore.rows as Any[]) {
      lines.push(`| ${x.name} | ${x.unit === 'ms' ? n2(x.value) : n0(x.value)} | ${x.unit} | ${x.goal} |`);
    }
    lines.push('');
  } else if (r.metricsCore?.error) {
    lines.push(`Metrics core: ${r.metricsCore.error}`, '');
  }
  const notes: string[] = [];
  if (r.recorded) {
    notes.push(`Tokenmeter recorded ${n0(r.recorded.recorded)} of the ${n0(r.recorded.sent)} requests sent through it (tokenmeter_requests_total).`);
  }
  if (r.sanity) {
    const diffs = Object.entries(r.sanity as Any)
      .filter(([k, v]) => k !== 'tokenmeterRecords' && !(v as Any).identicalToDirect)
      .map(([k]) => k);
    notes.push(`Byte-identical to the direct answer: ${diffs.length ? `all but ${diffs.join(', ')}` : 'every arm, both formats, streaming and not'}.`);
  }
  if (r.peerError) {
    notes.push(`Peer: ${r.peerError}`);
  }
  if (notes.length) {
    lines.push('## Checks', '', ...notes.map((x) => `- ${x}`), '');
  }
  return `${lines.join('\n')}`;
}

// `node --import tsx bench/lib/report.ts RESULTS.json [OUT.md]`: renders a results file again.
if (process.argv[1]?.endsWith('report.ts') && process.argv[2]) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('node:fs') as typeof import('node:fs');
  const md = renderMarkdown(JSON.parse(fs.readFileSync(process.argv[2], 'utf8')));
  if (process.argv[3]) {
    fs.writeFileSync(process.argv[3], md);
  } else {
    process.stdout.write(md);
  }
}
