// A diagnostic arm (`--bare`), not a product: the least a Node proxy can do — node:http in,
// undici dispatch() out, bytes relayed with backpressure, no routing checks, no measurement. What
// Tokenmeter adds on top of this is the cost of its checks and its measurement; what this adds to
// the direct floor is the cost of one more Node HTTP hop on this machine.
//   node bench/lib/bare-relay.mjs PORT UPSTREAM_ORIGIN
import { createServer } from 'node:http';
import { Agent } from 'undici';

const [port, upstream] = process.argv.slice(2);
const agent = new Agent({ keepAliveTimeout: 30_000, headersTimeout: 600_000, bodyTimeout: 600_000 });
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length']);

const server = createServer((req, res) => {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (!HOP.has(k)) {
        headers[k] = v;
      }
    }
    // /openai/v1/… and /anthropic/v1/… as Tokenmeter routes them
    const path = req.url.replace(/^\/(openai|anthropic)(?=\/)/, '');
    let controller = null;
    const resume = () => controller?.resume();
    res.once('close', () => {
      if (!res.writableFinished) {
        controller?.abort(new Error('client gone'));
      }
    });
    agent.dispatch(
      { origin: upstream, path, method: req.method, headers, body: parts.length ? Buffer.concat(parts) : null },
      {
        onRequestStart(c) {
          controller = c;
        },
        onResponseStart(_c, status, h) {
          const out = {};
          for (const [k, v] of Object.entries(h)) {
            if (!HOP.has(k) || k === 'content-length') {
              out[k] = v;
            }
          }
          res.writeHead(status, out);
        },
        onResponseData(c, chunk) {
          if (!res.write(chunk)) {
            c.pause();
            res.once('drain', resume);
          }
        },
        onResponseEnd() {
          res.end();
        },
        onResponseError(_c, err) {
          if (res.headersSent) {
            res.destroy();
          } else {
            res.writeHead(502).end(String(err));
          }
        },
      },
    );
  });
});
server.requestTimeout = 0;
server.keepAliveTimeout = 30_000;
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
