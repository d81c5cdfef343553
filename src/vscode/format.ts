/** Display helpers shared by the status bar and tooltips. Unknown values show as "—", never 0. */
export const UNKNOWN = '—';

export function formatRate(tps: number | null): string {
  if (tps === null || !Number.isFinite(tps)) {
    return UNKNOWN;
  }
  return tps >= 10 ? Math.round(tps).toLocaleString('en-US') : tps.toFixed(1);
}

export function formatMs(ms: number | null): string {
  if (ms === null) {
    return UNKNOWN;
  }
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

export function formatCount(n: number | null): string {
  return n === null ? UNKNOWN : n.toLocaleString('en-US');
}

/** 950, 12.3k, 4.1M: short enough for the status bar. */
export function formatCompact(n: number): string {
  if (n < 1000) {
    return String(n);
  }
  const [div, unit] = n < 1e6 ? [1e3, 'k'] : n < 1e9 ? [1e6, 'M'] : [1e9, 'G'];
  const v = n / div;
  return `${v < 100 ? v.toFixed(1).replace(/\.0$/, '') : Math.round(v)}${unit}`;
}

/** A name from a client inside markdown code: no backticks or line breaks can escape it. */
export function mdCode(s: string): string {
  return `\`${s.replace(/[`\r\n]/g, ' ')}\``;
}
