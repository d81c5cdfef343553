import { performance } from 'node:perf_hooks';

/**
 * When the extension's bundle began to run: imported first by extension.ts, so this module is
 * evaluated before the others. activate() subtracts it to report how long loading took (design.md
 * budgets activation at 50 ms; parsing and compiling the bundle happen before this line and are not
 * in it).
 */
export const loadStartedAt = performance.now();
