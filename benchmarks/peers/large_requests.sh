#!/usr/bin/env bash
# Large requests against one inference pod run as the chart runs it: N requests of M MiB at once (one
# FP32 input to the tiny model, which refuses the shape once the message is read) while a loop of
# small valid calls shares their gRPC channel. Prints each large request's status and how many small
# calls failed: a large request must fail alone (RESOURCE_EXHAUSTED over MAAS_MAX_MESSAGE_BYTES or over the
# pod's MAAS_MAX_REQUEST_BYTES_IN_FLIGHT), never the connection. Figures in docs/benchmarks.md, "Large
# requests". Bounded: N requests, then stops.
#
#   benchmarks/peers/large_requests.sh [MIB [N]]      # default: 60 MiB, 1 request
#   MAAS_MAX_MESSAGE_BYTES=... MAAS_MAX_REQUEST_BYTES_IN_FLIGHT=... POD_MAX_RAM=768m POD_DIRECT=64m \
#     benchmarks/peers/large_requests.sh 15 3
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bench_name=large-requests
source "$here/venvs.sh"

mb="${1:-60}" n="${2:-1}"
jar="$repo/inference-service/target/quarkus-app/quarkus-run.jar"
[[ -f "$jar" && -f "$repo/models/target/repository/simple/config.pbtxt" ]] \
  || die "build first: ./mvnw -pl models,inference-service -am package -DskipTests"
perf_venv="$(ensure_venv perf)"

work="$(mktemp -d "${TMPDIR:-/tmp}/maas-large.XXXXXX")"
pod=""
cleanup() { [[ -n "$pod" ]] && kill "$pod" 2>/dev/null && wait "$pod" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/repo" "$work/tmp"
cp -r "$repo/models/target/repository/simple" "$work/repo/"
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
grpc="$(free_port)" http="$(free_port)"
java_opts="-XX:MaxRAM=${POD_MAX_RAM:-768m} $(chart_value inference javaOpts)"
if [[ -n "${POD_DIRECT:-}" ]]; then
  java_opts="$(sed -E "s/-XX:MaxDirectMemorySize=[^ ]+/-XX:MaxDirectMemorySize=$POD_DIRECT/" <<<"$java_opts")"
fi
say "pod: $java_opts, MAAS_MAX_MESSAGE_BYTES=${MAAS_MAX_MESSAGE_BYTES:-default}"
# shellcheck disable=SC2086
MAAS_GRPC_PORT="$grpc" MAAS_HTTP_PORT="$http" ORT_DISABLE_TELEMETRY=1 TMPDIR="$work/tmp" \
  MALLOC_ARENA_MAX="$(chart_value inference mallocArenaMax)" \
  java $java_opts -jar "$jar" --model-repository "$work/repo" >"$work/pod.log" 2>&1 &
pod=$!
for _ in $(seq 120); do
  curl -sf "http://127.0.0.1:$http/v2/health/ready" >/dev/null && break
  kill -0 "$pod" 2>/dev/null || die "the pod exited: $(tail -3 "$work/pod.log")"
  sleep 0.5
done

"$perf_venv/bin/python" - "$grpc" "$mb" "$n" <<'PY'
import sys, threading, time
import numpy as np
import tritonclient.grpc as g
port, mb, n = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
client = g.InferenceServerClient(f"127.0.0.1:{port}")
meta = client.get_model_metadata("simple")

def inputs(rows):
    out = []
    for spec in meta.inputs:
        x = np.ones((rows, 16), dtype=np.float32 if spec.datatype == "FP32" else np.int32)
        t = g.InferInput(spec.name, list(x.shape), spec.datatype)
        t.set_data_from_numpy(x)
        out.append(t)
    return out

rows = max(1, int(mb * 1024 * 1024 / (16 * 4 * len(meta.inputs))))
large = []
def one(k):
    try:
        client.infer("simple", inputs(rows))
        large.append(f"large {k}: answered OK")
    except Exception as e:
        large.append(f"large {k}: {str(e)[:160]}")

small = {"ok": 0, "failed": 0}
errors = set()
done = threading.Event()
def smalls():
    while not done.is_set():
        try:
            client.infer("simple", inputs(1))
            small["ok"] += 1
        except Exception as e:
            small["failed"] += 1
            errors.add(str(e)[:120])

loop = threading.Thread(target=smalls)
loop.start()
threads = [threading.Thread(target=one, args=(k,)) for k in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join(timeout=300)
time.sleep(0.5)
done.set()
loop.join(timeout=60)
print(f"{n} x {mb:g} MiB at once:")
print("\n".join(sorted(large)))
print(f"small calls on the same channel: {small['ok']} answered, {small['failed']} failed" + (f" {sorted(errors)}" if errors else ""))
PY
if kill -0 "$pod" 2>/dev/null; then
  echo "pod alive; peak RSS $(awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$pod/status")"
else
  echo "pod exited: $(grep -m1 -i 'outofmemory' "$work/pod.log" || tail -1 "$work/pod.log")"
fi
grep -m1 "Cannot reserve" "$work/pod.log" | sed 's/^/pod log: /' || true
