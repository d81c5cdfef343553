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

const USAGE = Buffer.from('"usage"', 'latin1');
const USAGE_NULL = Buffer.from('"usage":null', 'latin1');
const NO_CHOICES = Buffer.from('"choices":[]', 'latin1');
const EMPTY = Buffer.alloc(0);
const LF = 10;
const CR = 13;
const COMMA = 44;
const CLOSE_BRACE = 125;

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
    if (chunk.length === 0) {
      return EMPTY;
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
    return events.indexOf(USAGE) === -1 ? events : rewriteEvents(events);
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

/** Complete events (`events` ends with a blank line) with the usage the client did not ask for removed. */
function rewriteEvents(events: Buffer): Buffer {
  const out: Buffer[] = [];
  let kept = 0;
  let changed = false;
  for (let start = 0; start < events.length; ) {
    const end = nextEventEnd(events, start);
    const event = events.subarray(start, end);
    const u = event.indexOf(USAGE);
    if (u !== -1) {
      const [a, b] = usageToRemove(event, u);
      if (a !== -1) {
        out.push(events.subarray(kept, start + a));
        kept = start + b;
        changed = true;
      }
    }
    start = end;
  }
  if (!changed) {
    return events;
  }
  out.push(events.subarray(kept));
  return Buffer.concat(out);
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

/**
 * The byte range of `event` to drop: the whole event when it is the usage chunk the client did not
 * ask for (`"choices":[]` and a usage object), else the first `,"usage":null` (before `,` or `}`)
 * or `"usage":null,`; [-1, -1] when there is nothing to drop. `u` is where "usage" first appears.
 */
function usageToRemove(event: Buffer, u: number): [number, number] {
  let n = event.indexOf(USAGE_NULL, u);
  if (n === -1) {
    return event.indexOf(NO_CHOICES) !== -1 ? [0, event.length] : [-1, -1];
  }
  for (; n !== -1; n = event.indexOf(USAGE_NULL, n + 1)) {
    const after = event[n + USAGE_NULL.length];
    if (n > 0 && event[n - 1] === COMMA && (after === COMMA || after === CLOSE_BRACE)) {
      return [n - 1, n + USAGE_NULL.length];
    }
    if (after === COMMA) {
      return [n, n + USAGE_NULL.length + 1];
    }
  }
  return [-1, -1];
}
