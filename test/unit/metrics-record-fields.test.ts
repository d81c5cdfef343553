import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { RequestRecord } from '../../src/core/metrics/record';
import { parseRecord, RECORD_FIELDS, serializeRecord } from '../../src/core/metrics/recordFields';
import { makeRecord } from '../fixtures/records';

describe('serializeRecord', () => {
  it('writes exactly what JSON.stringify with the field list writes, for any field values', () => {
    const value = fc.oneof(
      fc.string({ unit: 'binary' }), // lone surrogates, quotes, control characters
      fc.double(), // NaN, ±Infinity, -0
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.array(fc.integer(), { maxLength: 3 }),
    );
    const record = fc.record(Object.fromEntries(RECORD_FIELDS.map((f) => [f, value])), { requiredKeys: [] });
    fc.assert(
      fc.property(record, fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), (fields, extra) => {
        const r = { ...extra, ...fields } as unknown as RequestRecord;
        assert.equal(serializeRecord(r), JSON.stringify(r, RECORD_FIELDS as unknown as string[]));
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves out what is not a record field, and reads back the same record', () => {
    const r = { ...makeRecord({ id: 'a"b\\c\u2028', model: 'modèle-🌍', ttftMs: null, outputTokensPerSecond: 12.5 }), apiKey: 'sk-secret' };
    const line = serializeRecord(r);
    assert.ok(!line.includes('sk-secret'));
    const { apiKey: _dropped, ...fields } = r;
    assert.deepEqual(parseRecord(JSON.parse(line)), fields);
  });
});
