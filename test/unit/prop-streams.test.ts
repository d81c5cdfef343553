/**
 * Property tests (fast-check): streams of every API, cut at random chunk boundaries, are relayed
 * byte for byte and measured with exactly the usage they carry; the scanners never throw on
 * arbitrary bytes and do not depend on how the bytes were cut.
 *
 * Bounded for `npm test`; `npm run test:soak` runs this file again with TOKENMETER_SOAK=1: ten
 * times the runs and streams large enough that 64 KB pieces matter.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { RequestTracker } from '../../src/core/metrics/requestTracker';
import { ExchangeMeter } from '../../src/core/proxy/measurement';
import { LineScanner } from '../../src/core/proxy/ndjson';
import { SseScanner } from '../../src/core/proxy/sse';
import { StreamUsageFilter } from '../../src/core/proxy/streamUsage';
import { buildStream, cut, raw, STREAM_APIS, type StreamApi } from '../fixtures/reliability';
import { StringUsageFilter } from '../fixtures/stringUsageFilter';
import { startStack, type Stack } from '../fixtures/stack';

const soak = process.env.TOKENMETER_SOAK === '1';
const runs = (n: number): number => (soak ? n * 10 : n);

// Content that is hard on a relay: quotes, backslashes, line breaks and SSE syntax inside the
// text, the literal strings the usage filter looks for, multi-byte and astral characters.
const tricky = fc.constantFrom(
  '"usage":null,',
  ',"usage":null}',
  '"choices":[]',
  '\n\n',
  '\r\n\r\n',
  '\r',
  'data: [DONE]\n\n',
  'event: message_stop\n',
  'é',
  '🌍',
  '\\',
  '"',
  '\u2028',
  '\u0000',
  '',
);
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 2, arbitrary: tricky },
  // Large deltas only in the soak: they make streams of hundreds of KB, cut in pieces up to 64 KB.
  { weight: soak ? 1 : 0, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1000, maxLength: 40_000, size: 'max' }) },
);
// fast-check favours small sizes; the soak asks for the whole range (streams up to a few MB).
const chunksArb = fc.array(text, { minLength: 1, maxLength: soak ? 120 : 16, ...(soak && { size: 'max' as const }) });
const usageArb = fc.record({
  input: fc.nat({ max: 2_000_000 }),
  output: fc.nat({ max: 200_000 }),
  cacheRead: fc.nat({ max: 1_000_000 }),
  cacheCreation: fc.nat({ max: 100_000 }),
});
const modelArb = fc.constantFrom('gpt-4.1', 'claude-opus-4-1', 'gemini-2.5-pro', 'qwen3:8b', 'modèle-ü');
/** Piece sizes from 1 byte to 64 KB, biased to small ones so boundaries fall inside every token. */
const sizesArb = fc.array(fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 512 }), fc.integer({ min: 1, max: 65_536 })), {
  minLength: 1,
  maxLength: 48,
  ...(soak && { size: 'max' as const }),
});

function usageOf(r: { inputTokens: number | null; outputTokens: number | null; cacheReadTokens: number | null; cacheCreationTokens: number | null }): object {
  return { inputTokens: r.inputTokens, outputTokens: r.outputTokens, cacheReadTokens: r.cacheReadTokens, cacheCreationTokens: r.cacheCreationTokens };
}

function sseEvents(pieces: readonly Uint8Array[]): [string, string][] {
  const out: [string, string][] = [];
  const s = new SseScanner((e, d) => out.push([e, d]));
  for (const p of pieces) {
    s.push(p);
  }
  s.end();
  return out;
}

function lines(pieces: readonly Uint8Array[]): string[] {
  const out: string[] = [];
  const s = new LineScanner((_e, l) => out.push(l));
  for (const p of pieces) {
    s.push(p);
  }
  s.end();
  return out;
}

