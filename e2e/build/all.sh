#!/usr/bin/env bash
# Builds everything the e2e harness needs that is missing (each step is cached and fast when
# done): the Maven jars and model repository, the control plane (build.sh), the node agent,
# grpcurl, helm/kubectl and the Python venv (tritonclient, onnxruntime).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
log() { printf '[e2e build] %s\n' "$*" >&2; }

outputs=(inference-service/target/quarkus-app/quarkus-run.jar router-service/target/quarkus-app/quarkus-run.jar
         model-registry/target/quarkus-app/quarkus-run.jar maasctl/target/maasctl.jar
         models/target/repository/minilm/1/model.onnx)
missing() { local f; for f in "${outputs[@]}"; do [[ -e $f ]] || return 0; done; return 1; }
if missing; then
  # A Maven build of this checkout already running (e.g. bin/test's) will produce them.
  for _ in $(seq 1 180); do
    missing || break
    pgrep -f "maven.multiModuleProjectDirectory=$repo " >/dev/null || break
    sleep 5
  done
  if missing; then
    log "building the jars (./mvnw -B -ntp install -DskipTests)"
    ./mvnw -B -ntp -q install -DskipTests
  fi
fi

# One control-plane build at a time per cache (a second run waits for the first).
cache=${MAAS_E2E_CACHE:-$HOME/.cache/maas-e2e}
mkdir -p "$cache"
flock "$cache/.build.lock" e2e/build/build.sh >/dev/null
flock "$cache/.build.lock" e2e/agent/build.sh >/dev/null
flock "$cache/.build.lock" e2e/build/grpcurl.sh >/dev/null
helm/tests/ensure-tools.sh >/dev/null
tools/python/setup.sh
