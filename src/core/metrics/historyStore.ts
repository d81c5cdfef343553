import { performance } from 'node:perf_hooks';
import { CSV_HEADER, csvRows, recordsToJson } from './exportFormat';
import { LineBuffer } from '../lineBuffer';
import { HistoryDisk, type HistoryLogger } from './historyDisk';
import { DAY_MS, dayNumber, dayOfRecord, parseHistory } from './historyFiles';
import type { RequestRecord } from './record';
import { serializeRecord } from './recordFields';
import type { RequestTracker } from './requestTracker';
import { Ring } from './ring';
import type { RunningTotals, RunningTotalsQuery } from './runningTotals';
import { SummaryMetrics } from './summaryMetrics';

export type { HistoryLogger };

export type HistoryRange = 'today' | '7d' | 'all';


export interface HistoryStoreOptions {
  /** The extension's global storage folder, or the CLI's `--data-dir`. */
  dir: string;
  /** Days kept, today included (setting; default 30). */
  retentionDays?: number;
  /**
   * Appends are written off the relay path, at most this often (ms): the first after a quiet
   * interval at the end of its event-loop turn, those that follow it in one batch.
   */
  flushIntervalMs?: number;
  /** A batch this large is written at once instead of waiting for the timer. */
  maxBatch?: number;
  /** Records kept in memory when the folder cannot be written, for export. */
  memoryCapacity?: number;
  logger?: HistoryLogger;
  /** Epoch ms; decides "today" and retention. Injectable for tests. */
  now?: () => number;
}

export interface LoadResult {
  files: number;
  records: number;
  /** Unreadable lines, a torn last line included. */
  skippedLines: number;
}

function checkRetention(days: number): number {
  if (!Number.isSafeInteger(days) || days < 1) {
    throw new RangeError(`retentionDays must be a positive integer, got ${days}`);
  }
  return days;
}

type DayFile = [day: string, file: string];
const oldestFirst = (a: DayFile, b: DayFile): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
const newestFirst = (a: DayFile, b: DayFile): number => oldestFirst(b, a);

/**
 * Completed request records on disk (JSON Lines, one file per UTC day), so today / 7-day /
 * all-time totals survive restarts. Totals are kept per day in memory, a `SummaryMetrics` each,
 * and merged for a range when asked. Disk trouble never reaches the caller: it is one warning, and
 * the store goes on in memory.
 */
export class HistoryStore {
  private readonly disk: HistoryDisk;
  private retentionDays: number;
  private readonly flushIntervalMs: number;
  /** When the last batch went to disk (performance.now()). */
  private lastFlushMs = -Infinity;
  private readonly maxBatch: number;
  private readonly now: () => number;
  private readonly days = new Map<string, SummaryMetrics>();
  private readonly merged = new Map<HistoryRange, { key: string; summary: SummaryMetrics }>();
  /** Bumped when a day is added or dropped. */
  private daysChanged = 0;
  /**
   * Lines queued for disk, per UTC day (the file they go to). A record is serialized when it is
   * appended (about 2 µs), not with its batch, which stalled the relay for milliseconds every flush.
   */
  private pending = new Map<string, LineBuffer>();
  private pendingLines = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly memoryOnly: Ring<RequestRecord>;
  /** The newest day appended to (a request that began yesterday can still complete today). */
  private lastDay: string | undefined;
  private loading: Promise<LoadResult> | undefined;
  private loadRan = false;
  /** Records this session wrote per file before `load()` ran: they are counted already. */
  private readonly writtenBeforeLoad = new Map<string, number>();

  constructor(options: HistoryStoreOptions) {
    this.disk = new HistoryDisk(options.dir, options.logger ?? { warn: (m) => console.warn(m) });
    this.retentionDays = checkRetention(options.retentionDays ?? 30);
    this.flushIntervalMs = options.flushIntervalMs ?? 250;
    this.maxBatch = options.maxBatch ?? 1000;
    this.memoryOnly = new Ring(options.memoryCapacity ?? 10_000);
    this.now = options.now ?? Date.now;
  }

  get dir(): string {
    return this.disk.dir;
  }

  /** False once the folder turned out unusable; records are then kept in memory only. */
  get writable(): boolean {
    return this.disk.writable;
  }

  /**
   * Reads the day files, newest first (today's totals are ready before older days are read), drops
   * expired ones and repairs a torn last line. Once only: a second load would count twice.
   */
  load(): Promise<LoadResult> {
    this.loading ??= this.disk.run(() => this.readAll());
    return this.loading;
  }

  /** Counts a completed record and queues it for disk; never blocks or throws on the relay path. */
  append(record: RequestRecord): void {
    const day = dayOfRecord(record, this.now());
    this.day(day).add(record, false);
    if (this.lastDay === undefined || day > this.lastDay) {
      if (this.lastDay !== undefined) {
        void this.compact(); // a new day began: the oldest file may have expired
      }
      this.lastDay = day;
    }
    if (!this.disk.writable) {
      this.memoryOnly.push(record);
      return;
    }
    let lines = this.pending.get(day);
    if (lines === undefined) {
      lines = new LineBuffer();
      this.pending.set(day, lines);
    }
    lines.push(serializeRecord(record));
    if (++this.pendingLines >= this.maxBatch) {
      void this.flush();
    } else if (this.timer === undefined) {
      // Quiet for a whole interval: write now, so a crash or a kill loses no record of a request
      // already answered (interactive use). Busy: one write per interval, whatever the rate.
      const wait = Math.max(0, this.lastFlushMs + this.flushIntervalMs - performance.now());
      this.timer = setTimeout(() => void this.flush(), wait);
      this.timer.unref(); // queued history must not keep the CLI alive; close() writes it
    }
  }

