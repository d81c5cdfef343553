// How long the extension bundle takes to evaluate (what VS Code waits for before activate()), in
// plain Node with a stand-in for the `vscode` module; prints the median of N fresh processes.
//   node esbuild.mjs --production --outdir=/tmp/tm && node bench/lib/loadtime.mjs /tmp/tm/extension.js [N=7]
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const [bundle, runsArg] = process.argv.slice(2);
if (process.env.LOADTIME_CHILD) {
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    return request === 'vscode' ? process.env.LOADTIME_STUB : resolve.call(this, request, ...rest);
  };
  const t0 = process.hrtime.bigint();
  createRequire(import.meta.url)(path.resolve(bundle));
  process.stdout.write(String(Number(process.hrtime.bigint() - t0) / 1e6));
} else {
  const stub = path.join(os.tmpdir(), 'tokenmeter-vscode-stub.cjs');
  writeFileSync(stub, 'module.exports = new Proxy({}, { get: () => new Proxy(function () {}, { get: () => ({}) }) });\n');
  const runs = Number(runsArg ?? 7);
  const ms = [];
  for (let i = 0; i < runs; i++) {
    ms.push(Number(execFileSync(process.execPath, [fileURLToPath(import.meta.url), bundle], { env: { ...process.env, LOADTIME_CHILD: '1', LOADTIME_STUB: stub }, encoding: 'utf8' })));
  }
  ms.sort((a, b) => a - b);
  console.log(`${bundle}: evaluated in ${ms[Math.floor(runs / 2)].toFixed(1)} ms (median of ${runs}; ${ms[0].toFixed(1)}–${ms[runs - 1].toFixed(1)})`);
}
