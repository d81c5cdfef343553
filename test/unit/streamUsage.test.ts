import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamUsageFilter, withStreamUsage } from '../../src/core/proxy/streamUsage';

const chunk = (delta: object, usage?: null): string =>
  `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":${JSON.stringify(delta)}}]${usage === null ? ',"usage":null' : ''}}\n\n`;
const withUsage = [chunk({ content: 'Hi' }, null), chunk({ content: ' there' }, null), 'data: {"id":"c","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n', 'data: [DONE]\n\n'].join('');
const without = [chunk({ content: 'Hi' }), chunk({ content: ' there' }), 'data: [DONE]\n\n'].join('');

describe('stream usage injection', () => {
  it('adds include_usage right after the opening brace, leaving the rest of the body as sent', () => {
    const body = Buffer.from('{ "model":"m",  "stream":true }');
    assert.equal(withStreamUsage(body, JSON.parse(body.toString()))!.toString(), '{"stream_options":{"include_usage":true}, "model":"m",  "stream":true }');
  });

  it('merges into existing stream_options and respects a client that decided', () => {
    const merged = withStreamUsage(Buffer.from('{}'), { stream: true, stream_options: { include_obfuscation: false } });
    assert.deepEqual(JSON.parse(merged!.toString()).stream_options, { include_obfuscation: false, include_usage: true });
    assert.equal(withStreamUsage(Buffer.from('{}'), { stream: true, stream_options: { include_usage: false } }), null);
    assert.equal(withStreamUsage(Buffer.from('{}'), { stream: false }), null);
  });

  it('gives the client the stream without usage, for every split of the upstream bytes', () => {
    const bytes = Buffer.from(withUsage);
    for (let i = 0; i <= bytes.length; i++) {
      const f = new StreamUsageFilter();
      const out = Buffer.concat([f.push(bytes.subarray(0, i)), f.push(bytes.subarray(i)), f.end()]).toString();
      assert.equal(out, without, `split at ${i}`);
    }
  });

  it('passes an incomplete last event through instead of holding it back', () => {
    const f = new StreamUsageFilter();
    const out = Buffer.concat([f.push(Buffer.from('data: {"partial":')), f.end()]).toString();
    assert.equal(out, 'data: {"partial":');
  });
});
