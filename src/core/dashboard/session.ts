import type { RequestRecord } from '../metrics/record';
import type { SectionMode, SessionView } from '../../protocol';

/** Sums of known TTFTs: [streaming sum, streaming count, non-streaming sum, non-streaming count]. */
type TtftSums = [number, number, number, number];

/** `provider\0model`: NUL cannot occur in a header-derived name, so keys never collide. */
const keyOf = (provider: string, model: string): string => `${provider}\u0000${model}`;

/**
 * Session counters the header and the status bar read several times a second: O(1) to read, unlike
 * a running-totals report. Also the mean TTFT per provider/model, which the roll-up's quantile
 * sketches cannot give (they hold a distribution, not a sum).
 */
export class SessionTotals {
  private view: SessionView = SessionTotals.empty();
  private readonly ttft = new Map<string, TtftSums>();

  private static empty(): SessionView {
    return {
      startedAt: new Date().toISOString(),
      requests: 0,
      errors: 0,
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheCreationTokens: 0,
      throttleWaitMs: 0,
    };
  }

  add(r: RequestRecord): void {
    const v = this.view;
    v.requests++;
    if (r.errorCategory !== null) {
      v.errors++;
    }
    // Unknown counts add nothing: they are never invented as 0-valued samples.
    v.inputTokens += r.inputTokens ?? 0;
    v.outputTokens += r.outputTokens ?? 0;
    v.cacheReadTokens += r.cacheReadTokens ?? 0;
    v.cacheCreationTokens += r.cacheCreationTokens ?? 0;
    v.throttleWaitMs += r.throttleWaitTimeMs;
    if (r.ttftMs !== null) {
      const key = keyOf(r.provider, r.model);
      let sums = this.ttft.get(key);
      if (sums === undefined) {
        sums = [0, 0, 0, 0];
        this.ttft.set(key, sums);
      }
      const i = r.streaming ? 0 : 2;
      sums[i] += r.ttftMs;
      sums[i + 1]++;
    }
  }

  /** A copy: callers post it to the webview or keep it. */
  snapshot(): SessionView {
    return { ...this.view };
  }

  /** Adds one model's known TTFTs in `mode` to `acc` ([sum, count]). */
  addTtft(acc: [number, number], provider: string, model: string, mode: SectionMode): void {
    const s = this.ttft.get(keyOf(provider, model));
    if (s === undefined) {
      return;
    }
    if (mode !== 'nonStreaming') {
      acc[0] += s[0];
      acc[1] += s[1];
    }
    if (mode !== 'streaming') {
      acc[0] += s[2];
      acc[1] += s[3];
    }
  }

  reset(): void {
    this.view = SessionTotals.empty();
    this.ttft.clear();
  }
}
