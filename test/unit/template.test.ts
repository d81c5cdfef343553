/**
 * Event templates (src/core/proxy/observers/template.ts): an observer reads an event like one it
 * parsed before without parsing it. The reading must be exactly the parsed one: a property test
 * feeds the same events to an observer with templates and to one that parses every event.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AnthropicObserver } from '../../src/core/proxy/observers/anthropic';
import { isObj, type Json } from '../../src/core/proxy/observers/common';
import { OpenAIChatObserver } from '../../src/core/proxy/observers/openaiChat';
import { ResponsesObserver } from '../../src/core/proxy/observers/responses';
import { EventTemplate } from '../../src/core/proxy/observers/template';

const soak = process.env.TOKENMETER_SOAK === '1';
const contentOf = (o: Json): unknown => (Array.isArray(o.choices) && isObj(o.choices[0]) && isObj(o.choices[0].delta) ? o.choices[0].delta.content : undefined);

const chunk = (content: string, extra = ''): string =>
  `{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"gpt-x","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":null}]${extra}}`;

describe('EventTemplate', () => {
  it('reads an event of the taught shape with another text, and only such events', () => {
    const t = new EventTemplate();
    assert.equal(t.match('message', chunk('Hello')), -1, 'nothing taught yet');
    assert.equal(t.learn('message', chunk('Hello'), { value: 'Hello', read: contentOf }), true);
    assert.equal(t.match('message', chunk(' world!')), 7);
    assert.equal(t.match('message', chunk('é🌍')), 3, 'UTF-16 length, as JSON.parse gives it');
    assert.equal(t.match('message', chunk('')), 0);
    assert.equal(t.match('other', chunk('Hi')), -1, 'another event name');
    assert.equal(t.match('message', chunk('a"b')), -1, 'an escaped quote: parsed, not matched');
    assert.equal(t.match('message', chunk('a\\b')), -1, 'a backslash');
    assert.equal(t.match('message', chunk('line\nbreak')), -1, 'an escape sequence');
    assert.equal(t.match('message', chunk('Hi').replace('"Hi"', '"H\u0001i"')), -1, 'a raw control character is invalid JSON');
    assert.equal(t.match('message', chunk('Hi', ',"usage":null')), -1, 'more after the text');
    assert.equal(t.match('message', chunk('Hi').replace('gpt-x', 'gpt-y')), -1, 'another model');
    assert.equal(t.match('message', `${chunk('Hi')} `), -1, 'trailing bytes');
    assert.equal(t.match('message', chunk('Hi').slice(0, -1)), -1, 'cut short');
  });

  it('lets a second string vary too (OpenAI\'s obfuscation), before or after the text', () => {
    for (const [a, b] of [
      ['{"o":"xyz","c":"Hello"}', '{"o":"q","c":"Hi"}'],
      ['{"c":"Hello","o":"xyz"}', '{"c":"Hi","o":"abcdef"}'],
    ]) {
      const t = new EventTemplate();
      assert.equal(t.learn('message', a, { value: 'Hello', read: (o) => o.c }, { value: 'xyz', read: (o) => o.o }), true);
      assert.equal(t.match('message', b), 2, b);
      assert.equal(t.match('message', b.replace('"Hi"', '"H\\"i"')), -1);
    }
  });

  it('lets a sequence number vary, as a JSON integer only', () => {
    const ev = (n: string, text: string, o = 'ab'): string => `{"type":"response.output_text.delta","sequence_number":${n},"item_id":"msg_1","delta":${JSON.stringify(text)},"obfuscation":"${o}"}`;
    const t = new EventTemplate();
    const holes = (n: number): [{ value: string; read: (o: Json) => unknown }, { value: number; key: string; read: (o: Json) => unknown }, { value: string; read: (o: Json) => unknown }] => [
      { value: 'Hello', read: (o) => o.delta },
      { value: n, key: 'sequence_number', read: (o) => o.sequence_number },
      { value: 'ab', read: (o) => o.obfuscation },
    ];
    assert.equal(t.learn('m', ev('5', 'Hello'), ...holes(5)), true);
    assert.equal(t.match('m', ev('6', ' world', 'xyz1')), 6);
    assert.equal(t.match('m', ev('1234567', '')), 0);
    assert.equal(t.match('m', ev('0', 'a')), 1);
    for (const bad of ['06', '-6', '6.5', '6e2', '', '"6"']) {
      assert.equal(t.match('m', ev(bad, 'a')), -1, `sequence number ${bad}`);
    }
    // Learned only where the number is a plain integer found once.
    assert.equal(new EventTemplate().learn('m', ev('5.5', 'Hello'), { value: 'Hello', read: (o) => o.delta }, { value: 5, key: 'sequence_number', read: (o) => o.sequence_number }), false);
    assert.equal(new EventTemplate().learn('m', ev('5', 'Hello'), { value: 'Hello', read: (o) => o.delta }, { value: 5, key: 'nope', read: (o) => o.sequence_number }), false);
  });

  it('does not learn a text whose place is not certain', () => {
    const t = new EventTemplate();
    // The quoted text is found, but at the model: the probe parse shows the content did not move.
    const tricky = '{"model":" the","choices":[{"delta":{"content":"\\u0020the"}}]}';
    assert.equal(t.learn('message', tricky, { value: ' the', read: contentOf }), false);
    assert.equal(t.match('message', tricky.replace('" the"', '"gpt"')), -1);
    // Found twice; empty; escaped.
    assert.equal(t.learn('message', '{"a":"x","choices":[{"delta":{"content":"x"}}]}', { value: 'x', read: contentOf }), false);
    assert.equal(t.learn('message', chunk(''), { value: '', read: contentOf }), false);
    assert.equal(t.learn('message', chunk('a"b'), { value: 'a"b', read: contentOf }), false);
    // A text equal to the probe's own fill still moves.
    assert.equal(t.learn('message', chunk('T0'), { value: 'T0', read: contentOf }), true);
    assert.equal(t.match('message', chunk('Tea')), 3);
  });

  it('stops learning when its templates are not matched', () => {
    const t = new EventTemplate();
    let taught = 0;
    for (let i = 0; i < 100; i++) {
      // A changing model: no event matches the one before it.
      const data = chunk('Hello').replace('gpt-x', `gpt-${i}`);
      assert.equal(t.match('message', data), -1);
      taught += t.learn('message', data, { value: 'Hello', read: contentOf }) ? 1 : 0;
    }
    assert.equal(taught, 4, 'four free learns, then only as many as matches pay for');
  });
});

// --- the observers read the same with templates as without ---------------------------------------

/** Text hard on a template: quotes, escapes, control characters, the template's own fill letters. */
const textArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('Hello', ' the', ' world', 'T', 'T0', 'T1', 'T0x', 'x', ',', '.', ' é', '🌍', '') },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom('"', '\\', '\n', '\u0000', '\u2028', 'gpt-x', 'content', 'chatcmpl-1', '"}') },
);
/** A string as JSON writes it, or hand-escaped (`\u0041` for A), as some servers do. */
const rawString = (s: string, escapeAll: boolean): string =>
  escapeAll ? `"${[...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"` : JSON.stringify(s);

