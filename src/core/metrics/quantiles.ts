/**
 * Distributions (TTFT, generation speed, duration) as DDSketch bins (binStore.ts): any reported
 * quantile is within `RELATIVE_ACCURACY` of the exact value at that rank, in memory bounded by the
 * range of values rather than their number.
 */
import * as keys from './binKeys';
import { BinStore } from './binStore';
import { QuantileCursor, type Quantiles } from './quantileCursor';

export { RELATIVE_ACCURACY } from './binKeys';
export { noQuantiles, type Quantiles } from './quantileCursor';

// Bound once: through tsx's CommonJS interop each use of an import is a getter call (hot path).
const { sampleKey, ZERO_SAMPLE } = keys;

/** One distribution of one section. */
export class Distribution extends BinStore {
  add(value: number | null): void {
    this.addSample(sampleKey(value));
  }

  /** A value already turned into its key (once for a model's section and once more for its provider). */
  addSample(key: number): void {
    if (key > ZERO_SAMPLE) {
      this.addPositive(key);
    } else if (key === ZERO_SAMPLE) {
      this.addZero();
    }
  }
}

/** The quantiles of the union of one or two stores, found from scratch. */
export function quantilesOf(a: BinStore, b?: BinStore): Quantiles {
  return new QuantileCursor().quantilesOf(a, b);
}
