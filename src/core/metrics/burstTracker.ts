import * as checks from './errors';
import { ValidationError } from './errors';

// Bound once: through tsx's CommonJS interop each call via an import is a getter call (hot path).
const { requireCount, requireFinite } = checks;

export interface BurstTrackerOptions {
  /** Width of the sliding window; the seed (and design.md) fix it at 1,000 ms. */
  windowSizeMs?: number;
}

/**
 * Tokens logged in the last `windowSizeMs` (design.md: `burstTokensPerSecond`). The window is
 * half-open, (t − window, t]: an entry exactly `windowSizeMs` older than the newest timestamp has
 * left it, so with the default window the sum is tokens per second.
 *
 * Entries are bucketed by whole millisecond, so memory is bounded by the window (at most
 * `windowSizeMs` buckets) however fast tokens arrive; with integer timestamps this is exact, with fractional
 * `performance.now()` readings an entry leaves the window less than 1 ms early.
 */
export class BurstTracker {
  readonly windowSizeMs: number;
  private times: Float64Array;
  private counts: Float64Array;
  private mask: number;
  private head = 0;
  private size = 0;
  private sum = 0;
  private newest = -Infinity;

  constructor(options: BurstTrackerOptions = {}) {
    const windowSizeMs = options.windowSizeMs ?? 1000;
    if (!Number.isSafeInteger(windowSizeMs) || windowSizeMs < 1) {
      throw new ValidationError('windowSizeMs', windowSizeMs, 'a positive integer');
    }
    this.windowSizeMs = windowSizeMs;
    let capacity = 1;
    while (capacity < windowSizeMs + 1) {
      capacity *= 2;
    }
    this.times = new Float64Array(capacity);
    this.counts = new Float64Array(capacity);
    this.mask = capacity - 1;
  }

  /**
   * Logs `count` tokens at `timestamp` (ms) and drops what fell out of the window. Time is expected
   * not to go back (a monotonic clock); an earlier timestamp is counted at the newest one, so it can
   * neither resurrect nor evict entries.
   */
  addTokens(count: number, timestamp: number): void {
    requireCount('count', count);
    requireFinite('timestamp', timestamp);
    const bucket = Math.max(Math.floor(timestamp), this.newest);
    this.evictUpTo(bucket);
    const tail = (this.head + this.size - 1) & this.mask;
    if (this.size > 0 && this.times[tail] === bucket) {
      this.counts[tail] += count;
    } else {
      const slot = (this.head + this.size) & this.mask;
      this.times[slot] = bucket;
      this.counts[slot] = count;
      this.size++;
    }
    this.sum += count;
    this.newest = bucket;
  }

  /**
   * Sum of the tokens in the window ending at the last `addTokens` (0 when empty). Pass `now` to
   * let the window slide forward first, e.g. for a display that refreshes between requests.
   */
  computeBurstRate(now?: number): number {
    if (now !== undefined) {
      requireFinite('now', now);
      const bucket = Math.floor(now);
      if (bucket > this.newest) {
        this.evictUpTo(bucket);
        this.newest = bucket;
      }
    }
    return this.size === 0 ? 0 : this.sum;
  }

  /** Number of millisecond buckets held; never more than `windowSizeMs`. */
  get bucketCount(): number {
    return this.size;
  }

  reset(): void {
    this.head = 0;
    this.size = 0;
    this.sum = 0;
    this.newest = -Infinity;
  }

  private evictUpTo(bucket: number): void {
    const oldestKept = bucket - this.windowSizeMs;
    while (this.size > 0 && this.times[this.head] <= oldestKept) {
      this.sum -= this.counts[this.head];
      this.head = (this.head + 1) & this.mask;
      this.size--;
    }
    if (this.size === 0) {
      this.sum = 0;
    }
  }
}
