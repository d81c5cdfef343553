import type { LimitWindowView } from '../../protocol';

/**
 * Rate-limit headroom from response headers: OpenAI `x-ratelimit-*`, Anthropic
 * `anthropic-ratelimit-*` (API keys) and `anthropic-ratelimit-unified-*` (subscriptions,
 * undocumented: 5h / 7d utilisation), and `retry-after`. Reset times become absolute ISO times.
 */

/** One limit window: the type the panel's protocol carries, so headroom goes to the view as it is. */
export type LimitWindow = LimitWindowView;

export interface RateLimitSnapshot {
  windows: LimitWindow[];
  retryAfterMs: number | null;
}

type Headers = Record<string, string | string[] | undefined>;
const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
const numberOrNull = (v: string | undefined): number | null => {
  if (v === undefined || v.trim() === '') {
    return null;
  }
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};

/** OpenAI durations: `12ms`, `1s`, `6m0s`, `1h2m3.5s`. */
export function parseDurationMs(text: string): number | null {
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let matched = '';
  for (const m of text.matchAll(re)) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3_600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : n;
    matched += m[0];
  }
  return matched.length > 0 && matched === text.trim() ? total : null;
}

/** `retry-after`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); OpenAI also sends `retry-after-ms`. */
export function parseRetryAfterMs(headers: Headers, now: number): number | null {
  const ms = numberOrNull(one(headers['retry-after-ms']));
  if (ms !== null && ms >= 0) {
    return ms;
  }
  const v = one(headers['retry-after']);
  if (v === undefined) {
    return null;
  }
  const seconds = numberOrNull(v);
  if (seconds !== null) {
    return seconds >= 0 ? seconds * 1000 : null;
  }
  const date = Date.parse(v);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** A reset given as an RFC 3339 time, unix seconds, or (OpenAI) a duration from now. */
function resetAt(v: string | undefined, now: number): string | null {
  if (v === undefined) {
    return null;
  }
  const duration = parseDurationMs(v);
  if (duration !== null) {
    return new Date(now + duration).toISOString();
  }
  const n = numberOrNull(v);
  if (n !== null) {
    return new Date(n > 1e12 ? n : n * 1000).toISOString();
  }
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

export function parseRateLimitHeaders(headers: Headers, now = Date.now()): RateLimitSnapshot | null {
  const windows = new Map<string, LimitWindow>();
  const get = (name: string): LimitWindow => {
    let w = windows.get(name);
    if (!w) {
      w = { name, limit: null, remaining: null, utilization: null, resetAt: null, status: null };
      windows.set(name, w);
    }
    return w;
  };
  for (const key in headers) {
    // Most headers are neither: two string tests instead of three regexes each.
    if (!key.startsWith('x-ratelimit-') && !key.startsWith('anthropic-ratelimit-')) {
      continue;
    }
    const value = one(headers[key]);
    if (value === undefined) {
      continue;
    }
    let m = /^x-ratelimit-(limit|remaining|reset)-(.+)$/.exec(key);
    if (m) {
      const w = get(m[2]);
      if (m[1] === 'reset') {
        w.resetAt = resetAt(value, now);
      } else {
        w[m[1] as 'limit' | 'remaining'] = numberOrNull(value);
      }
      continue;
    }
    m = /^anthropic-ratelimit-(unified(?:-[a-z0-9]+)?)-(status|utilization|reset|remaining|limit)$/.exec(key);
    if (m && !m[1].endsWith('-representative')) {
      const w = get(m[1]);
      if (m[2] === 'status') {
        w.status = value;
      } else if (m[2] === 'reset') {
        w.resetAt = resetAt(value, now);
      } else if (m[2] === 'utilization') {
        const u = numberOrNull(value);
        // Seen both as a fraction and as a percentage.
        w.utilization = u === null ? null : u > 1 ? u / 100 : u;
      } else {
        w[m[2] as 'limit' | 'remaining'] = numberOrNull(value);
      }
      continue;
    }
    m = /^anthropic-ratelimit-([a-z-]+?)-(limit|remaining|reset)$/.exec(key);
    if (m) {
      const w = get(m[1]);
      if (m[2] === 'reset') {
        w.resetAt = resetAt(value, now);
      } else {
        w[m[2] as 'limit' | 'remaining'] = numberOrNull(value);
      }
    }
  }
  const retryAfterMs = parseRetryAfterMs(headers, now);
  if (windows.size === 0 && retryAfterMs === null) {
    return null;
  }
  return { windows: [...windows.values()], retryAfterMs };
}

/** The smallest remaining share across windows (1 − utilisation where only that is known). */
export function lowestRemainingFraction(snapshot: RateLimitSnapshot): number | null {
  let lowest: number | null = null;
  for (const w of snapshot.windows) {
    const f = w.limit !== null && w.remaining !== null && w.limit > 0 ? w.remaining / w.limit : w.utilization !== null ? 1 - w.utilization : null;
    if (f !== null && (lowest === null || f < lowest)) {
      lowest = f;
    }
  }
  return lowest;
}
