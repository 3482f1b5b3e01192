# Helpers of the upgrade/rollback/GPU/RBAC scenarios (40-69); source after e2e/lib.sh.
# shellcheck shell=bash

E2E_VALUES_SIM=$E2E_DIR/values/sim-scheduling-only.yaml

# e2e_pod_uids NS SELECTOR: "name uid" of every pod of SELECTOR not being deleted, sorted.
e2e_pod_uids() {
  kubectl get pods -n "$1" -l "$2" -o json | "$E2E_PYTHON" -c '
import json, sys
for p in sorted(json.load(sys.stdin)["items"], key=lambda p: p["metadata"]["name"]):
    if not p["metadata"].get("deletionTimestamp"):
        print(p["metadata"]["name"], p["metadata"]["uid"])'
}
# e2e_pods_by_component NS: "component name uid" of every pod of the release, sorted.
e2e_pods_by_component() {
  kubectl get pods -n "$1" -o jsonpath='{range .items[*]}{.metadata.labels.app\.kubernetes\.io/component} {.metadata.name} {.metadata.uid}{"\n"}{end}' | grep -v '^register-models\|^test ' | sort
}

# e2e_token_kubeconfig NS SERVICEACCOUNT: path of a kubeconfig that authenticates only with a
# fresh token of the ServiceAccount (TokenRequest API, 10 minutes), nothing else.
e2e_token_kubeconfig() {
  local ns=$1 sa=$2 f server ca token
  f=$(mktemp "$E2E_STATE/kubeconfig-$sa.XXXXXX")
  e2e_defer rm -f "$f"
  server=$(kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')
  ca=$(kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
  token=$(kubectl create token "$sa" -n "$ns" --duration=10m)
  cat >"$f" <<KC
apiVersion: v1
kind: Config
clusters: [{name: e2e, cluster: {server: "$server", certificate-authority-data: "$ca"}}]
users: [{name: $sa, user: {token: "$token"}}]
contexts: [{name: $sa, context: {cluster: e2e, user: $sa, namespace: $ns}}]
current-context: $sa
KC
  echo "$f"
}
# kubectl_as KUBECONFIG ARGS...: kubectl with only that kubeconfig.
kubectl_as() { local kc=$1; shift; "$E2E_KUBECTL" --kubeconfig "$kc" "$@"; }

# e2e_share NAME SINCE UNTIL VERSION: "<share %> <ok calls> <failed>" of VERSION among the
# successful calls of load NAME in the window.
e2e_share() {
  e2e_load_summary "$1" "$2" "$3" | "$E2E_PYTHON" -c '
import json, sys
j = json.load(sys.stdin); ok = sum(j["versions"].values())
print("%.1f %d %d" % (100.0 * j["versions"].get(sys.argv[1], 0) / ok if ok else -1, ok, j["failed"]))' "$4"
}

# e2e_await_share NAME SINCE VERSION LO HI TIMEOUT: waits until the share of VERSION over the
# last 3 s of load NAME lies in [LO, HI]; prints the seconds it took since SINCE.
e2e_await_share() {
  local name=$1 since=$2 v=$3 lo=$4 hi=$5 timeout=$6 now share
  while :; do
    now=$(date +%s.%N)
    share=$(e2e_share "$name" "$(awk -v n="$now" 'BEGIN{printf "%.3f", n-3}')" "$now" "$v" | cut -d' ' -f1)
    if awk -v s="$share" -v lo="$lo" -v hi="$hi" 'BEGIN{exit !(s>=lo && s<=hi)}'; then
      awk -v n="$now" -v s="$since" 'BEGIN{printf "%.1f\n", n-s}'
      return 0
    fi
    if awk -v n="$now" -v s="$since" -v t="$timeout" 'BEGIN{exit !(n-s>t)}'; then
      e2e_fail "the share of version $v did not reach [$lo, $hi]% within ${timeout}s (last 3 s: $share%)"
    fi
    sleep 0.5
  done
}

# e2e_record KEY VALUE...: one figure of this scenario for the report
# ($E2E_STATE/figures/<scenario>.txt and the scenario log).
e2e_record() {
  mkdir -p "$E2E_STATE/figures"
  echo "$*" >>"$E2E_STATE/figures/$E2E_SCENARIO.txt"
  printf '[%s] figure: %s\n' "$E2E_SCENARIO" "$*" >&2
}
