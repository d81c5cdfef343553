import { EventEmitter } from 'node:events';
import { Ring } from './ring';
import type { RequestRecord } from './record';

/** A request still in flight, as the live views see it. */
export interface ActiveRequest {
  id: string;
  provider: string;
  model: string;
  streaming: boolean;
  startedAt: string;
  /** performance.now() when the request was sent upstream (t0). */
  t0: number;
  ttftMs: number | null;
  /** Output tokens so far: the provider's count when it sent one, otherwise estimated from text. */
  outputTokens: number;
  firstContentMs: number | null;
  lastContentMs: number | null;
}

export interface RequestTrackerEvents {
  started: [ActiveRequest];
  completed: [RequestRecord];
  reset: [];
}

export interface RequestTrackerOptions {
  recentCapacity?: number;
  errorCapacity?: number;
}

/**
 * In-flight requests and the recently completed ones. The proxy writes to it on the relay path, so
 * it only stores: live views read `active()` on their own (coalesced) schedule, and the per-request
 * `started` / `completed` events tell them when to start and stop.
 */
export class RequestTracker extends EventEmitter<RequestTrackerEvents> {
  private readonly inFlight = new Map<string, ActiveRequest>();
  private readonly recentRing: Ring<RequestRecord>;
  private readonly errorRing: Ring<RequestRecord>;
  private completedCount = 0;

  constructor(options: RequestTrackerOptions = {}) {
    super();
    this.recentRing = new Ring(options.recentCapacity ?? 200);
    this.errorRing = new Ring(options.errorCapacity ?? 100);
  }

  start(active: ActiveRequest): void {
    this.inFlight.set(active.id, active);
    this.emit('started', active);
  }

  /** Ends an in-flight request; exactly one record per request (a second end is ignored). */
  end(record: RequestRecord): void {
    if (this.inFlight.delete(record.id)) {
      this.complete(record);
    }
  }

  /**
   * A record of a request this tracker did not see start: one mirrored from the proxy of another
   * window. If it is in flight here (mirrored `started`), it ends that; either way it counts once.
   */
  adopt(record: RequestRecord): void {
    this.inFlight.delete(record.id);
    this.complete(record);
  }

  private complete(record: RequestRecord): void {
    this.completedCount++;
    this.recentRing.push(record);
    if (record.errorCategory !== null) {
      this.errorRing.push(record);
    }
    this.emit('completed', record);
  }

  /** The in-flight request with this id, to update a mirrored one in place. */
  get(id: string): ActiveRequest | undefined {
    return this.inFlight.get(id);
  }

  /** Drops in-flight requests that no longer exist (their proxy went away). */
  forgetActive(): void {
    this.inFlight.clear();
  }

  active(): ActiveRequest[] {
    return [...this.inFlight.values()];
  }

  get activeCount(): number {
    return this.inFlight.size;
  }

  get totalCompleted(): number {
    return this.completedCount;
  }

  /** Newest first. */
  recent(limit?: number): RequestRecord[] {
    return this.recentRing.newestFirst(limit);
  }

  errors(limit?: number): RequestRecord[] {
    return this.errorRing.newestFirst(limit);
  }

  last(): RequestRecord | undefined {
    return this.recentRing.last();
  }

  /** Clears completed history; in-flight requests keep going and are recorded when they end. */
  reset(): void {
    this.recentRing.clear();
    this.errorRing.clear();
    this.completedCount = 0;
    this.emit('reset');
  }
}

/** Live generation speed of an in-flight request, or null before two content events. */
export function liveTokensPerSecond(a: ActiveRequest, nowMs: number): number | null {
  if (a.firstContentMs === null || a.outputTokens === 0) {
    return null;
  }
  const spanMs = nowMs - a.t0 - a.firstContentMs;
  return spanMs > 0 ? a.outputTokens / (spanMs / 1000) : null;
}
