#!/usr/bin/env bash
# Pre-warms the cache of the Java-based local services (CI runs it before `npm test`): resolves the
# Apache Kafka jars and the OpenSearch distribution from Maven Central with mvn, with progress, into
# ${XDG_CACHE_HOME:-$HOME/.cache}/streaming-etl/. A no-op when they are cached. Without Java or
# Maven it says so and exits 0 (tests that need them skip), or 1 with ETL_REQUIRE_JAVA_SERVICES=1.
# Flags: --kafka, --opensearch (default both), --help.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx local/prefetch.ts "$@"
