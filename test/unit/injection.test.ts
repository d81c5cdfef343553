import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { capturingFetch, startStack, type Stack } from '../fixtures/stack';

/** The client's bytes with the injected metrics events taken out. */
const withoutInjected = (b: Buffer): Buffer => Buffer.from(b.toString('utf8').replace(/event: metrics(-final)?\ndata: [^\n]*\n\n/g, ''), 'utf8');

describe('performance metrics in responses', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ injection: { metricsInResponse: true, streamingMetrics: true, streamingIntervalMs: 20, exclude: ['openrouter:*', 'openai:*-excluded'] } });
  });
  after(async () => {
    await stack.close();
  });
  const openai = (f: typeof fetch, headers?: Record<string, string>): OpenAI =>
    new OpenAI({ apiKey: 'sk', baseURL: `${stack.url}/openai/v1`, fetch: f, maxRetries: 0, defaultHeaders: headers });

  it('adds performance_metrics to a non-streaming body that the SDK still parses, with Server-Timing', async () => {
    const cap = capturingFetch();
    stack.upstream.next({ firstDelayMs: 10, usage: { input: 30, output: 6 } });
    const res = await openai(cap.fetch).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    assert.equal(res.data.choices[0].message.content, 'Hello from the scripted upstream.');
    const [record] = await stack.records(1);
    const json = JSON.parse((await cap.bodies[0]).toString());
    const m = json.performance_metrics;
    assert.equal(m.total_latency_ms, record.durationMs);
    assert.equal(m.time_to_first_token_ms, record.ttftMs);
    assert.equal(m.completion_tokens_per_second, record.outputTokensPerSecond);
    assert.equal(m.provider, 'openai');
    assert.equal(m.streaming, false);
    assert.equal('avg_inter_token_latency_ms' in m, false, 'unknowable for a non-streaming body: left out, not 0');
    const { performance_metrics: _, ...rest } = json;
    assert.deepEqual(rest, JSON.parse(stack.upstream.exchanges.at(-1)!.sent.toString()), 'nothing else changed');
    assert.match(res.response.headers.get('server-timing') ?? '', /ttfb;dur=[\d.]+, ttft;dur=[\d.]+, total;dur=[\d.]+/);
    assert.equal(Number(res.response.headers.get('content-length')), (await cap.bodies[0]).length);
  });

  it('adds metrics events to an OpenAI stream; the SDK stream helper still assembles the message', async () => {
    const cap = capturingFetch();
    stack.upstream.next({ firstDelayMs: 10, delayMs: 15, usage: { input: 30, output: 6 } });
    const stream = openai(cap.fetch).chat.completions.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream_options: { include_usage: true } });
    const final = await stream.finalChatCompletion();
    assert.equal(final.choices[0].message.content, 'Hello from the scripted upstream.');
    const [record] = await stack.records(1);
    const client = await cap.bodies[0];
    const text = client.toString();
    const live = [...text.matchAll(/event: metrics\ndata: (.*)\n\n/g)].map((m) => JSON.parse(m[1]));
    assert.ok(live.length >= 2, `${live.length} live metrics events over ~100 ms at 20 ms`);
    assert.ok(live.every((e) => typeof e.elapsed_ms === 'number' && typeof e.tokens_generated === 'number'));
    const fin = JSON.parse(/event: metrics-final\ndata: (.*)\n\n$/.exec(text)![1]);
    assert.deepEqual([fin.input_tokens, fin.output_tokens, fin.estimated], [30, 6, false]);
    assert.equal(fin.time_to_first_token_ms, record.ttftMs);
    assert.ok(fin.avg_inter_token_latency_ms > 10, `inter-token ${fin.avg_inter_token_latency_ms}`);
    assert.deepEqual(withoutInjected(client), stack.upstream.exchanges.at(-1)!.sent, 'only whole events were added, between upstream events');
  });

  it('adds metrics events to a Responses API stream; the SDK stream helper still assembles the response', async () => {
    const cap = capturingFetch();
    stack.upstream.next({ delayMs: 15, usage: { input: 12, output: 6 } });
    const final = await openai(cap.fetch).responses.stream({ model: 'gpt-5-codex', input: 'hi' }).finalResponse();
    assert.equal(final.output_text, 'Hello from the scripted upstream.');
    assert.equal(final.usage?.output_tokens, 6);
    await stack.records(1);
    const bytes = await cap.bodies[0];
    assert.match(bytes.toString(), /event: metrics\n[\s\S]*event: metrics-final\n/);
    assert.deepEqual(withoutInjected(bytes), stack.upstream.exchanges.at(-1)!.sent);
  });

  it('adds metrics events to an Anthropic stream that the SDK still parses', async () => {
    const cap = capturingFetch();
    stack.upstream.next({ delayMs: 15, usage: { input: 8, output: 6 } });
    const client = new Anthropic({ apiKey: 'k', baseURL: `${stack.url}/anthropic`, fetch: cap.fetch, maxRetries: 0 });
    const msg = await client.messages.stream({ model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    assert.equal(msg.content[0].type === 'text' && msg.content[0].text, 'Hello from the scripted upstream.');
    await stack.records(1);
    const bytes = await cap.bodies[0];
    assert.match(bytes.toString(), /event: metrics-final\n/);
    assert.deepEqual(withoutInjected(bytes), stack.upstream.exchanges.at(-1)!.sent);
  });

  it('respects exclusions, and the x-tokenmeter-metrics header overrides them', async () => {
    const cap = capturingFetch();
    stack.upstream.next({});
    await openai(cap.fetch).chat.completions.create({ model: 'gpt-4o-excluded', messages: [{ role: 'user', content: 'hi' }] });
    await stack.records(1);
    assert.deepEqual(await cap.bodies[0], stack.upstream.exchanges.at(-1)!.sent, 'excluded: untouched');

    const cap2 = capturingFetch();
    stack.upstream.next({});
    await openai(cap2.fetch, { 'x-tokenmeter-metrics': '1' }).chat.completions.create({ model: 'gpt-4o-excluded', messages: [{ role: 'user', content: 'hi' }] });
    await stack.records(1);
    assert.ok(JSON.parse((await cap2.bodies[0]).toString()).performance_metrics, 'header 1 forces it');
    assert.equal(stack.upstream.exchanges.at(-1)!.headers['x-tokenmeter-metrics'], undefined, 'our header is not forwarded');

    const cap3 = capturingFetch();
    stack.upstream.next({});
    await openai(cap3.fetch, { 'x-tokenmeter-metrics': '0' }).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    await stack.records(1);
    assert.deepEqual(await cap3.bodies[0], stack.upstream.exchanges.at(-1)!.sent, 'header 0 turns it off');
  });
});
