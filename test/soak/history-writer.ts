/**
 * A child process for the durability tests: records request records into a HistoryStore as fast as
 * it can, and after every flush() that resolved prints `ack <prefix> <n>` — records 1..n with that
 * prefix are acknowledged as written. The parent kills it with SIGKILL at a moment of its choosing
 * and checks that the history still holds every acknowledged record and nothing corrupt.
 *
 * Usage: node --import tsx test/soak/history-writer.ts DIR PREFIX [BATCH] [LOAD_FIRST]
 */
import { HistoryStore } from '../../src/core/metrics/historyStore';
import { makeRecord } from '../fixtures/records';

async function main(): Promise<void> {
  const [dir, prefix, batchArg, loadFirst] = process.argv.slice(2);
  const batch = Number(batchArg ?? 50);
  const store = new HistoryStore({ dir, flushIntervalMs: 5, logger: { warn: (m) => process.stderr.write(`${m}\n`) } });
  if (loadFirst === 'load') {
    const loaded = await store.load();
    process.stdout.write(`loaded ${loaded.records} ${loaded.skippedLines}\n`);
  }
  const startedAt = new Date().toISOString();
  // Long-ish lines (a long model name), so a kill lands inside a write more often than between.
  const model = `model-${'x'.repeat(300)}`;
  let n = 0;
  process.stdout.write('ready\n');
  for (;;) {
    for (let i = 0; i < batch; i++) {
      n++;
      store.append(makeRecord({ id: `${prefix}-${n}`, model, startedAt, inputTokens: n }));
    }
    await store.flush();
    if (!store.writable) {
      process.stderr.write('history turned unwritable\n');
      process.exit(3);
    }
    process.stdout.write(`ack ${prefix} ${n}\n`);
  }
}

void main();
