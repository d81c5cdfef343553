import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RequestTracker,
  SummaryMetrics,
  compileGlob,
  runningTotals,
  runningTotalsQueryFrom,
  type RequestRecord,
  type RunningTotals,
} from '../../src/core/metrics';
import { makeActive, makeRecord } from '../fixtures/records';

const record = makeRecord;

const active = makeActive;

const SECTION_KEYS = [
  'requests',
  'errors',
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'cacheCreationTokens',
  'durationMs',
  'avgDurationMs',
  'toolUses',
  'toolResults',
  'toolCalls',
  'throttleWaitMs',
  'ttftMs',
  'outputTokensPerSecond',
  // Additions to the contract's section:
  'durationMsQuantiles',
  'errorsByCategory',
  'activeRequests',
  'estimatedRequests',
].sort();

function assertSection(s: unknown, where: string): void {
  assert.ok(typeof s === 'object' && s !== null, where);
  assert.deepEqual(Object.keys(s).sort(), SECTION_KEYS, where);
  for (const q of ['ttftMs', 'outputTokensPerSecond', 'durationMsQuantiles'] as const) {
    assert.deepEqual(Object.keys((s as Record<string, object>)[q]), ['p50', 'p90', 'p99'], `${where}.${q}`);
  }
}

function sample(): SummaryMetrics {
  const s = new SummaryMetrics();
  s.add(record({ provider: 'openai', model: 'gpt-4o', inputTokens: 1 }));
  s.add(record({ provider: 'openai', model: 'gpt-4o-mini', inputTokens: 10, streaming: false }));
  s.add(record({ provider: 'openai', model: 'gpt-4.1', inputTokens: 100 }));
  s.add(record({ provider: 'OpenRouter', model: 'anthropic/claude-sonnet-4', inputTokens: 1000 }));
  s.add(record({ provider: 'anthropic', model: 'claude-sonnet-4', inputTokens: 10_000 }));
  s.add(record({ provider: 'ollama', model: 'llama3:8b', inputTokens: 100_000 }));
  return s;
}

const providerNames = (t: RunningTotals): string[] => Object.keys(t.providers).sort();
const modelNames = (t: RunningTotals, p: string): string[] => Object.keys(t.providers[p].models).sort();

describe('running totals: shape', () => {
  it('is the hierarchical JSON of design.md, with every section complete', () => {
    const t = sample().runningTotals();
    assert.deepEqual(Object.keys(t).sort(), ['providers', 'summary']);
    assert.deepEqual(Object.keys(t.summary).sort(), [...SECTION_KEYS, 'lastAccessed'].sort());
    assertSection(omit(t.summary, 'lastAccessed'), 'summary');
    for (const [name, p] of Object.entries(t.providers)) {
      assert.deepEqual(Object.keys(p).sort(), ['lastAccessed', 'models', 'rollup']);
      assert.deepEqual(Object.keys(p.rollup).sort(), ['nonStreaming', 'streaming', 'total']);
      for (const section of ['total', 'streaming', 'nonStreaming'] as const) {
        assertSection(p.rollup[section], `${name}.rollup.${section}`);
      }
      for (const [model, m] of Object.entries(p.models)) {
        assert.deepEqual(Object.keys(m).sort(), ['lastAccessed', 'nonStreaming', 'streaming', 'total']);
        for (const section of ['total', 'streaming', 'nonStreaming'] as const) {
          assertSection(m[section], `${name}.${model}.${section}`);
        }
      }
    }
    assert.deepEqual(JSON.parse(JSON.stringify(t)), t, 'plain JSON');
  });

  it('is empty but complete with no requests', () => {
    const t = new SummaryMetrics().runningTotals();
    assert.deepEqual(t.providers, {});
    assert.equal(t.summary.requests, 0);
    assert.equal(t.summary.avgDurationMs, null);
    assert.equal(t.summary.lastAccessed, null);
    assert.deepEqual(t.summary.ttftMs, { p50: null, p90: null, p99: null });
  });

  it('sums models into the provider roll-up and providers into the summary', () => {
    const t = sample().runningTotals();
    assert.equal(t.providers.openai.rollup.total.inputTokens, 111);
    assert.equal(t.providers.openai.rollup.streaming.inputTokens, 101);
    assert.equal(t.providers.openai.rollup.nonStreaming.inputTokens, 10);
    assert.equal(t.summary.inputTokens, 111_111);
    assert.equal(t.summary.requests, 6);
  });

  it('is the same through the exported function and the method', () => {
    const s = sample();
    assert.deepEqual(runningTotals(s, { model: 'gpt*' }), s.runningTotals({ model: 'gpt*' }));
  });

  it('hands out copies: changing a report does not change the next one', () => {
    const s = sample();
    const first = s.runningTotals();
    first.providers.openai.models['gpt-4o'].total.ttftMs.p50 = -1;
    first.summary.errorsByCategory.auth = 99;
    const second = s.runningTotals();
    assert.notEqual(second.providers.openai.models['gpt-4o'].total.ttftMs.p50, -1);
    assert.equal(second.summary.errorsByCategory.auth, 0);
  });

  it('keeps a model called __proto__ as a key', () => {
    const s = new SummaryMetrics();
    s.add(record({ provider: 'p', model: '__proto__' }));
    const t = s.runningTotals();
    assert.ok(Object.prototype.hasOwnProperty.call(t.providers.p.models, '__proto__'));
    assert.equal(JSON.parse(JSON.stringify(t)).providers.p.models.__proto__.total.requests, 1);
  });
});

