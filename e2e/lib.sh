# Shared shell functions of the e2e scenarios (source it; see e2e/README.md for the convention).
#
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
#
# Needs E2E_STATE: the state folder of a running cluster (bin/e2e exports it; by hand:
# `export E2E_STATE=$(e2e/cluster.sh up)`). Everything here talks only to that cluster: kubectl and helm
# are functions bound to its kubeconfig, never to ~/.kube/config.
# shellcheck shell=bash

if [[ -z ${E2E_STATE:-} || ! -f $E2E_STATE/env ]]; then
  echo "e2e/lib.sh: no cluster: E2E_STATE is unset or has no env file (run bin/e2e, or export E2E_STATE=\$(e2e/cluster.sh up))" >&2
  exit 2
fi
# shellcheck disable=SC1091
source "$E2E_STATE/env"
E2E_DIR=$E2E_REPO/e2e
E2E_SCENARIO=${E2E_SCENARIO:-$(basename "$0" .sh)}
E2E_T0=${E2E_T0:-$(date +%s.%N)}
E2E_CHART=$E2E_REPO/helm/maas
E2E_VALUES_CPU=$E2E_DIR/values/cpu.yaml
E2E_PYTHON=${MAAS_VENV:-$E2E_REPO/.venv}/bin/python

# --- logging and assertions --------------------------------------------------------------
e2e_log() { printf '[%s %6.1fs] %s\n' "$E2E_SCENARIO" "$(awk -v a="$(date +%s.%N)" -v b="$E2E_T0" 'BEGIN{print a-b}')" "$*" >&2; }
# e2e_fail MESSAGE: fails the scenario now (the EXIT trap still cleans up).
e2e_fail() { printf '[%s] FAIL: %s\n' "$E2E_SCENARIO" "$*" >&2; exit 1; }
# e2e_pass MESSAGE: one passed check, printed (every scenario asserts; a pass is visible).
e2e_pass() { printf '[%s] ok: %s\n' "$E2E_SCENARIO" "$*" >&2; }
# e2e_assert MESSAGE COMMAND...: the command must succeed.
e2e_assert() { local m=$1; shift; if "$@"; then e2e_pass "$m"; else e2e_fail "$m (command failed: $*)"; fi; }
# e2e_assert_eq ACTUAL EXPECTED MESSAGE
e2e_assert_eq() {
  if [[ "$1" == "$2" ]]; then e2e_pass "$3 ($1)"; else e2e_fail "$3: expected '$2', got '$1'"; fi
}
# e2e_assert_le A B MESSAGE: numeric A <= B
e2e_assert_le() {
  if awk -v a="$1" -v b="$2" 'BEGIN{exit !(a<=b)}'; then e2e_pass "$3 ($1 <= $2)"; else e2e_fail "$3: $1 > $2"; fi
}
# e2e_assert_ge A B MESSAGE: numeric A >= B
e2e_assert_ge() {
  if awk -v a="$1" -v b="$2" 'BEGIN{exit !(a>=b)}'; then e2e_pass "$3 ($1 >= $2)"; else e2e_fail "$3: $1 < $2"; fi
}

# e2e_await TIMEOUT_S MESSAGE COMMAND...: retries COMMAND every E2E_AWAIT_INTERVAL (1 s) until it
# succeeds; fails the scenario after TIMEOUT_S. Prefer watch-based waits where there is one
# (`kubectl wait`, `kubectl rollout status`, helm's --wait): polling kubectl costs CPU.
e2e_await() {
  local timeout=$1 msg=$2; shift 2
  local deadline=$(( $(date +%s) + timeout ))
  while ! "$@" >/dev/null 2>&1; do
    if (( $(date +%s) >= deadline )); then
      e2e_fail "timed out after ${timeout}s waiting for: $msg"
    fi
    sleep "${E2E_AWAIT_INTERVAL:-1}"
  done
  e2e_pass "$msg"
}

# e2e_defer COMMAND...: runs COMMAND when the scenario exits (last registered runs first).
# Works from subshells too, e.g. ns=$(e2e_namespace x): the list is a file of the scenario.
_e2e_defer_file=$E2E_STATE/defer.$$
e2e_defer() { printf '%q ' "$@" >>"$_e2e_defer_file"; echo >>"$_e2e_defer_file"; }
_e2e_on_exit() {
  local rc=$? c
  if (( rc != 0 )); then e2e_diagnose || true; fi
  if [[ -f $_e2e_defer_file ]]; then
    while IFS= read -r c; do
      [[ -n $c ]] && { eval "$c" >/dev/null 2>&1 || true; }
    done < <(tac "$_e2e_defer_file")
    rm -f "$_e2e_defer_file"
  fi
  exit $rc
}
trap _e2e_on_exit EXIT

