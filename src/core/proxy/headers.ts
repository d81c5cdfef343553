import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * Hop-by-hop headers are meaningful only for a single transport-level connection and must not be
 * forwarded by a proxy (RFC 9110 §7.6.1), nor may any header named in `Connection`. `host` is set
 * by the client library from the upstream URL, and `content-length` from the body we send.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The usual Connection values, parsed once: read only. */
const COMMON_CONNECTION = new Map(['keep-alive', 'close', 'Keep-Alive', 'Close'].map((v) => [v, new Set([v.toLowerCase()])]));

function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> | null {
  if (value === undefined) {
    return null;
  }
  const common = typeof value === 'string' ? COMMON_CONNECTION.get(value) : undefined;
  if (common !== undefined) {
    return common;
  }
  const joined = Array.isArray(value) ? value.join(',') : value;
  return new Set(joined.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
}

// The SSE/JSON scanner can decode these; zstd needs Node ≥ 22.15 (our floor is Node 20).
const DECODABLE = new Set(['gzip', 'x-gzip', 'deflate', 'br', 'identity', '*']);

/**
 * Keeps the client's accept-encoding preferences that the scanner can read, so the client still
 * gets an encoding it asked for and the proxy can decode a copy of it to measure.
 */
export function decodableAcceptEncoding(value: string): string {
  const kept = value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => DECODABLE.has(t.split(';')[0].trim().toLowerCase()));
  return kept.length > 0 ? kept.join(', ') : 'identity';
}

export function upstreamRequestHeaders(incoming: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = connectionTokens(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || HOP_BY_HOP.has(name) || named?.has(name) || name === 'host' || name === 'content-length') {
      continue;
    }
    if (name.startsWith('x-tokenmeter-')) {
      continue; // our own control headers are not the provider's business
    }
    out[name] = name === 'accept-encoding' && typeof value === 'string' ? decodableAcceptEncoding(value) : value;
  }
  return out;
}

export function clientResponseHeaders(upstream: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const named = connectionTokens(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || HOP_BY_HOP.has(name) || named?.has(name)) {
      continue;
    }
    out[name] = value;
  }
  return out;
}
