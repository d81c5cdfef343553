import type { RequestRecord } from './record';
import { ERROR_CATEGORIES } from './section';

/**
 * The fields of a `RequestRecord`, in the order of the `api/requests` contract. Persisting and
 * exporting go through this list, so nothing that is not a record field (a header, a key) can reach
 * the disk even if a caller attached it to a record object.
 */
export const RECORD_FIELDS = [
  'id',
  'provider',
  'model',
  'streaming',
  'status',
  'errorCategory',
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'cacheCreationTokens',
  'estimated',
  'ttfbMs',
  'ttftMs',
  'durationMs',
  'outputTokensPerSecond',
  'promptTokensPerSecond',
  'tokensPerSecond',
  'throttleWaitTimeMs',
  'toolUses',
  'toolResults',
  'toolCalls',
  'startedAt',
] as const satisfies readonly (keyof RequestRecord)[];

const NULLABLE_NUMBERS = [
  'status',
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'cacheCreationTokens',
  'ttfbMs',
  'ttftMs',
  'durationMs',
  'outputTokensPerSecond',
  'promptTokensPerSecond',
  'tokensPerSecond',
] as const;
const COUNTS = ['throttleWaitTimeMs', 'toolUses', 'toolResults', 'toolCalls'] as const;
const categories: ReadonlySet<string> = new Set(ERROR_CATEGORIES);
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/;

const KEYS = RECORD_FIELDS.map((f) => JSON.stringify(f) + ':');

/**
 * One line of history as stored: only record fields, in contract order. The same text as
 * `JSON.stringify(r, RECORD_FIELDS)`, built by hand: with a property list JSON.stringify takes a
 * slow path (~7 µs a record, which made the history's 250 ms batches block the proxy for
 * milliseconds); record fields are flat, so each value is one of a few JSON cases.
 */
export function serializeRecord(r: RequestRecord): string {
  let out = '{';
  for (let i = 0; i < RECORD_FIELDS.length; i++) {
    const v: unknown = r[RECORD_FIELDS[i]];
    let json: string;
    switch (typeof v) {
      case 'string':
        json = JSON.stringify(v);
        break;
      case 'number':
        json = Number.isFinite(v) ? String(v) : 'null';
        break;
      case 'boolean':
        json = v ? 'true' : 'false';
        break;
      case 'undefined':
      case 'function':
      case 'symbol':
        continue; // JSON.stringify leaves such properties out
      default:
        json = v === null ? 'null' : (JSON.stringify(v) ?? 'null');
    }
    out += (out.length === 1 ? '' : ',') + KEYS[i] + json;
  }
  return out + '}';
}

const isNumberOrNull = (v: unknown): v is number | null => v === null || (typeof v === 'number' && Number.isFinite(v));

/**
 * A parsed history line back to a record, or null when it is not one. Fields added after a file was
 * written read as unknown (null) or 0 for counts; a field of the wrong type rejects the line, since
 * summing a string into the totals would poison them.
 */
export function parseRecord(value: unknown): RequestRecord | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return null;
  }
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || typeof v.provider !== 'string' || typeof v.model !== 'string') {
    return null;
  }
  if (typeof v.startedAt !== 'string' || !ISO_UTC.test(v.startedAt) || typeof v.streaming !== 'boolean') {
    return null;
  }
  const out: Record<string, unknown> = {
    id: v.id,
    provider: v.provider,
    model: v.model,
    streaming: v.streaming,
    startedAt: v.startedAt,
  };
  for (const f of NULLABLE_NUMBERS) {
    const x = v[f] ?? null;
    if (!isNumberOrNull(x)) {
      return null;
    }
    out[f] = x;
  }
  for (const f of COUNTS) {
    const x = v[f] ?? 0;
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) {
      return null;
    }
    out[f] = x;
  }
  const category = v.errorCategory ?? null;
  if (category !== null && typeof category !== 'string') {
    return null;
  }
  out.errorCategory = category === null || categories.has(category) ? category : 'unknown';
  out.estimated = v.estimated === true;
  return out as unknown as RequestRecord;
}