/** Bytes that look like SSE or NDJSON often enough to reach every branch, and arbitrary bytes. */
const sseToken = fc.constantFrom('data: ', 'data:', 'event: ', 'id: 1', ': ping', 'retry: 5', '\n', '\r', '\r\n', '\n\n', '{"a":1}', 'é', '🌍', 'x');
const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 4096 }),
  fc.array(fc.oneof(sseToken.map((t) => Buffer.from(t)), fc.uint8Array({ maxLength: 8 })), { maxLength: 200 }).map((parts) => new Uint8Array(Buffer.concat(parts))),
);
/** Cut sizes including 0: an empty chunk must change nothing either. */
const cutsArb = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 300 })), { minLength: 1, maxLength: 40 });

function cutWithEmpties(buf: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; at < buf.length || i < sizes.length; i++) {
    const size = i >= sizes.length ? buf.length - at : sizes[i];
    out.push(buf.subarray(at, Math.min(buf.length, at + size)));
    at = Math.min(buf.length, at + size);
  }
  return out;
}

describe('property: the scanners never throw and do not depend on chunking', { timeout: soak ? 20 * 60_000 : 120_000 }, () => {
  it('SseScanner: arbitrary bytes, cut anywhere (empty pieces too), give the events of the uncut stream', () => {
    fc.assert(
      fc.property(bytesArb, cutsArb, (bytes, sizes) => {
        assert.deepEqual(sseEvents(cutWithEmpties(bytes, sizes)), sseEvents([bytes]));
      }),
      {
        numRuns: runs(300),
        // Rare at random: an empty chunk between the CR and the LF of a CRLF.
        examples: [[new Uint8Array(Buffer.from('data: a\r\ndata: b\n\n')), [8, 0]]],
      },
    );
  });

  it('LineScanner (NDJSON): arbitrary bytes, cut anywhere, give the lines of the uncut stream', () => {
    fc.assert(
      fc.property(bytesArb, cutsArb, (bytes, sizes) => {
        assert.deepEqual(lines(cutWithEmpties(bytes, sizes)), lines([bytes]));
      }),
      { numRuns: runs(200) },
    );
  });

  it('StreamUsageFilter: a stream without a usage field passes byte for byte, whatever its bytes and chunking', () => {
    fc.assert(
      fc.property(bytesArb, cutsArb, (bytes, sizes) => {
        fc.pre(!Buffer.from(bytes).includes('"usage"'));
        const f = new StreamUsageFilter();
        const out = Buffer.concat([...cutWithEmpties(bytes, sizes).map((p) => f.push(Buffer.from(p))), f.end()]);
        assert.deepEqual(out, Buffer.from(bytes), 'the client must get the upstream bytes unchanged');
      }),
      { numRuns: runs(300) },
    );
  });

  it('StreamUsageFilter: arbitrary streams with usage fields, cut anywhere, give the bytes of the string-based filter it replaced, piece by piece', () => {
    const usageToken = fc.constantFrom('"usage":null', ',"usage":null}', '"usage":null,', '"usage":{"total_tokens":3}', '"choices":[]', '"choices":[{}]', '{', '}', ',', 'data: ', '\n', '\r', '\r\n', '\n\n', '\r\n\r\n', 'é', 'x');
    const streamArb = fc
      .array(fc.oneof(usageToken.map((t) => Buffer.from(t)), fc.uint8Array({ maxLength: 6 })), { maxLength: 160 })
      .map((parts) => new Uint8Array(Buffer.concat(parts)));
    // Piece by piece: the same bytes must also leave at the same time (an event as soon as it ends).
    const run = (f: { push(b: Buffer): Buffer; end(): Buffer }, pieces: Uint8Array[]): string[] =>
      [...pieces.map((p) => f.push(Buffer.from(p))), f.end()].map((b) => b.toString('latin1'));
    fc.assert(
      fc.property(streamArb, cutsArb, (bytes, sizes) => {
        const pieces = cutWithEmpties(bytes, sizes);
        assert.deepEqual(run(new StreamUsageFilter(), pieces), run(new StringUsageFilter(), pieces));
      }),
      {
        numRuns: runs(1000),
        examples: [
          [new Uint8Array(Buffer.from('data: {"a":1,"usage":null}\n\n\ndata: {"choices":[],"usage":{}}\n\n')), [27, 1]],
          [new Uint8Array(Buffer.from('data: {"usage":null,"a":1}\r\n\r\ndata: {"choices":[],"usage":{}}\r\n\r\n')), [28, 1, 1]],
        ],
      },
    );
  });

  it('StreamUsageFilter: pieces that are whole events (the usual chunking, its fast path) give the bytes of the string-based filter', () => {
    const body = fc.constantFrom('"usage":null', ',"usage":null}', '"usage":null,', '"usage":{"total_tokens":3}', '"choices":[]', '{', '}', ',', 'x', 'é', '\r', '\n');
    const end = fc.constantFrom('\n\n', '\r\n\r\n', '\n\n\n', '\n\r\n\n', '\r\n\n', '\n');
    const eventArb = fc.tuple(fc.array(body, { maxLength: 12 }), end).map(([parts, e]) => Buffer.from(`data: ${parts.join('')}${e}`));
    // One to three events per piece.
    const piecesArb = fc.array(fc.array(eventArb, { minLength: 1, maxLength: 3 }).map((es) => Buffer.concat(es)), { minLength: 1, maxLength: 12 });
    const run = (f: { push(b: Buffer): Buffer; end(): Buffer }, pieces: Buffer[]): string[] =>
      [...pieces.map((p) => f.push(p)), f.end()].map((b) => b.toString('latin1'));
    fc.assert(
      fc.property(piecesArb, (pieces) => {
        assert.deepEqual(run(new StreamUsageFilter(), pieces), run(new StringUsageFilter(), pieces));
      }),
      { numRuns: runs(1000) },
    );
  });

  it('ExchangeMeter: arbitrary bytes as any API\'s answer, in any encoding, end in exactly one record', async () => {
    const apis = fc.constantFrom(
      { api: 'openai', path: '/v1/chat/completions' },
      { api: 'openai', path: '/v1/responses' },
      { api: 'anthropic', path: '/v1/messages' },
      { api: 'gemini', path: '/v1beta/models/m:streamGenerateContent?alt=sse' },
      { api: 'ollama', path: '/api/chat' },
    ) as fc.Arbitrary<{ api: 'openai' | 'anthropic' | 'gemini' | 'ollama'; path: string }>;
    const types = fc.constantFrom('text/event-stream', 'application/x-ndjson', 'application/json', 'text/plain');
    const encodings = fc.constantFrom('', 'gzip', 'br', 'deflate', 'zstd', 'gzip-valid');
    await fc.assert(
      fc.asyncProperty(apis, types, encodings, bytesArb, cutsArb, fc.integer({ min: 200, max: 599 }), async (a, type, enc, bytes, sizes, status) => {
        const tracker = new RequestTracker();
        const records: unknown[] = [];
        tracker.on('completed', (r) => records.push(r));
        const meter = new ExchangeMeter(tracker, {
          id: 'x',
          provider: 'p',
          model: 'unknown',
          streaming: true,
          throttleWaitTimeMs: 0,
          api: a.api,
          path: a.path,
          inputChars: 10,
          toolUses: 0,
          toolResults: 0,
        });
        const body = enc === 'gzip-valid' ? gzipSync(bytes) : bytes;
        meter.onResponseHead(status, { 'content-type': type, ...(enc && { 'content-encoding': enc === 'gzip-valid' ? 'gzip' : enc }) });
        for (const p of cutWithEmpties(body, sizes)) {
          meter.onChunk(Buffer.from(p));
        }
        const r = await meter.finish(null);
        assert.ok(r);
        assert.equal(records.length, 1);
        assert.equal(await meter.finish('network'), null, 'a second finish records nothing');
        assert.equal(tracker.activeCount, 0);
        for (const v of [r.inputTokens, r.outputTokens, r.cacheReadTokens, r.cacheCreationTokens, r.outputTokensPerSecond, r.tokensPerSecond]) {
          assert.ok(v === null || (Number.isFinite(v) && v >= 0), `a count is null or a finite non-negative number, got ${v}`);
        }
      }),
      { numRuns: runs(150) },
    );
  });
});

