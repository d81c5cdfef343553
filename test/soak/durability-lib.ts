/**
 * Durability checks shared by test/unit/reliability-durability.test.ts and the soak: history
 * writers killed with SIGKILL while recording (test/soak/history-writer.ts), then the folder read
 * back as the next session would.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { HistoryStore } from '../../src/core/metrics/historyStore';
import type { RequestRecord } from '../../src/core/metrics/record';
import { spawnTs, until } from '../fixtures/reliability';

export interface KillRounds {
  /** Highest acknowledged record number per writer prefix. */
  acked: Map<string, number>;
  kills: number;
}

/** Runs history writers one after the other in `dir`, each killed with SIGKILL after `ackTarget` acks. */
export async function killWhileRecording(dir: string, rounds: number, ackTarget: number, batch = 50): Promise<KillRounds> {
  const acked = new Map<string, number>();
  for (let round = 1; round <= rounds; round++) {
    const prefix = `k${round}`;
    // Every other round loads first; the others append straight after the torn tail.
    const child = spawnTs('test/soak/history-writer.ts', [dir, prefix, String(batch), round % 2 === 0 ? 'load' : '']);
    await child.waitFor(/^ready$/m);
    const acksSoFar = (): number => child.stdout().split('\n').filter((l) => l.startsWith(`ack ${prefix} `)).length;
    await until(() => acksSoFar() >= ackTarget || child.proc.exitCode !== null, `${ackTarget} acknowledged flushes`, 60_000);
    assert.equal(child.proc.exitCode, null, `the writer died: ${child.stderr()}`);
    child.kill('SIGKILL');
    const { signal } = await child.exited;
    assert.equal(signal, 'SIGKILL');
    const acks = [...child.stdout().matchAll(new RegExp(`^ack ${prefix} (\\d+)$`, 'gm'))].map((m) => Number(m[1]));
    acked.set(prefix, Math.max(...acks));
  }
  return { acked, kills: rounds };
}

export interface HistoryCheck {
  records: RequestRecord[];
  skippedLines: number;
  lost: number;
}

/** Loads the folder as the next session would, and checks every acknowledged record is there once. */
export async function checkHistory(dir: string, killed: KillRounds): Promise<HistoryCheck> {
  const warnings: string[] = [];
  const store = new HistoryStore({ dir, logger: { warn: (m) => warnings.push(m) } });
  const loaded = await store.load();
  const records = await store.records('all');
  const ids = new Map<string, RequestRecord>();
  for (const r of records) {
    assert.ok(!ids.has(r.id), `record ${r.id} is in the history twice`);
    ids.set(r.id, r);
  }
  let lost = 0;
  for (const [prefix, n] of killed.acked) {
    for (let i = 1; i <= n; i++) {
      const r = ids.get(`${prefix}-${i}`);
      if (!r) {
        lost++;
      } else {
        assert.equal(r.inputTokens, i, `${r.id} came back with the fields it was written with`);
      }
    }
  }
  assert.equal(loaded.records, records.length, 'load and export agree');
  assert.ok(loaded.skippedLines <= killed.kills, `${loaded.skippedLines} unreadable lines after ${killed.kills} kills: more than the torn tails`);
  // The files themselves: every line a record, except at most one torn line per kill, each a cut-short record.
  let torn = 0;
  for (const f of await fs.readdir(dir)) {
    for (const line of (await fs.readFile(path.join(dir, f), 'utf8')).split('\n').filter(Boolean)) {
      try {
        JSON.parse(line);
      } catch {
        torn++;
        assert.match(line, /^\{"id":"k\d+-\d*/, `a corrupt line that is not a cut-short record: ${line.slice(0, 80)}`);
      }
    }
  }
  assert.ok(torn <= killed.kills);
  assert.ok(warnings.every((w) => /incomplete last line|unreadable line/.test(w)), warnings.join('\n'));
  return { records, skippedLines: loaded.skippedLines, lost };
}
