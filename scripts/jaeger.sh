#!/usr/bin/env bash
# Builds Jaeger v2 (github.com/jaegertracing/jaeger/cmd/jaeger v1.76.0) from the Go module proxy
# into target/jaeger-tool/jaeger, as a tool of a throwaway module, unless it is there already;
# prints its path. Used by scripts/test.sh and bench/jaeger.sh. Fails when Go is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
jaeger=target/jaeger-tool/jaeger
if [ ! -x "$jaeger" ]; then
  command -v go >/dev/null 2>&1 || { echo "scripts/jaeger.sh: Go is needed to build Jaeger" >&2; exit 1; }
  echo "== building Jaeger v1.76.0 (github.com/jaegertracing/jaeger/cmd/jaeger)" >&2
  mkdir -p target/jaeger-tool
  (
    cd target/jaeger-tool
    [ -f go.mod ] || go mod init jaegertool >/dev/null 2>&1
    go get -tool github.com/jaegertracing/jaeger/cmd/jaeger@v1.76.0 >&2
    go build -o jaeger github.com/jaegertracing/jaeger/cmd/jaeger >&2
  )
fi
echo "$PWD/$jaeger"
