import { PendingText } from './pendingText';

/**
 * Newline-delimited JSON (Ollama's native streams): bytes in any chunking → one callback a line.
 * Like the SSE scanner it never throws and bounds what it buffers.
 */
export class LineScanner {
  private readonly decoder = new TextDecoder('utf-8');
  private buffer = '';
  /** A line's text before its newline came. */
  private readonly held = new PendingText();

  constructor(
    private readonly onLine: (event: string, line: string) => void,
    private readonly maxLineChars = 8 * 1024 * 1024,
  ) {}

  push(chunk: Uint8Array): void {
    const text = this.decoder.decode(chunk, { stream: true });
    if (text.indexOf('\n') === -1) {
      this.held.hold(text);
      if (this.buffer.length + this.held.length > this.maxLineChars) {
        this.buffer = '';
        this.held.clear();
      }
      return;
    }
    this.buffer += this.held.take() + text;
    let start = 0;
    for (let nl = this.buffer.indexOf('\n'); nl !== -1; nl = this.buffer.indexOf('\n', start)) {
      const line = this.buffer.slice(start, nl).trim();
      if (line) {
        this.onLine('line', line);
      }
      start = nl + 1;
    }
    this.buffer = this.buffer.slice(start);
    if (this.buffer.length > this.maxLineChars) {
      this.buffer = '';
    }
  }

  /** A last line without its newline still counts: NDJSON writers may omit the final one. */
  end(): void {
    const line = (this.buffer + this.held.take() + this.decoder.decode()).trim();
    this.buffer = '';
    if (line) {
      this.onLine('line', line);
    }
  }
}
