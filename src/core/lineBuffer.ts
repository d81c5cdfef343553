/**
 * Text lines gathered as UTF-8 bytes until they are written (history every 250 ms, the CLI's log
 * every 100 ms). Held as strings, every line of a busy proxy outlived a young-generation GC or two
 * and was copied and promoted on the way: history lines were the largest share of what survived
 * those GCs, whose pauses made the proxy's p99 latency (bench/README.md, "Findings"). Bytes live
 * off the JS heap, so the scavenger never copies them.
 */
const EMPTY = Buffer.alloc(0);

export class LineBuffer {
  /** Allocated by the first line after a take(), so an idle buffer holds no memory. */
  private buf = EMPTY;
  private used = 0;
  private count = 0;

  constructor(private readonly initialBytes = 64 * 1024) {}

  /** Lines held. */
  get lines(): number {
    return this.count;
  }

  get bytes(): number {
    return this.used;
  }

  /** Adds `line` and a line feed. */
  push(line: string): void {
    const need = this.used + Buffer.byteLength(line, 'utf8') + 1;
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.initialBytes, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.used);
      this.buf = bigger;
    }
    this.used += this.buf.write(line, this.used, 'utf8');
    this.buf[this.used++] = 0x0a;
    this.count++;
  }

  /** The lines held, each ending in a line feed; the buffer starts over (the bytes returned stay valid). */
  take(): Buffer {
    const out = this.buf.subarray(0, this.used);
    this.buf = EMPTY;
    this.used = 0;
    this.count = 0;
    return out;
  }
}
