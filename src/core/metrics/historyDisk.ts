import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { dayOfFileName, fileNameOf, parseHistory, type ParsedHistory } from './historyFiles';

export interface HistoryLogger {
  warn(message: string): void;
}

const errorText = (err: unknown): string =>
  err instanceof Error ? `${(err as NodeJS.ErrnoException).code ?? err.name}: ${err.message}` : String(err);

/**
 * The history folder's file operations. They run one at a time, in order, so a read never sees
 * half of an append; a failure is reported once and turns the disk off for the session, and no
 * operation ever rejects.
 */
const NEWLINE = Buffer.from('\n');

export class HistoryDisk {
  private queue: Promise<void> = Promise.resolve();
  private ok = true;
  private dirReady = false;
  /** Files whose last byte was checked this session (a torn tail needs a newline first). */
  private readonly checkedFiles = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly logger: HistoryLogger,
  ) {}

  get writable(): boolean {
    return this.ok;
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task);
    this.queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Resolves once everything queued so far has run. */
  idle(): Promise<void> {
    return this.queue;
  }

  /** Day → file path of every history file in the folder (none when it does not exist yet). */
  async dayFiles(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.disable(err, 'read');
      }
      return out;
    }
    for (const name of names) {
      const day = dayOfFileName(name);
      if (day !== null) {
        out.set(day, path.join(this.dir, name));
      }
    }
    return out;
  }

  /** A day file's records; with `repair`, a torn last line is warned about and cut off the file. */
  async read(file: string, repair: boolean): Promise<ParsedHistory | null> {
    let parsed: ParsedHistory;
    try {
      parsed = parseHistory(await fs.readFile(file));
    } catch (err) {
      this.logger.warn(`Tokenmeter: could not read request history ${file} (${errorText(err)}); skipped.`);
      return null;
    }
    if (!repair) {
      return parsed;
    }
    if (parsed.invalidLines > 0) {
      this.logger.warn(`Tokenmeter: skipped ${parsed.invalidLines} unreadable line(s) in ${file}.`);
    }
    if (parsed.tornBytes > 0) {
      this.logger.warn(
        `Tokenmeter: skipped an incomplete last line in ${file} (${parsed.tornBytes} bytes, ` +
          'from an interrupted write); the other records are kept.',
      );
      try {
        await fs.truncate(file, parsed.intactBytes);
      } catch {
        // Read-only file: the next append starts on a new line instead (needsNewline).
      }
    }
    return parsed;
  }

  /** Appends lines (each ending in a line feed) to a day's file in one write, so a crash can only tear the last line. */
  async append(day: string, lines: Buffer): Promise<string | null> {
    if (!this.ok) {
      return null;
    }
    const file = path.join(this.dir, fileNameOf(day));
    try {
      if (!this.dirReady) {
        await fs.mkdir(this.dir, { recursive: true });
        this.dirReady = true;
      }
      await fs.appendFile(file, (await this.needsNewline(file)) ? Buffer.concat([NEWLINE, lines]) : lines);
      return file;
    } catch (err) {
      this.disable(err, 'write');
      return null;
    }
  }

  async remove(file: string): Promise<boolean> {
    try {
      await fs.unlink(file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.logger.warn(`Tokenmeter: could not delete expired history ${file} (${errorText(err)}).`);
      }
      return false;
    }
  }

  /** A file left with a torn last line must not have the next record glued onto it. */
  private async needsNewline(file: string): Promise<boolean> {
    if (this.checkedFiles.has(file)) {
      return false;
    }
    this.checkedFiles.add(file);
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(file, 'r');
      const { size } = await handle.stat();
      if (size === 0) {
        return false;
      }
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      return last[0] !== 0x0a;
    } catch {
      return false; // no file yet
    } finally {
      await handle?.close();
    }
  }

  private disable(err: unknown, what: 'read' | 'write'): void {
    if (!this.ok) {
      return;
    }
    this.ok = false;
    this.logger.warn(
      `Tokenmeter: cannot ${what} request history in ${this.dir} (${errorText(err)}). ` +
        'Metrics keep working, but this session is kept in memory only and will not survive a restart.',
    );
  }
}