const openaiEventArb = fc
  .record({
    content: textArb,
    escapeAll: fc.boolean(),
    model: fc.constantFrom('gpt-x', 'gpt-x', 'gpt-x', 'gpt-y', null),
    id: fc.constantFrom('chatcmpl-1', 'chatcmpl-1', 'chatcmpl-2'),
    role: fc.boolean(),
    reasoning: fc.option(textArb, { freq: 4 }),
    obfuscation: fc.option(fc.oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 6 }), textArb), { freq: 2 }),
    usage: fc.constantFrom('', '', ',"usage":null', ',"usage":{"prompt_tokens":5,"completion_tokens":7}'),
    tools: fc.constantFrom('', '', '', ',"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]', ',"tool_calls":[]'),
    error: fc.constantFrom('', '', '', '', ',"error":{"message":"x"}'),
    duplicate: fc.constantFrom('', '', '', ',"content":"dup"'),
    choices: fc.constantFrom(1, 1, 1, 2, 0),
    garbage: fc.constantFrom('', '', '', '', '', '}', '[DONE]'),
  })
  .map((e) => {
    if (e.garbage === '[DONE]') {
      return '[DONE]';
    }
    const delta = `{${e.role ? '"role":"assistant",' : ''}"content":${rawString(e.content, e.escapeAll)}${e.reasoning !== null ? `,"reasoning_content":${JSON.stringify(e.reasoning)}` : ''}${e.tools}${e.duplicate}}`;
    const choice = (i: number): string => `{"index":${i},"delta":${delta},"finish_reason":null}`;
    const choices = Array.from({ length: e.choices }, (_, i) => choice(i)).join(',');
    return `{"id":"${e.id}","object":"chat.completion.chunk"${e.model ? `,"model":"${e.model}"` : ''},"choices":[${choices}]${e.usage}${e.error}${e.obfuscation !== null ? `,"obfuscation":${JSON.stringify(e.obfuscation)}` : ''}}${e.garbage}`;
  });

