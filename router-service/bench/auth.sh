#!/usr/bin/env bash
# What the front door costs: the same router build in front of the same inference process, with
# authentication off and on (API keys + JWT + the tenant policy + quotas and fair share that never
# refuse, so every check runs), measured in one run, paths interleaved, ROUNDS times; medians.
#   off  client -> router (MAAS_AUTH_ENABLED=false)          -> pod
#   key  client -> router (auth on), x-api-key                -> pod
#   jwt  client -> the same router, authorization: Bearer JWT -> pod (verification cached after the first call)
# Prints the p50/p99 per path and concurrency and the added p50 against `off` (issue 11's budget:
# +15 us with an API key, +30 us with a JWT). Needs the built jars (./mvnw package -DskipTests) and
# ./mvnw test-compile in auth and router-service.
# First the checks alone, in one JVM (auth's FrontDoorBench): ns per call, not moved by other load.
# Env: CONCURRENCY="1 8" ROUNDS=3 WARMUP=10 DURATION=10 FRONT_DOOR_ONLY=1 (only the in-process part)
set -euo pipefail
cd "$(dirname "$0")/../.."
CONCURRENCY=${CONCURRENCY:-"1 8"}
WARMUP=${WARMUP:-10}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
JAVA=${JAVA:-java}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/maas-auth-bench.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
CP="router-service/target/test-classes:router-service/target/quarkus-app/lib/main/*:router-service/target/quarkus-app/lib/boot/*"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# the checks alone, in-process (load-insensitive): ns per call; it also writes the credentials
# the routers and the load generator use below into $WORK
$JAVA -cp "auth/target/test-classes:auth/target/classes:test-support/target/classes:router-service/target/quarkus-app/lib/main/*" \
  io.maas.auth.FrontDoorBench "$WORK"
[[ ${FRONT_DOOR_ONLY:-0} == 1 ]] && exit 0

mkdir -p "$WORK/repo/simple/1"
ln -s "$PWD/models/target/repository/simple/1/model.onnx" "$WORK/repo/simple/1/model.onnx"
printf "max_batch_size: 64\n" >"$WORK/repo/simple/config.pbtxt"

POD_GRPC=$(free_port) POD_HTTP=$(free_port)
MAAS_GRPC_PORT=$POD_GRPC MAAS_HTTP_PORT=$POD_HTTP MAAS_ONNX_INTRA_OP_THREADS=1 ORT_DISABLE_TELEMETRY=1 \
  $JAVA -Djava.io.tmpdir="$WORK" -jar inference-service/target/quarkus-app/quarkus-run.jar \
  --model-repository "$WORK/repo" >"$WORK/pod.log" 2>&1 &
PIDS+=($!)
declare -A GRPC
start_router() { # NAME [env...]
  local name=$1; shift
  GRPC[$name]=$(free_port)
  env MAAS_GRPC_PORT="${GRPC[$name]}" MAAS_HTTP_PORT="$(free_port)" MAAS_ENDPOINTS_SOURCE=static \
    MAAS_STATIC_ENDPOINTS="simple:1=127.0.0.1:$POD_GRPC/$POD_HTTP" "$@" \
    $JAVA -jar router-service/target/quarkus-app/quarkus-run.jar >"$WORK/router-$name.log" 2>&1 &
  PIDS+=($!)
}
start_router off MAAS_AUTH_ENABLED=false
start_router on MAAS_AUTH_ENABLED=true MAAS_AUTH_API_KEYS_FILE="$WORK/keys" MAAS_AUTH_POLICY_FILE="$WORK/policy.yaml" \
  MAAS_AUTH_JWT_ISSUER=https://bench MAAS_AUTH_JWT_AUDIENCE=maas MAAS_AUTH_JWT_JWKS="$WORK/jwks.json"
for i in $(seq 120); do
  ok=1
  for port in "${GRPC[off]}" "${GRPC[on]}"; do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || ok=0
  done
  [[ $ok == 1 ]] && curl -fs -o /dev/null "http://127.0.0.1:$POD_HTTP/v2/health/ready" && break
  sleep 1
done

bench() { # PATH PORT HEADER C SECONDS
  $JAVA -Djava.util.logging.manager=org.jboss.logmanager.LogManager -Dbench.header="$3" -cp "$CP" \
    io.maas.router.RouterBench "$1" "127.0.0.1:$2" "$4" 2 "$5"
}
declare -A HEADER=([off]="" [key]="x-api-key: $(cat "$WORK/api-key")" [jwt]="authorization: Bearer $(cat "$WORK/jwt")")
declare -A PORT=([off]="${GRPC[off]}" [key]="${GRPC[on]}" [jwt]="${GRPC[on]}")
for p in off key jwt; do bench "warm-$p" "${PORT[$p]}" "${HEADER[$p]}" 8 "$WARMUP" >/dev/null; done
RESULTS="$WORK/results"
for r in $(seq "$ROUNDS"); do
  for c in $CONCURRENCY; do
    for p in off key jwt; do
      line=$(bench "$p" "${PORT[$p]}" "${HEADER[$p]}" "$c" "$DURATION")
      echo "round $r: $line"
      echo "$line" >>"$RESULTS"
    done
  done
done
python3 - "$RESULTS" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = dict(kv.split("=", 1) for kv in line.split("\t")[1:])
    key = (line.split("\t")[0], int(f["c"]))
    rows.setdefault(key, []).append((float(f["p50_us"]), float(f["p99_us"]), float(f["rps"]), int(f["errors"])))
print("\n| path | c | p50 us | p99 us | calls/s | errors | p50 added vs off |")
print("|---|---|---|---|---|---|---|")
for (path, c) in sorted(rows, key=lambda k: (k[1], ["off", "key", "jwt"].index(k[0]))):
    v = rows[(path, c)]
    p50 = statistics.median(x[0] for x in v)
    base = statistics.median(x[0] for x in rows[("off", c)])
    print(f"| {path} | {c} | {p50:.0f} | {statistics.median(x[1] for x in v):.0f} | "
          f"{statistics.median(x[2] for x in v):.0f} | {sum(x[3] for x in v)} | {p50 - base:+.0f} us |")
PY