describe('running totals: filters', () => {
  it('matches provider globs case-insensitively over the whole name', () => {
    const s = sample();
    assert.deepEqual(providerNames(s.runningTotals({ provider: 'open*' })), ['OpenRouter', 'openai']);
    assert.deepEqual(providerNames(s.runningTotals({ provider: 'OPENAI' })), ['openai']);
    assert.deepEqual(providerNames(s.runningTotals({ provider: 'open' })), [], 'no substring match');
    assert.deepEqual(providerNames(s.runningTotals({ provider: '*a*' })), ['anthropic', 'ollama', 'openai']);
  });

  it('treats ? as exactly one character', () => {
    const s = sample();
    const t = s.runningTotals({ model: 'gpt-4?' });
    assert.deepEqual(modelNames(t, 'openai'), ['gpt-4o']);
    assert.deepEqual(modelNames(s.runningTotals({ model: 'gpt-4??' }), 'openai'), ['gpt-4.1']);
    assert.deepEqual(providerNames(s.runningTotals({ provider: '?????' })), []);
    assert.deepEqual(providerNames(s.runningTotals({ provider: '??????' })), ['ollama', 'openai']);
  });

  it('treats every other character literally, colons and dots included', () => {
    const s = sample();
    s.add(record({ provider: 'openai', model: 'gpt-4x1' }));
    assert.deepEqual(modelNames(s.runningTotals({ model: 'gpt-4.1' }), 'openai'), ['gpt-4.1']);
    assert.deepEqual(modelNames(s.runningTotals({ model: 'LLAMA3:*' }), 'ollama'), ['llama3:8b']);
    assert.deepEqual(providerNames(s.runningTotals({ model: '*/*' })), ['OpenRouter']);
    assert.equal(compileGlob('a+b')('a+b'), true);
    assert.equal(compileGlob('a+b')('aab'), false);
    assert.equal(compileGlob('(x)|y')('(x)|y'), true);
    assert.equal(compileGlob('*')(''), true);
    assert.equal(compileGlob('?')(''), false);
    assert.equal(compileGlob('é?')('ÉÀ'), true, 'case-insensitive beyond ASCII');
  });

  it('under a model filter, a provider roll-up and the summary sum only the matching models', () => {
    const s = sample();
    const t = s.runningTotals({ model: 'GPT-4O*' });
    assert.deepEqual(providerNames(t), ['openai'], 'providers without a matching model are left out');
    assert.deepEqual(modelNames(t, 'openai'), ['gpt-4o', 'gpt-4o-mini']);
    assert.equal(t.providers.openai.rollup.total.inputTokens, 11);
    assert.equal(t.providers.openai.rollup.total.requests, 2);
    assert.equal(t.providers.openai.rollup.nonStreaming.requests, 1);
    assert.equal(t.summary.inputTokens, 11);
  });

  it('merges the matching models quantiles for a filtered roll-up', () => {
    const s = new SummaryMetrics();
    for (let i = 0; i < 100; i++) {
      s.add(record({ model: 'fast', ttftMs: 100 }));
      s.add(record({ model: 'slow', ttftMs: 10_000 }));
    }
    const all = s.runningTotals().providers.openai.rollup.total.ttftMs;
    const fast = s.runningTotals({ model: 'f*' }).providers.openai.rollup.total.ttftMs;
    assert.ok(all.p90 !== null && all.p90 > 9000, `unfiltered p90 ${all.p90}`);
    assert.ok(fast.p90 !== null && fast.p90 < 110, `filtered p90 ${fast.p90}`);
    const summary = s.runningTotals({ model: 's*' }).summary.ttftMs;
    assert.ok(summary.p50 !== null && summary.p50 > 9000);
  });

  it('combines provider and model filters', () => {
    const s = sample();
    const t = s.runningTotals({ provider: 'open*', model: '*claude*' });
    assert.deepEqual(providerNames(t), ['OpenRouter']);
    assert.equal(t.summary.inputTokens, 1000);
  });

  it('reads filters from a query string', () => {
    assert.deepEqual(runningTotalsQueryFrom(new URLSearchParams('provider=open*&model=gpt-4%3F&includeActive=false')), {
      provider: 'open*',
      model: 'gpt-4?',
      includeActive: false,
    });
    assert.deepEqual(runningTotalsQueryFrom(new URLSearchParams('')), {
      provider: null,
      model: null,
      includeActive: true,
    });
    assert.equal(runningTotalsQueryFrom(new URLSearchParams('includeActive=0')).includeActive, false);
    assert.equal(runningTotalsQueryFrom(new URLSearchParams('includeActive=true')).includeActive, true);
  });
});

