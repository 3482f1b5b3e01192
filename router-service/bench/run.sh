#!/usr/bin/env bash
# Router benchmark on the tiny `simple` model, one run, three paths to the same inference process:
#   direct  client -> inference-service
#   router  client -> router-service -> inference-service
#   nginx   client -> nginx grpc_pass -> inference-service
# Prints one line per path and concurrency, then the added latency table (markdown).
# Needs: ./mvnw install -DskipTests (inference-service, router-service, models) and ./mvnw test-compile in
# router-service; nginx with http_v2 (Debian: apt-get install nginx-light).
# The inference side serves `simple` without dynamic batching, so the batching delay does not blur the hop.
# Every path is first driven at c=8 for WARMUP seconds, so the JIT has compiled the router (and the
# inference service) before anything is measured; each measured run then warms 2 s more.
# PROTOCOLS="grpc rest" also measures the REST/JSON twin (HTTP/1.1 JSON; JDK client) the same three ways,
# nginx with proxy_pass and upstream keepalive.
# The VM this runs on is noisy, so the whole matrix runs ROUNDS times, paths interleaved, and the
# table gives medians.
# BASELINE_JAR=<another build's router-service/target/quarkus-app/quarkus-run.jar> adds a fourth path,
# "baseline": that router in front of the same pod, measured interleaved with the others, so a change
# to the router is compared with the build before it in the same run ("vs baseline" column).
# The router's (and baseline's, and for gRPC nginx's) CPU time per call (utime + stime of its threads but the JIT
# compilers, from /proc, warm-up included pro rata) is printed too: on a busy machine it is a steadier measure of the router's own cost than calls/s.
# MODELS="simple minilm" adds MiniLM fp32 (3 KB requests, 196 KB responses; gRPC only), served as shipped
# (dynamic batching on), to measure what large messages cost the router.
# Env: CONCURRENCY="1 8" PROTOCOLS=grpc MODELS=simple ROUNDS=3 WARMUP=10 DURATION=15 PORT_BASE=18600 BASELINE_JAR=
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CONCURRENCY=${CONCURRENCY:-"1 8"}
WARMUP=${WARMUP:-10}
DURATION=${DURATION:-15}
ROUNDS=${ROUNDS:-3}
PROTOCOLS=${PROTOCOLS:-grpc}
MODELS=${MODELS:-simple}
P=${PORT_BASE:-18600}
WORK=$(mktemp -d /tmp/maas-router-bench.XXXXXX)
mkdir -p "$WORK/repo" "$WORK/nginx/logs"
mkdir -p "$WORK/repo/simple/1"; ln -s "$ROOT/models/target/repository/simple/1/model.onnx" "$WORK/repo/simple/1/model.onnx"; printf "max_batch_size: 64\n" > "$WORK/repo/simple/config.pbtxt"
ENDPOINTS="simple:1=127.0.0.1:$((P+1))/$((P+2))"
if [[ " $MODELS " == *" minilm "* ]]; then
  mkdir -p "$WORK/repo/minilm/1"; ln -s "$ROOT/models/target/repository/minilm/1/model.onnx" "$WORK/repo/minilm/1/model.onnx"
  cp "$ROOT/models/target/repository/minilm/config.pbtxt" "$WORK/repo/minilm/"
  ENDPOINTS+=";minilm:1=127.0.0.1:$((P+1))/$((P+2))"
fi
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
JAVA=${JAVA:-java}

MAAS_GRPC_PORT=$((P+1)) MAAS_HTTP_PORT=$((P+2)) MAAS_ONNX_INTRA_OP_THREADS=1 ORT_DISABLE_TELEMETRY=1 \
  $JAVA -Djava.io.tmpdir="$WORK" -jar inference-service/target/quarkus-app/quarkus-run.jar \
  --model-repository "$WORK/repo" >"$WORK/inference.log" 2>&1 &
PIDS+=($!)
MAAS_GRPC_PORT=$((P+11)) MAAS_HTTP_PORT=$((P+12)) MAAS_ENDPOINTS_SOURCE=static \
  MAAS_STATIC_ENDPOINTS="$ENDPOINTS" \
  $JAVA -jar router-service/target/quarkus-app/quarkus-run.jar >"$WORK/router.log" 2>&1 &
PIDS+=($!)
ROUTER_PID=$!
if [[ -n ${BASELINE_JAR:-} ]]; then
  MAAS_GRPC_PORT=$((P+31)) MAAS_HTTP_PORT=$((P+32)) MAAS_ENDPOINTS_SOURCE=static \
    MAAS_STATIC_ENDPOINTS="$ENDPOINTS" \
    $JAVA -jar "$BASELINE_JAR" >"$WORK/baseline.log" 2>&1 &
  PIDS+=($!)
  BASELINE_PID=$!
