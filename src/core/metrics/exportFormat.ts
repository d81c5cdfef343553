import type { RequestRecord } from './record';
import { RECORD_FIELDS, serializeRecord } from './recordFields';

/**
 * A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection");
 * provider and model names come from clients, so such text cells get a leading apostrophe.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

function csvCell(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value !== 'string') {
    return String(value);
  }
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  // RFC 4180 §2: quote a field holding a comma, quote or line break; double inner quotes.
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const CSV_HEADER = `${RECORD_FIELDS.join(',')}\r\n`;

/** CSV rows (CRLF line ends, as RFC 4180 has them) without the header. */
export function csvRows(records: Iterable<RequestRecord>): string {
  let out = '';
  for (const r of records) {
    out += `${RECORD_FIELDS.map((f) => csvCell(r[f])).join(',')}\r\n`;
  }
  return out;
}

export function recordsToCsv(records: Iterable<RequestRecord>): string {
  return CSV_HEADER + csvRows(records);
}

/** A JSON array, one record per line, with the record fields only. */
export function recordsToJson(records: Iterable<RequestRecord>): string {
  const lines: string[] = [];
  for (const r of records) {
    lines.push(serializeRecord(r));
  }
  return lines.length === 0 ? '[]\n' : `[\n${lines.join(',\n')}\n]\n`;
}
