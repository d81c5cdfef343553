import assert from 'node:assert/strict';
import { promises as fs, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  HistoryStore,
  RECORD_FIELDS,
  RequestTracker,
  parseRecord,
  recordsToCsv,
  recordsToJson,
  type HistoryStoreOptions,
  type RequestRecord,
} from '../../src/core/metrics';
import { makeRecord } from '../fixtures/records';

const DAY = 86_400_000;
const NOW = Date.UTC(2025, 2, 15, 12, 0, 0); // 2025-03-15 12:00 UTC

const record = (over: Partial<RequestRecord> = {}): RequestRecord =>
  makeRecord({
    provider: 'anthropic',
    model: 'claude-sonnet-4',
    inputTokens: 10,
    outputTokens: 5,
    cacheReadTokens: 100,
    ttfbMs: 90,
    ttftMs: 150,
    durationMs: 2000,
    outputTokensPerSecond: 30,
    promptTokensPerSecond: 700,
    tokensPerSecond: 7.5,
    toolUses: 1,
    startedAt: new Date(NOW - 60_000).toISOString(),
    ...over,
  });

const daysAgo = (n: number, over: Partial<RequestRecord> = {}): RequestRecord =>
  record({ startedAt: new Date(NOW - n * DAY).toISOString(), ...over });

let dir: string;
let warnings: string[];

function store(over: Partial<HistoryStoreOptions> = {}): HistoryStore {
  return new HistoryStore({ dir, now: () => NOW, logger: { warn: (m) => warnings.push(m) }, ...over });
}

