import { liveTokensPerSecond, type ActiveRequest } from '../metrics/requestTracker';
import type { ThrottleState } from '../throttle/throttleTracker';
import type { ActiveView, ThrottleView } from '../../protocol';

/** An in-flight request as the panel's live rows show it, at monotonic time `now`. */
export function toActiveView(a: ActiveRequest, now: number): ActiveView {
  const rate = liveTokensPerSecond(a, now);
  return {
    id: a.id,
    provider: a.provider,
    model: a.model,
    streaming: a.streaming,
    startedAt: a.startedAt,
    elapsedMs: Math.max(0, Math.round(now - a.t0)),
    ttftMs: a.ttftMs === null ? null : Math.round(a.ttftMs),
    outputTokens: a.outputTokens,
    outputTokensPerSecond: rate === null ? null : Math.round(rate * 10) / 10,
  };
}

/**
 * The throttle section's data. Session ids stay in the host: they identify a user's
 * conversations and the panel has no use for them.
 */
export function toThrottleView(s: ThrottleState): ThrottleView {
  return {
    events: s.events.map((e) => ({
      requestId: e.requestId,
      provider: e.provider,
      model: e.model,
      status: e.status,
      at: e.at,
      retryAfterMs: e.retryAfterMs,
      waitMs: e.waitMs,
      retriedBy: e.retriedBy,
    })),
    headroom: s.headroom.map((h) => ({
      provider: h.provider,
      updatedAt: h.updatedAt,
      windows: h.snapshot.windows.map((w) => ({ ...w })),
      retryAfterMs: h.snapshot.retryAfterMs,
      lowestRemaining: h.lowestRemaining,
    })),
    waitMsByProvider: { ...s.waitMsByProvider },
    throttling: [...s.throttling],
  };
}

/** Below this share of any rate-limit window left, the status bar warns. */
export const LOW_HEADROOM = 0.1;

/** Why the status bar should warn, or null: a provider throttling, or headroom below 10 %. */
export function throttleWarning(throttling: readonly string[], headroom: readonly { provider: string; lowestRemaining: number | null }[]): string | null {
  if (throttling.length > 0) {
    return `throttled: ${throttling.join(', ')}`;
  }
  const low = headroom.filter((h) => h.lowestRemaining !== null && h.lowestRemaining < LOW_HEADROOM);
  return low.length === 0 ? null : `rate limit nearly used up: ${low.map((h) => `${h.provider} ${Math.round((h.lowestRemaining ?? 0) * 100)}% left`).join(', ')}`;
}
