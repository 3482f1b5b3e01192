#!/usr/bin/env bash
# The router's front door on the real API server: the chart's generated API key is accepted and a
# call without it refused; ServiceAccount tokens minted by the real kube-apiserver (TokenRequest,
# `kubectl create token`) are verified against the cluster's own JWKS, which the router fetches
# with its ServiceAccount token: the workload the policy grants is served, another workload is
# refused by name, a token for another audience is refused; a key added by `helm upgrade` works
# and is revoked by the next upgrade without a router restart.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ns=$(e2e_namespace e2e-auth)
e2e_pv "$ns-registry-data"
kubectl -n "$ns" create serviceaccount reports >/dev/null
kubectl -n "$ns" create serviceaccount intruder >/dev/null
args=(--set router.replicas=1 --set router.auth.jwt.enabled=true --set router.auth.reloadIntervalMs=1000
      --set-json "router.auth.policy={\"tenants\":{\"default\":{\"admin\":true},\"system:serviceaccount:$ns:reports\":{\"models\":[{\"model\":\"minilm\",\"tracks\":[\"stable\"]}]},\"extra\":{\"models\":[\"minilm\"]}}}")

e2e_log "helm install (router.auth on by default, ServiceAccount tokens accepted)"
out=$(e2e_helm_install "$ns" maas "${args[@]}" 2>&1) || { echo "$out" >&2; e2e_fail "helm install"; }
router=$(e2e_router_ip "$ns")
key=$(e2e_api_key "$ns")
[[ -n $key ]] || e2e_fail "the chart made no API key Secret"
e2e_pass "installed; the generated key is in Secret maas-api-key"

call() { "$E2E_PYTHON" "$E2E_DIR/load.py" call --target "$router:8001" "$@"; }
code_is() { local want=$1; shift; [[ "$(call "$@" | e2e_json 'j["code"]')" == "$want" ]]; }

r=$(call)
e2e_assert_eq "$(e2e_json 'j["code"]' <<<"$r")" UNAUTHENTICATED "no credentials: UNAUTHENTICATED"
e2e_assert "the refusal says which credentials are accepted" grep -q "x-api-key" <<<"$r"
e2e_assert "the generated key is accepted" code_is OK --header "x-api-key=$key"
e2e_assert "a wrong key is refused" code_is UNAUTHENTICATED --header "x-api-key=maas-not-a-key"

tok=$(kubectl -n "$ns" create token reports --audience maas --duration 10m)
e2e_await 60 "a ServiceAccount token minted by the API server is accepted (JWKS fetched from it)" \
  code_is OK --header "authorization=Bearer $tok"
other=$(kubectl -n "$ns" create token intruder --audience maas --duration 10m)
r=$(call --header "authorization=Bearer $other")
e2e_assert_eq "$(e2e_json 'j["code"]' <<<"$r")" PERMISSION_DENIED "a workload the policy does not name: PERMISSION_DENIED"
e2e_assert "the refusal names the tenant and the model" grep -q "system:serviceaccount:$ns:intruder.*minilm" <<<"$r"
wrong=$(kubectl -n "$ns" create token reports --audience not-maas --duration 10m)
e2e_assert "a token for another audience is refused" code_is UNAUTHENTICATED --header "authorization=Bearer $wrong"

extra=maas-e2e-$RANDOM$RANDOM$RANDOM
hash=$(printf %s "$extra" | sha256sum | cut -d' ' -f1)
e2e_log "helm upgrade: a key for tenant 'extra'"
e2e_helm_upgrade "$ns" maas "${args[@]}" --set "router.auth.apiKeys.extra[0]=extra:sha256:$hash" >/dev/null
# The kubelet (here: the node agent) updates the mounted Secret; the router re-reads it.
e2e_await 120 "the added key is accepted without a restart" code_is OK --header "x-api-key=$extra"
restarts=$(kubectl -n "$ns" get pods -l app.kubernetes.io/component=router -o jsonpath='{.items[*].status.containerStatuses[*].restartCount}')
e2e_helm_upgrade "$ns" maas "${args[@]}" >/dev/null
e2e_await 120 "the key removed by the next upgrade is refused" code_is UNAUTHENTICATED --header "x-api-key=$extra"
e2e_assert_eq "$(kubectl -n "$ns" get pods -l app.kubernetes.io/component=router -o jsonpath='{.items[*].status.containerStatuses[*].restartCount}')" \
  "$restarts" "router restarts during key rotation"
e2e_assert_eq "$(e2e_router_ip "$ns")" "$router" "the same router pod served throughout"
