#!/usr/bin/env bash
# Benchmark of a real registry process: writes/s and watch fan-out to 50 watchers.
# Usage: model-registry/bench.sh [h2|postgresql]   (build first: ../mvnw -pl model-registry -am package -DskipTests)
set -euo pipefail
cd "$(dirname "$0")"
kind="${1:-h2}"
data="$(mktemp -d)"
export MAAS_GRPC_PORT=18231 MAAS_HTTP_PORT=18230 MAAS_REGISTRY_DB_KIND="$kind" MAAS_REGISTRY_DATA_DIR="$data/registry"
if [[ "$kind" == postgresql ]]; then
  export MAAS_REGISTRY_DB_URL="$(../tools/ci/postgres.sh)" MAAS_REGISTRY_DB_USER=maas MAAS_REGISTRY_DB_PASSWORD=maas
fi
java -jar target/quarkus-app/quarkus-run.jar > "$data/registry.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/18231) 2>/dev/null && break; sleep 0.2; done
../mvnw -q -o -B dependency:build-classpath -Dmdep.outputFile="$data/cp.txt" -Dmdep.includeScope=test >/dev/null
java -cp "target/test-classes:target/classes:$(cat "$data/cp.txt")" io.maas.registry.bench.RegistryBenchmark 127.0.0.1:18231 "${@:2}"
