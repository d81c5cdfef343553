// Builds the three bundles: the extension (node, cjs, `vscode` external), the standalone CLI
// (node) and the webview (browser). `--watch` rebuilds on change, `--production` minifies,
// `--only=NAME` builds one of them (extension | cli | webview | tests), `--outdir=DIR` writes
// into DIR instead of dist/ (the bundle-size test builds there).
import * as esbuild from 'esbuild';

const args = process.argv.slice(2);
const production = args.includes('--production');
const watch = args.includes('--watch');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const outdir = args.find((a) => a.startsWith('--outdir='))?.slice('--outdir='.length);

const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  sourcesContent: false,
  logLevel: 'warning',
  // @datadog/sketches-js requires protobufjs only inside toProto()/fromProto(), which we never
  // call; it is not a dependency of ours.
  external: ['protobufjs/minimal'],
};

const builds = {
  extension: { ...node, entryPoints: ['src/vscode/extension.ts'], outfile: 'dist/extension.js', external: ['vscode', 'protobufjs/minimal'] },
  cli: { ...node, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  webview: {
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    sourcemap: !production,
    minify: production,
    sourcesContent: false,
    logLevel: 'warning',
    entryPoints: ['webview/main.ts'],
    outfile: 'dist/webview/main.js',
  },
  // The integration suite runs inside the VS Code extension host; mocha stays external so the
  // runner and the suites share one instance.
  tests: {
    ...node,
    sourcemap: true,
    minify: false,
    entryPoints: ['test/integration/index.ts'],
    outfile: 'dist-test/integration/index.js',
    external: ['vscode', 'mocha', 'protobufjs/minimal'],
  },
};

const selected = only ? [only] : ['extension', 'cli', 'webview'];
if (outdir) {
  for (const b of Object.values(builds)) {
    b.outfile = `${outdir}/${b.outfile.replace(/^dist(-test)?\//, '')}`;
  }
}
if (production && !outdir) {
  // A production build has no source maps: drop a development build's, so none gets packaged.
  const { existsSync, rmSync, readdirSync } = await import('node:fs');
  for (const dir of ['dist', 'dist/webview'].filter((d) => existsSync(d))) {
    for (const f of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.map'))) {
      rmSync(`${dir}/${f.name}`);
    }
  }
}
for (const name of selected) {
  if (!builds[name]) {
    console.error(`esbuild.mjs: unknown build "${name}" (one of ${Object.keys(builds).join(', ')})`);
    process.exit(2);
  }
}

const contexts = await Promise.all(selected.map((name) => esbuild.context(builds[name])));
if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
  console.log(`esbuild: watching ${selected.join(', ')}`);
} else {
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
}
