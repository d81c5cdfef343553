/** Percentiles and summaries of repeated runs: the median of the rounds, with their spread. */

export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) {
    return NaN;
  }
  // Nearest rank: a p99 of 1,000 samples is the 990th, never an interpolation past the data.
  const i = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return sorted[i];
}

export function sortedCopy(xs: ArrayLike<number>): Float64Array {
  const s = Float64Array.from(xs as ArrayLike<number>);
  s.sort();
  return s;
}

export interface Dist {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function dist(xs: ArrayLike<number>): Dist {
  const s = sortedCopy(xs);
  let sum = 0;
  for (let i = 0; i < s.length; i++) {
    sum += s[i];
  }
  return { n: s.length, p50: quantile(s, 0.5), p90: quantile(s, 0.9), p99: quantile(s, 0.99), max: s[s.length - 1] ?? NaN, mean: s.length ? sum / s.length : NaN };
}

/** One figure over the rounds: median, and min–max as the spread. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  rounds: number[];
}

export function summarize(rounds: number[]): Summary {
  const ok = rounds.filter((x) => Number.isFinite(x));
  const s = [...ok].sort((a, b) => a - b);
  if (s.length === 0) {
    return { median: NaN, min: NaN, max: NaN, rounds };
  }
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], rounds };
}
