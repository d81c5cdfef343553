/** What /proc says about a process and the machine: CPU time, resident memory, core usage. */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // Linux's USER_HZ is 100 everywhere that matters
}

/** utime and stime of the whole process (all its threads, GC included), in µs. */
export function cpuSplit(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses: fields are counted after its last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(f[11]) * 1e6) / clkTck, sys: (Number(f[12]) * 1e6) / clkTck };
}

/** utime + stime in µs. */
export function cpuMicros(pid: number): number {
  const c = cpuSplit(pid);
  return c.user + c.sys;
}

/** Resident set size in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Busy and total jiffies per core, to say how loaded the machine was during a window. */
export function coreTimes(): { busy: number; total: number }[] {
  const out: { busy: number; total: number }[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) {
      continue;
    }
    const v = m[2].trim().split(/\s+/).map(Number);
    const idle = v[3] + (v[4] ?? 0);
    const total = v.reduce((a, b) => a + b, 0);
    out[Number(m[1])] = { busy: total - idle, total };
  }
  return out;
}

export function coreBusyShare(a: ReturnType<typeof coreTimes>, b: ReturnType<typeof coreTimes>): number[] {
  return b.map((x, i) => {
    const dt = x.total - (a[i]?.total ?? 0);
    return dt > 0 ? (x.busy - (a[i]?.busy ?? 0)) / dt : 0;
  });
}

export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    node: process.version,
    cpus: cpus.length,
    cpu: cpus[0]?.model,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    loadavg: os.loadavg(),
  };
}
