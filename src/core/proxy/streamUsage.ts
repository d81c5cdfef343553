import { PendingText } from './pendingText';

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

const USAGE_NULL = /,"usage":null(?=[,}])|"usage":null,/;

/**
 * Rewrites the SSE stream event by event; bytes of an incomplete event wait for its end. It works on
 * latin1 text, one character per byte: everything it looks for is ASCII, so bytes it leaves alone
 * (invalid UTF-8, a BOM) reach the client exactly as sent. An event's chunks without a line feed
 * are kept apart until one comes, so a long event costs its length once, not once per chunk.
 */
export class StreamUsageFilter {
  private pending = '';
  private readonly held = new PendingText();

  push(chunk: Buffer): Buffer {
    const text = chunk.toString('latin1');
    if (text.indexOf('\n') === -1) {
      this.held.hold(text); // an event ends with a line feed: none here
      return Buffer.alloc(0);
    }
    this.pending += this.held.take();
    // A blank line can begin up to 3 characters before the new text (`\r\n\r` + `\n`).
    const boundary = /\r?\n\r?\n/g;
    boundary.lastIndex = Math.max(0, this.pending.length - 3);
    this.pending += text;
    let out = '';
    let start = 0;
    for (let m = boundary.exec(this.pending); m !== null; m = boundary.exec(this.pending)) {
      const end = m.index + m[0].length;
      out += this.rewrite(this.pending.slice(start, end));
      start = end;
    }
    this.pending = this.pending.slice(start);
    return Buffer.from(out, 'latin1');
  }

  /** Whatever is left when the upstream ends (an event without its blank line) goes out as is. */
  end(): Buffer {
    const rest = this.pending + this.held.take();
    this.pending = '';
    return Buffer.from(rest, 'latin1');
  }

  private rewrite(event: string): string {
    if (!event.includes('"usage"')) {
      return event;
    }
    if (/"choices":\[\]/.test(event) && !/"usage":null/.test(event)) {
      return ''; // the usage chunk the client did not ask for
    }
    return event.replace(USAGE_NULL, '');
  }
}
