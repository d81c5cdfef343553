/**
 * OpenAI-style chat streams carry usage only when the request says
 * `stream_options.include_usage`. When a client did not ask, the proxy asks for it, then removes
 * what that adds to the stream — the final `choices: []` chunk and the `"usage":null` on every
 * other chunk — so the client gets exactly the stream it would have had without the proxy
 * (some clients break on a chunk with no choices).
 */

/** The request body with include_usage turned on, or null when nothing needs changing. */
export function withStreamUsage(body: Buffer, parsed: Record<string, unknown>): Buffer | null {
  if (parsed.stream !== true) {
    return null;
  }
  const opts = parsed.stream_options;
  if (opts !== undefined && opts !== null && typeof opts === 'object' && (opts as Record<string, unknown>).include_usage !== undefined) {
    return null; // the client decided either way: respect it
  }
  if (opts === undefined) {
    // Insert right after the opening brace: every other byte of the client's body stays as sent.
    const text = body.toString('utf8');
    const brace = text.indexOf('{');
    return Buffer.from(`${text.slice(0, brace + 1)}"stream_options":{"include_usage":true},${text.slice(brace + 1)}`, 'utf8');
  }
  const merged = { ...parsed, stream_options: { ...(opts as object), include_usage: true } };
  return Buffer.from(JSON.stringify(merged), 'utf8');
}

/** `usage"`: its first byte is rarer in JSON than a quote, so Buffer.indexOf finds it faster. */
const USAGE_TAIL = Buffer.from('usage"', 'latin1');
const USAGE_NULL = Buffer.from('"usage":null', 'latin1');
const NO_CHOICES = Buffer.from('"choices":[]', 'latin1');
const EMPTY = Buffer.alloc(0);
const LF = 10;
const CR = 13;
const COMMA = 44;
const CLOSE_BRACE = 125;
const QUOTE = 34;

/**
 * Rewrites the SSE stream event by event, on bytes: the strings it looks for are ASCII, so a
 * byte search finds them and every other byte (invalid UTF-8, a BOM) reaches the client as sent.
 * An event is cut at its blank line (`\n\n`, `\r\n\r\n`, or a mix of the two). Events with no
 * `"usage"` pass as the same bytes; the pieces of an event still arriving are held, uncopied,
 * until its blank line comes, so a long event costs its length once, not once per chunk.
 */
export class StreamUsageFilter {
  private held: Buffer[] = [];
  private heldBytes = 0;
  /**
   * How the held bytes end: 1 after a line feed, 2 after a line feed and a carriage return — the
   * start of a blank line that the next chunk may finish — else 0.
   */
  private carry = 0;

  push(chunk: Buffer): Buffer {
    const n = chunk.length;
    if (n === 0) {
      return EMPTY;
    }
    // The usual chunk: nothing held, and it ends with the blank line of its last event. Then the
    // whole chunk is complete events, as lastEventEnd would find (a third LF, or the CR of an
    // LF CR LF before the final LF LF, could end an event earlier: those take the general path).
    if (this.heldBytes === 0 && n >= 3 && chunk[n - 1] === LF && chunk[n - 2] === LF && chunk[n - 3] !== LF && chunk[n - 3] !== CR) {
      const u = findUsage(chunk, 0);
      return u === -1 ? chunk : rewriteEvents(chunk, u);
    }
    const cut = this.lastEventEnd(chunk);
    if (cut === -1) {
      this.hold(chunk);
      return EMPTY;
    }
    const data = this.heldBytes === 0 ? chunk : Buffer.concat([...this.held, chunk], this.heldBytes + chunk.length);
    const end = this.heldBytes + cut;
    this.held = [];
    this.heldBytes = 0;
    this.carry = 0;
    if (end < data.length) {
      this.hold(data.subarray(end));
    }
    const events = end === data.length ? data : data.subarray(0, end);
    const u = findUsage(events, 0);
    return u === -1 ? events : rewriteEvents(events, u);
  }

  /** Whatever is left when the upstream ends (an event without its blank line) goes out as is. */
  end(): Buffer {
    const rest = this.held.length === 1 ? this.held[0] : Buffer.concat(this.held, this.heldBytes);
    this.held = [];
    this.heldBytes = 0;
    this.carry = 0;
    return rest;
  }

  /** Holds bytes that finish no event (they follow the last event's end). */
  private hold(b: Buffer): void {
    this.held.push(b);
    this.heldBytes += b.length;
    const last = b[b.length - 1];
    const before = b.length >= 2 ? (b[b.length - 2] === LF ? 1 : 0) : this.carry;
    this.carry = last === LF ? 1 : last === CR && before === 1 ? 2 : 0;
  }

