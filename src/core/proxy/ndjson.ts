/**
 * Newline-delimited JSON (Ollama's native streams): bytes in any chunking → one callback a line.
 * Like the SSE scanner it never throws and bounds what it buffers.
 */
export class LineScanner {
  private readonly decoder = new TextDecoder('utf-8');
  private buffer = '';

  constructor(
    private readonly onLine: (event: string, line: string) => void,
    private readonly maxLineChars = 8 * 1024 * 1024,
  ) {}

  push(chunk: Uint8Array): void {
    this.buffer += this.decoder.decode(chunk, { stream: true });
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
    const line = (this.buffer + this.decoder.decode()).trim();
    this.buffer = '';
    if (line) {
      this.onLine('line', line);
    }
  }
}