describe('running totals: in-flight requests', () => {
  it('counts a request once while in flight and once when done, never twice', () => {
    const tracker = new RequestTracker();
    const s = new SummaryMetrics();
    s.attach(tracker);
    s.add(record({ id: 'done' }));
    const a = active({ id: 'live', outputTokens: 30 });
    tracker.start(a);

    let t = s.runningTotals();
    let m = t.providers.openai.models['gpt-4o'];
    assert.equal(m.total.requests, 2);
    assert.equal(m.streaming.activeRequests, 1);
    assert.equal(m.total.activeRequests, 1);
    assert.equal(m.total.outputTokens, 50 + 30, 'live output tokens so far');
    assert.equal(t.providers.openai.rollup.total.requests, 2);
    assert.equal(t.summary.requests, 2);
    assert.equal(t.summary.activeRequests, 1);
    assert.equal(m.total.avgDurationMs, 1000, 'in-flight requests have no duration yet');
    assert.equal(m.lastAccessed, '2025-03-01T11:00:00.000Z', 'an in-flight request is an access');

    const stale = tracker.active();
    tracker.end(record({ id: 'live', outputTokens: 45 }));
    for (const report of [s.runningTotals(), s.runningTotals({}, stale)]) {
      m = report.providers.openai.models['gpt-4o'];
      assert.equal(m.total.requests, 2);
      assert.equal(m.total.activeRequests, 0);
      assert.equal(m.total.outputTokens, 95);
      assert.equal(report.summary.requests, 2);
      assert.equal(report.summary.activeRequests, 0);
    }
    t = s.runningTotals();
    assert.equal(t.summary.outputTokens, 95);
  });

  it('shows a model that is only in flight, with its full name', () => {
    const s = new SummaryMetrics();
    const t = s.runningTotals({}, [
      active({ provider: 'ollama', model: 'qwen2.5-coder:32b:q8', streaming: false, outputTokens: 12 }),
    ]);
    const m = t.providers.ollama.models['qwen2.5-coder:32b:q8'];
    assert.ok(m, `models: ${Object.keys(t.providers.ollama.models).join(', ')}`);
    assert.equal(m.nonStreaming.requests, 1);
    assert.equal(m.nonStreaming.activeRequests, 1);
    assert.equal(m.total.outputTokens, 12);
    assert.equal(m.total.avgDurationMs, null);
    assert.deepEqual(m.total.ttftMs, { p50: null, p90: null, p99: null });
    assert.equal(t.providers.ollama.rollup.total.requests, 1);
    assert.equal(t.summary.activeRequests, 1);
  });

  it('counts the same in-flight model once however many requests it has', () => {
    const s = new SummaryMetrics();
    s.add(record({ provider: 'ollama', model: 'llama3:8b' }));
    const t = s.runningTotals({}, [
      active({ provider: 'ollama', model: 'llama3:8b' }),
      active({ provider: 'ollama', model: 'llama3:8b', streaming: false }),
    ]);
    assert.deepEqual(Object.keys(t.providers.ollama.models), ['llama3:8b']);
    assert.equal(t.providers.ollama.models['llama3:8b'].total.requests, 3);
    assert.equal(t.providers.ollama.rollup.total.requests, 3);
    assert.equal(t.summary.requests, 3);
    assert.equal(t.summary.activeRequests, 2);
  });

  it('leaves in-flight requests out with includeActive false, and filters them like the rest', () => {
    const s = sample();
    const list = [active({ provider: 'openai', model: 'gpt-4o' }), active({ provider: 'anthropic', model: 'claude-x' })];
    assert.equal(s.runningTotals({ includeActive: false }, list).summary.requests, 6);
    assert.equal(s.runningTotals({ includeActive: false }, list).summary.activeRequests, 0);
    const t = s.runningTotals({ model: 'claude*' }, list);
    assert.equal(t.summary.activeRequests, 1);
    assert.deepEqual(modelNames(t, 'anthropic'), ['claude-sonnet-4', 'claude-x']);
    assert.equal(t.providers.anthropic.rollup.total.requests, 2);
  });
});

