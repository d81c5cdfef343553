import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineBuffer } from '../../src/core/lineBuffer';

describe('LineBuffer', () => {
  it('gives back the lines as UTF-8, each with its line feed, growing past its first size', () => {
    const b = new LineBuffer(8);
    const lines = ['a', '', 'é🌍 "quoted"', 'x'.repeat(100)];
    lines.forEach((l) => b.push(l));
    assert.equal(b.lines, 4);
    assert.equal(b.bytes, Buffer.byteLength(lines.join('\n') + '\n'));
    const out = b.take();
    assert.equal(out.toString('utf8'), lines.join('\n') + '\n');
    assert.deepEqual([b.lines, b.bytes, b.take().length], [0, 0, 0]);
  });

  it('leaves bytes already taken alone when it fills again', () => {
    const b = new LineBuffer(16);
    b.push('first');
    const first = b.take();
    b.push('second-overwrites?');
    assert.equal(first.toString(), 'first\n');
    assert.equal(b.take().toString(), 'second-overwrites?\n');
  });
});