async function files(): Promise<string[]> {
  return (await fs.readdir(dir)).sort();
}

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tokenmeter-history-'));
  warnings = [];
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('HistoryStore: appending', () => {
  it('writes the first record after a quiet interval at once, batches those that follow, one JSON Lines file per UTC day', async () => {
    const s = store({ flushIntervalMs: 60_000 });
    const today = path.join(dir, 'requests-2025-03-15.jsonl');
    const count = async (f: string): Promise<number> => (await fs.readFile(f, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
    s.append(record());
    assert.deepEqual(readdirSync(dir), [], 'nothing is written on the relay path');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await count(today), 1, 'written at the end of the turn: a kill now loses nothing');
    s.append(record());
    s.append(daysAgo(1));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await count(today), 1, 'within the interval: batched');
    assert.deepEqual(await files(), ['requests-2025-03-15.jsonl']);
    await s.flush();
    assert.deepEqual(await files(), ['requests-2025-03-14.jsonl', 'requests-2025-03-15.jsonl']);
    const lines = (await fs.readFile(today, 'utf8')).split('\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[2], '');
    assert.deepEqual(Object.keys(JSON.parse(lines[0])), [...RECORD_FIELDS]);
    await s.close();
  });

  it('writes on its own timer, and at once when a batch is full', async () => {
    const timed = store({ flushIntervalMs: 5 });
    for (let i = 0; i < 3; i++) {
      timed.append(record());
    }
    await new Promise((r) => setTimeout(r, 60));
    const read = async (): Promise<number> => (await fs.readFile(path.join(dir, 'requests-2025-03-15.jsonl'), 'utf8')).split('\n').filter(Boolean).length;
    assert.equal(await read(), 3);
    await timed.close();

    await fs.rm(path.join(dir, 'requests-2025-03-15.jsonl'));
    const batched = store({ flushIntervalMs: 60_000, maxBatch: 3 });
    batched.append(record()); // the first after a quiet interval: at once
    await new Promise((r) => setTimeout(r, 30));
    batched.append(record());
    batched.append(record());
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(await read(), 1, 'two of three: waiting for the interval');
    batched.append(record());
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(await read(), 4, 'the batch is full: written');
    await batched.close();
  });

  it('persists record fields only, so nothing like a key or header reaches the disk', async () => {
    const s = store();
    const leaky = { ...record(), apiKey: 'sk-secret', headers: { authorization: 'Bearer sk-secret' } };
    s.append(leaky as RequestRecord);
    await s.close();
    const text = await fs.readFile(path.join(dir, 'requests-2025-03-15.jsonl'), 'utf8');
    assert.ok(!text.includes('sk-secret'), text);
    assert.ok(!text.includes('authorization'));
  });

  it('follows a RequestTracker', async () => {
    const tracker = new RequestTracker();
    const s = store();
    const detach = s.attach(tracker);
    tracker.start({ id: 'x', provider: 'p', model: 'm', streaming: false, startedAt: '', t0: 0, ttftMs: null, outputTokens: 0, firstContentMs: null, lastContentMs: null });
    tracker.end(record({ id: 'x', provider: 'p', model: 'm' }));
    detach();
    tracker.start({ id: 'y', provider: 'p', model: 'm', streaming: false, startedAt: '', t0: 0, ttftMs: null, outputTokens: 0, firstContentMs: null, lastContentMs: null });
    tracker.end(record({ id: 'y', provider: 'p', model: 'm' }));
    assert.equal(s.totals('today').summary.requests, 1);
    assert.equal((await s.records()).length, 1);
  });
});

describe('HistoryStore: reload after a restart', () => {
  it('brings back today, 7-day and all-time totals', async () => {
    const before = store();
    before.append(record({ inputTokens: 1 }));
    before.append(daysAgo(3, { inputTokens: 10 }));
    before.append(daysAgo(6, { inputTokens: 100 }));
    before.append(daysAgo(7, { inputTokens: 1000, provider: 'openai', model: 'gpt-4o' }));
    before.append(daysAgo(20, { inputTokens: 10_000 }));
    const expected = before.totals('all');
    await before.close();

    const after = store();
    const loaded = await after.load();
    assert.deepEqual(loaded, { files: 5, records: 5, skippedLines: 0 });
    assert.equal(after.totals('today').summary.inputTokens, 1);
    assert.equal(after.totals('7d').summary.inputTokens, 111);
    assert.equal(after.totals('all').summary.inputTokens, 11_111);
    assert.deepEqual(after.totals('all'), expected, 'quantiles and lastAccessed come back too');
    assert.deepEqual(Object.keys(after.totals('all', { provider: 'open*' }).providers), ['openai']);
    assert.deepEqual(warnings, []);
  });

  it('keeps range totals current as records arrive', () => {
    const s = store();
    s.append(record());
    assert.equal(s.totals('today').summary.requests, 1);
    assert.equal(s.totals('all').summary.requests, 1);
    s.append(record());
    s.append(daysAgo(2));
    assert.equal(s.totals('today').summary.requests, 2);
    assert.equal(s.totals('7d').summary.requests, 3);
    assert.equal(s.totals('all').summary.requests, 3);
  });

  it('does not count twice what this session wrote before load, nor load twice', async () => {
    const first = store();
    first.append(record());
    await first.close();

    const second = store();
    second.append(record());
    await second.flush(); // written to the same file before load ran
    const [a, b] = await Promise.all([second.load(), second.load()]);
    assert.equal(a, b);
    assert.equal(a.records, 1);
    assert.equal(second.totals('today').summary.requests, 2);
    second.append(record());
    await second.close();
    const third = store();
    await third.load();
    assert.equal(third.totals('today').summary.requests, 3);
  });
});

describe('HistoryStore: crashes and bad lines', () => {
  it('skips a torn last line with a warning, keeps the rest, and repairs the file', async () => {
    const s = store();
    s.append(record());
    s.append(record());
    await s.close();
    const file = path.join(dir, 'requests-2025-03-15.jsonl');
    await fs.appendFile(file, '{"id":"torn","provider":"anthr');

    const reopened = store();
    const loaded = await reopened.load();
    assert.equal(loaded.records, 2);
    assert.equal(loaded.skippedLines, 1);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /incomplete last line/);
    assert.ok(warnings[0].includes(file));
    assert.ok((await fs.readFile(file, 'utf8')).endsWith('}\n'), 'the torn tail is cut off');

    reopened.append(record({ id: 'after-crash' }));
    await reopened.close();
    warnings = [];
    const again = store();
    assert.equal((await again.load()).records, 3);
    assert.deepEqual(warnings, []);
    assert.ok((await again.records()).some((r) => r.id === 'after-crash'));
  });

  it('does not glue a new record onto a torn line when appending before any load', async () => {
    const file = path.join(dir, 'requests-2025-03-15.jsonl');
    await fs.writeFile(file, `${JSON.stringify(record({ id: 'old' }))}\n{"id":"half`);
    const s = store();
    s.append(record({ id: 'new' }));
    await s.close();
    const reloaded = store();
    const loaded = await reloaded.load();
    assert.equal(loaded.records, 2);
    assert.equal(loaded.skippedLines, 1, 'the torn line, now in the middle');
    assert.deepEqual(
      (await reloaded.records()).map((r) => r.id),
      ['old', 'new'],
    );
  });

  it('keeps a last line that only lost its newline', async () => {
    const file = path.join(dir, 'requests-2025-03-15.jsonl');
    await fs.writeFile(file, JSON.stringify(record({ id: 'whole' })));
    const s = store();
    assert.equal((await s.load()).records, 1);
    s.append(record({ id: 'next' }));
    await s.close();
    assert.deepEqual(
      (await store().records()).map((r) => r.id),
      ['whole', 'next'],
    );
  });

  it('skips unreadable lines in the middle with one warning per file', async () => {
    const file = path.join(dir, 'requests-2025-03-15.jsonl');
    const good = JSON.stringify(record());
    await fs.writeFile(file, `${good}\nnot json\n{"id":3}\n${JSON.stringify({ ...record(), inputTokens: 'many' })}\n\n${good}\n`);
    const s = store();
    const loaded = await s.load();
    assert.equal(loaded.records, 2);
    assert.equal(loaded.skippedLines, 3);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /skipped 3 unreadable line/);
  });
});

