import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { capturingFetch, startStack, type Stack } from '../fixtures/stack';

// The official SDKs as clients, the proxy in the middle, a scripted upstream behind it. Each test
// checks that the client got exactly the upstream's bytes and that the record holds its usage.
describe('proxy with the official SDKs', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.close();
  });

  const openai = (f: typeof fetch): OpenAI => new OpenAI({ apiKey: 'sk-test', baseURL: `${stack.url}/openai/v1`, fetch: f, maxRetries: 0 });
  const anthropic = (f: typeof fetch): Anthropic => new Anthropic({ apiKey: 'sk-ant-test', baseURL: `${stack.url}/anthropic`, fetch: f, maxRetries: 0 });

  it('OpenAI chat completion, non-streaming', async () => {
    const cap = capturingFetch();
    stack.upstream.next({ firstDelayMs: 30, usage: { input: 21, output: 6, cacheRead: 8 } });
    const res = await openai(cap.fetch).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(res.choices[0].message.content, 'Hello from the scripted upstream.');
    const [record] = await stack.records(1);
    const [ex] = (await stack.upstream.waitForExchanges(1)).slice(-1);
    assert.deepEqual(await cap.bodies[0], ex.sent, 'client bytes = upstream bytes');
    assert.equal(ex.url, '/v1/chat/completions');
    assert.equal(ex.headers.authorization, 'Bearer sk-test');
    assert.equal(record.provider, 'openai');
    assert.equal(record.model, 'gpt-4o-mini');
    assert.equal(record.streaming, false);
    assert.equal(record.status, 200);
    assert.equal(record.errorCategory, null);
    // OpenAI's prompt_tokens (29) includes the 8 cached ones; the record keeps them apart.
    assert.deepEqual([record.inputTokens, record.cacheReadTokens, record.outputTokens, record.estimated], [21, 8, 6, false]);
    assert.ok(record.ttfbMs !== null && record.ttfbMs >= 29, `ttfb ${record.ttfbMs} after the 30 ms scripted delay`);
    assert.equal(record.ttftMs, record.ttfbMs);
    assert.ok(record.durationMs !== null && record.durationMs >= record.ttfbMs!);
    assert.ok(record.outputTokensPerSecond !== null && record.outputTokensPerSecond > 0);
  });

  it('OpenAI chat completion, streaming with include_usage', async () => {
    const cap = capturingFetch();
    stack.upstream.next({ firstDelayMs: 20, delayMs: 15, usage: { input: 40, output: 6 } });
    const stream = await openai(cap.fetch).chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    assert.equal(text, 'Hello from the scripted upstream.');
    const [record] = await stack.records(1);
    const ex = stack.upstream.exchanges.at(-1)!;
    assert.deepEqual(await cap.bodies[0], ex.sent);
    assert.equal(record.streaming, true);
    assert.deepEqual([record.inputTokens, record.outputTokens, record.cacheReadTokens, record.estimated], [40, 6, 0, false]);
    // The first chunk is role-only: TTFT is the first content chunk, one inter-event delay later.
    assert.ok(record.ttftMs! >= 20 + 15 - 1, `ttft ${record.ttftMs}`);
    assert.ok(record.ttfbMs! < record.ttftMs!, 'first byte before first content');
    assert.ok(record.durationMs! >= 20 + 15 * 9 - 2, `duration ${record.durationMs}`);
    // 6 tokens over the 5 gaps between the 6 content events of ~15 ms each: ~80 tok/s, not more.
    assert.ok(record.outputTokensPerSecond! > 40 && record.outputTokensPerSecond! <= 6 / 0.074, `speed ${record.outputTokensPerSecond}`);
  });

  it('OpenAI stream whose client did not ask for usage: the proxy asks, and hides what that adds', async () => {
    const cap = capturingFetch();
    const request = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'no usage asked' }], stream: true as const };
    // What the upstream sends for this very request without include_usage: the client must get exactly that.
    stack.upstream.next({ usage: { input: 11, output: 6 } });
    const direct = await fetch(`${stack.upstream.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(request) });
    const reference = Buffer.from(await direct.arrayBuffer());
    assert.ok(!reference.includes('"usage"'));

    stack.upstream.next({ usage: { input: 11, output: 6 } });
    const stream = await openai(cap.fetch).chat.completions.create(request);
    let chunks = 0;
    for await (const chunk of stream) {
      assert.ok(chunk.choices.length > 0, 'no choices: [] chunk reaches the client');
      chunks++;
    }
    const [record] = await stack.records(1);
    const ex = stack.upstream.exchanges.at(-1)!;
    assert.deepEqual(JSON.parse(ex.body.toString()).stream_options, { include_usage: true }, 'the upstream was asked for usage');
    assert.ok(ex.sent.includes('"usage":null') && ex.sent.includes('"choices":[],'), 'and sent it');
    assert.deepEqual(await cap.bodies[0], reference, 'the client got the stream it would have had without the proxy');
    assert.equal(chunks, 8);
    assert.deepEqual([record.inputTokens, record.outputTokens, record.estimated], [11, 6, false]);
  });

  it('OpenAI stream that ends without usage: estimated from the text and marked so', async () => {
    const cap = capturingFetch();
    stack.upstream.next({ chunks: ['abcd', 'efgh', 'ijkl'], usage: null });
    const stream = await openai(cap.fetch).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(40) }], stream: true });
    for await (const _ of stream) {
      // drain
    }
    const [record] = await stack.records(1);
    assert.equal(record.estimated, true);
    assert.equal(record.outputTokens, 3); // 12 characters ≈ 3 tokens
    assert.ok(record.inputTokens! >= 10, `input estimate ${record.inputTokens}`);
  });

  it('Anthropic message, non-streaming, with cache tokens', async () => {
    const cap = capturingFetch();
    stack.upstream.next({ usage: { input: 5, output: 6, cacheRead: 1000, cacheCreation: 200 } });
    const msg = await anthropic(cap.fetch).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(msg.content[0].type === 'text' && msg.content[0].text, 'Hello from the scripted upstream.');
    const [record] = await stack.records(1);
    const ex = stack.upstream.exchanges.at(-1)!;
    assert.deepEqual(await cap.bodies[0], ex.sent);
    assert.equal(ex.url, '/v1/messages');
    assert.equal(record.provider, 'anthropic');
    assert.deepEqual(
      [record.inputTokens, record.outputTokens, record.cacheReadTokens, record.cacheCreationTokens, record.streaming],
      [5, 6, 1000, 200, false],
    );
    // Prefill speed counts every input token, cached or not.
    const expected = 1205 / (record.ttftMs! / 1000);
    assert.ok(Math.abs(record.promptTokensPerSecond! - expected) / expected < 1e-3, `${record.promptTokensPerSecond} vs ${expected}`);
  });

  it('Anthropic message, streaming: the cumulative message_delta usage is taken, not added', async () => {
    const cap = capturingFetch();
    stack.upstream.next({ delayMs: 10, usage: { input: 30, output: 6, cacheRead: 500 } });
    const stream = anthropic(cap.fetch).messages.stream({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    const final = await stream.finalMessage();
    assert.equal(final.usage.output_tokens, 6);
    const [record] = await stack.records(1);
    const ex = stack.upstream.exchanges.at(-1)!;
    assert.deepEqual(await cap.bodies[0], ex.sent);
    assert.deepEqual([record.inputTokens, record.outputTokens, record.cacheReadTokens, record.estimated, record.streaming], [30, 6, 500, false, true]);
    // message_start and content_block_start and ping come first: TTFT is the first content_block_delta.
    assert.ok(record.ttftMs! >= 3 * 10 - 1 && record.ttftMs! > record.ttfbMs!, `ttft ${record.ttftMs} ttfb ${record.ttfbMs}`);
  });

  it('exactly one record per request', async () => {
    const before = stack.app.tracker.totalCompleted;
    const cap = capturingFetch();
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => openai(cap.fetch).chat.completions.create({ model: `m-${i}`, messages: [{ role: 'user', content: 'hi' }] })),
    );
    const records = await stack.records(5);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(stack.app.tracker.totalCompleted - before, 5);
    assert.deepEqual(records.map((r) => r.model).sort(), ['m-0', 'm-1', 'm-2', 'm-3', 'm-4']);
    assert.equal(stack.app.tracker.activeCount, 0);
  });
});
