#!/usr/bin/env bash
# nodetool for the local Cassandra node (JMX on 127.0.0.1:7199, see jvm17.options; CASSANDRA_JMX_PORT for
# another node, e.g. one of make cluster's), e.g.:
#   infra/local/cassandra/nodetool.sh status | flush | tablestats smoke
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"
# shellcheck source=service.sh
source "$HERE/service.sh"
# Client-side JPMS flags (upstream jvm17-clients.options); the tool's FileUtils needs these three on Java 17.
exec "$JAVA" -Xmx256m -XX:+UseSerialGC \
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
  --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED \
  --add-opens=java.base/java.io=ALL-UNNAMED \
  "-Dlogback.configurationFile=$CASSANDRA_CONF_DIR/logback-tools.xml" \
  -cp "$CASSANDRA_CONF_DIR:$CASSANDRA_LIBS/*" \
  org.apache.cassandra.tools.NodeTool -h 127.0.0.1 -p "${CASSANDRA_JMX_PORT:-7199}" "$@"
