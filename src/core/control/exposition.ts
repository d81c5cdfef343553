/**
 * The Prometheus text exposition format (version 0.0.4), for the few metric families Tokenmeter
 * exports. Each family keeps its series in a Map keyed by the label values, so a request costs one
 * lookup per family and no label hashing; the text is made only when someone scrapes.
 * It writes what prom-client writes for the same observations (a test compares the two).
 */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = readonly string[];

abstract class Family<S> {
  /** Series by their label values joined with NUL (a byte no label value of ours holds). */
  protected readonly series = new Map<string, { labels: Labels; state: S }>();

  constructor(
    readonly name: string,
    private readonly help: string,
    protected readonly type: 'counter' | 'gauge' | 'histogram',
    protected readonly labelNames: readonly string[],
  ) {}

  protected get(labels: Labels): S {
    const key = labels.length === 1 ? labels[0] : labels.join('\u0000');
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels: [...labels], state: this.fresh() };
      this.series.set(key, s);
    }
    return s.state;
  }

  protected abstract fresh(): S;
  protected abstract lines(labels: Labels, state: S, out: string[]): void;

  reset(): void {
    this.series.clear();
  }

  write(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${this.name} ${this.type}`);
    for (const { labels, state } of this.series.values()) {
      this.lines(labels, state, out);
    }
  }

  protected labelText(labels: Labels, first = ''): string {
    let text = first;
    for (let i = 0; i < labels.length; i++) {
      text += `${text ? ',' : ''}${this.labelNames[i]}="${escapeLabel(labels[i])}"`;
    }
    return text ? `{${text}}` : '';
  }
}

/** A counter or a gauge: one number a series. */
export class ValueFamily extends Family<{ value: number }> {
  constructor(type: 'counter' | 'gauge', name: string, help: string, labelNames: readonly string[]) {
    super(name, help, type, labelNames);
  }

  /** The series for these label values (in labelNames order): keep it to count without lookups. */
  child(...labels: string[]): { value: number } {
    return this.get(labels);
  }

  inc(labels: Labels, by = 1): void {
    this.get(labels).value += by;
  }

  set(labels: Labels, value: number): void {
    this.get(labels).value = value;
  }

  protected fresh(): { value: number } {
    return { value: 0 };
  }

  protected lines(labels: Labels, s: { value: number }, out: string[]): void {
    // A counter's series appears once it has counted (children are made ahead of their first
    // count); a gauge's as soon as it is set.
    if (this.type === 'gauge' || s.value !== 0) {
      out.push(`${this.name}${this.labelText(labels)} ${num(s.value)}`);
    }
  }
}

export interface HistogramSeries {
  /** Observations per bucket (not cumulative); the last is above the largest bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class HistogramFamily extends Family<HistogramSeries> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly bounds: readonly number[],
  ) {
    super(name, help, 'histogram', labelNames);
  }

  child(...labels: string[]): HistogramSeries {
    return this.get(labels);
  }

  observe(s: HistogramSeries, value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]) {
      i++;
    }
    s.counts[i]++;
    s.sum += value;
    s.count++;
  }

  protected fresh(): HistogramSeries {
    return { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
  }

  protected lines(labels: Labels, s: HistogramSeries, out: string[]): void {
    if (s.count === 0) {
      return; // not observed yet
    }
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative += s.counts[i];
      const le = i < this.bounds.length ? num(this.bounds[i]) : '+Inf';
      out.push(`${this.name}_bucket${this.labelText(labels, `le="${le}"`)} ${num(cumulative)}`);
    }
    const l = this.labelText(labels);
    out.push(`${this.name}_sum${l} ${num(s.sum)}`, `${this.name}_count${l} ${num(s.count)}`);
  }
}

/** Families in the text, a blank line between them, as prom-client writes a registry. */
export function exposition(families: readonly { write(out: string[]): void }[]): string {
  return `${families
    .map((f) => {
      const out: string[] = [];
      f.write(out);
      return out.join('\n');
    })
    .join('\n\n')}\n`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** Go's float syntax as Prometheus reads it; JavaScript's text of a number is one of its forms. */
function num(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
}
