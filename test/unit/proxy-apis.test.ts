import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RequestRecord } from '../../src/core/metrics/record';
import { startStack, type Stack } from '../fixtures/stack';
import type { Exchange } from '../fixtures/upstream';

interface ApiCase {
  name: string;
  path: (streaming: boolean) => string;
  body: (streaming: boolean) => object;
  /** Index of the first content-bearing event in the scripted stream. */
  firstContentEvent: number;
  /** Whether the API reports cache reads (Ollama does not). */
  cache: boolean;
}

const messages = [{ role: 'user', content: 'Write a haiku about latency.' }];
const cases: ApiCase[] = [
  {
    name: 'OpenAI Chat Completions',
    path: () => '/openai/v1/chat/completions',
    body: (s) => ({ model: 'gpt-4.1', messages, stream: s, ...(s && { stream_options: { include_usage: true } }) }),
    firstContentEvent: 1,
    cache: true,
  },
  {
    name: 'OpenAI Responses',
    path: () => '/openai/v1/responses',
    body: (s) => ({ model: 'gpt-5-codex', input: 'Write a haiku about latency.', stream: s }),
    firstContentEvent: 4,
    cache: true,
  },
  {
    name: 'Anthropic Messages',
    path: () => '/anthropic/v1/messages?beta=true',
    body: (s) => ({ model: 'claude-opus-4-1', max_tokens: 256, messages, stream: s }),
    firstContentEvent: 3,
    cache: true,
  },
  {
    name: 'Gemini generateContent',
    path: (s) => `/gemini/v1beta/models/gemini-2.5-pro:${s ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
    body: () => ({ contents: [{ role: 'user', parts: [{ text: 'Write a haiku about latency.' }] }] }),
    firstContentEvent: 0,
    cache: true,
  },
  {
    name: 'Ollama /api/chat (NDJSON)',
    path: () => '/ollama/api/chat',
    body: (s) => ({ model: 'qwen3:8b', messages, stream: s }),
    firstContentEvent: 0,
    cache: false,
  },
  {
    name: 'OpenRouter (OpenAI-compatible)',
    path: () => '/openrouter/v1/chat/completions',
    body: (s) => ({ model: 'anthropic/claude-sonnet-4.5', messages, stream: s, ...(s && { stream_options: { include_usage: true } }) }),
    firstContentEvent: 1,
    cache: true,
  },
];

const expectedModel = (c: ApiCase, s: boolean): string => {
  const b = c.body(s) as { model?: string };
  return b.model ?? /models\/([^:]+):/.exec(c.path(s))![1];
};

describe('every API, streaming and not, through the proxy', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
    // The first request pays for the upstream connection and a cold JIT; the timing checks below
    // are about the steady state.
    await (await fetch(`${stack.url}/openai/v1/chat/completions`, { method: 'POST', body: '{"model":"warm-up"}' })).arrayBuffer();
    await stack.records(1);
  });
  after(async () => {
    await stack.close();
  });

  for (const c of cases) {
    for (const streaming of [false, true]) {
      for (const withUsage of [true, false]) {
        it(`${c.name}, ${streaming ? 'streaming' : 'non-streaming'}, usage ${withUsage ? 'present' : 'absent'}`, async () => {
          const chunks = ['Packets', ' cross', ' the', ' wire', '—', 'fast.'];
          const once = async (): Promise<{ r: RequestRecord; ex: Exchange }> => {
            const completedBefore = stack.app.tracker.totalCompleted;
            stack.upstream.next({ firstDelayMs: 15, delayMs: 8, chunks, usage: withUsage ? { input: 17, output: 9, cacheRead: 4 } : null });
            const res = await fetch(stack.url + c.path(streaming), {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: 'Bearer canary-key' },
              body: JSON.stringify(c.body(streaming)),
            });
            const received = Buffer.from(await res.arrayBuffer());
            const [r] = await stack.records(1);
            const ex = stack.upstream.exchanges.at(-1)!;
            assert.equal(res.status, 200);
            assert.deepEqual(received, ex.sent, 'the client received exactly the upstream bytes');
            assert.equal(stack.app.tracker.totalCompleted - completedBefore, 1, 'exactly one record');
            assert.equal(r.model, expectedModel(c, streaming));
            assert.equal(r.streaming, streaming, 'streaming');
            assert.equal(r.errorCategory, null, 'error category');
            if (withUsage) {
              assert.deepEqual([r.inputTokens, r.outputTokens, r.cacheReadTokens, r.estimated], [17, 9, c.cache ? 4 : 0, false]);
            } else {
              assert.equal(r.estimated, true, 'estimated');
              assert.equal(r.outputTokens, Math.ceil(chunks.join('').length / 4), 'estimated from the text');
            }
            const upstreamTtft = ex.firstContentAt! - ex.receivedAt;
            assert.ok(r.ttftMs! >= upstreamTtft - 0.5, `ttft ${r.ttftMs} below the upstream's ${upstreamTtft}`);
            if (streaming) {
              assert.ok(r.ttftMs! >= 15 + 8 * c.firstContentEvent - 1, `ttft ${r.ttftMs} after ${c.firstContentEvent} scripted gaps`);
            }
            return { r, ex };
          };
          // Same clock on both sides. Within the response the meter must match the upstream's own
          // write times to 5 ms (TTFT − TTFB against first content − head; duration likewise). The
          // absolute TTFT also includes the request's way upstream, so it gets 30 ms. One process
          // runs client, proxy and upstream on a shared 2-core machine, so a single scheduling
          // hiccup is measured once more; a meter that is wrong fails both times.
          const timingProblems = ({ r, ex }: { r: RequestRecord; ex: Exchange }): string[] => {
            const checks: [string, number, number, number][] = [
              ['ttft − ttfb', r.ttftMs! - r.ttfbMs!, ex.firstContentAt! - ex.headAt!, 5],
              ['duration − ttfb', r.durationMs! - r.ttfbMs!, ex.lastWriteAt! - ex.headAt!, 5],
              ['ttft', r.ttftMs!, ex.firstContentAt! - ex.receivedAt, 30],
            ];
            if (streaming) {
              // Six content events 8 ms apart: the speed is the tokens over their span.
              const expected = r.outputTokens! / ((ex.lastContentAt! - ex.firstContentAt!) / 1000);
              checks.push(['output tok/s (±25 %)', r.outputTokensPerSecond!, expected, expected * 0.25]);
            }
            return checks.filter(([, m, a, tol]) => !(Math.abs(m - a) <= tol)).map(([w, m, a]) => `${w}: measured ${m.toFixed(2)} vs upstream ${a.toFixed(2)}`);
          };
          let problems = timingProblems(await once());
          if (problems.length > 0) {
            problems = timingProblems(await once()).map((p) => `${p} (second try; first: ${problems.join('; ')})`);
          }
          assert.deepEqual(problems, []);
        });
      }
    }
  }
});

