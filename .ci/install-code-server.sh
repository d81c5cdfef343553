#!/usr/bin/env bash
# Installs code-server 4.100.3 (= VS Code 1.100.3, the newest that accepts Node 20) from npm into
# ~/.cache/tokenmeter/code-server, following ../shared/notes/vscode-in-ci.md. npm's own install
# path runs a postinstall that downloads ripgrep, which these machines cannot reach, so its steps
# are done by hand here. Idempotent: a finished install is marked and reused.
set -euo pipefail
VERSION=4.100.3
ROOT="${TOKENMETER_CACHE:-$HOME/.cache/tokenmeter}/code-server-$VERSION"
if [ -f "$ROOT/.done" ]; then echo "$ROOT/package"; exit 0; fi

need_apt=()
command -v rg >/dev/null || need_apt+=(ripgrep)
command -v chromium >/dev/null || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${need_apt[@]}" >&2
fi

rm -rf "$ROOT" && mkdir -p "$ROOT"
cd "$ROOT"
npm pack --silent "code-server@$VERSION" >&2
tar xzf "code-server-$VERSION.tgz" && rm "code-server-$VERSION.tgz"
cd package
npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2
npm rebuild argon2 --build-from-source --loglevel=error >&2
cd lib/vscode
npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2
mkdir -p node_modules/@vscode/ripgrep/bin
cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
npm_config_yes=true npm rebuild --loglevel=error >&2
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
(cd extensions && npm install --omit=dev --no-audit --no-fund --loglevel=error >&2)
cd "$ROOT"
node package/out/node/entry.js --version >&2
touch "$ROOT/.done"
echo "$ROOT/package"