  /**
   * Index in `chunk` just past the last event that ends in it, or -1. Blank lines are found left
   * to right as `nextEventEnd` finds them, the held bytes' unfinished one first.
   */
  private lastEventEnd(chunk: Buffer): number {
    let cut = -1;
    let from = 0;
    if (this.carry === 1 && chunk[0] === LF) {
      cut = from = 1;
    } else if (this.carry === 1 && chunk[0] === CR && chunk[1] === LF) {
      cut = from = 2;
    } else if (this.carry === 2 && chunk[0] === LF) {
      cut = from = 1;
    }
    for (let i = chunk.indexOf(LF, from); i !== -1; ) {
      const next = chunk[i + 1];
      if (next === LF) {
        cut = i + 2;
      } else if (next === CR && chunk[i + 2] === LF) {
        cut = i + 3;
      }
      i = chunk.indexOf(LF, cut > i ? cut : i + 1);
    }
    return cut;
  }
}

/**
 * Complete events (`events` ends with a blank line) with the usage the client did not ask for
 * removed. `u` is where "usage" first appears. Works on offsets into `events` (no views made per
 * event) and copies the kept ranges once into the result.
 */
function rewriteEvents(events: Buffer, u: number): Buffer {
  /** Byte ranges to drop, [from, to) pairs in order. */
  const drop: number[] = [];
  let dropped = 0;
  for (let start = 0; u !== -1 && start < events.length; ) {
    const end = nextEventEnd(events, start);
    if (u < end) {
      if (usageToRemove(events, start, end, u, drop)) {
        dropped += drop[drop.length - 1] - drop[drop.length - 2];
      }
      u = end < events.length ? findUsage(events, end) : -1;
    }
    start = end;
  }
  if (dropped === 0) {
    return events;
  }
  const out = Buffer.allocUnsafe(events.length - dropped);
  let at = 0;
  let kept = 0;
  for (let i = 0; i < drop.length; i += 2) {
    at += events.copy(out, at, kept, drop[i]);
    kept = drop[i + 1];
  }
  events.copy(out, at, kept);
  return out;
}

/** Index just past the blank line that ends the event starting at `from` (or the buffer's end). */
function nextEventEnd(buf: Buffer, from: number): number {
  for (let i = buf.indexOf(LF, from); i !== -1; i = buf.indexOf(LF, i + 1)) {
    const next = buf[i + 1];
    if (next === LF) {
      return i + 2;
    }
    if (next === CR && buf[i + 2] === LF) {
      return i + 3;
    }
  }
  return buf.length;
}

/** Where `"usage"` first appears in `buf` at or after `from`, or -1 (as buf.indexOf would say). */
function findUsage(buf: Buffer, from: number): number {
  for (let i = buf.indexOf(USAGE_TAIL, from + 1); i !== -1; i = buf.indexOf(USAGE_TAIL, i + 1)) {
    if (buf[i - 1] === QUOTE) {
      return i - 1;
    }
  }
  return -1;
}

/** `i` when `"usage":null` starts at `i` in [.., end), else -1 (`"usage"` is known to start there). */
function usageNullAt(buf: Buffer, i: number, end: number): number {
  if (i + USAGE_NULL.length > end) {
    return -1;
  }
  for (let k = '"usage"'.length; k < USAGE_NULL.length; k++) {
    if (buf[i + k] !== USAGE_NULL[k]) {
      return -1;
    }
  }
  return i;
}

/** `i` when the match of length `length` at `i` lies before `end`, else -1. */
const within = (i: number, length: number, end: number): number => (i !== -1 && i + length <= end ? i : -1);

/**
 * Adds to `drop` the byte range of the event [start, end) to drop, and says whether there was one:
 * the whole event when it is the usage chunk the client did not ask for (`"choices":[]` and a
 * usage object), else the first `,"usage":null` (before `,` or `}`) or `"usage":null,`.
 * `u` is where "usage" first appears in the event (it is usually `"usage":null` itself).
 */
function usageToRemove(buf: Buffer, start: number, end: number, u: number, drop: number[]): boolean {
  const L = USAGE_NULL.length;
  let n = usageNullAt(buf, u, end);
  if (n === -1) {
    n = within(buf.indexOf(USAGE_NULL, u), L, end);
  }
  if (n === -1) {
    if (within(buf.indexOf(NO_CHOICES, start), NO_CHOICES.length, end) !== -1) {
      drop.push(start, end);
      return true;
    }
    return false;
  }
  for (; n !== -1; n = within(buf.indexOf(USAGE_NULL, n + 1), L, end)) {
    const after = n + L < end ? buf[n + L] : undefined;
    if (n > start && buf[n - 1] === COMMA && (after === COMMA || after === CLOSE_BRACE)) {
      drop.push(n - 1, n + L);
      return true;
    }
    if (after === COMMA) {
      drop.push(n, n + L + 1);
      return true;
    }
  }
  return false;
}
