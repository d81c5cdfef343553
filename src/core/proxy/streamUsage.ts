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

/** Rewrites the SSE stream event by event; bytes of an incomplete event wait for its end. */
export class StreamUsageFilter {
  private pending = '';
  private readonly decoder = new TextDecoder('utf-8');

  push(chunk: Buffer): Buffer {
    this.pending += this.decoder.decode(chunk, { stream: true });
    let out = '';
    for (;;) {
      const m = /\r?\n\r?\n/.exec(this.pending);
      if (!m) {
        break;
      }
      const end = m.index + m[0].length;
      out += this.rewrite(this.pending.slice(0, end));
      this.pending = this.pending.slice(end);
    }
    return Buffer.from(out, 'utf8');
  }

  /** Whatever is left when the upstream ends (an event without its blank line) goes out as is. */
  end(): Buffer {
    const rest = this.pending + this.decoder.decode();
    this.pending = '';
    return Buffer.from(rest, 'utf8');
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
