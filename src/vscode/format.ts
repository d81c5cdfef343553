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
