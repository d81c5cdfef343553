/**
 * Runs `fn` at most once every `intervalMs`, however often it is triggered: a burst of triggers
 * becomes one run, the first one no sooner than `intervalMs` after the previous run.
 */
export class Coalescer {
  private timer: NodeJS.Timeout | undefined;
  private lastRun = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly fn: () => void,
  ) {}

  trigger(): void {
    if (this.timer !== undefined) {
      return;
    }
    const wait = Math.max(0, this.lastRun + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastRun = Date.now();
      this.fn();
    }, wait);
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
