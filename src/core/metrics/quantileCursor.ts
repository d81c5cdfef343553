import * as keys from './binKeys';
import type { BinStore } from './binStore';

// Bound once: through tsx's CommonJS interop each use of an import is a getter call.
const { bucketValue } = keys;

export interface Quantiles {
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

export const noQuantiles = (): Quantiles => ({ p50: null, p90: null, p99: null });

/** The quantiles reported, at ranks q(count − 1) (the library's rule). */
const Q50 = 0.5;
const Q90 = 0.9;
const Q99 = 0.99;

/**
 * p50/p90/p99 of one store, or of the union of two (a model's streaming and non-streaming bins),
 * kept up to date instead of searched for. Running totals over 1,000 keys recomputed 9,000
 * quantile triples whenever every key had a new request, each a scan over a few hundred cold bins.
 * Here each quantile remembers its key, the count of values below that key and the count at it;
 * `onAdd` keeps both counts true, so a report checks that the rank still falls in the same bin and
 * reads no bins at all unless it moved to the next one (rarely: by half a rank per value for p50).
 *
 * The value at rank r is that of the first key whose cumulative count of positive values exceeds
 * r − zeros (ranks among the zeros are 0), exactly as DDSketch's `getValueAtQuantile` finds it.
 */
export class QuantileCursor {
  private k50 = 0;
  private below50 = 0;
  private at50 = 0;
  private k90 = 0;
  private below90 = 0;
  private at90 = 0;
  private k99 = 0;
  private below99 = 0;
  private at99 = 0;
  /** False until the first report and after a merge: the keys are then found from scratch. */
  private placed = false;
  /** The union's count when `cached` was computed; any added value changes it. */
  private seen = 0;
  private cached = noQuantiles();

  /** A positive value went into one of the stores at `key` (never a zero or a skipped value). */
  onAdd(key: number): void {
    if (key < this.k50) {
      this.below50++;
    } else if (key === this.k50) {
      this.at50++;
    }
    if (key < this.k90) {
      this.below90++;
    } else if (key === this.k90) {
      this.at90++;
    }
    if (key < this.k99) {
      this.below99++;
    } else if (key === this.k99) {
      this.at99++;
    }
  }

  /** The stores changed wholesale (a merge): nothing is known about their counts any more. */
  invalidate(): void {
    this.placed = false;
    this.seen = -1;
  }

  /** The quantiles of `a` ∪ `b`; the same object until a value is added (callers copy). */
  quantilesOf(a: BinStore, b?: BinStore): Quantiles {
    const count = b === undefined ? a.count : a.count + b.count;
    if (count === this.seen) {
      return this.cached;
    }
    this.seen = count;
    const zeros = b === undefined ? a.zeroCount : a.zeroCount + b.zeroCount;
    const positives = count - zeros;
    if (count === 0) {
      this.cached = noQuantiles();
    } else if (positives === 0) {
      this.cached = { p50: 0, p90: 0, p99: 0 };
    } else {
      if (!this.placed) {
        // p50 from the bottom, p90 and p99 from just above the top (nothing at or above it).
        this.k50 = b === undefined ? a.minKey : Math.min(a.minKey, b.minKey);
        this.below50 = 0;
        this.at50 = binAt(a, b, this.k50);
        this.k90 = this.k99 = (b === undefined ? a.maxKey : Math.max(a.maxKey, b.maxKey)) + 1;
        this.below90 = this.below99 = positives;
        this.at90 = this.at99 = 0;
        this.placed = true;
      }
      const r50 = Q50 * (count - 1) - zeros;
      const r90 = Q90 * (count - 1) - zeros;
      const r99 = Q99 * (count - 1) - zeros;
      let p50 = 0;
      let p90 = 0;
      let p99 = 0;
      if (r50 >= 0) {
        if (this.below50 > r50 || this.below50 + this.at50 <= r50) {
          this.k50 = seek(a, b, this.k50, this.below50, r50);
          this.below50 = seekBelow;
          this.at50 = seekAt;
        }
        p50 = bucketValue(this.k50);
      }
      if (r90 >= 0) {
        if (this.below90 > r90 || this.below90 + this.at90 <= r90) {
          this.k90 = seek(a, b, this.k90, this.below90, r90);
          this.below90 = seekBelow;
          this.at90 = seekAt;
        }
        p90 = bucketValue(this.k90);
      }
      if (r99 >= 0) {
        if (this.below99 > r99 || this.below99 + this.at99 <= r99) {
          this.k99 = seek(a, b, this.k99, this.below99, r99);
          this.below99 = seekBelow;
          this.at99 = seekAt;
        }
        p99 = bucketValue(this.k99);
      }
      this.cached = { p50, p90, p99 };
    }
    return this.cached;
  }
}

const binAt = (a: BinStore, b: BinStore | undefined, key: number): number =>
  b === undefined ? a.binAt(key) : a.binAt(key) + b.binAt(key);

/** The counts below and at the key `seek` returned: more results, without allocating. */
let seekBelow = 0;
let seekAt = 0;

/**
 * From `key` with `below` positive values under it, to the first key whose cumulative count exceeds
 * `r`: down while the values below are already more than r, up while this bin does not reach it.
 * The answer lies within the stores' keys; the bounds only keep a broken count from looping.
 */
function seek(a: BinStore, b: BinStore | undefined, key: number, below: number, r: number): number {
  const lo = b === undefined ? a.minKey : Math.min(a.minKey, b.minKey);
  const hi = b === undefined ? a.maxKey : Math.max(a.maxKey, b.maxKey);
  while (below > r && key > lo) {
    key--;
    below -= binAt(a, b, key);
  }
  let at = binAt(a, b, key);
  while (below + at <= r && key < hi) {
    below += at;
    key++;
    at = binAt(a, b, key);
  }
  seekBelow = below;
  seekAt = at;
  return key;
}
