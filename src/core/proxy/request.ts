import { countTools } from './tools';

/** What the proxy reads from a client's request body: never changes it. */
export interface RequestInfo {
  model: string;
  streaming: boolean;
  /** Characters of prompt text, for an input estimate when the provider sends no usage. */
  inputChars: number;
  /** Tool uses and results of the request's newest turn. */
  toolUses: number;
  toolResults: number;
  /** The parsed body, when it is a JSON object. */
  json: Record<string, unknown> | null;
}

const PROMPT_KEYS = ['messages', 'system', 'input', 'prompt', 'instructions', 'contents'];

export function readRequest(body: Buffer, contentType: string | undefined): RequestInfo {
  const info: RequestInfo = { model: 'unknown', streaming: false, inputChars: 0, toolUses: 0, toolResults: 0, json: null };
  // Some clients label JSON as text/plain; uploads (multipart, audio) are never parsed.
  const type = (contentType ?? '').toLowerCase();
  if (body.length === 0 || type.startsWith('multipart/') || type.startsWith('audio/') || type.includes('octet-stream') || !startsLikeObject(body)) {
    return info;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return info; // forwarded as is; the upstream answers the client about its JSON
  }
  if (typeof parsed !== 'object' || parsed === null) {
    return info;
  }
  const o = parsed as Record<string, unknown>;
  info.json = o;
  if (typeof o.model === 'string' && o.model.length > 0) {
    info.model = o.model;
  }
  info.streaming = o.stream === true;
  Object.assign(info, countTools(o));
  for (const key of PROMPT_KEYS) {
    info.inputChars += stringChars(o[key], 0);
  }
  return info;
}

/** Total length of the strings in a JSON value (bounded depth: prompts are shallow). */
function stringChars(v: unknown, depth: number): number {
  if (typeof v === 'string') {
    return v.length;
  }
  if (depth > 8 || typeof v !== 'object' || v === null) {
    return 0;
  }
  let n = 0;
  for (const item of Array.isArray(v) ? v : Object.values(v)) {
    n += stringChars(item, depth + 1);
  }
  return n;
}

function startsLikeObject(body: Buffer): boolean {
  for (let i = 0; i < body.length && i < 64; i++) {
    const c = body[i];
    if (c === 0x7b) {
      return true; // '{'
    }
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09 && c !== 0xef && c !== 0xbb && c !== 0xbf) {
      return false; // whitespace and a UTF-8 BOM may come first
    }
  }
  return false;
}
