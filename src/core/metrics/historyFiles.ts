import type { RequestRecord } from './record';
import { parseRecord } from './recordFields';

/** History is one JSON Lines file per UTC day: retention deletes whole files, load goes newest first. */
export const DAY_MS = 86_400_000;
const FILE = /^requests-(\d{4}-\d{2}-\d{2})\.jsonl$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

export function dayOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** The UTC day the request was sent, from its ISO `startedAt`; `fallbackMs` if that is malformed. */
export function dayOfRecord(r: RequestRecord, fallbackMs: number): string {
  const day = typeof r.startedAt === 'string' ? r.startedAt.slice(0, 10) : '';
  return DAY.test(day) ? day : dayOf(fallbackMs);
}

export function fileNameOf(day: string): string {
  return `requests-${day}.jsonl`;
}

export function dayOfFileName(name: string): string | null {
  return FILE.exec(name)?.[1] ?? null;
}

/** Days since the epoch, so that ranges are integer comparisons. */
export function dayNumber(day: string): number {
  return Math.floor(Date.parse(`${day}T00:00:00Z`) / DAY_MS);
}

export interface ParsedHistory {
  records: RequestRecord[];
  /** Complete lines that were not a record (corrupted in the middle of a file). */
  invalidLines: number;
  /** Byte length of an unterminated, unreadable last line: a write cut short by a crash. */
  tornBytes: number;
  /** Where the file should end (bytes) once the torn line is dropped. */
  intactBytes: number;
}

function parseLine(line: string): RequestRecord | null {
  try {
    return parseRecord(JSON.parse(line));
  } catch {
    return null;
  }
}

/**
 * Every line is parsed on its own, so a bad line costs only itself. An unterminated last line that
 * still parses is kept (the crash hit between the record and its newline).
 */
export function parseHistory(buf: Buffer): ParsedHistory {
  const lastNewline = buf.lastIndexOf(0x0a);
  const intactBytes = lastNewline + 1;
  const result: ParsedHistory = { records: [], invalidLines: 0, tornBytes: 0, intactBytes: buf.length };
  for (const line of buf.toString('utf8', 0, intactBytes).split('\n')) {
    if (line.trim() === '') {
      continue;
    }
    const r = parseLine(line);
    if (r === null) {
      result.invalidLines++;
    } else {
      result.records.push(r);
    }
  }
  if (intactBytes < buf.length) {
    const tail = buf.toString('utf8', intactBytes);
    const r = tail.trim() === '' ? null : parseLine(tail);
    if (r !== null) {
      result.records.push(r);
    } else if (tail.trim() !== '') {
      result.tornBytes = buf.length - intactBytes;
      result.intactBytes = intactBytes;
    }
  }
  return result;
}