# --- cluster access ----------------------------------------------------------------------
# kubectl and helm, bound to the test cluster (and a private helm home in the state folder).
kubectl() { "$E2E_KUBECTL" --kubeconfig "$E2E_KUBECONFIG" "$@"; }
helm() {
  HELM_CONFIG_HOME=$E2E_STATE/helm/config HELM_CACHE_HOME=$E2E_STATE/helm/cache \
  HELM_DATA_HOME=$E2E_STATE/helm/data "$E2E_HELM" --kubeconfig "$E2E_KUBECONFIG" "$@"
}
export -f kubectl helm 2>/dev/null || true

# e2e_namespace NAME: creates namespace NAME (deleted, with its helm releases, when the
# scenario exits) and prints it. Each scenario works in namespaces of its own.
e2e_namespace() {
  local ns=$1
  kubectl create namespace "$ns" >/dev/null
  e2e_defer _e2e_delete_namespace "$ns"
  echo "$ns"
}
_e2e_delete_namespace() {
  local ns=$1 r
  for r in $(helm list -n "$ns" -q 2>/dev/null); do helm uninstall -n "$ns" "$r" --wait --timeout 60s >/dev/null 2>&1 || true; done
  kubectl delete namespace "$ns" --wait=true --timeout=90s >/dev/null 2>&1 || true
}

# e2e_helm_install NS RELEASE [helm args...]: helm install of the chart with the harness's CPU
# values (e2e/values/cpu.yaml) first; extra -f/--set come after, so they win. Waits for the
# release's workloads and hooks (--wait --timeout E2E_HELM_TIMEOUT, default 300s).
e2e_helm_install() {
  local ns=$1 rel=$2; shift 2
  helm install "$rel" "$E2E_CHART" -n "$ns" -f "$E2E_VALUES_CPU" --wait --timeout "${E2E_HELM_TIMEOUT:-300s}" "$@"
}
# e2e_helm_upgrade NS RELEASE [helm args...]: same for helm upgrade.
e2e_helm_upgrade() {
  local ns=$1 rel=$2; shift 2
  helm upgrade "$rel" "$E2E_CHART" -n "$ns" -f "$E2E_VALUES_CPU" --wait --timeout "${E2E_HELM_TIMEOUT:-300s}" "$@"
}

# e2e_pod_ips NS SELECTOR: IPs of the Ready pods matching the label selector, one a line.
e2e_pod_ips() {
  kubectl get pods -n "$1" -l "$2" -o json | "$E2E_PYTHON" -c '
import json, sys
for p in json.load(sys.stdin)["items"]:
    conds = {c["type"]: c["status"] for c in p["status"].get("conditions", [])}
    if conds.get("Ready") == "True" and not p["metadata"].get("deletionTimestamp") and p["status"].get("podIP"):
        print(p["status"]["podIP"])'
}
# e2e_router_ip NS: IP of one Ready router pod (the harness has no kube-proxy: ClusterIPs do
# not route, pod IPs do). The release's API key (router.auth, on by default) is saved for that IP
# in $E2E_STATE/api-keys/IP, where load.py finds it for calls to that router.
e2e_router_ip() {
  local ip key
  ip=$(e2e_pod_ips "$1" app.kubernetes.io/component=router | head -n1)
  if [[ -n $ip ]] && key=$(e2e_api_key "$1") && [[ -n $key ]]; then
    mkdir -p "$E2E_STATE/api-keys" && printf '%s' "$key" >"$E2E_STATE/api-keys/$ip"
  fi
  echo "$ip"
}
# e2e_api_key NS: the API key the chart generated for tenant `default` (Secret *-api-key), if any.
e2e_api_key() {
  kubectl get secrets -n "$1" -l app.kubernetes.io/component=router -o json | "$E2E_PYTHON" -c '
import base64, json, sys
for s in json.load(sys.stdin)["items"]:
    if s["metadata"]["name"].endswith("-api-key") and "api-key" in s.get("data", {}):
        print(base64.b64decode(s["data"]["api-key"]).decode()); break'
}

# e2e_endpoint_ips NS SERVICE: the ready endpoint addresses of SERVICE in its EndpointSlices.
e2e_endpoint_ips() {
  kubectl get endpointslices -n "$1" -l kubernetes.io/service-name="$2" -o json | "$E2E_PYTHON" -c '
import json, sys
for s in json.load(sys.stdin)["items"]:
    for e in s.get("endpoints") or []:
        if (e.get("conditions") or {}).get("ready"):
            print(*e["addresses"], sep="\n")' | sort
}

