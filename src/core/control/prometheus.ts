import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RequestRecord } from '../metrics/record';
import type { RequestTracker } from '../metrics/requestTracker';
import type { ThrottleTracker } from '../throttle/throttleTracker';

interface Children {
  requests: Map<string, { inc(value?: number): void }>;
  tokens: Record<'input' | 'output' | 'cache_read' | 'cache_creation', { inc(value?: number): void }>;
  ttft: { observe(value: number): void };
  speed: { observe(value: number): void };
  duration: { observe(value: number): void };
}

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

  /**
   * Labelled children per provider/model: prom-client hashes a label object on every inc() and
   * observe(), eight times per request; a Map lookup per request does it once.
   */
  private readonly children = new Map<string, Children>();

  private childrenOf(provider: string, model: string): Children {
    const key = `${provider}\u0000${model}`;
    let c = this.children.get(key);
    if (c === undefined) {
      const pm = { provider, model };
      c = {
        requests: new Map(),
        tokens: {
          input: this.tokens.labels({ ...pm, kind: 'input' }),
          output: this.tokens.labels({ ...pm, kind: 'output' }),
          cache_read: this.tokens.labels({ ...pm, kind: 'cache_read' }),
          cache_creation: this.tokens.labels({ ...pm, kind: 'cache_creation' }),
        },
        ttft: this.ttft.labels(pm),
        speed: this.speed.labels(pm),
        duration: this.duration.labels(pm),
      };
      this.children.set(key, c);
    }
    return c;
  }

  private observe(r: RequestRecord): void {
    const c = this.childrenOf(r.provider, r.model);
    const outcome = `${r.streaming}\u0000${r.errorCategory ?? 'ok'}`;
    let requests = c.requests.get(outcome);
    if (requests === undefined) {
      requests = this.requests.labels({ provider: r.provider, model: r.model, streaming: String(r.streaming), outcome: r.errorCategory ?? 'ok' });
      c.requests.set(outcome, requests);
    }
    requests.inc();
    if (r.inputTokens) {
      c.tokens.input.inc(r.inputTokens);
    }
    if (r.outputTokens) {
      c.tokens.output.inc(r.outputTokens);
    }
    if (r.cacheReadTokens) {
      c.tokens.cache_read.inc(r.cacheReadTokens);
    }
    if (r.cacheCreationTokens) {
      c.tokens.cache_creation.inc(r.cacheCreationTokens);
    }
    // Unknown values are not observed: a histogram of zeros would lie.
    if (r.ttftMs !== null) {
      c.ttft.observe(r.ttftMs / 1000);
    }
    if (r.outputTokensPerSecond !== null) {
      c.speed.observe(r.outputTokensPerSecond);
    }
    if (r.durationMs !== null) {
      c.duration.observe(r.durationMs / 1000);
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