describe('HistoryStore: an unwritable folder', () => {
  it('warns once, clearly, and keeps working in memory', async () => {
    await fs.writeFile(path.join(dir, 'not-a-folder'), '');
    const s = store({ dir: path.join(dir, 'not-a-folder', 'history') });
    s.append(record({ inputTokens: 1 }));
    await s.flush();
    s.append(record({ inputTokens: 2 }));
    s.append(record({ inputTokens: 4 }));
    await s.flush();
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /cannot write request history in .*not-a-folder/);
    assert.match(warnings[0], /memory only/);
    assert.equal(s.writable, false);
    assert.equal(s.totals('today').summary.inputTokens, 7);
    assert.deepEqual(
      (await s.records()).map((r) => r.inputTokens),
      [1, 2, 4],
      'export still has the records of this session',
    );
    assert.equal((await s.load()).records, 0);
    assert.equal(warnings.length, 1);
  });
});

describe('HistoryStore: retention', () => {
  it('drops days past the retention at load, from disk and from the totals', async () => {
    const writer = store();
    for (const n of [0, 1, 4, 5, 9]) {
      writer.append(daysAgo(n));
    }
    await writer.close();
    const s = store({ retentionDays: 5 });
    const loaded = await s.load();
    assert.equal(loaded.records, 3);
    await s.flush(); // compaction runs queued behind the load
    assert.deepEqual(await files(), [
      'requests-2025-03-11.jsonl',
      'requests-2025-03-14.jsonl',
      'requests-2025-03-15.jsonl',
    ]);
    assert.equal(s.totals('all').summary.requests, 3);
    assert.deepEqual(await s.setRetentionDays(1), [
      path.join(dir, 'requests-2025-03-11.jsonl'),
      path.join(dir, 'requests-2025-03-14.jsonl'),
    ]);
    assert.equal(s.totals('all').summary.requests, 1);
    assert.throws(() => store({ retentionDays: 0 }), RangeError);
  });

  it('keeps 30 days by default', async () => {
    const writer = store();
    writer.append(daysAgo(29));
    writer.append(daysAgo(30));
    await writer.close();
    const s = store();
    assert.equal((await s.load()).records, 1);
    assert.equal(s.totals('all').summary.requests, 1);
  });

  it('compacts when a new day begins', async () => {
    let now = NOW;
    const s = store({ retentionDays: 3, now: () => now });
    s.append(daysAgo(1));
    s.append(record());
    await s.flush();
    now += 2 * DAY;
    s.append(record({ startedAt: new Date(now).toISOString() }));
    await s.close();
    assert.deepEqual(await files(), ['requests-2025-03-15.jsonl', 'requests-2025-03-17.jsonl']);
    assert.equal(s.totals('all').summary.requests, 2);
    assert.equal(s.totals('today').summary.requests, 1);
  });
});

