/** Formatting for the panel. null means "cannot be known" and always reads "—", never 0. */
export const DASH = '—';

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneFmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export const int = (n: number | null | undefined): string => (n === null || n === undefined || !Number.isFinite(n) ? DASH : intFmt.format(n));
export const rate = (n: number | null | undefined): string => (n === null || n === undefined || !Number.isFinite(n) ? DASH : n >= 100 ? intFmt.format(n) : oneFmt.format(n));
export const tokens = (n: number | null, estimated: boolean): string => (n === null ? DASH : (estimated ? '~' : '') + intFmt.format(n));
export const text = (s: string | null | undefined): string => (s === null || s === undefined || s === '' ? DASH : s);

export function ms(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) {
    return DASH;
  }
  return n >= 10_000 ? `${oneFmt.format(n / 1000)} s` : `${intFmt.format(n)} ms`;
}

export function percent(fraction: number | null): string {
  return fraction === null || !Number.isFinite(fraction) ? DASH : `${fraction < 0.1 && fraction > 0 ? oneFmt.format(fraction * 100) : intFmt.format(fraction * 100)}%`;
}

/** 950, 12.3k, 4.1M. */
export function compact(n: number | null): string {
  if (n === null) {
    return DASH;
  }
  if (n < 1000) {
    return intFmt.format(n);
  }
  const [div, unit] = n < 1e6 ? [1e3, 'k'] : n < 1e9 ? [1e6, 'M'] : [1e9, 'G'];
  const v = n / div;
  return `${v < 100 ? oneFmt.format(v).replace(/\.0$/, '') : intFmt.format(v)}${unit}`;
}

export function clock(iso: string | null): string {
  if (iso === null) {
    return DASH;
  }
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? DASH : d.toLocaleTimeString(undefined, { hour12: false });
}

/** "in 2h 14m" / "3m ago" for reset times; the absolute time goes in a title. */
export function relative(iso: string | null, now = Date.now()): string {
  if (iso === null) {
    return DASH;
  }
  const t = Date.parse(iso);
  if (Number.isNaN(t)) {
    return DASH;
  }
  const diff = Math.round((t - now) / 1000);
  const abs = Math.abs(diff);
  const d = Math.floor(abs / 86400);
  const h = Math.floor((abs % 86400) / 3600);
  const m = Math.floor((abs % 3600) / 60);
  const span = d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m` : `${abs}s`;
  return diff >= 0 ? `in ${span}` : `${span} ago`;
}