describe('running totals: nothing stale', () => {
  // Quantiles, unions and sorted names are remembered between reports (per key, per filter). A
  // report must still equal one built from scratch from the same records, whatever came before.
  const QUERIES = [{}, { model: 'm*' }, { provider: 'p?' }, { provider: 'P1', model: '*b' }, { model: 'nothing' }];

  /** Values spread so that every quantile of every level moves when a batch lands. */
  function batch(tag: string, keys: [string, string][], scale: number, n = 12): RequestRecord[] {
    return Array.from({ length: n }, (_, i) => {
      const [provider, model] = keys[i % keys.length];
      return record({
        id: `${tag}-${i}`,
        provider,
        model,
        streaming: i % 3 !== 0,
        ttftMs: scale * (1 + i),
        outputTokensPerSecond: 1000 / scale + i,
        durationMs: i % 5 === 4 ? null : scale * 10 * (1 + (i % 4)),
        startedAt: new Date(Date.UTC(2025, 0, 1) + scale * 1000 + i).toISOString(),
      });
    });
  }

  function fromScratch(records: readonly RequestRecord[]): SummaryMetrics {
    const s = new SummaryMetrics();
    records.forEach((r) => s.add(r));
    return s;
  }

  function assertFresh(live: SummaryMetrics, records: readonly RequestRecord[], where: string): void {
    const fresh = fromScratch(records);
    for (const q of QUERIES) {
      assert.deepEqual(live.runningTotals(q), fresh.runningTotals(q), `${where}, query ${JSON.stringify(q)}`);
    }
    assert.equal(live.summaryLine(), fresh.summaryLine(), `${where}, summary line`);
    for (const key of fresh.keys()) {
      assert.deepEqual(live.get(key), fresh.get(key), `${where}, get(${key})`);
    }
  }

  const first = batch('a', [['p1', 'm-a'], ['p1', 'm-b'], ['p2', 'm-a'], ['q', 'x-b']], 100);
  const more = batch('b', [['p1', 'm-a'], ['p2', 'm-a'], ['q', 'x-b']], 700, 30);
  const newKeys = batch('c', [['p1', 'm-new-b'], ['p3', 'm-c'], ['P1', 'm-b']], 40);

  it('after more requests for keys already reported, with and without filters', () => {
    const live = fromScratch(first);
    assertFresh(live, first, 'first batch');
    more.forEach((r) => live.add(r));
    assertFresh(live, [...first, ...more], 'after more for the same keys');
    live.add(more[0]); // a single request moves every level it counts in
    assertFresh(live, [...first, ...more, more[0]], 'after one more');
  });

  it('after a new model of a known provider and a new provider', () => {
    const live = fromScratch(first);
    assertFresh(live, first, 'first batch');
    newKeys.forEach((r) => live.add(r));
    assertFresh(live, [...first, ...newKeys], 'after new keys');
  });

  it('after a merge (history) into a summary already reported', () => {
    const live = fromScratch(first);
    assertFresh(live, first, 'first batch');
    live.merge(fromScratch([...more, ...newKeys]));
    assertFresh(live, [...first, ...more, ...newKeys], 'after merge');
    newKeys.forEach((r) => live.add(r));
    assertFresh(live, [...first, ...more, ...newKeys, ...newKeys], 'after merge and more');
  });

  it('after a reset, and requests again', () => {
    const live = fromScratch([...first, ...more]);
    assertFresh(live, [...first, ...more], 'before reset');
    live.reset();
    assertFresh(live, [], 'after reset');
    newKeys.forEach((r) => live.add(r));
    assertFresh(live, newKeys, 'after reset and new requests');
  });
});

function omit<T extends object, K extends keyof T>(o: T, k: K): Omit<T, K> {
  const copy = { ...o };
  delete copy[k];
  return copy;
}
