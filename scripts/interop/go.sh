#!/usr/bin/env bash
# Builds the Go SDK client of the interoperability matrix (viewer/tests/interop/go: the official
# OpenTelemetry Go SDK v1.47.0 and its OTLP exporters, from the Go module proxy) into
# target/interop/go-client, unless the binary is newer than its sources; prints its absolute path
# (VIEWER_TEST_GO for viewer/tests/interop_go.rs). Without Go it says so on stderr and prints
# nothing: the test then says it is skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v go >/dev/null 2>&1; then
  echo "scripts/interop/go.sh: no Go on this machine, the Go client is not built" >&2
  exit 0
fi
src=viewer/tests/interop/go
bin=target/interop/go-client
if [ ! -x "$bin" ] || [ -n "$(find "$src" -newer "$bin" -type f | head -n 1)" ]; then
  echo "== building the Go SDK client ($src)" >&2
  mkdir -p target/interop
  out="$PWD/$bin"
  (cd "$src" && GOFLAGS=-mod=mod nice -n 10 go build -o "$out" .) >&2
fi
echo "$PWD/$bin"