describe('property: every API\'s stream, cut anywhere, is measured with exactly its usage (meter level)', { timeout: soak ? 20 * 60_000 : 120_000 }, () => {
  for (const api of STREAM_APIS) {
    it(`${api}: usage equals the stream's, not estimated; the client-facing bytes are exact`, async () => {
      await fc.assert(
        fc.asyncProperty(modelArb, chunksArb, usageArb, sizesArb, async (model, chunks, usage, sizes) => {
          const c = buildStream(api, model, chunks, usage);
          const pieces = cut(c.wire, sizes);
          const tracker = new RequestTracker();
          const meter = new ExchangeMeter(tracker, {
            id: 'p',
            provider: c.path.split('/')[1],
            model,
            streaming: true,
            throttleWaitTimeMs: 0,
            api: c.flavour,
            path: c.upstreamPath,
            inputChars: 2,
            toolUses: 0,
            toolResults: 0,
          });
          meter.onResponseHead(200, { 'content-type': c.contentType });
          const filter = api === 'openai-filtered' ? new StreamUsageFilter() : null;
          const out: Buffer[] = [];
          for (const p of pieces) {
            meter.onChunk(p);
            out.push(filter ? filter.push(p) : p);
          }
          if (filter) {
            out.push(filter.end());
          }
          const r = (await meter.finish(null))!;
          assert.deepEqual(usageOf(r), c.usage);
          assert.equal(r.estimated, false);
          assert.equal(r.errorCategory, null);
          assert.deepEqual(Buffer.concat(out), c.expectedClient, 'client bytes');
        }),
        { numRuns: runs(60) },
      );
    });
  }
});

