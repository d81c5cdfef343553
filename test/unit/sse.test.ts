import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SseScanner } from '../../src/core/proxy/sse';

function scan(chunks: (string | Uint8Array)[]): [string, string][] {
  const out: [string, string][] = [];
  const s = new SseScanner((e, d) => out.push([e, d]));
  for (const c of chunks) {
    s.push(typeof c === 'string' ? Buffer.from(c) : c);
  }
  s.end();
  return out;
}

describe('SseScanner', () => {
  const stream = 'event: a\ndata: {"x":1}\n\n: comment\ndata: line1\ndata: line2\n\nevent: b\ndata:nospace\n\n';
  const expected: [string, string][] = [
    ['a', '{"x":1}'],
    ['message', 'line1\nline2'],
    ['b', 'nospace'],
  ];

  it('parses events, comments, multi-line data and the optional space', () => {
    assert.deepEqual(scan([stream]), expected);
  });

  it('gives the same events for every split point of the stream', () => {
    for (let i = 0; i <= stream.length; i++) {
      assert.deepEqual(scan([stream.slice(0, i), stream.slice(i)]), expected, `split at ${i}`);
    }
  });

  it('accepts CRLF and CR line endings, including a CRLF split across chunks', () => {
    const crlf = stream.replace(/\n/g, '\r\n');
    for (let i = 0; i <= crlf.length; i++) {
      assert.deepEqual(scan([crlf.slice(0, i), crlf.slice(i)]), expected, `CRLF split at ${i}`);
    }
    assert.deepEqual(scan([stream.replace(/\n/g, '\r')]), expected);
  });

  it('keeps a multi-byte character split across chunks whole', () => {
    const bytes = Buffer.from('data: héllo 🌍\n\n');
    for (let i = 0; i <= bytes.length; i++) {
      assert.deepEqual(scan([bytes.subarray(0, i), bytes.subarray(i)]), [['message', 'héllo 🌍']]);
    }
  });

  it('ignores one leading byte order mark, however it is cut, and keeps any other', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(stream)]);
    for (let i = 0; i <= 8; i++) {
      for (let j = i; j <= 8; j++) {
        assert.deepEqual(scan([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]), expected, `split at ${i}, ${j}`);
      }
    }
    // Only the first: a second BOM, or one after ASCII chunks that skipped the decoder, is data.
    assert.deepEqual(scan(['\ufeff\ufeffdata: a\n\n']), [], 'the second BOM starts the field name: not a data line');
    assert.deepEqual(scan(['data: a\n\n', '\ufeffdata: b\n\ndata: c\n\n']), [
      ['message', 'a'],
      ['message', 'c'],
    ]);
    assert.deepEqual(scan(['data: \ufeffa\n\n']), [['message', '\ufeffa']]);
  });

  it('decodes a stream the same whether its ASCII chunks skip the decoder or not', () => {
    // Invalid UTF-8 between ASCII chunks: each bad sequence is one U+FFFD, as TextDecoder makes it.
    const bytes = Buffer.concat([Buffer.from('data: a'), Buffer.from([0xe2, 0x82]), Buffer.from('b\n\ndata: '), Buffer.from([0xff]), Buffer.from('c\n\n')]);
    const whole = new TextDecoder().decode(bytes);
    const expectedEvents = [...whole.matchAll(/data: (.*)\n\n/g)].map((m) => ['message', m[1]]);
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j++) {
        assert.deepEqual(scan([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]), expectedEvents, `split at ${i}, ${j}`);
      }
    }
  });

  it('does not dispatch an event without its closing blank line', () => {
    assert.deepEqual(scan(['data: complete\n\ndata: cut']), [['message', 'complete']]);
  });

  it('never throws on arbitrary bytes and drops an over-long line instead of buffering it', () => {
    const junk = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
    assert.doesNotThrow(() => scan([junk, junk]));
    const out: string[] = [];
    const s = new SseScanner((_e, d) => out.push(d), 100);
    s.push(Buffer.from(`data: ${'x'.repeat(500)}`));
    s.push(Buffer.from(`${'y'.repeat(50)}\n\ndata: ok\n\n`));
    assert.deepEqual(out, ['ok']);
  });
});
