import type { RequestRecord } from '../metrics/record';
import type { RequestTracker } from '../metrics/requestTracker';
import type { ThrottleTracker } from '../throttle/throttleTracker';
import { CONTENT_TYPE, exposition, HistogramFamily, ValueFamily, type HistogramSeries } from './exposition';

interface Children {
  /** By `${streaming}\u0000${outcome}`. */
  requests: Map<string, { value: number }>;
  tokens: Record<'input' | 'output' | 'cache_read' | 'cache_creation', { value: number }>;
  ttft: HistogramSeries;
  speed: HistogramSeries;
  duration: HistogramSeries;
}

/**
 * `/_tokenmeter/metrics` in the Prometheus text format (exposition.ts: the text prom-client would
 * write, without its label hashing on every count, its 67 KB in the bundle or its load time).
 * Counters move once per completed request (from the tracker's event, off the relay path); gauges
 * are read at scrape time.
 */
export class PrometheusExporter {
  readonly contentType = CONTENT_TYPE;
  private readonly requests = new ValueFamily('counter', 'tokenmeter_requests_total', 'Requests through the proxy by outcome: ok or the error category.', ['provider', 'model', 'streaming', 'outcome']);
  private readonly tokens = new ValueFamily('counter', 'tokenmeter_tokens_total', 'Tokens by kind: input (uncached), output, cache_read, cache_creation. Estimates included.', ['provider', 'model', 'kind']);
  private readonly ttft = new HistogramFamily('tokenmeter_time_to_first_token_seconds', 'Time from sending the request upstream to the first content event.', ['provider', 'model'], [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64]);
  private readonly speed = new HistogramFamily('tokenmeter_output_tokens_per_second', 'Generation speed: output tokens over the span of content events.', ['provider', 'model'], [5, 10, 20, 40, 60, 80, 120, 160, 240, 400]);
  private readonly duration = new HistogramFamily('tokenmeter_request_duration_seconds', 'Time from sending the request upstream to its last byte.', ['provider', 'model'], [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256]);
  private readonly throttleWait = new ValueFamily('counter', 'tokenmeter_throttle_wait_seconds_total', 'Time lost to throttling (429/529/retry-after) until the retry.', ['provider']);
  private readonly active = new ValueFamily('gauge', 'tokenmeter_active_requests', 'Requests in flight.', []);
  private readonly headroom = new ValueFamily('gauge', 'tokenmeter_ratelimit_remaining_ratio', 'Smallest remaining share of any rate-limit window the provider reported (0..1).', ['provider']);
  private readonly families = [this.requests, this.tokens, this.ttft, this.speed, this.duration, this.throttleWait, this.active, this.headroom];
  private readonly detach: () => void;

  constructor(
    private readonly tracker: RequestTracker,
    private readonly throttle: ThrottleTracker,
  ) {
    const onCompleted = (r: RequestRecord): void => this.observe(r);
    tracker.on('completed', onCompleted);
    this.detach = () => tracker.off('completed', onCompleted);
  }

  /** The series of one provider/model, found once per request. */
  private readonly children = new Map<string, Children>();

  private childrenOf(provider: string, model: string): Children {
    const key = `${provider}\u0000${model}`;
    let c = this.children.get(key);
    if (c === undefined) {
      c = {
        requests: new Map(),
        tokens: {
          input: this.tokens.child(provider, model, 'input'),
          output: this.tokens.child(provider, model, 'output'),
          cache_read: this.tokens.child(provider, model, 'cache_read'),
          cache_creation: this.tokens.child(provider, model, 'cache_creation'),
        },
        ttft: this.ttft.child(provider, model),
        speed: this.speed.child(provider, model),
        duration: this.duration.child(provider, model),
      };
      this.children.set(key, c);
    }
    return c;
  }

  private observe(r: RequestRecord): void {
    const c = this.childrenOf(r.provider, r.model);
    const outcome = r.errorCategory ?? 'ok';
    const key = `${r.streaming}\u0000${outcome}`;
    let requests = c.requests.get(key);
    if (requests === undefined) {
      requests = this.requests.child(r.provider, r.model, String(r.streaming), outcome);
      c.requests.set(key, requests);
    }
    requests.value++;
    if (r.inputTokens) {
      c.tokens.input.value += r.inputTokens;
    }
    if (r.outputTokens) {
      c.tokens.output.value += r.outputTokens;
    }
    if (r.cacheReadTokens) {
      c.tokens.cache_read.value += r.cacheReadTokens;
    }
    if (r.cacheCreationTokens) {
      c.tokens.cache_creation.value += r.cacheCreationTokens;
    }
    // Unknown values are not observed: a histogram of zeros would lie.
    if (r.ttftMs !== null) {
      this.ttft.observe(c.ttft, r.ttftMs / 1000);
    }
    if (r.outputTokensPerSecond !== null) {
      this.speed.observe(c.speed, r.outputTokensPerSecond);
    }
    if (r.durationMs !== null) {
      this.duration.observe(c.duration, r.durationMs / 1000);
    }
    if (r.throttleWaitTimeMs > 0) {
      this.throttleWait.inc([r.provider], r.throttleWaitTimeMs / 1000);
    }
  }

  /** The exposition text, with the gauges read now. */
  text(): string {
    this.active.set([], this.tracker.activeCount);
    this.headroom.reset();
    for (const h of this.throttle.headroom()) {
      if (h.lowestRemaining !== null) {
        this.headroom.set([h.provider], h.lowestRemaining);
      }
    }
    return exposition(this.families);
  }

  dispose(): void {
    this.detach();
  }
}
