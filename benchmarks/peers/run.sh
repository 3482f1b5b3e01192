#!/usr/bin/env bash
# Peer benchmark: our inference pod, our router -> pod and nginx grpc_pass -> pod against KServe's
# ModelServer and MLServer, all serving the same ONNX files, driven by Triton's perf_analyzer over gRPC
# in interleaved rounds. Prints medians, RSS and ratios. See docs/benchmarks.md, section "Peers".
#
#   benchmarks/peers/run.sh                # full run: 3 rounds, about 20-30 minutes on 2 cores
#   QUICK=1 benchmarks/peers/run.sh        # one round, short windows: 4-7 minutes (checks the setup)
#   benchmarks/peers/run.sh --smoke        # installs/checks the venvs and jars, starts nothing
#   benchmarks/peers/run.sh --help         # every flag of bench.py (e.g. --models simple --servers pod,kserve)
#
# Environment: MAAS_BENCH_CACHE (venvs, default ~/.cache/maas-bench), QUICK=1, PYTHON (python3 >= 3.9),
# KSERVE_VERSION, MLSERVER_VERSION, ORT_PY_VERSION (peers' pins), MAAS_BENCH_NO_APT=1 (never apt-get nginx).
# Never part of bin/test: it takes minutes and measures; it asserts nothing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bench_name=peers
source "$here/venvs.sh"

for arg in "$@"; do
  if [[ "$arg" == -h || "$arg" == --help ]]; then exec "$PYTHON" "$here/bench.py" --help; fi
done

command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set PYTHON)"
command -v java >/dev/null || die "java not found"

# Our services and the models, built (package only, nothing installed into ~/.m2) when missing.
inference_jar="$repo/inference-service/target/quarkus-app/quarkus-run.jar"
router_jar="$repo/router-service/target/quarkus-app/quarkus-run.jar"
models="$repo/models/target/repository"
if [[ ! -f "$inference_jar" || ! -f "$router_jar" || ! -f "$models/minilm/1/model.onnx" ]]; then
  say "building models, inference-service and router-service (./mvnw package -DskipTests) ..."
  (cd "$repo" && ./mvnw -B -ntp -q -pl models,inference-service,router-service -am package -DskipTests) \
    || die "build failed"
fi

# Only the venvs the run needs: --servers without kserve skips KServe's venv and the in-process row
# (which runs in it), without mlserver MLServer's; e.g. --servers router,nginx needs only perf_analyzer's.
servers="pod,router,nginx,kserve,mlserver" prev=""
for arg in "$@"; do
  [[ "$prev" == --servers ]] && servers="$arg"
  [[ "$arg" == --servers=* ]] && servers="${arg#--servers=}"
  prev="$arg"
done
venv_args=()
if [[ ",$servers," == *,kserve,* ]]; then
  venv_args+=(--kserve-venv "$(ensure_venv kserve)")
else
  venv_args+=(--no-inprocess)
fi
[[ ",$servers," == *,mlserver,* ]] && venv_args+=(--mlserver-venv "$(ensure_venv mlserver)")
perf_venv="$(ensure_venv perf)"
perf_analyzer_env "$perf_venv"

# nginx-light from Debian when nginx is missing (needs root and apt); otherwise nginx is skipped.
nginx_bin="$(command -v nginx || true)"
[[ -z "$nginx_bin" && -x /usr/sbin/nginx ]] && nginx_bin=/usr/sbin/nginx
if [[ -z "$nginx_bin" && " $* " != *" --smoke "* ]]; then
  if [[ "${MAAS_BENCH_NO_APT:-}" != 1 && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    say "nginx is not installed: installing Debian's nginx-light with apt-get (MAAS_BENCH_NO_APT=1 skips this)"
    if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; then
      nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
    else
      say "apt-get could not install nginx-light: the nginx row is skipped"
    fi
  else
    say "nginx is not installed and apt-get is unavailable (or not root, or MAAS_BENCH_NO_APT=1): the nginx row is skipped"
  fi
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/maas-peers.XXXXXX")"
keep="${MAAS_BENCH_KEEP:-}"
cleanup() { if [[ -n "$keep" ]]; then say "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

# Our JVMs run as the chart runs them: its javaOpts (and the inference pods' malloc arenas), with
# -XX:MaxRAM standing for the container memory limit (768Mi for inference, 1Gi for the router).
pod_java_opts="-XX:MaxRAM=768m $(chart_value inference javaOpts)"
router_java_opts="-XX:MaxRAM=1g $(chart_value router javaOpts)"
pod_malloc_arenas="$(chart_value inference mallocArenaMax)"

quick=()
if [[ "${QUICK:-}" == 1 ]]; then
  quick=(--rounds 1 --window-ms-simple 500 --window-ms-minilm 1500 --warmup-ms 500 --inprocess-seconds 1)
fi

# In the background so that a TERM or INT sent to this script reaches bench.py, which stops the servers.
"$PYTHON" "$here/bench.py" "${quick[@]}" \
  --workdir "$work" --model-repository "$models" \
  --inference-jar "$inference_jar" --router-jar "$router_jar" --nginx "$nginx_bin" \
  --pod-java-opts "$pod_java_opts" --router-java-opts "$router_java_opts" --pod-malloc-arenas "$pod_malloc_arenas" \
  "${venv_args[@]}" \
  --perf-venv "$perf_venv" --perf-analyzer "$PERF_ANALYZER" --perf-ld-path "$PERF_LD_PATH" \
  "$@" &
bench=$!
trap 'kill -TERM "$bench" 2>/dev/null' TERM INT
status=0
wait "$bench" || status=$?
if kill -0 "$bench" 2>/dev/null; then wait "$bench" || status=$?; fi  # interrupted wait: let it finish stopping
exit "$status"