const anthropicEventArb = fc
  .record({
    kind: fc.constantFrom('text', 'text', 'text', 'thinking', 'partial_json', 'start', 'message_delta', 'untyped'),
    text: textArb,
    escapeAll: fc.boolean(),
    index: fc.constantFrom(0, 0, 1),
  })
  .map((e): [string, string] => {
    const s = rawString(e.text, e.escapeAll);
    switch (e.kind) {
      case 'start':
        return ['content_block_start', `{"type":"content_block_start","index":${e.index},"content_block":{"type":"tool_use","id":"t","name":"n","input":{}}}`];
      case 'message_delta':
        return ['message_delta', `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":${e.text.length}}}`];
      case 'untyped':
        // No "type": the event's name says what it is, so it must be part of the template.
        return [e.index === 0 ? 'content_block_delta' : 'ping', `{"index":0,"delta":{"type":"text_delta","text":${s}}}`];
      case 'partial_json':
        return ['content_block_delta', `{"type":"content_block_delta","index":${e.index},"delta":{"type":"input_json_delta","partial_json":${s}}}`];
      default:
        return ['content_block_delta', `{"type":"content_block_delta","index":${e.index},"delta":{"type":"${e.kind}_delta","${e.kind}":${s}}}`];
    }
  });

function reading(o: OpenAIChatObserver | AnthropicObserver | ResponsesObserver): object {
  return { outputChars: o.outputChars, model: o.model, usage: o.usage, usageFinal: o.usageFinal, toolCalls: o.toolCalls, live: o.liveOutputTokens, error: o.streamError };
}

