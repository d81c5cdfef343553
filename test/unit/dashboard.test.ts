/**
 * The dashboard's data, computed once for the VS Code panel and the standalone page: series
 * bucketing, the breakdown from running totals, session counters, the connect snippets, and the
 * page, assets and JSON the proxy serves under /_tokenmeter/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { terminalEnvironment, toolSnippets } from '../../src/core/dashboard/connectTools';
import { modelFor } from '../../src/core/dashboard/model';
import { bucketSeries, type SeriesPoint } from '../../src/core/dashboard/series';
import { SessionTotals } from '../../src/core/dashboard/session';
import { throttleWarning } from '../../src/core/dashboard/views';
import { RequestTracker } from '../../src/core/metrics';
import { ThrottleTracker } from '../../src/core/throttle/throttleTracker';
import type { DashboardState } from '../../src/protocol';
import { makeActive, makeRecord } from '../fixtures/records';
import { startStack, type Stack } from '../fixtures/stack';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');
const point = (minutesAgo: number, key: string, tps: number | null, ttft: number | null = 100): SeriesPoint => ({ t: NOW - minutesAgo * 60_000, key, tokensPerSecond: tps, ttftMs: ttft });

describe('chart series', () => {
  it('averages each 10 s bucket of the last 15 minutes; a bucket without values is a gap, not 0', () => {
    const s = bucketSeries([point(1, 'a/x', 10), point(1, 'a/x', 30), point(5, 'a/x', null, null), point(20, 'a/x', 99)], '15m', NOW, NOW - 3_600_000);
    assert.equal(s.bucketSeconds, 10);
    assert.equal(s.x.length, 91);
    const [x] = s.series;
    assert.equal(x.key, 'a/x');
    const known = x.tokensPerSecond.filter((v) => v !== null);
    assert.deepEqual(known, [20], 'the two points of one bucket averaged; the 20-minute-old one left out');
    assert.ok(x.tokensPerSecond.includes(null));
    assert.ok(!x.tokensPerSecond.includes(0));
  });

  it('draws the busiest provider/models and counts the rest', () => {
    const points: SeriesPoint[] = [];
    for (let k = 0; k < 12; k++) {
      for (let n = 0; n <= k; n++) {
        points.push(point(1, `p/m${String(k).padStart(2, '0')}`, 10));
      }
    }
    const s = bucketSeries(points, 'session', NOW, NOW - 600_000, 8);
    assert.equal(s.series.length, 8);
    assert.equal(s.omitted, 4);
    assert.deepEqual(s.series.map((x) => x.key), ['p/m04', 'p/m05', 'p/m06', 'p/m07', 'p/m08', 'p/m09', 'p/m10', 'p/m11']);
    assert.ok(s.x.length <= 181, `${s.x.length} buckets`);
  });

  it('sizes session buckets to the session and uses hours for 7 days', () => {
    assert.equal(bucketSeries([], 'session', NOW, NOW - 5 * 3_600_000).bucketSeconds, 300);
    assert.equal(bucketSeries([], '7d', NOW, NOW).bucketSeconds, 3600);
    assert.equal(bucketSeries([], 'today', NOW, NOW).bucketSeconds, 300);
  });
});

describe('the dashboard model', () => {
  const setup = (): { tracker: RequestTracker; model: ReturnType<typeof modelFor> } => {
    const tracker = new RequestTracker();
    return { tracker, model: modelFor(tracker, new ThrottleTracker()) };
  };
  const complete = (tracker: RequestTracker, over: Parameters<typeof makeRecord>[0]): void => {
    const r = makeRecord(over);
    tracker.start(makeActive({ id: r.id }));
    tracker.end(r);
  };

  it('is one per tracker, shared by every view', () => {
    const tracker = new RequestTracker();
    const throttle = new ThrottleTracker();
    assert.equal(modelFor(tracker, throttle), modelFor(tracker, throttle));
    assert.notEqual(modelFor(new RequestTracker(), throttle), modelFor(tracker, throttle));
  });

  it('breaks totals down by provider and model with mean and percentile TTFT, per section', () => {
    const { tracker, model } = setup();
    complete(tracker, { provider: 'openai', model: 'gpt-4o', streaming: true, ttftMs: 100 });
    complete(tracker, { provider: 'openai', model: 'gpt-4o', streaming: false, ttftMs: 300, errorCategory: 'rate_limit', status: 429 });
    complete(tracker, { provider: 'openai', model: 'gpt-4o-mini', streaming: true, ttftMs: null });
    complete(tracker, { provider: 'anthropic', model: 'claude', streaming: true, ttftMs: 500 });
    const all = model.breakdown({ provider: '', model: '', mode: 'total' });
    const openai = all.providers.find((p) => p.name === 'openai');
    assert.equal(openai?.stats.requests, 3);
    assert.equal(openai?.stats.errors, 1);
    assert.equal(openai?.stats.avgTtftMs, 200, 'unknown TTFTs are left out of the mean');
    const mini = openai?.models.find((m) => m.name === 'gpt-4o-mini');
    assert.equal(mini?.stats.avgTtftMs, null);
    assert.equal(mini?.stats.ttftP50Ms, null, 'unknown, not 0');
    assert.equal(all.summary.requests, 4);
    assert.equal(all.summary.avgTtftMs, 300);

    const streaming = model.breakdown({ provider: 'OPEN*', model: 'gpt-4o', mode: 'streaming' });
    assert.deepEqual(streaming.providers.map((p) => [p.name, p.stats.requests, p.stats.avgTtftMs]), [['openai', 1, 100]]);
    assert.equal(streaming.summary.requests, 1);
  });

  it('counts the session, and a reset clears it with the totals and series', async () => {
    const { tracker, model } = setup();
    complete(tracker, { inputTokens: 10, outputTokens: null, cacheReadTokens: 7, throttleWaitTimeMs: 250 });
    const s = model.sessionView();
    assert.deepEqual([s.requests, s.inputTokens, s.outputTokens, s.cacheReadTokens, s.throttleWaitMs], [1, 10, 0, 7, 250]);
    model.resetSession();
    assert.equal(model.sessionView().requests, 0);
    assert.equal(model.breakdown({ provider: '', model: '', mode: 'total' }).providers.length, 0);
    assert.equal((await model.seriesView('session')).series.length, 0);
  });

  it('applies completions off the relay path, in one batch', async () => {
    const { tracker, model } = setup();
    const batches: number[] = [];
    model.on('records', (rs) => batches.push(rs.length));
    for (let i = 0; i < 5; i++) {
      complete(tracker, {});
    }
    assert.deepEqual(batches, [], 'nothing computed while the proxy completes requests');
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(batches, [5]);
  });

  it('has no history ranges without a history store', async () => {
    const { model } = setup();
    assert.equal((await model.seriesView('7d')).available, false);
  });
});

describe('session counters and warnings', () => {
  it('never counts an unknown token count', () => {
    const s = new SessionTotals();
    s.add(makeRecord({ inputTokens: null, outputTokens: null, cacheReadTokens: null, cacheCreationTokens: null }));
    const v = s.snapshot();
    assert.deepEqual([v.requests, v.inputTokens, v.outputTokens], [1, 0, 0]);
  });

  it('warns while throttled or under 10 % headroom', () => {
    assert.equal(throttleWarning([], [{ provider: 'openai', lowestRemaining: 0.5 }]), null);
    assert.match(throttleWarning(['anthropic'], []) ?? '', /throttled: anthropic/);
    assert.match(throttleWarning([], [{ provider: 'openai', lowestRemaining: 0.05 }]) ?? '', /openai 5% left/);
    assert.equal(throttleWarning([], [{ provider: 'x', lowestRemaining: null }]), null);
  });
});

describe('connect snippets', () => {
  it('name every tool with the proxy URL, trailing slash or not', () => {
    for (const url of ['http://127.0.0.1:9000', 'http://127.0.0.1:9000/']) {
      const tools = toolSnippets(url);
      assert.deepEqual(tools.map((t) => t.id), ['claude-code', 'codex', 'continue', 'cline', 'aider', 'gemini-cli', 'openai-sdk', 'anthropic-sdk']);
      assert.equal(tools[0].snippet, 'export ANTHROPIC_BASE_URL=http://127.0.0.1:9000');
      assert.ok(tools.every((t) => !t.snippet.includes('9000//')));
      assert.equal(terminalEnvironment(url).OPENAI_BASE_URL, 'http://127.0.0.1:9000/openai/v1');
    }
  });
});

describe('the standalone dashboard under /_tokenmeter/', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.close();
  });

  it('serves the page with a strict CSP and a nonce per response', async () => {
    const a = await fetch(`${stack.url}/_tokenmeter/`);
    const b = await fetch(`${stack.url}/_tokenmeter`);
    const csp = a.headers.get('content-security-policy') ?? '';
    for (const d of ["default-src 'none'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"]) {
      assert.ok(csp.includes(d), `${d} in ${csp}`);
    }
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    assert.equal(a.headers.get('x-frame-options'), 'DENY');
    const nonceA = /nonce-([^']+)/.exec(csp)?.[1];
    const htmlA = await a.text();
    assert.ok(nonceA && htmlA.includes(`<script nonce="${nonceA}" src="/_tokenmeter/dashboard/main.js">`));
    assert.match(htmlA, /data-transport="browser"/);
    assert.notEqual(/nonce-([^']+)/.exec(b.headers.get('content-security-policy') ?? '')?.[1], nonceA);
    await b.text();
  });

  it('serves its assets and nothing else from the dashboard folder', async () => {
    const css = await fetch(`${stack.url}/_tokenmeter/dashboard/panel.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
    await css.text();
    for (const bad of ['../package.json', '..%2Fpackage.json', 'nope.js']) {
      const res = await fetch(`${stack.url}/_tokenmeter/dashboard/${bad}`);
      assert.equal(res.status, 404, bad);
      await res.text();
    }
  });

  it('answers the panel\'s state, in parts, and refuses bad parameters', async () => {
    const body = JSON.stringify({ model: 'dash-model', messages: [{ role: 'user', content: 'hi' }] });
    await (await fetch(`${stack.url}/openai/v1/chat/completions`, { method: 'POST', body })).text();
    await stack.records(1);
    const all = (await (await fetch(`${stack.url}/_tokenmeter/api/dashboard?range=session`)).json()) as DashboardState;
    assert.equal(all.proxy.url, stack.url);
    assert.equal(all.session.requests, 1);
    assert.deepEqual(all.breakdown.providers.map((p) => p.models.map((m) => m.name)), [['dash-model']]);
    assert.equal(all.series.series[0]?.key, 'openai/dash-model');
    const parts = (await (await fetch(`${stack.url}/_tokenmeter/api/dashboard?parts=session,active`)).json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parts).sort(), ['active', 'session']);
    const bad = await fetch(`${stack.url}/_tokenmeter/api/dashboard?mode=everything`);
    assert.equal(bad.status, 400);
    await bad.text();
    const totals = (await (await fetch(`${stack.url}/_tokenmeter/api/running-totals?model=dash-*`)).json()) as { summary: { requests: number } };
    assert.equal(totals.summary.requests, 1);
  });

  it('is refused to other sites, like the rest of the control API', async () => {
    const res = await fetch(`${stack.url}/_tokenmeter/api/dashboard`, { headers: { origin: 'https://evil.example' } });
    assert.equal(res.status, 403);
    await res.text();
  });
});
