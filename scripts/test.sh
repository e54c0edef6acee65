#!/usr/bin/env bash
# Runs every test suite. Sets up what the suites need first, on a fresh machine too:
# a Python virtualenv with the official OpenTelemetry SDK (interoperability tests), and the
# demo's browser test tools (Debian's Chromium, playwright-core from npm), tmux for the
# terminal UI test, Jaeger v2 built with Go for the --jaeger test, and the interoperability
# matrix's clients (Go, Java agent, Node, telemetrygen: scripts/interop/).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/test-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.grpc" 2>/dev/null; then
  echo "== setting up $venv (OpenTelemetry Python SDK)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r viewer/tests/interop/python/requirements.txt
fi
export VIEWER_TEST_PYTHON="$PWD/$venv/bin/python"

if ! command -v tmux >/dev/null 2>&1; then
  echo "== installing tmux (the terminal UI test drives the viewer in it)"
  if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y tmux
fi

# Jaeger v2 for the --jaeger test, built with Go (scripts/jaeger.sh); without Go the test says
# it is skipped (under CI it fails).
if command -v go >/dev/null 2>&1; then
  VIEWER_TEST_JAEGER="$(scripts/jaeger.sh)"
  export VIEWER_TEST_JAEGER
else
  echo "== no Go: the Jaeger test will say it is skipped (under CI it fails)"
fi

# The interoperability matrix's clients (viewer/tests/interop_*.rs): scripts/interop/NAME.sh
# builds or installs one and prints the path the test runs (nothing, with a message, when this
# machine lacks its toolchain: the test then says it is skipped, and under CI it fails).
for script in scripts/interop/*.sh; do
  [ -x "$script" ] || continue
  name=$(basename "$script" .sh)
  var="VIEWER_TEST_$(echo "$name" | tr '[:lower:]-' '[:upper:]_')"
  echo "== setting up the $name client ($var)"
  value="$("$script")"
  export "$var=$value"
done

if [ -x demo-api/tests/browser/setup.sh ]; then
  echo "== setting up the browser test"
  demo-api/tests/browser/setup.sh
fi

echo "== cargo test --workspace"
cargo test --workspace "$@"
