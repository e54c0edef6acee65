#!/usr/bin/env bash
# The interoperability matrix's Node.js client (viewer/tests/interop_node.rs): installs the
# OpenTelemetry Node.js SDK from npm (versions pinned by viewer/tests/interop/node/package-lock.json)
# into target/interop/node/ and prints the path of the export.mjs to run there. Without node or
# npm it prints nothing (the test then says it is skipped; under CI it fails). Logs go to stderr.
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "no $tool: the Node.js interop client is not set up" >&2
    exit 0
  fi
done

src=viewer/tests/interop/node
dir=target/interop/node
mkdir -p "$dir"
# npm ci again only when the lockfile changed since the last install (npm writes its own copy
# to node_modules/.package-lock.json; ours is kept beside it as installed.lock).
if [ ! -d "$dir/node_modules" ] || ! cmp -s "$src/package-lock.json" "$dir/installed.lock"; then
  echo "== npm ci in $dir" >&2
  cp "$src/package.json" "$src/package-lock.json" "$dir/"
  rm -f "$dir/installed.lock"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
  cp "$src/package-lock.json" "$dir/installed.lock"
fi
cp "$src/package.json" "$src/package-lock.json" "$src/export.mjs" "$dir/"
echo "$PWD/$dir/export.mjs"