fi
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes auto;
error_log $WORK/nginx/logs/error.log warn;
pid $WORK/nginx/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  upstream inference { server 127.0.0.1:$((P+1)); keepalive 64; }
  upstream inference_http { server 127.0.0.1:$((P+2)); keepalive 64; }
  server {
    listen 127.0.0.1:$((P+21)) http2;
    location / { grpc_pass grpc://inference; }
  }
  server {
    listen 127.0.0.1:$((P+22));
    location / { proxy_pass http://inference_http; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
NGINX_PID=$!

CP="router-service/target/test-classes:router-service/target/quarkus-app/lib/main/*:router-service/target/quarkus-app/lib/boot/*"
for i in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$((P+2))/v2/health/ready" >/dev/null 2>&1 \
    && curl -sf "http://127.0.0.1:$((P+12))/q/health/ready" >/dev/null 2>&1 \
    && { [[ -z ${BASELINE_JAR:-} ]] || curl -sf "http://127.0.0.1:$((P+32))/q/health/ready" >/dev/null 2>&1; } && break
  sleep 0.5
done
RESULTS="$WORK/results.tsv"
# utime + stime of every thread but the JIT compilers: a router still compiling would otherwise look slow
cpu_ticks() { # PID... (nginx: its master and workers)
  local t sum=0
  for t in $(for p in "$@"; do echo /proc/"$p"/task/*; done); do
    [[ $(cat "$t/comm" 2>/dev/null) == C[12]\ Compiler* ]] && continue
    sum=$((sum + $(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0)))
  done
  echo "$sum"
}
# protocol, path, address
PATHS=("grpc direct 127.0.0.1:$((P+1))" "grpc router 127.0.0.1:$((P+11))" "grpc nginx 127.0.0.1:$((P+21))"
       "rest direct 127.0.0.1:$((P+2))" "rest router 127.0.0.1:$((P+12))" "rest nginx 127.0.0.1:$((P+22))")
if [[ -n ${BASELINE_JAR:-} ]]; then
  PATHS+=("grpc baseline 127.0.0.1:$((P+31))" "rest baseline 127.0.0.1:$((P+32))")
fi
bench() { # MODEL LABEL ADDRESS CONCURRENCY WARMUP DURATION PROTOCOL
  $JAVA -Dbench.model="$1" -Djava.util.logging.manager=org.jboss.logmanager.LogManager -cp "$CP" io.maas.router.RouterBench "${@:2}"
}
for model in $MODELS; do
  for target in "${PATHS[@]}"; do
    set -- $target
    [[ " $PROTOCOLS " == *" $1 "* ]] || continue
    [[ $model == simple || $1 == grpc ]] || continue
    bench "$model" "warm-$2" "$3" 8 "$WARMUP" 1 "$1" >/dev/null
  done
done
for round in $(seq 1 "$ROUNDS"); do
  for proto in $PROTOCOLS; do
   for model in $MODELS; do
    [[ $model == simple || $proto == grpc ]] || continue
    for c in $CONCURRENCY; do
      for target in "${PATHS[@]}"; do
        set -- $target
        [[ "$1" == "$proto" ]] || continue
        # CPU time the proxy process spent (user + system), per call: much steadier than calls/s on a busy machine
        pid=""; case $2 in router) pid=$ROUTER_PID ;; baseline) pid=${BASELINE_PID:-} ;;
                           nginx) [[ $1 == grpc ]] && pid="$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')" ;; esac
        before=$([[ -n $pid ]] && cpu_ticks $pid || echo 0)
        line=$(bench "$model" "$1-$2" "$3" "$c" 2 "$DURATION" "$1")$'\t'"model=$model"
        if [[ -n $pid ]]; then
          calls=$(sed -n 's/.*calls=\([0-9]*\).*/\1/p' <<<"$line")
          # the 2 s warm-up's calls are not counted in calls=: scale by the measured share of the run
          line+=$(printf '\tcpu_us_per_call=%.1f' "$(echo "($(cpu_ticks $pid) - $before) * 1000000 / $(getconf CLK_TCK) / ($calls * (2 + $DURATION) / $DURATION)" | bc -l)")
        fi
        echo "$line" | tee -a "$RESULTS"
      done
    done
   done
  done
done
echo
# Each figure is the median over the rounds; added latency is the median of each round's difference
# with the direct path measured just before it.
python3 - "$RESULTS" <<'PY'
import sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    f = dict(kv.split("=", 1) for kv in line.split()[1:])
    proto, path = line.split()[0].split("-")
    rows.setdefault((proto, f.get("model", "simple"), int(f["c"]), path), []).append((float(f["rps"]), float(f["p50_us"]), float(f["p99_us"]),
                                                            float(f.get("cpu_us_per_call", "nan"))))
print("| protocol | model | concurrency | path | calls/s | p50 µs | p99 µs | added p50 µs | added p99 µs | calls/s vs nginx | calls/s vs baseline | proxy CPU µs/call |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for (proto, model, c, path), runs in rows.items():
    med = lambda i, rs=runs: st.median(r[i] for r in rs)
    direct = rows[(proto, model, c, "direct")]
    added = lambda i: "-" if path == "direct" else "%.0f" % st.median(r[i] - d[i] for r, d in zip(runs, direct))
    nginx = rows.get((proto, model, c, "nginx"))
    vs = "%.2f" % st.median(r[0] / n[0] for r, n in zip(runs, nginx)) if path in ("router", "baseline") and nginx else "-"
    base = rows.get((proto, model, c, "baseline"))
    vb = "%.2f" % st.median(r[0] / b[0] for r, b in zip(runs, base)) if path == "router" and base else "-"
    cpu = "%.1f" % med(3) if path in ("router", "baseline", "nginx") and proto == "grpc" else "-"
    print("| %s | %s | %d | %s | %.0f | %.0f | %.0f | %s | %s | %s | %s | %s |" % (proto, model, c, path, med(0), med(1), med(2), added(1), added(2), vs, vb, cpu))
PY
