/**
 * Durability of the request history: a process killed with SIGKILL while it records heavily
 * loses nothing it had acknowledged as written (a resolved flush()), leaves nothing corrupt (at
 * most the one line the kill cut short, which the next load skips and repairs), and the next
 * session goes on in the same folder. The CLI stopped with SIGTERM under load loses nothing at all.
 *
 * `npm run test:soak` repeats this at scale (test/soak/durability.test.ts).
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { Agent } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HistoryStore } from '../../src/core/metrics/historyStore';
import { mixedRequest, raw, runLoad, spawnTs } from '../fixtures/reliability';
import { startUpstream, type Upstream } from '../fixtures/upstream';
import { checkHistory, killWhileRecording } from '../soak/durability-lib';

describe('history durability', { timeout: 120_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tokenmeter-durable-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('SIGKILL while recording, three times in one folder: every acknowledged record survives, nothing corrupt', async () => {
    const killed = await killWhileRecording(path.join(dir, 'kill'), 3, 15);
    const check = await checkHistory(path.join(dir, 'kill'), killed);
    assert.equal(check.lost, 0, 'acknowledged records lost');
    assert.ok(check.records.length >= [...killed.acked.values()].reduce((a, b) => a + b, 0));
  });

  describe('the CLI', () => {
    let upstream: Upstream;
    before(async () => {
      upstream = await startUpstream();
    });
    after(async () => {
      await upstream.close();
    });

    it('SIGKILL at an interactive pace: every answered request is already in the history', async () => {
      const dataDir = path.join(dir, 'cli-kill');
      const config = path.join(dir, 'cli-kill.json');
      await fs.writeFile(config, JSON.stringify({ providers: { openai: { baseUrl: upstream.url } } }));
      const cli = spawnTs('src/cli.ts', ['--port', '0', '--config', config, '--data-dir', dataDir]);
      try {
        const [, url] = await cli.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
        upstream.setDefault({});
        // A person's pace (a request every few hundred ms, longer than the write interval): the
        // kill comes 20 ms after the last answer, well inside the 250 ms a batch may wait.
        for (let i = 0; i < 6; i++) {
          const res = await raw(url, '/openai/v1/chat/completions', { body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: `hi ${i}` }] }) });
          assert.equal(res.status, 200);
          await new Promise((r) => setTimeout(r, i < 5 ? 300 : 20));
        }
        cli.kill('SIGKILL');
        await cli.exited;
        const store = new HistoryStore({ dir: dataDir, logger: { warn: (m) => assert.fail(m) } });
        const loaded = await store.load();
        assert.equal(loaded.records, 6, 'records in the history after the kill');
      } finally {
        cli.kill('SIGKILL');
        await cli.exited;
      }
    });

    it('SIGTERM under load: exits 0 and every answered request is in the history', async () => {
      const dataDir = path.join(dir, 'cli-term');
      const config = path.join(dir, 'cli-term.json');
      await fs.writeFile(config, JSON.stringify({ providers: Object.fromEntries(['openai', 'anthropic', 'gemini'].map((n) => [n, { baseUrl: upstream.url }])) }));
      const cli = spawnTs('src/cli.ts', ['--port', '0', '--config', config, '--data-dir', dataDir]);
      const agent = new Agent({ keepAlive: true, maxSockets: 16 });
      try {
        const [, url] = await cli.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
        upstream.setDefault({ delayMs: 1 });
        // Requests keep coming while the signal arrives: the ones in flight must finish and count.
        let stopAt = Infinity;
        const load = runLoad(url, 400, 16, mixedRequest, { agent, stop: () => Date.now() > stopAt });
        await new Promise((r) => setTimeout(r, 600));
        cli.kill('SIGTERM');
        stopAt = Date.now();
        const result = await load;
        const { code } = await cli.exited;
        assert.equal(code, 0, `exit code; stderr: ${cli.stderr()}`);
        const answered = result.byStatus[200] ?? 0;
        assert.ok(answered > 20, `${answered} answered`);
        const store = new HistoryStore({ dir: dataDir, logger: { warn: (m) => assert.fail(m) } });
        const loaded = await store.load();
        assert.equal(loaded.skippedLines, 0);
        assert.ok(loaded.records >= answered, `${answered} requests answered, ${loaded.records} in the history: ${answered - loaded.records} lost`);
        assert.ok(loaded.records <= result.sent);
      } finally {
        agent.destroy();
        cli.kill('SIGKILL');
        await cli.exited;
      }
    });
  });
});