  attach(tracker: RequestTracker): () => void {
    const onCompleted = (r: RequestRecord): void => this.append(r);
    tracker.on('completed', onCompleted);
    return () => void tracker.off('completed', onCompleted);
  }

  /** Writes what is queued; resolves when it is on disk (or kept in memory after a failure). */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pendingLines > 0) {
      this.lastFlushMs = performance.now();
      const batch = [...this.pending].map(([day, lines]) => ({ day, count: lines.lines, bytes: lines.take() }));
      this.pending.clear();
      this.pendingLines = 0;
      void this.disk.run(() => this.write(batch));
    }
    return this.disk.idle();
  }

  close(): Promise<void> {
    return this.flush();
  }

  /** Deletes day files older than the retention and forgets their totals; returns the files removed. */
  compact(): Promise<string[]> {
    const oldest = this.oldestKeptDay();
    for (const day of [...this.days.keys()]) {
      if (dayNumber(day) < oldest) {
        this.days.delete(day);
        this.daysChanged++;
      }
    }
    return this.disk.run(async () => {
      const removed: string[] = [];
      for (const [day, file] of await this.disk.dayFiles()) {
        if (dayNumber(day) < oldest && (await this.disk.remove(file))) {
          removed.push(file);
        }
      }
      return removed;
    });
  }

  setRetentionDays(days: number): Promise<string[]> {
    this.retentionDays = checkRetention(days);
    return this.compact();
  }

  /**
   * The totals of a range, as a new summary: `today` (UTC), `7d` (today and the 6 days before),
   * `all` (everything retained).
   */
  summary(range: HistoryRange): SummaryMetrics {
    const merged = new SummaryMetrics();
    const first = this.firstDayOf(range);
    for (const [day, s] of this.days) {
      if (dayNumber(day) >= first) {
        merged.merge(s);
      }
    }
    return merged;
  }

  totals(range: HistoryRange, query: RunningTotalsQuery = {}): RunningTotals {
    // Merging a month of days is the expensive part; days only grow, so this key versions it.
    const first = this.firstDayOf(range);
    let requests = 0;
    for (const [day, s] of this.days) {
      requests += dayNumber(day) >= first ? s.requestCount : 0;
    }
    const key = `${first}:${this.daysChanged}:${requests}`;
    let cached = this.merged.get(range);
    if (cached?.key !== key) {
      cached = { key, summary: this.summary(range) };
      this.merged.set(range, cached);
    }
    return cached.summary.runningTotals({ ...query, includeActive: false });
  }

  /** Records of a range, oldest day first: what is on disk, then what could only be kept in memory. */
  records(range: HistoryRange = 'all'): Promise<RequestRecord[]> {
    void this.flush();
    return this.disk.run(() => this.readRange(range));
  }

  async exportCsv(range: HistoryRange = 'all'): Promise<string> {
    return CSV_HEADER + csvRows(await this.records(range));
  }

  async exportJson(range: HistoryRange = 'all'): Promise<string> {
    return recordsToJson(await this.records(range));
  }

  private async readAll(): Promise<LoadResult> {
    this.loadRan = true;
    const result: LoadResult = { files: 0, records: 0, skippedLines: 0 };
    const oldest = this.oldestKeptDay();
    for (const [day, file] of [...(await this.disk.dayFiles())].sort(newestFirst)) {
      if (dayNumber(day) < oldest) {
        continue; // compact() deletes it
      }
      const parsed = await this.disk.read(file, true);
      if (parsed === null) {
        continue;
      }
      // This session's appends are at the end of the file, and already counted.
      const ours = this.writtenBeforeLoad.get(file) ?? 0;
      const theirs = parsed.records.slice(0, Math.max(0, parsed.records.length - ours));
      this.day(day).load(theirs);
      result.files++;
      result.records += theirs.length;
      result.skippedLines += parsed.invalidLines + (parsed.tornBytes > 0 ? 1 : 0);
    }
    void this.compact();
    return result;
  }

  private async readRange(range: HistoryRange): Promise<RequestRecord[]> {
    const first = this.firstDayOf(range);
    const out: RequestRecord[] = [];
    for (const [day, file] of [...(await this.disk.dayFiles())].sort(oldestFirst)) {
      if (dayNumber(day) >= first) {
        out.push(...((await this.disk.read(file, false))?.records ?? []));
      }
    }
    for (const r of this.memoryOnly.newestFirst().reverse()) {
      if (dayNumber(dayOfRecord(r, this.now())) >= first) {
        out.push(r);
      }
    }
    return out;
  }

  private async write(batch: readonly { day: string; count: number; bytes: Buffer }[]): Promise<void> {
    let failed = false;
    for (const { day, count, bytes } of batch) {
      // After a failure the disk is off: this day and the rest stay in memory, nothing twice.
      const file = failed ? null : await this.disk.append(day, bytes);
      if (file === null) {
        failed = true;
        parseHistory(bytes).records.forEach((r) => this.memoryOnly.push(r));
      } else if (!this.loadRan) {
        this.writtenBeforeLoad.set(file, (this.writtenBeforeLoad.get(file) ?? 0) + count);
      }
    }
  }

  private day(day: string): SummaryMetrics {
    let s = this.days.get(day);
    if (s === undefined) {
      s = new SummaryMetrics();
      this.days.set(day, s);
      this.daysChanged++;
    }
    return s;
  }

  private oldestKeptDay(): number {
    return Math.floor(this.now() / DAY_MS) - (this.retentionDays - 1);
  }

  private firstDayOf(range: HistoryRange): number {
    const today = Math.floor(this.now() / DAY_MS);
    return range === 'today' ? today : range === '7d' ? today - 6 : this.oldestKeptDay();
  }
}
