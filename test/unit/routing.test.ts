import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../../src/core/config';
import { decodableAcceptEncoding, upstreamRequestHeaders } from '../../src/core/proxy/headers';
import { buildProviderTable, ConfigError, resolveRoute } from '../../src/core/proxy/providers';

describe('provider routing', () => {
  const table = buildProviderTable({ local: { baseUrl: 'http://127.0.0.1:9999/base/', api: 'anthropic' } });

  it('routes /{provider}/rest to the base URL with the query kept', () => {
    const r = resolveRoute(table, '/openai/v1/chat/completions?x=1');
    assert.equal(r?.provider.name, 'openai');
    assert.equal(r?.upstreamPath, '/v1/chat/completions?x=1');
    const l = resolveRoute(table, '/LOCAL/v1/messages');
    assert.equal(l?.provider.baseUrl, 'http://127.0.0.1:9999/base');
    assert.equal(l?.provider.api, 'anthropic');
  });

  it('routes unprefixed Anthropic and OpenAI paths to the defaults', () => {
    assert.equal(resolveRoute(table, '/v1/messages?beta=true')?.provider.name, 'anthropic');
    assert.equal(resolveRoute(table, '/v1/messages?beta=true')?.upstreamPath, '/v1/messages?beta=true');
    assert.equal(resolveRoute(table, '/v1/responses')?.provider.name, 'openai');
    assert.equal(resolveRoute(table, '/v1/chat/completions')?.provider.name, 'openai');
    assert.equal(resolveRoute(table, '/v1/messages', { openai: 'openai', anthropic: 'local' })?.provider.name, 'local');
  });

  it('gives null for unknown providers', () => {
    assert.equal(resolveRoute(table, '/nope/v1/chat/completions'), null);
    assert.equal(resolveRoute(table, '/'), null);
  });

  it('rejects invalid provider entries with the reason', () => {
    assert.throws(() => buildProviderTable({ x: { baseUrl: 'not a url' } }), /not a URL/);
    assert.throws(() => buildProviderTable({ x: { baseUrl: 'ftp://h' } }), /http or https/);
    assert.throws(() => buildProviderTable({ 'bad name': { baseUrl: 'http://h' } }), ConfigError);
    assert.throws(() => buildProviderTable({ x: { baseUrl: 'http://h', api: 'soap' as never } }), /api must be/);
  });

  it('validates the CLI config shape', () => {
    assert.throws(() => validateConfig([], 'cfg'), /JSON object/);
    assert.throws(() => validateConfig({ provider: {} }, 'cfg'), /unknown key/);
    assert.throws(() => validateConfig({ defaults: { openai: 'ghost' } }, 'cfg'), /unknown provider "ghost"/);
    assert.deepEqual(validateConfig({ providers: { p: { baseUrl: 'http://h' } }, defaults: { openai: 'p' } }, 'cfg').defaults, {
      openai: 'p',
      anthropic: 'anthropic',
    });
  });
});

describe('forwarded headers', () => {
  it('drops hop-by-hop headers, those named in Connection, host and content-length', () => {
    const out = upstreamRequestHeaders({
      host: '127.0.0.1:8383',
      connection: 'keep-alive, x-drop-me',
      'x-drop-me': '1',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      'content-length': '10',
      authorization: 'Bearer k',
      'x-api-key': 'k2',
      'x-tokenmeter-metrics': '1',
    });
    assert.deepEqual(out, { authorization: 'Bearer k', 'x-api-key': 'k2' });
  });

  it('keeps only encodings the scanner can decode', () => {
    assert.equal(decodableAcceptEncoding('gzip, br, zstd'), 'gzip, br');
    assert.equal(decodableAcceptEncoding('zstd'), 'identity');
    assert.equal(decodableAcceptEncoding('gzip;q=1.0, zstd;q=0.9, *;q=0.1'), 'gzip;q=1.0, *;q=0.1');
  });
});

describe('injection settings', () => {
  it('accepts the VS Code setting names in the CLI config and rejects bad values with the reason', () => {
    const ok = validateConfig({ metricsInResponse: true, streamingMetricsIntervalMs: 250, metricsExclude: ['anthropic:*'] }, 'cfg');
    assert.deepEqual(ok.injection, { metricsInResponse: true, streamingMetrics: false, streamingIntervalMs: 250, exclude: ['anthropic:*'] });
    assert.throws(() => validateConfig({ streamingMetricsIntervalMs: 5 }, 'cfg'), /integer from 100 to 60000, got 5/);
    assert.throws(() => validateConfig({ metricsInResponse: 'yes' }, 'cfg'), /true or false, got "yes"/);
    assert.throws(() => validateConfig({ metricsExclude: 'openai' }, 'cfg'), /list of "provider:model" globs/);
    assert.deepEqual(validateConfig({ retry: { maxRetries: 3 } }, 'cfg').retry, { maxRetries: 3, maxWaitMs: 30_000 });
    assert.throws(() => validateConfig({ retry: { maxRetries: -1 } }, 'cfg'), /retry.maxRetries must be an integer from 0 to 10, got -1/);
  });
});
