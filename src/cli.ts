/**
 * Standalone entry: the same proxy and control API as the extension, without VS Code.
 * `tokenmeter [--port N] [--host ADDR] [--allow-host NAME]... [--config FILE] [--data-dir DIR]`
 */
import { parseArgs } from 'node:util';
import { version } from '../package.json';
import { loadConfigFile, type FileConfig } from './core/config';
import { LineBuffer } from './core/lineBuffer';
import { Tokenmeter } from './core/service';

const usage = `Usage: tokenmeter [options]
  --port N          port to listen on (default 8383; 0 picks a free port)
  --host ADDR       address to listen on (default 127.0.0.1; anything else exposes the proxy);
                    requests must address it by loopback, by this machine's addresses or name
                    (beyond loopback), or by a name given with --allow-host
  --allow-host NAME also accept requests addressed to NAME (e.g. host.docker.internal);
                    repeatable. Other names are refused (DNS rebinding protection)
  --config FILE     JSON config: {"providers": {NAME: {"baseUrl", "api"}}, "defaults": {...},
                    "metricsInResponse", "streamingMetrics", "streamingMetricsIntervalMs",
                    "metricsExclude", "retry": {"maxRetries", "maxWaitMs"},
                    "summaryEvery", "retentionDays"}
                    (the VS Code settings' names and meanings)
  --data-dir DIR    where request history is kept (JSON Lines, one file a day); without it,
                    history lives in memory only
  -h, --help        this text
  -v, --version     the version`;

function fail(message: string): never {
  process.stderr.write(`tokenmeter: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'allow-host': { type: 'string', multiple: true },
        config: { type: 'string' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
    }));
  } catch (err) {
    fail(`${(err as Error).message}\n${usage}`);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  if (values.version) {
    process.stdout.write(`${version}\n`);
    return;
  }
  const port = values.port === undefined ? 8383 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    fail(`--port must be an integer from 0 to 65535, got "${values.port}"`);
  }
  const host = values.host ?? '127.0.0.1';
  for (const name of values['allow-host'] ?? []) {
    // A name as it appears in a Host header, without its port: a DNS name, an IPv4 or a bracketed IPv6.
    if (!/^([a-z0-9-]+\.)*[a-z0-9-]+$|^\[[0-9a-f:.]+\]$/i.test(name)) {
      fail(`--allow-host takes a host name or address without a port (IPv6 in brackets), got "${name}"`);
    }
  }
  let config: FileConfig = {};
  if (values.config !== undefined) {
    try {
      config = loadConfigFile(values.config);
    } catch (err) {
      fail((err as Error).message);
    }
  }

  // One write per request line is a syscall on the relay's thread; lines are gathered (as bytes, off
  // the JS heap: see LineBuffer) and written together at most every 100 ms (and at exit), so a busy
  // proxy makes a handful of writes a second.
  const pendingLines = new LineBuffer(16 * 1024);
  let flushTimer: NodeJS.Timeout | null = null;
  const flushLines = (): void => {
    flushTimer = null;
    if (pendingLines.lines > 0) {
      process.stdout.write(pendingLines.take());
    }
  };
  const logLine = (line: string): void => {
    pendingLines.push(line);
    flushTimer ??= setTimeout(flushLines, 100);
  };

  let app: Tokenmeter;
  try {
    app = new Tokenmeter({
      host,
      allowedHosts: values['allow-host'],
      port,
      providers: config.providers,
      defaults: config.defaults,
      injection: config.injection,
      retry: config.retry,
      dataDir: values['data-dir'],
      retentionDays: config.retentionDays,
      summaryEvery: config.summaryEvery ?? 50,
      log: {
        info: (line) => logLine(line),
        warn: (message) => process.stderr.write(`tokenmeter: warning: ${message}\n`),
      },
      version,
    });
  } catch (err) {
    fail((err as Error).message);
  }
  let url: string;
  try {
    url = await app.start();
  } catch (err) {
    fail((err as Error).message);
  }
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
    process.stderr.write(`tokenmeter: warning: listening on ${host}, not loopback: other machines can use this proxy\n`);
  }
  process.stdout.write(
    `Tokenmeter ${version} proxy listening on ${url}\n` +
      `  Claude Code:  ANTHROPIC_BASE_URL=${url}\n` +
      `  OpenAI SDK:   OPENAI_BASE_URL=${url}/openai/v1\n` +
      `  Dashboard:    ${url}/_tokenmeter/\n` +
      `  Control API:  ${url}/_tokenmeter/api/requests\n`,
  );
  if (app.history) {
    void app.loadHistory().then((loaded) => {
      if (loaded) {
        const today = app.history!.totals('today').summary;
        process.stdout.write(`  History:      ${app.history!.dir} (${loaded.records} records; today ${today.requests} requests)\n`);
      }
    });
  }
  app.tracker.on('completed', (r) => {
    const tps = r.outputTokensPerSecond === null ? '—' : r.outputTokensPerSecond.toFixed(1);
    logLine(
      `${r.startedAt} ${r.provider}/${r.model} ${r.status ?? '—'}${r.errorCategory ? ` ${r.errorCategory}` : ''} ` +
        `ttft=${r.ttftMs ?? '—'}ms dur=${r.durationMs ?? '—'}ms in=${r.inputTokens ?? '—'} out=${r.outputTokens ?? '—'}${r.estimated ? '~' : ''} ${tps} tok/s`,
    );
  });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      process.exit(1); // a second signal: the user wants out now
    }
    stopping = true;
    process.stderr.write(`tokenmeter: ${signal}: letting requests in flight finish (up to 10 s)\n`);
    void app.close(10_000).then(() => {
      flushLines();
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

void main();
