/**
 * Soak: durability at scale. History writers killed with SIGKILL ten times in one folder lose no
 * acknowledged record; the CLI killed with SIGKILL under load five times in one --data-dir leaves a
 * history every restart reads without corruption, losing at most what had not been flushed yet
 * (its 250 ms batch); stopped with SIGTERM under load it loses nothing.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { Agent } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HistoryStore } from '../../src/core/metrics/historyStore';
import { mixedRequest, runLoad, sleep, spawnTs } from '../fixtures/reliability';
import { startUpstream, type Upstream } from '../fixtures/upstream';
import { checkHistory, killWhileRecording } from './durability-lib';
import { figure } from './lib';

describe('soak: durability', { timeout: 10 * 60_000 }, () => {
  let dir: string;
  let upstream: Upstream;
  let config: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tokenmeter-soak-durable-'));
    upstream = await startUpstream();
    config = path.join(dir, 'config.json');
    await fs.writeFile(config, JSON.stringify({ providers: Object.fromEntries(['openai', 'anthropic', 'gemini'].map((n) => [n, { baseUrl: upstream.url }])) }));
  });
  after(async () => {
    await upstream.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('history writers killed with SIGKILL ten times: no acknowledged record lost, nothing corrupt', async () => {
    const killed = await killWhileRecording(path.join(dir, 'writers'), 10, 40, 100);
    const check = await checkHistory(path.join(dir, 'writers'), killed);
    const acked = [...killed.acked.values()].reduce((a, b) => a + b, 0);
    figure('history: records acknowledged before SIGKILL (10 kills)', acked);
    figure('history: acknowledged records lost', check.lost);
    figure('history: torn lines skipped on reload', check.skippedLines);
    assert.equal(check.lost, 0);
  });

  const countHistory = async (dataDir: string): Promise<{ records: number; skipped: number; ids: Set<string> }> => {
    const store = new HistoryStore({ dir: dataDir, logger: { warn: () => undefined } });
    const loaded = await store.load();
    const records = await store.records('all');
    const ids = new Set(records.map((r) => r.id));
    assert.equal(ids.size, records.length, 'no record twice');
    return { records: loaded.records, skipped: loaded.skippedLines, ids };
  };

  it('the CLI killed with SIGKILL under load five times in one --data-dir: every restart reads it; only the unflushed batch is lost', async () => {
    const dataDir = path.join(dir, 'cli-kill');
    let answered = 0;
    let lostTotal = 0;
    let before = 0;
    for (let round = 0; round < 5; round++) {
      const cli = spawnTs('src/cli.ts', ['--port', '0', '--config', config, '--data-dir', dataDir]);
      const agent = new Agent({ keepAlive: true, maxSockets: 32 });
      try {
        const [, url] = await cli.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
        const [, loaded] = await cli.waitFor(/History: .* \((\d+) records/);
        assert.equal(Number(loaded), before, `round ${round}: the restarted CLI read every record on disk`);
        upstream.setDefault({ delayMs: 1 });
        let kill = false;
        const load = runLoad(url, 1_000_000, 32, mixedRequest, { agent, stop: () => kill, stopAfterMs: 60_000 });
        await sleep(1500 + round * 300);
        kill = true;
        cli.kill('SIGKILL');
        const r = await load;
        await cli.exited;
        const ok = r.byStatus[200] ?? 0;
        answered += ok;
        const now = await countHistory(dataDir);
        const recorded = now.records - before;
        const lost = Math.max(0, ok - recorded);
        lostTotal += lost;
        // At most the batch that was waiting for its 250 ms flush (and the write in progress).
        const perSecond = ok / ((1500 + round * 300) / 1000);
        assert.ok(lost <= perSecond * 0.5 + 20, `round ${round}: ${lost} answered requests not in the history (${Math.round(perSecond)}/s)`);
        assert.ok(now.skipped <= round + 1, `${now.skipped} unreadable lines after ${round + 1} kills`);
        before = now.records;
      } finally {
        agent.destroy();
        cli.kill('SIGKILL');
      }
    }
    figure('CLI SIGKILL under load: requests answered (5 kills)', answered);
    figure('CLI SIGKILL under load: answered but not yet flushed (lost with the 250 ms batch)', lostTotal);
  });

  it('the CLI stopped with SIGTERM under heavy load, three times: nothing lost', async () => {
    const dataDir = path.join(dir, 'cli-term');
    let answered = 0;
    for (let round = 0; round < 3; round++) {
      const before = round === 0 ? 0 : (await countHistory(dataDir)).records;
      const cli = spawnTs('src/cli.ts', ['--port', '0', '--config', config, '--data-dir', dataDir]);
      const agent = new Agent({ keepAlive: true, maxSockets: 64 });
      try {
        const [, url] = await cli.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
        upstream.setDefault({ delayMs: 2 });
        let stop = false;
        const load = runLoad(url, 1_000_000, 64, mixedRequest, { agent, stop: () => stop, stopAfterMs: 60_000 });
        await sleep(2000);
        cli.kill('SIGTERM');
        stop = true;
        const r = await load;
        const { code } = await cli.exited;
        assert.equal(code, 0, cli.stderr());
        const ok = r.byStatus[200] ?? 0;
        answered += ok;
        const now = await countHistory(dataDir);
        assert.equal(now.skipped, 0);
        assert.ok(now.records - before >= ok, `round ${round}: ${ok} answered, ${now.records - before} recorded`);
      } finally {
        agent.destroy();
        cli.kill('SIGKILL');
      }
    }
    figure('CLI SIGTERM under load: requests answered (3 stops)', answered);
    figure('CLI SIGTERM under load: records lost', 0);
  });
});
