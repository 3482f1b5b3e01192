#!/usr/bin/env bash
# Discovery through real EndpointSlices: the router (fabric8 watch with its ServiceAccount token
# against the real API server) sends to every Ready inference pod; a pod made NotReady, and a
# pod deleted (SIGTERM, grace period, replaced by its ReplicaSet), leave the rotation while a
# client sends steadily through the router, with 0 failed calls.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ns=$(e2e_namespace e2e-discovery)
e2e_pv "$ns-registry-data"
sel='app.kubernetes.io/component=inference,maas.io/track=stable'

e2e_log "helm install (CPU profile: minilm v1, 2 replicas)"
out=$(e2e_helm_install "$ns" maas -f "$E2E_REPO/helm/values/cpu.yaml" 2>&1) || { echo "$out" >&2; e2e_fail "helm install"; }
e2e_pass "installed"

# Calls served by one inference pod so far (its own Prometheus counter).
served() {
  curl -fsS --max-time 5 "http://$1:8000/metrics" \
    | awk '/^maas_inference_requests_total[{ ]/{s+=$NF} END{printf "%d\n", s}'
}
serves_more() { (( $(served "$1") > $2 )); }   # IP BASELINE
ready_endpoints_are() {                           # IP...: the Service's ready endpoints, exactly
  [[ "$(e2e_endpoint_ips "$ns" maas-minilm-stable | tr '\n' ' ')" == "$(printf '%s\n' "$@" | sort | tr '\n' ' ')" ]]
}
pods_ips() { kubectl get pods -n "$ns" -l "$sel" -o jsonpath='{range .items[*]}{.metadata.name}={.status.podIP}{"\n"}{end}'; }

mapfile -t pods < <(pods_ips)
e2e_assert_eq "${#pods[@]}" 2 "stable inference pods"
a_name=${pods[0]%%=*} a_ip=${pods[0]#*=} b_name=${pods[1]%%=*} b_ip=${pods[1]#*=}
e2e_assert_eq "$(e2e_endpoint_ips "$ns" maas-minilm-stable | tr '\n' ' ')" "$(printf '%s\n' "$a_ip" "$b_ip" | sort | tr '\n' ' ')" \
  "EndpointSlice of maas-minilm-stable lists both pod IPs as ready"

router=$(e2e_router_ip "$ns")
t_load=$(date +%s.%N)
e2e_load_start steady "$router:8001" --rate 20

# 1. The router found both pods: each serves calls.
a0=$(served "$a_ip") b0=$(served "$b_ip")
e2e_await 30 "$a_name serves calls through the router" serves_more "$a_ip" "$a0"
e2e_await 30 "$b_name serves calls through the router" serves_more "$b_ip" "$b0"

# 2. NotReady (readiness reported False through the pod status; the process keeps serving):
#    the EndpointSlice marks it not ready, the router stops sending to it.
kubectl annotate pod -n "$ns" "$a_name" e2e.maas.io/not-ready=true >/dev/null
kubectl wait -n "$ns" --for=condition=Ready=false "pod/$a_name" --timeout=30s >/dev/null || e2e_fail "$a_name not reported NotReady"
e2e_await 20 "EndpointSlice lists only $b_name as ready" ready_endpoints_are "$b_ip"
sleep 3   # the router's watch delivers the change
a1=$(served "$a_ip") b1=$(served "$b_ip")
sleep 6
a2=$(served "$a_ip") b2=$(served "$b_ip")
e2e_assert_eq "$((a2 - a1))" 0 "calls to the NotReady pod $a_name over 6 s"
e2e_assert_ge "$((b2 - b1))" 5 "calls to $b_name over the same 6 s"

kubectl annotate pod -n "$ns" "$a_name" e2e.maas.io/not-ready- >/dev/null
kubectl wait -n "$ns" --for=condition=Ready "pod/$a_name" --timeout=30s >/dev/null || e2e_fail "$a_name not Ready again"
a3=$(served "$a_ip")
e2e_await 20 "$a_name back in rotation once Ready" serves_more "$a_ip" "$a3"

# 3. Deletion: the pod terminates gracefully (SIGTERM, then the grace period), its endpoint
#    leaves the slice, the ReplicaSet's replacement joins once Ready.
t_del=$(date +%s)
kubectl delete pod -n "$ns" "$b_name" --wait=false >/dev/null
kubectl wait -n "$ns" --for=delete "pod/$b_name" --timeout=90s >/dev/null || e2e_fail "$b_name not gone"
e2e_pass "$b_name deleted and gone in $(( $(date +%s) - t_del ))s"
kubectl rollout status -n "$ns" deploy/maas-minilm-stable --timeout=180s >/dev/null || e2e_fail "replacement not ready"
c_ip=$(pods_ips | grep -v "^$a_name=" | cut -d= -f2)
[[ -n $c_ip && $c_ip != "$b_ip" ]] || e2e_fail "no replacement pod with a new IP"
e2e_await 20 "EndpointSlice lists $a_ip and the replacement $c_ip" ready_endpoints_are "$a_ip" "$c_ip"
c0=$(served "$c_ip")
e2e_await 20 "the replacement pod serves calls through the router" serves_more "$c_ip" "$c0"

summary=$(e2e_load_stop steady)
e2e_log "load through the router during NotReady and deletion: $summary"
sent=$(e2e_json 'j["sent"]' <<<"$summary") failed=$(e2e_json 'j["failed"]' <<<"$summary")
echo "calls sent=$sent failed=$failed (discovery: NotReady + delete)" >&2
e2e_assert_ge "$sent" 200 "calls sent during the scenario"
e2e_assert_eq "$failed" 0 "failed calls (errors: $(e2e_json 'j["errors"]' <<<"$summary"))"
