import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { ApiFlavour } from '../metrics/record';

/** Which API format a client expects errors in, for requests the proxy answers itself. */
export function guessFlavour(path: string, headers: IncomingHttpHeaders): ApiFlavour {
  if (/^\/(anthropic\/)?v1\/messages/.test(path) || headers['anthropic-version'] !== undefined || headers['x-api-key'] !== undefined) {
    return 'anthropic';
  }
  return 'openai';
}

const anthropicType: Record<number, string> = {
  400: 'invalid_request_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  502: 'api_error',
  503: 'api_error',
  504: 'timeout_error',
};

/**
 * An error the proxy itself produces, in the client's API format so SDKs surface the message
 * (OpenAI `{"error":{...}}`, Anthropic `{"type":"error","error":{...}}`). Never includes request
 * headers, so no credential can leak through it.
 */
export function sendProxyError(res: ServerResponse, api: ApiFlavour, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = `Tokenmeter proxy: ${message}`;
  const body =
    api === 'anthropic'
      ? { type: 'error', error: { type: anthropicType[status] ?? 'api_error', message: text } }
      : { error: { message: text, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: `tokenmeter_${status}` } };
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), 'x-tokenmeter-error': '1' });
  res.end(json);
}