describe('property: through the proxy, streams cut at random chunk boundaries', { timeout: soak ? 20 * 60_000 : 120_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.close();
  });

  type Usage = { input: number; output: number; cacheRead: number; cacheCreation: number };
  const check = async (api: StreamApi, model: string, chunks: string[], usage: Usage, sizes: number[], maxPieces = soak ? 400 : 48): Promise<void> => {
    const c = buildStream(api, model, chunks, usage);
    const pieces = cut(c.wire, sizes, maxPieces);
    const before = stack.app.tracker.totalCompleted;
    // setDefault, not next(): a failed run must not leave a script queued for the next one.
    stack.upstream.setDefault({ rawChunks: pieces, headers: { 'content-type': c.contentType } });
    const res = await raw(stack.url, c.path, { body: JSON.stringify(c.requestBody), headers: { authorization: 'Bearer prop-key' } });
    const [r] = await stack.records(1);
    const ex = stack.upstream.exchanges.at(-1)!;
    assert.equal(res.status, 200);
    assert.deepEqual(ex.sent, c.wire, 'the upstream sent the scripted bytes');
    assert.deepEqual(res.body, c.expectedClient, 'the client received exactly the expected bytes');
    if (api === 'openai-filtered') {
      assert.deepEqual(JSON.parse(ex.body.toString()).stream_options, { include_usage: true }, 'the proxy asked for usage');
    }
    assert.deepEqual(usageOf(r), c.usage);
    assert.deepEqual([r.estimated, r.errorCategory, r.status, r.streaming], [false, null, 200, true]);
    assert.equal(stack.app.tracker.totalCompleted - before, 1, 'exactly one record');
  };

  for (const api of STREAM_APIS) {
    it(`${api}: byte-identical at the client, usage equal to the stream's`, async () => {
      await fc.assert(
        fc.asyncProperty(modelArb, chunksArb, usageArb, sizesArb, (model, chunks, usage, sizes) => check(api, model, chunks, usage, sizes)),
        { numRuns: runs(12) },
      );
    });
  }

  it('1-byte pieces: every boundary of a stream at once', async () => {
    for (const api of STREAM_APIS) {
      // A small stream, one byte per piece: boundaries inside every UTF-8 sequence and CRLF.
      await check(api, 'gpt-4.1', ['é🌍', '"\\'], { input: 3, output: 2, cacheRead: 1, cacheCreation: 1 }, [1], 4000);
    }
  });
});
