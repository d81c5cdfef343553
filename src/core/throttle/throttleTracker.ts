import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Ring } from '../metrics/ring';
import { lowestRemainingFraction, parseRateLimitHeaders, type RateLimitSnapshot } from './rateLimitHeaders';

export interface ThrottleEvent {
  /** Id of the request that was throttled. */
  requestId: string;
  provider: string;
  model: string;
  session: string | null;
  status: number;
  at: string;
  retryAfterMs: number | null;
  /** Time lost: until the client's retry arrived (capped); null while unknown or never retried. */
  waitMs: number | null;
  /** Id of the request that retried, once it arrived. */
  retriedBy: string | null;
}

export interface ProviderHeadroom {
  provider: string;
  updatedAt: string;
  snapshot: RateLimitSnapshot;
  /** Smallest remaining share of any window, 0..1; null when the headers give no counts. */
  lowestRemaining: number | null;
}

export interface ThrottleState {
  events: ThrottleEvent[];
  headroom: ProviderHeadroom[];
  waitMsByProvider: Record<string, number>;
  /** Providers with a throttle the client has not got past yet. */
  throttling: string[];
}

// Headers that name a client session, so two sessions hitting the same model do not pair up.
const SESSION_HEADERS = ['x-claude-code-session-id', 'session_id', 'session-id', 'x-session-id', 'conversation_id'];

export function sessionOf(headers: IncomingHttpHeaders): string | null {
  for (const h of SESSION_HEADERS) {
    const v = headers[h];
    if (typeof v === 'string' && v.length > 0) {
      return v;
    }
  }
  return null;
}

interface Pending {
  event: ThrottleEvent;
  t: number;
}

/**
 * Throttle events (429, 529, or any error with retry-after) and per-provider rate-limit headroom.
 * The time lost to a throttle is the gap until the client retries the same provider, model and
 * session; it is added to the retrying request's record, capped so a retry hours later is not
 * counted as waiting.
 */
export class ThrottleTracker extends EventEmitter<{ changed: [] }> {
  private readonly pending = new Map<string, Pending>();
  private readonly eventRing = new Ring<ThrottleEvent>(100);
  private readonly headroomByProvider = new Map<string, ProviderHeadroom>();
  private readonly waitTotals = new Map<string, number>();
  /** Another window's state, shown instead of this one's while this window mirrors its proxy. */
  private mirrored: ThrottleState | null = null;

  constructor(
    private readonly capMs = 300_000,
    private readonly now: () => number = () => performance.now(),
  ) {
    super();
  }

  /** Called when a request arrives; returns the throttle wait (ms) it ends, 0 if none. */
  onRequest(requestId: string, provider: string, model: string, session: string | null): number {
    if (this.pending.size === 0) {
      return 0;
    }
    const key = `${provider}\u0000${model}\u0000${session ?? ''}`;
    const p = this.pending.get(key);
    if (!p) {
      return 0;
    }
    this.pending.delete(key);
    const gap = this.now() - p.t;
    if (gap > this.capMs) {
      return 0; // not a retry of that throttle: the client gave up long ago
    }
    const wait = Math.round(gap);
    p.event.waitMs = wait;
    p.event.retriedBy = requestId;
    this.waitTotals.set(provider, (this.waitTotals.get(provider) ?? 0) + wait);
    this.emit('changed');
    return wait;
  }

  /** Called with every upstream response head. */
  onResponse(requestId: string, provider: string, model: string, session: string | null, status: number, headers: Record<string, string | string[] | undefined>): void {
    const snapshot = parseRateLimitHeaders(headers);
    if (snapshot) {
      this.headroomByProvider.set(provider, { provider, updatedAt: new Date().toISOString(), snapshot, lowestRemaining: lowestRemainingFraction(snapshot) });
    }
    const throttled = status === 429 || status === 529 || (status >= 400 && snapshot !== null && snapshot.retryAfterMs !== null);
    if (throttled) {
      const event: ThrottleEvent = {
        requestId,
        provider,
        model,
        session,
        status,
        at: new Date().toISOString(),
        retryAfterMs: snapshot?.retryAfterMs ?? null,
        waitMs: null,
        retriedBy: null,
      };
      this.eventRing.push(event);
      this.pending.set(`${provider}\u0000${model}\u0000${session ?? ''}`, { event, t: this.now() });
    }
    if (snapshot || throttled) {
      this.emit('changed');
    }
  }

  isThrottling(): boolean {
    return this.throttlingProviders().length > 0;
  }

  throttlingProviders(): string[] {
    if (this.mirrored) {
      return this.mirrored.throttling;
    }
    const now = this.now();
    const out = new Set<string>();
    for (const [key, p] of this.pending) {
      if (now - p.t > this.capMs) {
        this.pending.delete(key);
      } else {
        out.add(p.event.provider);
      }
    }
    return [...out];
  }

  headroom(): ProviderHeadroom[] {
    return this.mirrored ? this.mirrored.headroom : [...this.headroomByProvider.values()];
  }

  /**
   * Shows another window's throttle state (from its proxy's feed) instead of this window's, which
   * sees no traffic while it mirrors; null goes back to this window's own.
   */
  mirror(state: ThrottleState | null): void {
    this.mirrored = state;
    this.emit('changed');
  }

  state(limit = 100): ThrottleState {
    if (this.mirrored) {
      return { ...this.mirrored, events: this.mirrored.events.slice(0, limit) };
    }
    return {
      events: this.eventRing.newestFirst(limit),
      headroom: this.headroom(),
      waitMsByProvider: Object.fromEntries(this.waitTotals),
      throttling: this.throttlingProviders(),
    };
  }

  reset(): void {
    this.pending.clear();
    this.eventRing.clear();
    this.waitTotals.clear();
    this.emit('changed');
  }
}
