import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestTracker, liveTokensPerSecond, type ActiveRequest, type RequestRecord } from '../../src/core/metrics';
import { makeActive, makeRecord } from '../fixtures/records';

const active = (id: string, over: Partial<ActiveRequest> = {}): ActiveRequest =>
  makeActive({ id, provider: 'ollama', model: 'llama3:8b', startedAt: '2025-03-01T10:00:00.000Z', t0: 1000, ...over });

const done = (id: string, over: Partial<RequestRecord> = {}): RequestRecord =>
  makeRecord({ id, provider: 'ollama', model: 'llama3:8b', inputTokens: 1, outputTokens: 1, ttfbMs: 1, ttftMs: 1, durationMs: 1, outputTokensPerSecond: 1, ...over });

describe('RequestTracker (reused by the metrics core)', () => {
  it('tracks a request from start to end, with its live token count while in flight', () => {
    const t = new RequestTracker();
    const events: string[] = [];
    t.on('started', (a) => events.push(`started ${a.id}`));
    t.on('completed', (r) => events.push(`completed ${r.id}`));
    const a = active('x');
    t.start(a);
    a.outputTokens = 42; // the proxy updates the live entry in place
    assert.equal(t.activeCount, 1);
    assert.equal(t.active()[0].outputTokens, 42);
    t.end(done('x'));
    t.end(done('x'));
    assert.deepEqual(events, ['started x', 'completed x'], 'a second end is ignored');
    assert.equal(t.activeCount, 0);
    assert.equal(t.totalCompleted, 1);
    assert.equal(t.last()?.id, 'x');
  });

  it('keeps the last 200 completed requests and the last 100 errors, newest first', () => {
    const t = new RequestTracker();
    for (let i = 0; i < 500; i++) {
      t.start(active(`r${i}`));
      t.end(done(`r${i}`, { errorCategory: i % 2 === 0 ? 'timeout' : null }));
    }
    assert.equal(t.recent().length, 200);
    assert.equal(t.recent()[0].id, 'r499');
    assert.equal(t.recent().at(-1)?.id, 'r300');
    assert.equal(t.errors().length, 100);
    assert.equal(t.errors()[0].id, 'r498');
    assert.ok(t.errors().every((r) => r.errorCategory === 'timeout'));
    assert.equal(t.totalCompleted, 500);
  });

  it('gives the live generation speed once content flows', () => {
    const a = active('y', { firstContentMs: 200, outputTokens: 0 });
    assert.equal(liveTokensPerSecond(a, 1500), null, 'no tokens yet');
    a.outputTokens = 50;
    assert.equal(liveTokensPerSecond(a, 1000 + 200 + 500), 100);
  });
});
