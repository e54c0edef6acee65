#!/usr/bin/env bash
# Builds telemetrygen, the OpenTelemetry Collector's load generator
# (github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen v0.161.0, the newest
# version the Go module proxy serves), as a tool of a throwaway module under
# target/interop/telemetrygen-build, into target/interop/telemetrygen, unless it is there
# already; prints its absolute path (VIEWER_TEST_TELEMETRYGEN for viewer/tests/interop_telemetrygen.rs).
# Without Go it says so on stderr and prints nothing: the test then says it is skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=v0.161.0
module=github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen
if ! command -v go >/dev/null 2>&1; then
  echo "scripts/interop/telemetrygen.sh: no Go on this machine, telemetrygen is not built" >&2
  exit 0
fi
bin=target/interop/telemetrygen
stamp=target/interop/telemetrygen.version
if [ ! -x "$bin" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$version" ]; then
  echo "== building telemetrygen $version ($module)" >&2
  mkdir -p target/interop/telemetrygen-build
  (
    cd target/interop/telemetrygen-build
    [ -f go.mod ] || go mod init telemetrygenbuild >&2
    GOFLAGS=-mod=mod go get -tool "$module@$version" >&2
    GOFLAGS=-mod=mod nice -n 10 go build -o ../telemetrygen "$module" >&2
  )
  echo "$version" >"$stamp"
fi
echo "$PWD/$bin"
