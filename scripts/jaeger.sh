#!/usr/bin/env bash
# Builds Jaeger v2 (github.com/jaegertracing/jaeger/cmd/jaeger, $version below) from the Go
# module proxy into target/jaeger-tool/$version/jaeger, as a tool of a throwaway module, unless it
# is there already; prints its path. Used by scripts/test.sh and bench/jaeger.sh. Fails when Go is
# missing.
#
# Why v1.75.0: it is the approved Jaeger release. The proxy also serves v1.76.0 (which this script
# built before), but that is not an approved release, so it is not used (issue 20, part 5).
# The version is part of the build's path: a machine holding another version's build (the old
# target/jaeger-tool/jaeger) builds this one rather than reusing it.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v1.75.0
module=github.com/jaegertracing/jaeger/cmd/jaeger
dir=target/jaeger-tool/$version
jaeger=$dir/jaeger
if [ ! -x "$jaeger" ]; then
  command -v go >/dev/null 2>&1 || { echo "scripts/jaeger.sh: Go is needed to build Jaeger" >&2; exit 1; }
  echo "== building Jaeger $version ($module)" >&2
  mkdir -p "$dir"
  (
    cd "$dir"
    [ -f go.mod ] || go mod init jaegertool >/dev/null 2>&1
    go get -tool "$module@$version" >&2
    go build -o jaeger.tmp "$module" >&2
    mv jaeger.tmp jaeger
  )
fi
echo "$PWD/$jaeger"