describe('every API: faults end with a clear result and exactly one record', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.close();
  });

  const send = (c: ApiCase, streaming: boolean): Promise<Response> =>
    fetch(stack.url + c.path(streaming), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(c.body(streaming)) });

  for (const c of cases) {
    for (const streaming of [false, true]) {
      const mode = streaming ? 'streaming' : 'non-streaming';

      it(`${c.name}, ${mode}: 429 with retry-after reaches the client untouched`, async () => {
        const before = stack.app.tracker.totalCompleted;
        const body = '{"error":{"type":"rate_limit_error","message":"Too many requests"}}';
        stack.upstream.next({ status: 429, rawBody: body, headers: { 'retry-after': '3', 'content-type': 'application/json' } });
        const res = await send(c, streaming);
        assert.equal(res.status, 429);
        assert.equal(res.headers.get('retry-after'), '3');
        assert.equal(await res.text(), body);
        const [r] = await stack.records(1);
        assert.deepEqual([r.errorCategory, r.inputTokens, r.outputTokens, r.ttftMs], ['rate_limit', null, null, null]);
        assert.equal(stack.app.tracker.totalCompleted - before, 1);
        assert.equal(stack.app.throttle.state().events[0].retryAfterMs, 3000);
      });

      it(`${c.name}, ${mode}: a malformed body is relayed as is and measured as unknown`, async () => {
        const garbage = streaming ? 'data: {"not json\n\ndata: [[[\n\nevent: x\n\n' : '{"choices": [ {"broken"';
        stack.upstream.next({ rawBody: garbage, headers: { 'content-type': streaming ? 'text/event-stream' : 'application/json' } });
        const res = await send(c, streaming);
        assert.equal(await res.text(), garbage);
        const [r] = await stack.records(1);
        assert.equal(r.status, 200);
        assert.equal(r.errorCategory, null);
        assert.deepEqual([r.inputTokens, r.outputTokens, r.ttftMs, r.outputTokensPerSecond], [null, null, null, null], 'unknown, not 0');
        assert.ok(r.durationMs !== null && r.durationMs >= 0);
      });

      if (streaming) {
        it(`${c.name}, streaming: the upstream drops mid-stream`, async () => {
          stack.upstream.next({ delayMs: 5, dropAfterEvents: c.firstContentEvent + 2 });
          const res = await send(c, true);
          await assert.rejects(res.arrayBuffer(), 'the client sees the stream cut, not a clean end');
          const [r] = await stack.records(1);
          assert.equal(r.errorCategory, 'stream_error');
          assert.equal(r.estimated, true, 'two content events arrived: estimated');
          assert.ok(r.outputTokens! > 0);
        });

        it(`${c.name}, streaming: the client goes away mid-stream`, async () => {
          stack.upstream.next({ delayMs: 30 });
          const res = await send(c, true);
          const reader = res.body!.getReader();
          await reader.read();
          await reader.cancel();
          const [r] = await stack.records(1);
          assert.equal(r.errorCategory, 'client_disconnect');
          await stack.upstream.waitForExchanges(stack.upstream.exchanges.length);
          assert.equal(stack.upstream.exchanges.at(-1)!.aborted, true, 'the upstream request was aborted too');
          assert.equal(stack.app.tracker.activeCount, 0);
        });
      }
    }
  }
});
