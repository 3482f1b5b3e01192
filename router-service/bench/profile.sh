#!/usr/bin/env bash
# Where the router's time and bytes go: one inference process (simple and MiniLM), one router in
# front of it, closed-loop ModelInfer (RouterBench) at each concurrency, and for each cell
#   - the router's CPU per call, split by thread kind (event loops, GC, the rest; JIT compilers and
#     JFR's own threads left out), from /proc, and its CPU per second while idle (nothing calls it);
#   - a JFR recording (CPU samples, allocation samples, per-thread allocated bytes) summarised by
#     jfr_summary.py: KB allocated per call, the hottest methods, the allocating classes and sites.
# Needs the built jars (./mvnw package -DskipTests: inference-service, router-service, models) and
# ./mvnw test-compile in router-service (RouterBench).
# Env: MODELS="simple minilm" CONCURRENCY="1 8" WARMUP=15 DURATION=15 IDLE=10 TOP=20
#      JAR=<router quarkus-run.jar to profile; default this checkout's>  KEEP=1 keeps the work folder
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
MODELS=${MODELS:-"simple minilm"}
CONCURRENCY=${CONCURRENCY:-"1 8"}
WARMUP=${WARMUP:-15}
DURATION=${DURATION:-15}
IDLE=${IDLE:-10}
TOP=${TOP:-20}
JAR=${JAR:-router-service/target/quarkus-app/quarkus-run.jar}
JAVA=${JAVA:-java}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/maas-router-profile.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
            [[ -n ${KEEP:-} ]] && echo "kept $WORK" >&2 || rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
CP="router-service/target/test-classes:router-service/target/quarkus-app/lib/main/*:router-service/target/quarkus-app/lib/boot/*"

for m in $MODELS; do
  mkdir -p "$WORK/repo/$m/1"
  ln -s "$ROOT/models/target/repository/$m/1/model.onnx" "$WORK/repo/$m/1/model.onnx"
done
# simple without dynamic batching (the hop, not the batcher's delay); MiniLM as shipped
[[ " $MODELS " == *" simple "* ]] && printf "max_batch_size: 64\n" >"$WORK/repo/simple/config.pbtxt"
[[ " $MODELS " == *" minilm "* ]] && cp models/target/repository/minilm/config.pbtxt "$WORK/repo/minilm/"
POD_GRPC=$(free_port) POD_HTTP=$(free_port) GRPC=$(free_port) HTTP=$(free_port)
MAAS_GRPC_PORT=$POD_GRPC MAAS_HTTP_PORT=$POD_HTTP MAAS_ONNX_INTRA_OP_THREADS=1 ORT_DISABLE_TELEMETRY=1 \
  $JAVA -Djava.io.tmpdir="$WORK" -jar inference-service/target/quarkus-app/quarkus-run.jar \
  --model-repository "$WORK/repo" >"$WORK/pod.log" 2>&1 &
PIDS+=($!)
ENDPOINTS=$(for m in $MODELS; do printf '%s:1=127.0.0.1:%s/%s;' "$m" "$POD_GRPC" "$POD_HTTP"; done)
MAAS_GRPC_PORT=$GRPC MAAS_HTTP_PORT=$HTTP MAAS_ENDPOINTS_SOURCE=static MAAS_STATIC_ENDPOINTS="${ENDPOINTS%;}" \
  $JAVA -XX:+UnlockDiagnosticVMOptions -XX:+DebugNonSafepoints -jar "$JAR" >"$WORK/router.log" 2>&1 &
PIDS+=($!)
ROUTER=$!
for i in $(seq 1 240); do
  curl -sf "http://127.0.0.1:$POD_HTTP/v2/health/ready" >/dev/null 2>&1 \
    && curl -sf "http://127.0.0.1:$HTTP/q/health/ready" >/dev/null 2>&1 && break
  sleep 0.5
done

# clock ticks per thread kind: loops, gc, other (JIT compilers and JFR's threads left out)
ticks() {
  local t c loops=0 gc=0 other=0 v
  for t in /proc/"$ROUTER"/task/*; do
    c=$(cat "$t/comm" 2>/dev/null) || continue
    v=$(awk '{print $14 + $15}' "$t/stat" 2>/dev/null) || continue
    case $c in
      C[12]\ Compiler*|JFR*) ;;
      *EventLoop*|*eventloop*|*epoll*) loops=$((loops + v)) ;;
      GC\ Thread*|G1*|VM\ Thread) gc=$((gc + v)) ;;
      *) other=$((other + v)) ;;
    esac
  done
  echo "$loops $gc $other"
}
bench() { # MODEL C WARMUP DURATION -> RouterBench's line
  $JAVA -Dbench.model="$1" -Djava.util.logging.manager=org.jboss.logmanager.LogManager -cp "$CP" \
    io.maas.router.RouterBench "router-$1" "127.0.0.1:$GRPC" "$2" "$3" "$4" grpc
}
HZ=$(getconf CLK_TCK)
# JFR's profile settings with Java sampling every 1 ms and up to 1000 allocation samples/s, so a
# 15 s cell gives enough samples of a router that is mostly waiting
JFC="$WORK/profile.jfc"
sed -e '/"jdk.ExecutionSample"/,/<\/event>/s/10 ms/1 ms/' -e 's/300\/s/1000\/s/' \
    -e 's/default="high" label="Method Profiling"/default="max" label="Method Profiling"/' \
    -e 's/default="medium" label="Allocation Profiling"/default="high" label="Allocation Profiling"/' \
    "$(dirname "$(readlink -f "$(command -v "$JAVA")")")/../lib/jfr/profile.jfc" >"$JFC"
for m in $MODELS; do
  bench "$m" 8 "$WARMUP" 1 >/dev/null
done
read -r l0 g0 o0 < <(ticks); sleep "$IDLE"; read -r l1 g1 o1 < <(ticks)
printf 'idle: %.1f ms CPU per second (loops %.1f, gc %.1f, other %.1f)\n' \
  "$(echo "($l1 + $g1 + $o1 - $l0 - $g0 - $o0) * 1000 / $HZ / $IDLE" | bc -l)" \
  "$(echo "($l1 - $l0) * 1000 / $HZ / $IDLE" | bc -l)" "$(echo "($g1 - $g0) * 1000 / $HZ / $IDLE" | bc -l)" \
  "$(echo "($o1 - $o0) * 1000 / $HZ / $IDLE" | bc -l)"
for m in $MODELS; do
  for c in $CONCURRENCY; do
    rec="$WORK/$m-c$c.jfr"
    jcmd "$ROUTER" JFR.start name=cell settings="$JFC" >/dev/null
    read -r l0 g0 o0 < <(ticks)
    line=$(bench "$m" "$c" 0 "$DURATION")
    read -r l1 g1 o1 < <(ticks)
    jcmd "$ROUTER" JFR.stop name=cell filename="$rec" >/dev/null
    calls=$(sed -n 's/.*calls=\([0-9]*\).*/\1/p' <<<"$line")
    echo
    echo "== $m c=$c: $line"
    per() { echo "$1 * 1000000 / $HZ / $calls" | bc -l; }
    printf 'CPU per call: %.0f us (loops %.0f, gc %.0f, other %.0f)\n' "$(per $((l1 + g1 + o1 - l0 - g0 - o0)))" \
      "$(per $((l1 - l0)))" "$(per $((g1 - g0)))" "$(per $((o1 - o0)))"
    python3 router-service/bench/jfr_summary.py "$rec" "$calls" "$TOP"
  done
done
