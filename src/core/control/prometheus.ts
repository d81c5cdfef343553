import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RequestRecord } from '../metrics/record';
import type { RequestTracker } from '../metrics/requestTracker';
import type { ThrottleTracker } from '../throttle/throttleTracker';

/**
 * `/_tokenmeter/metrics` in the Prometheus text format, through prom-client. Counters move once per
 * completed request (from the tracker's event, off the relay path); gauges are read at scrape time.
 */
export class PrometheusExporter {
  readonly registry = new Registry();
  private readonly requests: Counter<'provider' | 'model' | 'streaming' | 'outcome'>;
  private readonly tokens: Counter<'provider' | 'model' | 'kind'>;
  private readonly ttft: Histogram<'provider' | 'model'>;
  private readonly speed: Histogram<'provider' | 'model'>;
  private readonly duration: Histogram<'provider' | 'model'>;
  private readonly throttleWait: Counter<'provider'>;
  private readonly detach: () => void;

  constructor(tracker: RequestTracker, throttle: ThrottleTracker) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'tokenmeter_requests_total',
      help: 'Requests through the proxy by outcome: ok or the error category.',
      labelNames: ['provider', 'model', 'streaming', 'outcome'],
      registers,
    });
    this.tokens = new Counter({
      name: 'tokenmeter_tokens_total',
      help: 'Tokens by kind: input (uncached), output, cache_read, cache_creation. Estimates included.',
      labelNames: ['provider', 'model', 'kind'],
      registers,
    });
    this.ttft = new Histogram({
      name: 'tokenmeter_time_to_first_token_seconds',
      help: 'Time from sending the request upstream to the first content event.',
      labelNames: ['provider', 'model'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64],
      registers,
    });
    this.speed = new Histogram({
      name: 'tokenmeter_output_tokens_per_second',
      help: 'Generation speed: output tokens over the span of content events.',
      labelNames: ['provider', 'model'],
      buckets: [5, 10, 20, 40, 60, 80, 120, 160, 240, 400],
      registers,
    });
    this.duration = new Histogram({
      name: 'tokenmeter_request_duration_seconds',
      help: 'Time from sending the request upstream to its last byte.',
      labelNames: ['provider', 'model'],
      buckets: [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    this.throttleWait = new Counter({
      name: 'tokenmeter_throttle_wait_seconds_total',
      help: 'Time lost to throttling (429/529/retry-after) until the retry.',
      labelNames: ['provider'],
      registers,
    });
    new Gauge({
      name: 'tokenmeter_active_requests',
      help: 'Requests in flight.',
      registers,
      collect() {
        this.set(tracker.activeCount);
      },
    });
    new Gauge({
      name: 'tokenmeter_ratelimit_remaining_ratio',
      help: 'Smallest remaining share of any rate-limit window the provider reported (0..1).',
      labelNames: ['provider'],
      registers,
      collect() {
        this.reset();
        for (const h of throttle.headroom()) {
          if (h.lowestRemaining !== null) {
            this.set({ provider: h.provider }, h.lowestRemaining);
          }
        }
      },
    });
    const onCompleted = (r: RequestRecord): void => this.observe(r);
    tracker.on('completed', onCompleted);
    this.detach = () => tracker.off('completed', onCompleted);
  }

  private observe(r: RequestRecord): void {
    const pm = { provider: r.provider, model: r.model };
    this.requests.inc({ ...pm, streaming: String(r.streaming), outcome: r.errorCategory ?? 'ok' });
    const kinds: [string, number | null][] = [
      ['input', r.inputTokens],
      ['output', r.outputTokens],
      ['cache_read', r.cacheReadTokens],
      ['cache_creation', r.cacheCreationTokens],
    ];
    for (const [kind, n] of kinds) {
      if (n) {
        this.tokens.inc({ ...pm, kind }, n);
      }
    }
    // Unknown values are not observed: a histogram of zeros would lie.
    if (r.ttftMs !== null) {
      this.ttft.observe(pm, r.ttftMs / 1000);
    }
    if (r.outputTokensPerSecond !== null) {
      this.speed.observe(pm, r.outputTokensPerSecond);
    }
    if (r.durationMs !== null) {
      this.duration.observe(pm, r.durationMs / 1000);
    }
    if (r.throttleWaitTimeMs > 0) {
      this.throttleWait.inc({ provider: r.provider }, r.throttleWaitTimeMs / 1000);
    }
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  dispose(): void {
    this.detach();
    this.registry.clear();
  }
}