describe('property: observers read the same with templates as when they parse every event', { timeout: 120_000 }, () => {
  it('OpenAI Chat Completions chunks', () => {
    // Streams that repeat a few shapes, as real ones do, so templates are taught and matched.
    const streamArb = fc.array(openaiEventArb, { minLength: 1, maxLength: 12 }).chain((shapes) => fc.array(fc.constantFrom(...shapes), { minLength: 1, maxLength: 60 }).chain((picked) => fc.tuple(fc.constant(picked), fc.array(textArb, { minLength: picked.length, maxLength: picked.length }))));
    fc.assert(
      fc.property(streamArb, ([events, texts]) => {
        const fast = new OpenAIChatObserver();
        const slow = new OpenAIChatObserver({ templates: false });
        events.forEach((data, i) => {
          // The same shape with another text, when the event has a plain one to swap.
          const swapped = data.replace(/"content":"[^"\\]*"/, `"content":${JSON.stringify(texts[i])}`);
          for (const d of [data, swapped]) {
            assert.equal(fast.onEvent('message', d), slow.onEvent('message', d), d);
            assert.deepEqual(reading(fast), reading(slow), d);
          }
        });
      }),
      { numRuns: soak ? 5000 : 500 },
    );
  });

  it('Anthropic Messages events', () => {
    const streamArb = fc.array(anthropicEventArb, { minLength: 1, maxLength: 8 }).chain((shapes) => fc.array(fc.constantFrom(...shapes), { minLength: 1, maxLength: 60 }).chain((picked) => fc.tuple(fc.constant(picked), fc.array(textArb, { minLength: picked.length, maxLength: picked.length }))));
    fc.assert(
      fc.property(streamArb, ([events, texts]) => {
        const fast = new AnthropicObserver();
        const slow = new AnthropicObserver({ templates: false });
        events.forEach(([name, data], i) => {
          const swapped = data.replace(/"(text|thinking)":"[^"\\]*"/, `"$1":${JSON.stringify(texts[i])}`);
          for (const d of [data, swapped]) {
            assert.equal(fast.onEvent(name, d), slow.onEvent(name, d), `${name} ${d}`);
            assert.deepEqual(reading(fast), reading(slow), `${name} ${d}`);
          }
        });
      }),
      { numRuns: soak ? 5000 : 500 },
    );
  });

  it('OpenAI Responses events (Codex): sequence numbers and obfuscation change with every delta', () => {
    const eventArb = fc.record({
      type: fc.constantFrom('response.output_text.delta', 'response.output_text.delta', 'response.function_call_arguments.delta', 'response.reasoning_summary_text.delta', 'response.output_item.added', 'response.completed', 'response.created'),
      text: textArb,
      escapeAll: fc.boolean(),
      item: fc.constantFrom('msg_1', 'msg_1', 'fc_2'),
      obfuscation: fc.option(fc.oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 6 }), textArb), { freq: 2 }),
      untyped: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 1, maxLength: 6 }).chain((shapes) => fc.array(fc.tuple(fc.constantFrom(...shapes), fc.oneof(fc.nat({ max: 5000 }), fc.constant(-1)), fc.option(textArb)), { minLength: 1, maxLength: 50 })), (events) => {
        const fast = new ResponsesObserver();
        const slow = new ResponsesObserver({ templates: false });
        events.forEach(([e, seq, other], i) => {
          const n = seq === -1 ? i : seq;
          let data: string;
          if (e.type.endsWith('.delta')) {
            // The shape's own text, or another one (empty included) in the same shape.
            const text = other === null ? rawString(e.text, e.escapeAll) : JSON.stringify(other);
            data = `{${e.untyped ? '' : `"type":"${e.type}",`}"sequence_number":${n},"item_id":"${e.item}","output_index":0,"delta":${text}${e.obfuscation !== null ? `,"obfuscation":${JSON.stringify(e.obfuscation)}` : ''}}`;
          } else if (e.type === 'response.output_item.added') {
            data = `{"type":"${e.type}","sequence_number":${n},"item":{"type":"function_call","id":"${e.item}"}}`;
          } else {
            data = `{"type":"${e.type}","sequence_number":${n},"response":{"model":"gpt-5","usage":{"input_tokens":${n},"output_tokens":${e.text.length}}}}`;
          }
          assert.equal(fast.onEvent(e.type, data), slow.onEvent(e.type, data), data);
          assert.deepEqual(reading(fast), reading(slow), data);
        });
      }),
      { numRuns: soak ? 5000 : 500 },
    );
    // A stream like Codex's is read by its template after the first delta.
    const o = new ResponsesObserver();
    for (let i = 0; i < 20; i++) {
      o.onEvent('response.output_text.delta', `{"type":"response.output_text.delta","sequence_number":${i + 4},"item_id":"msg_1","output_index":0,"content_index":0,"delta":"w${i}","logprobs":[],"obfuscation":"${'xyzw'.slice(i % 4)}"}`);
    }
    assert.equal((o as unknown as { template: { matches: number } }).template.matches, 19);
  });

  it('a real stream is mostly read by its template', () => {
    const o = new OpenAIChatObserver();
    const words = ['Hello', ',', ' world', '!', ' How', ' are', ' you', '?'];
    let chars = 0;
    for (const w of words) {
      assert.equal(o.onEvent('message', chunk(w, ',"usage":null,"obfuscation":"' + 'abcdef'.slice(w.length % 6) + '"')), true);
      chars += w.length;
    }
    assert.equal(o.outputChars, chars);
    // One parse to learn from, then matches (the template is private: read its count from outside).
    const t = (o as unknown as { template: { matches: number } }).template;
    assert.equal(t.matches, words.length - 1);
  });
});
