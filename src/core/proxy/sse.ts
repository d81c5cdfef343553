import { isAscii } from 'node:buffer';
import { PendingText } from './pendingText';

/**
 * An incremental Server-Sent Events scanner (WHATWG HTML §9.2.6): bytes in any chunking → events.
 * Tolerant by design: it observes traffic it must never break, so arbitrary bytes never throw;
 * lines may end in CRLF, LF or CR, and a multi-byte character split across chunks is kept whole.
 */
export type SseListener = (event: string, data: string) => void;

export class SseScanner {
  /** The leading BOM the spec ignores is removed below: chunks that skip the decoder may come first. */
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  /** The decoder holds no part of a character, so an ASCII chunk can skip it (a third of the cost). */
  private decoderClean = true;
  private started = false;
  private buffer = '';
  /** Text of the current line that came without a line break. */
  private readonly held = new PendingText();
  private event = '';
  /** The event's data lines joined by LF, and whether it has any (a data line may be empty). */
  private data = '';
  private hasData = false;
  private pendingCR = false;
  /** Bytes of a line that grew past the limit are dropped instead of buffered without bound. */
  private overflow = false;

  constructor(
    private readonly onEvent: SseListener,
    private readonly maxLineChars = 8 * 1024 * 1024,
  ) {}

  push(chunk: Uint8Array): void {
    let text: string;
    if (this.decoderClean && isAscii(chunk)) {
      text = (Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)).toString('latin1');
    } else {
      text = this.decoder.decode(chunk, { stream: true });
      if (chunk.length > 0) {
        this.decoderClean = chunk[chunk.length - 1] < 0x80; // else it may hold the start of a character
      }
    }
    if (text.length === 0) {
      return; // an empty chunk (or half a character) must not forget a CR awaiting its LF
    }
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) {
        text = text.slice(1); // one leading byte order mark is ignored (WHATWG HTML §9.2.6)
        if (text.length === 0) {
          return;
        }
      }
    }
    if (this.pendingCR && text.startsWith('\n')) {
      text = text.slice(1); // the LF of a CRLF split across chunks
    }
    this.pendingCR = false;
    if (text.indexOf('\n') === -1 && text.indexOf('\r') === -1) {
      this.held.hold(text);
      if (this.buffer.length + this.held.length > this.maxLineChars) {
        this.buffer = '';
        this.held.clear();
        this.overflow = true;
      }
      return;
    }
    this.buffer = this.buffer.length === 0 && this.held.length === 0 ? text : this.buffer + this.held.take() + text;
    let start = 0;
    // Next LF / CR at or after `start`; -1 stays valid for the rest of the buffer, so each search
    // runs once per line found instead of rescanning a CR-free buffer for every line.
    let lf = -2;
    let cr = -2;
    for (;;) {
      if (lf !== -1 && lf < start) {
        lf = this.buffer.indexOf('\n', start);
      }
      if (cr !== -1 && cr < start) {
        cr = this.buffer.indexOf('\r', start);
      }
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      if (end === -1) {
        break;
      }
      this.line(this.buffer.slice(start, end));
      if (this.buffer.charCodeAt(end) === 13) {
        if (end + 1 === this.buffer.length) {
          this.pendingCR = true;
        } else if (this.buffer.charCodeAt(end + 1) === 10) {
          start = end + 2;
          continue;
        }
      }
      start = end + 1;
    }
    this.buffer = this.buffer.slice(start);
    if (this.buffer.length > this.maxLineChars) {
      this.buffer = '';
      this.overflow = true;
    }
  }

  /** End of stream: an event without its closing blank line is not dispatched (per the spec). */
  end(): void {
    this.decoder.decode();
    this.decoderClean = true;
    this.buffer = '';
    this.held.clear();
    this.data = '';
    this.hasData = false;
    this.event = '';
  }

  private line(line: string): void {
    if (this.overflow) {
      this.overflow = false; // the rest of an oversized line: drop it
      return;
    }
    if (line === '') {
      if (this.hasData) {
        this.onEvent(this.event || 'message', this.data);
      }
      this.data = '';
      this.hasData = false;
      this.event = '';
      return;
    }
    if (line.charCodeAt(0) === 58) {
      return; // ':' comment
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) {
      value = value.slice(1);
    }
    if (field === 'data') {
      this.data = this.hasData ? `${this.data}\n${value}` : value;
      this.hasData = true;
    } else if (field === 'event') {
      this.event = value;
    }
  }
}