describe('HistoryStore: export', () => {
  it('exports CSV with a header of record fields and RFC 4180 quoting', async () => {
    const s = store();
    s.append(record({ id: 'a', model: 'gpt,"4o"\nx', ttftMs: null, estimated: true }));
    s.append(daysAgo(2, { id: 'b', provider: '=HYPERLINK("x")', model: '-m' }));
    const csv = await s.exportCsv();
    const lines = csv.split('\r\n');
    assert.equal(lines[0], RECORD_FIELDS.join(','));
    assert.equal(lines.at(-1), '', 'ends with a line break');
    assert.ok(csv.startsWith(`${RECORD_FIELDS.join(',')}\r\nb,`), 'oldest day first');
    assert.ok(lines[1].startsWith(`b,"'=HYPERLINK(""x"")",'-m,true,200,,`), lines[1]);
    assert.ok(csv.includes(',"gpt,""4o""\nx",'), 'quoted, inner quotes doubled, line break kept');
    assert.ok(csv.includes(',150,') && csv.includes(',,2000,'), 'null is an empty cell');
    const today = await s.exportCsv('today');
    assert.equal(today.split('\r\n').length, 3, 'header, one record (its LF is inside quotes), end');
    assert.ok(!today.includes('HYPERLINK'));
  });

  it('exports JSON that parses back to the records', async () => {
    const s = store();
    const records = [daysAgo(1, { id: 'x' }), record({ id: 'y', errorCategory: 'rate_limit', status: 429 })];
    records.forEach((r) => s.append(r));
    const parsed = JSON.parse(await s.exportJson()) as RequestRecord[];
    assert.deepEqual(parsed, records);
    assert.deepEqual(JSON.parse(await s.exportJson('today')), [records[1]]);
    assert.equal(recordsToJson([]), '[]\n');
    assert.equal(recordsToCsv([]), `${RECORD_FIELDS.join(',')}\r\n`);
  });
});

describe('parseRecord', () => {
  it('reads fields added later as unknown and rejects wrong types', () => {
    const { cacheCreationTokens: _a, toolCalls: _b, estimated: _c, ...old } = record();
    const r = parseRecord(old);
    assert.ok(r);
    assert.equal(r.cacheCreationTokens, null);
    assert.equal(r.toolCalls, 0);
    assert.equal(r.estimated, false);
    assert.equal(parseRecord({ ...record(), streaming: 'yes' }), null);
    assert.equal(parseRecord({ ...record(), startedAt: 'yesterday' }), null);
    assert.equal(parseRecord({ ...record(), ttftMs: '12' }), null);
    assert.equal(parseRecord({ ...record(), toolUses: -1 }), null);
    assert.equal(parseRecord([record()]), null);
    assert.equal(parseRecord({ ...record(), errorCategory: 'gremlins' })?.errorCategory, 'unknown');
  });
});
