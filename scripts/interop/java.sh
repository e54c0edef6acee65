#!/usr/bin/env bash
# The interoperability matrix's Java client (viewer/tests/interop_java.rs): the OpenTelemetry
# Java agent, at the version viewer/tests/interop/java/pom.xml pins, fetched from Maven Central
# into target/interop/java/ (again only when the pom changes), attached to the JDK-only HTTP
# server viewer/tests/interop/java/Server.java, compiled there. Prints the path of a launcher,
# target/interop/java/server TRANSPORT, which runs the server under the agent (configured by the
# OTEL_* environment). Without java, javac or mvn it says so on stderr and prints nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in java javac mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "scripts/interop/java.sh: no $tool, so no Java client (the test will say it is skipped)" >&2
    exit 0
  fi
done
src=viewer/tests/interop/java
dir=target/interop/java
mkdir -p "$dir/classes"
if [ ! -f "$dir/opentelemetry-javaagent.jar" ] || ! cmp -s "$src/pom.xml" "$dir/pom.xml"; then
  echo "== fetching the OpenTelemetry Java agent ($src/pom.xml)" >&2
  rm -f "$dir/opentelemetry-javaagent.jar" "$dir/pom.xml"
  mvn -q -B -Dstyle.color=never -f "$src/pom.xml" dependency:copy-dependencies -DexcludeTransitive=true \
    -Dmdep.stripVersion=true -DoutputDirectory="$PWD/$dir" >&2
  cp "$src/pom.xml" "$dir/pom.xml"
fi
if [ ! -f "$dir/classes/Server.class" ] || [ "$src/Server.java" -nt "$dir/classes/Server.class" ]; then
  echo "== compiling $src/Server.java" >&2
  javac -d "$dir/classes" "$src/Server.java" >&2
fi
launcher="$PWD/$dir/server"
cat >"$launcher" <<LAUNCHER
#!/bin/sh
# Made by scripts/interop/java.sh: Server.java under the OpenTelemetry Java agent.
exec java -XX:TieredStopAtLevel=1 -javaagent:"$PWD/$dir/opentelemetry-javaagent.jar" \\
  -cp "$PWD/$dir/classes" Server "\$@"
LAUNCHER
chmod +x "$launcher"
echo "$launcher"
