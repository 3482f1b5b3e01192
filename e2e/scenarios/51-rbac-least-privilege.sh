#!/usr/bin/env bash
# RBAC least privilege with the real ServiceAccount tokens (TokenRequest API, signed by the API
# server): the router may only read EndpointSlices of its namespace, the registry only its
# routing ConfigMap (and a watch of it by name works; patch for the rollout annotation) and create
# Events in its namespace, inference pods nothing. Pods simulated:
# the Roles, RoleBindings and ServiceAccounts are what is tested.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$E2E_DIR/upgrades.sh"
ns=$(e2e_namespace e2e-rbac)
other=$(e2e_namespace e2e-rbac-other)
e2e_helm_install "$ns" maas -f "$E2E_VALUES_SIM" >/dev/null
e2e_pass "installed"

router=$(e2e_token_kubeconfig "$ns" maas-router)
registry=$(e2e_token_kubeconfig "$ns" maas-registry)
inference=$(e2e_token_kubeconfig "$ns" maas-inference)
e2e_assert_eq "$(kubectl_as "$router" auth whoami -o jsonpath='{.status.userInfo.username}')" "system:serviceaccount:$ns:maas-router" "the router token authenticates as its ServiceAccount"

can() { kubectl_as "$1" auth can-i "${@:2}" 2>/dev/null || true; }
expect() { # expect KUBECONFIG yes|no VERB RESOURCE [flags]
  local kc=$1 want=$2; shift 2
  e2e_assert_eq "$(can "$kc" "$@")" "$want" "$(basename "$kc" | sed "s/^kubeconfig-maas-\([a-z]*\).*/\1/") token: can-i $*"
}
# Router: get/list/watch EndpointSlices here; nothing else.
for v in get list watch; do expect "$router" yes "$v" endpointslices.discovery.k8s.io -n "$ns"; done
for a in "create endpointslices.discovery.k8s.io" "delete endpointslices.discovery.k8s.io" "get pods" "get services" "get configmaps" "get secrets" "list endpoints"; do
  expect "$router" no $a -n "$ns"
done
expect "$router" no list endpointslices.discovery.k8s.io -n "$other"
expect "$router" no list endpointslices.discovery.k8s.io --all-namespaces
# and for real: the list the router's informer makes works, a Secret read is refused
e2e_assert "router token: list EndpointSlices works" kubectl_as "$router" get endpointslices -n "$ns" -o name
e2e_assert "router token: reading the auth Secret is Forbidden" bash -c "\"$E2E_KUBECTL\" --kubeconfig $router get secret maas-auth -n $ns 2>&1 | grep -q Forbidden"

# Registry: its routing ConfigMap only; patch of it (the rollout status annotation) and Events
# (rollout transitions, docs/rollouts.md) created in its namespace, never read or changed.
for v in get list watch patch; do expect "$registry" yes "$v" configmaps/maas-routing -n "$ns"; done
expect "$registry" yes create events -n "$ns"
for a in "get configmaps/kube-root-ca.crt" "patch configmaps/kube-root-ca.crt" "list configmaps" "update configmaps/maas-routing" "delete configmaps/maas-routing" \
    "get events" "list events" "update events" "patch events" "delete events" "create events.events.k8s.io" \
    "get secrets" "get endpointslices.discovery.k8s.io" "get pods"; do
  expect "$registry" no $a -n "$ns"
done
expect "$registry" no get configmaps/maas-routing -n "$other"
expect "$registry" no create events -n "$other"
e2e_assert "registry token: get configmap maas-routing works" kubectl_as "$registry" get configmap maas-routing -n "$ns" -o name
e2e_assert "registry token: a list of all ConfigMaps is Forbidden" bash -c "\"$E2E_KUBECTL\" --kubeconfig $registry get configmaps -n $ns 2>&1 | grep -q Forbidden"
# The watch the registry's informer makes (list+watch with fieldSelector metadata.name=maas-routing,
# which resourceNames allows) works against the real server and sees a change.
watch_out=$(mktemp "$E2E_STATE/watch.XXXXXX"); e2e_defer rm -f "$watch_out"
"$E2E_KUBECTL" --kubeconfig "$registry" get configmap maas-routing -n "$ns" --watch --output-watch-events \
  -o jsonpath='{.type} {.object.metadata.resourceVersion}{"\n"}' --request-timeout=20s >"$watch_out" 2>&1 &
wpid=$!
e2e_defer kill "$wpid"
e2e_await 10 "registry token: the watch of maas-routing by name starts (ADDED)" grep -q '^ADDED' "$watch_out"
kubectl annotate configmap maas-routing -n "$ns" e2e.maas.io/touched="$(date +%s)" --overwrite >/dev/null
e2e_await 10 "registry token: the watch sees the change (MODIFIED)" grep -q '^MODIFIED' "$watch_out"
e2e_assert "registry token: no Forbidden in the watch" bash -c "! grep -q -i forbidden $watch_out"

# Inference: nothing at all (and its pods mount no token).
for a in "get pods" "list endpointslices.discovery.k8s.io" "get configmaps" "get configmaps/maas-routing" "get secrets" "list services"; do
  expect "$inference" no $a -n "$ns"
done
e2e_assert_eq "$(kubectl get deploy -n "$ns" maas-minilm-stable -o jsonpath='{.spec.template.spec.automountServiceAccountToken}')" false "inference pods mount no API token"
rules=$(kubectl_as "$inference" auth can-i --list -n "$ns" 2>/dev/null | awk 'NR>1 && $1 !~ /^selfsubject/ && $1 !~ /^\[/ {print $1}' | xargs)
e2e_assert_eq "$rules" "" "inference token: no resource rules besides the self-reviews every user has"
e2e_assert_eq "$(kubectl get clusterrolebindings -o json | grep -c "\"namespace\": \"$ns\"" || true)" 0 "no ClusterRoleBinding for the release's ServiceAccounts"
