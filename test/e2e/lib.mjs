/* global requestAnimationFrame -- evaluated in the page, not in Node */
// Shared by the end-to-end phases: named checks with pass/fail counts, requests through the proxy,
// and the console watch that catches Content Security Policy violations.
import { performance } from 'node:perf_hooks';

export const results = { passed: 0, failed: 0 };
let broken = false;

/** A new phase: its checks run even if an earlier phase failed. */
export function phase(title) {
  broken = false;
  console.log(`\n${title}`);
}

/** One named check; after a failure the rest of the phase is skipped (they depend on each other). */
export async function check(name, fn) {
  if (broken) {
    console.log(`  - ${name} (skipped)`);
    return undefined;
  }
  const started = performance.now();
  try {
    const value = await fn();
    results.passed++;
    console.log(`  ✔ ${name} (${Math.round(performance.now() - started)} ms)`);
    return value;
  } catch (err) {
    results.failed++;
    broken = true;
    console.log(`  ✖ ${name}\n    ${(err.stack ?? String(err)).split('\n').join('\n    ')}`);
    return undefined;
  }
}

export const phaseFailed = () => broken;

export function assert(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

/** The number in "19 tok/s", "1,204 tok/s" or "7.5 tok/s ×2"; null for "—". */
export function tokPerSec(text) {
  const m = /([\d][\d,]*(?:\.\d+)?)\s*tok\/s/.exec(text ?? '');
  return m ? Number(m[1].replace(/,/g, '')) : null;
}

export function post(url, body, headers = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-e2e', 'x-api-key': 'sk-ant-e2e', 'anthropic-version': '2023-06-01', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
}

/** Two streams at once, OpenAI and Anthropic, slow enough to be watched: resolves with both bodies. */
export function twoStreams(upstream, proxyUrl, models, { events = 30, delayMs = 100 } = {}) {
  const chunks = Array.from({ length: events }, (_, i) => ` word${i}`);
  upstream.next({ chunks, firstDelayMs: 150, delayMs, usage: { input: 120, output: events } });
  upstream.next({ chunks, firstDelayMs: 250, delayMs, usage: { input: 80, output: events, cacheRead: 400 } });
  return Promise.all([
    post(`${proxyUrl}/openai/v1/chat/completions`, { model: models.openai, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Hello' }] }).then((r) => r.text()),
    post(`${proxyUrl}/anthropic/v1/messages`, { model: models.anthropic, stream: true, max_tokens: 100, messages: [{ role: 'user', content: 'Hello' }] }).then((r) => r.text()),
  ]);
}

/** A 429 from Anthropic with subscription utilisation headers (5h nearly used up, 7d not). */
export function throttleScript() {
  const now = Math.floor(Date.now() / 1000);
  return {
    status: 429,
    rawBody: '{"type":"error","error":{"type":"rate_limit_error","message":"Number of requests has exceeded your rate limit"}}',
    headers: {
      'content-type': 'application/json',
      'retry-after': '2',
      'anthropic-ratelimit-unified-status': 'rejected',
      'anthropic-ratelimit-unified-5h-utilization': '0.97',
      'anthropic-ratelimit-unified-5h-reset': String(now + 2 * 3600 + 600),
      'anthropic-ratelimit-unified-7d-utilization': '0.42',
      'anthropic-ratelimit-unified-7d-reset': String(now + 3 * 86400),
    },
  };
}

/**
 * Collects Content Security Policy violations reported on the console of a page and its frames
 * (webviews included): the panel must run under its strict CSP without one.
 */
export function watchCsp(page, { ignore = [] } = {}) {
  const violations = [];
  page.on('console', (msg) => {
    const text = msg.text();
    if (/Content Security Policy|Refused to (apply|load|execute|connect)/i.test(text) && !ignore.some((re) => re.test(text))) {
      violations.push(`${msg.location()?.url ?? ''}: ${text}`);
    }
  });
  return violations;
}

/** Resolves after two animation frames in `frame`: what was rendered has been laid out and painted. */
export function settled(frame) {
  return frame.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(undefined)))));
}
