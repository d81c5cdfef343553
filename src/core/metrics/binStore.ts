import * as keys from './binKeys';
import { QuantileCursor, type Quantiles } from './quantileCursor';

// Bound once: through tsx's CommonJS interop each use of an import is a getter call (hot path).
const { MIN_KEY, MAX_KEY } = keys;

const EMPTY_BINS = new Float64Array(0);
/** Bins added on each side when the array grows, so a spreading distribution rarely copies. */
const SLACK = 32;

/**
 * The bins of DDSketch's dense store in one flat typed array, plus the zeros, with its own
 * quantiles kept up to date (it is its own `QuantileCursor`). The library's sketch is a chain of
 * objects (sketch → store → bin array → elements, plus the mapping and the boxed min/max/sum it
 * updates on every value); over 1,000 provider/model keys each recorded value walked that chain
 * through cache misses. Here a value is one bin increment in an object the cursor shares. Fields
 * are small integers or the bin array, so V8 keeps them unboxed in the object itself.
 */
export class BinStore extends QuantileCursor {
  /** The sum of `stores`, its bins allocated once for the range of them all. */
  static sumOf(stores: readonly BinStore[]): BinStore {
    const sum = new BinStore();
    let lo = sum.minKey;
    let hi = sum.maxKey;
    for (const s of stores) {
      lo = Math.min(lo, s.minKey);
      hi = Math.max(hi, s.maxKey);
    }
    if (lo <= hi) {
      sum.cover(lo, hi);
    }
    for (const s of stores) {
      sum.mergeFrom(s);
    }
    return sum;
  }

  /** Values counted, zeros included. */
  count = 0;
  zeroCount = 0;
  /** Empty: above and below every key, so that the first one sets both. */
  minKey = MAX_KEY + 1;
  maxKey = MIN_KEY - 1;
  /** The key of `bins[0]`. */
  offset = 0;
  bins = EMPTY_BINS;

  get positives(): number {
    return this.count - this.zeroCount;
  }

  addZero(): void {
    this.zeroCount++;
    this.count++;
  }

  /** `key` from `sampleKey`, neither NO_SAMPLE nor ZERO_SAMPLE. */
  addPositive(key: number): void {
    let i = key - this.offset;
    if (i < 0 || i >= this.bins.length) {
      this.cover(Math.min(key, this.minKey), Math.max(key, this.maxKey));
      i = key - this.offset;
    }
    this.bins[i]++;
    if (key < this.minKey) {
      this.minKey = key;
    }
    if (key > this.maxKey) {
      this.maxKey = key;
    }
    this.count++;
    this.onAdd(key);
  }

  /** The count at `key`, 0 outside the bins. */
  binAt(key: number): number {
    const i = key - this.offset;
    return i >= 0 && i < this.bins.length ? this.bins[i] : 0;
  }

  mergeFrom(o: BinStore): void {
    if (o.count === 0) {
      return;
    }
    if (o.positives > 0) {
      const lo = Math.min(o.minKey, this.minKey);
      const hi = Math.max(o.maxKey, this.maxKey);
      if (lo < this.offset || hi >= this.offset + this.bins.length) {
        this.cover(lo, hi);
      }
      const to = this.bins;
      const from = o.bins;
      const end = o.maxKey - o.offset;
      for (let i = o.minKey - o.offset, j = o.minKey - this.offset; i <= end; i++, j++) {
        to[j] += from[i];
      }
      this.minKey = lo;
      this.maxKey = hi;
    }
    this.count += o.count;
    this.zeroCount += o.zeroCount;
    this.invalidate();
  }

  /** The same object until a value arrives: most keys do not change between two dashboard polls. */
  quantiles(): Quantiles {
    return this.quantilesOf(this);
  }

  /** Reallocates the bins to span [lo, hi] with slack on both sides, keeping the counts. */
  private cover(lo: number, hi: number): void {
    const slack = Math.max(SLACK, (hi - lo) >> 2);
    const bins = new Float64Array(hi - lo + 1 + 2 * slack);
    const offset = lo - slack;
    if (this.positives > 0) {
      bins.set(this.bins.subarray(this.minKey - this.offset, this.maxKey - this.offset + 1), this.minKey - offset);
    }
    this.bins = bins;
    this.offset = offset;
  }
}
