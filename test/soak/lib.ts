/** Helpers of the soak suite: the proxy in a child process, and the figures the run reports. */
import { appendFileSync } from 'node:fs';
import { spawnTs, type Child } from '../fixtures/reliability';

export const MB = 1024 * 1024;

export interface ChildStats {
  heapUsed: number;
  arrayBuffers: number;
  external: number;
  rss: number;
  peakRss: number;
  handles: Record<string, number>;
  completed: number;
  active: number;
  maxActive: number;
  errors: (string | null)[];
  /** The newest record. */
  last: import('../../src/core/metrics/record').RequestRecord | null;
  gc: boolean;
}

export interface ProxyChild {
  url: string;
  child: Child;
  stats(): Promise<ChildStats>;
  resetPeak(): Promise<void>;
  /** Closes the Tokenmeter and returns what is left alive in the process. */
  close(): Promise<ChildStats>;
  kill(): Promise<void>;
}

export async function startProxyChild(upstreamUrl: string, dataDir = ''): Promise<ProxyChild> {
  const child = spawnTs('test/soak/proxy-child.ts', [upstreamUrl, dataDir], { nodeArgs: ['--expose-gc'], ipc: true });
  const [, url] = await child.waitFor(/^listening (http:\/\/127\.0\.0\.1:\d+)$/m);
  let nextId = 0;
  const ask = <T>(type: string, timeoutMs = 30_000): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      const timer = setTimeout(() => reject(new Error(`proxy child: no answer to ${type} within ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (m: { id: number }): void => {
        if (m.id === id) {
          clearTimeout(timer);
          child.proc.off('message', onMessage);
          resolve(m as T);
        }
      };
      child.proc.on('message', onMessage);
      child.proc.send({ type, id });
    });
  return {
    url,
    child,
    stats: () => ask<ChildStats>('stats'),
    resetPeak: () => ask<void>('resetPeak'),
    close: () => ask<ChildStats>('close'),
    async kill() {
      child.kill('SIGKILL');
      await child.exited;
    },
  };
}

/** A figure for the closing summary of `npm run test:soak` (test/soak/run.mjs prints them). */
export function figure(name: string, value: number | string, unit = ''): void {
  const line = JSON.stringify({ name, value, unit });
  process.stdout.write(`# soak figure: ${name} = ${value}${unit ? ` ${unit}` : ''}\n`);
  if (process.env.TOKENMETER_SOAK_FIGURES) {
    appendFileSync(process.env.TOKENMETER_SOAK_FIGURES, `${line}\n`);
  }
}

export const mb = (bytes: number): string => (bytes / MB).toFixed(1);
