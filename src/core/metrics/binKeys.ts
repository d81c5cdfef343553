/**
 * Values to bin keys and back, with DDSketch's own logarithmic mapping (@datadog/sketches-js):
 * bins keyed this way count exactly what a DDSketch fed the same values counts, so every reported
 * quantile is the one the library would report.
 */
import { DDSketch } from '@datadog/sketches-js';

/** A reported quantile is within this relative error of the exact value at its rank. */
export const RELATIVE_ACCURACY = 0.01;

/** The mapping of a DDSketch with this accuracy (the package exports it no other way). */
const mapping = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY }).mapping;

/** Below this a measured value is clock noise; it is counted as 0 so the bins stay few. */
const MIN_VALUE = 1e-3;
/** Above this a value is not a measurement (11 days in ms); it would widen the bins. */
const MAX_VALUE = 1e9;

/** Every key `sampleKey` gives lies in [MIN_KEY, MAX_KEY] ([-345, 1037]). */
export const MIN_KEY = mapping.key(MIN_VALUE);
export const MAX_KEY = mapping.key(MAX_VALUE);

/** Sample keys that are no bin: an unknown or impossible value (not counted), and a 0. */
export const NO_SAMPLE = -0x40000000;
export const ZERO_SAMPLE = -0x3fffffff;

/**
 * The bin key of a measured value, or NO_SAMPLE / ZERO_SAMPLE. Unknown values (null) are skipped:
 * counting them as 0 would drag every quantile down.
 */
export function sampleKey(value: number | null): number {
  if (value === null || !(value >= 0) || value > MAX_VALUE) {
    return NO_SAMPLE;
  }
  return value < MIN_VALUE ? ZERO_SAMPLE : mapping.key(value);
}

/** `mapping.value(key)` of every key, computed once: it is a `Math.pow` per reported quantile. */
const bucketValues = Float64Array.from({ length: MAX_KEY - MIN_KEY + 1 }, (_, i) => mapping.value(MIN_KEY + i));

export function bucketValue(key: number): number {
  return bucketValues[key - MIN_KEY];
}
