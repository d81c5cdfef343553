/**
 * Text of an unfinished line or event, kept in pieces and joined once its end arrives. Appending
 * each chunk to one string and searching it again would cost a long line its length once per
 * chunk (seconds for a multi-megabyte event in 1.5 KB segments). Shared by the SSE and NDJSON
 * scanners and the stream usage filter.
 */
export class PendingText {
  private parts: string[] = [];
  private size = 0;

  /** Characters held. */
  get length(): number {
    return this.size;
  }

  /** Holds a piece that has no line end in it. */
  hold(text: string): void {
    this.parts.push(text);
    this.size += text.length;
  }

  /** The held pieces as one string; holds nothing afterwards. */
  take(): string {
    if (this.parts.length === 0) {
      return ''; // the usual case: nothing held, nothing to allocate
    }
    const text = this.parts.length === 1 ? this.parts[0] : this.parts.join('');
    this.clear();
    return text;
  }

  clear(): void {
    this.parts = [];
    this.size = 0;
  }
}