# e2e_wait_ready NS SELECTOR [TIMEOUT_S]: every pod of SELECTOR Ready (kubectl wait: a watch).
# A pod that goes away meanwhile (a rollout replacing it) makes kubectl wait stop with
# NotFound: then it waits again on the pods there are, until the timeout.
e2e_wait_ready() {
  local deadline=$(( $(date +%s) + ${3:-180} )) left
  while :; do
    left=$(( deadline - $(date +%s) ))
    (( left > 0 )) || e2e_fail "pods $2 in $1 not Ready within ${3:-180}s"
    kubectl wait -n "$1" --for=condition=Ready pod -l "$2" --timeout="${left}s" >/dev/null 2>&1 && return 0
    sleep 1
  done
}

# e2e_pv NAME [SIZE]: a hostPath PersistentVolume (folder inside the state folder, the only
# place the agent mounts from) for a claim to bind to: this cluster has no provisioner.
# Deleted at exit.
e2e_pv() {
  local name=$1 size=${2:-1Gi} dir=$E2E_STATE/pv/$1
  mkdir -p "$dir" && chmod 0777 "$dir"
  kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolume
metadata: {name: $name, labels: {e2e.maas.io/scenario: "$E2E_SCENARIO"}}
spec:
  capacity: {storage: $size}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: $dir, type: Directory}
EOF
  e2e_defer kubectl delete pv "$name" --wait=false
}

# e2e_maasctl NS ARGS...: maasctl (the built jar) against the registry pod of namespace NS.
e2e_maasctl() {
  local ns=$1 ip; shift
  ip=$(e2e_pod_ips "$ns" app.kubernetes.io/component=registry | head -n1)
  [[ -n $ip ]] || { echo "no Ready registry pod in $ns" >&2; return 1; }
  MAAS_REGISTRY_ADDRESS=$ip:9001 java -XX:TieredStopAtLevel=1 -jar "$E2E_REPO/maasctl/target/maasctl.jar" "$@"
}

# --- load ----------------------------------------------------------------------------------
# e2e_load_start NAME TARGET [load.py args...]: starts e2e/load.py in the background sending
# ModelInfer calls steadily to TARGET (ip:port, e.g. "$(e2e_router_ip ns):8001") with Triton's
# Python client; every call is recorded in $E2E_STATE/load/NAME.events. Stopped at exit.
e2e_load_start() {
  local name=$1 target=$2; shift 2
  mkdir -p "$E2E_STATE/load"
  "$E2E_PYTHON" "$E2E_DIR/load.py" run --target "$target" --events "$E2E_STATE/load/$name.events" "$@" \
    >"$E2E_STATE/load/$name.log" 2>&1 &
  echo $! >"$E2E_STATE/load/$name.pid"
  e2e_defer e2e_load_stop "$name"
  # The client writes its first event once the first call returned.
  e2e_await 60 "load '$name' sending to $target" test -s "$E2E_STATE/load/$name.events"
}
# e2e_load_stop NAME: stops the load client (by its PID) and prints its summary JSON.
e2e_load_stop() {
  local name=$1 pid
  pid=$(cat "$E2E_STATE/load/$name.pid" 2>/dev/null) || return 0
  kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -f "$E2E_STATE/load/$name.pid"
  e2e_load_summary "$name"
}
# e2e_load_summary NAME [SINCE_EPOCH [UNTIL_EPOCH]]: JSON {sent, failed, versions{v: n},
# errors[first few]} of the calls in the window (whole run by default).
e2e_load_summary() {
  "$E2E_PYTHON" "$E2E_DIR/load.py" summary --events "$E2E_STATE/load/$1.events" ${2:+--since "$2"} ${3:+--until "$3"}
}
# e2e_json EXPR: reads JSON on stdin, prints the Python expression EXPR of it (bound to `j`).
e2e_json() { "$E2E_PYTHON" -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

# --- diagnostics ---------------------------------------------------------------------------
# e2e_diagnose: printed when a scenario fails: pods, events and the agent's view of the pods.
e2e_diagnose() {
  echo "----- diagnostics ($E2E_SCENARIO) -----" >&2
  kubectl get pods -A -o wide >&2 2>&1 || true
  kubectl get events -A --sort-by=.lastTimestamp 2>&1 | tail -n 30 >&2 || true
  tail -n 40 "$E2E_STATE/logs/agent.log" >&2 2>/dev/null || true
  echo "----- pod logs: $E2E_STATE/pods/<namespace>_<pod>/logs/ -----" >&2
}

# e2e_pod_log NS POD [CONTAINER]: a container's log (the agent writes it; there is no kubelet
# behind `kubectl logs`). Without CONTAINER: every container of the pod.
e2e_pod_log() {
  local d f
  for d in "$E2E_STATE"/pods/"$1"_"$2"_*; do
    for f in "$d"/logs/"${3:-*}".log; do [[ -f $f ]] && { echo "== $f"; cat "$f"; }; done
  done
}
