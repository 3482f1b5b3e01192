#!/usr/bin/env bash
# An upgrade that changes nothing of a component restarts nothing of it (issue 10: the registry
# was restarted by the first `helm upgrade` after install, its auth checksum annotation hashing
# tokens other than the ones the Secret got). Pods are simulated (scheduling only): what is
# tested is which pod templates helm changes on the real API server.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$E2E_DIR/upgrades.sh"
ns=$(e2e_namespace e2e-noop-upgrade)
args=(-f "$E2E_VALUES_SIM" -f "$E2E_REPO/helm/values/canary.yaml" --set models[0].stable.replicas=1)

e2e_helm_install "$ns" maas "${args[@]}" >/dev/null
e2e_pass "installed (revision 1)"
uids() { e2e_pod_uids "$ns" "app.kubernetes.io/component=$1"; }
templ() { kubectl get deployment -n "$ns" "$1" -o jsonpath='{.metadata.generation} {.spec.template.metadata.annotations}'; }
before_reg=$(uids registry) before_router=$(uids router) before_inf=$(uids inference)
gen_reg=$(templ maas-registry)
secret1=$(kubectl get secret -n "$ns" maas-auth -o jsonpath='{.data.router-token}')

# 1. The same values again: the first upgrade after install.
e2e_helm_upgrade "$ns" maas "${args[@]}" >/dev/null
e2e_assert_eq "$(templ maas-registry)" "$gen_reg" "first upgrade, same values: registry Deployment generation and pod annotations unchanged"
e2e_assert_eq "$(uids registry)" "$before_reg" "first upgrade, same values: registry pod UID unchanged"
e2e_assert_eq "$(uids router)" "$before_router" "first upgrade, same values: router pod UIDs unchanged"
e2e_assert_eq "$(uids inference)" "$before_inf" "first upgrade, same values: inference pod UIDs unchanged"
[[ $(kubectl get secret -n "$ns" maas-auth -o jsonpath='{.data.router-token}') == "$secret1" ]] && same=yes || same=no
e2e_assert_eq "$same" yes "the chart-created tokens are kept by the upgrade"

# 2. A routing change only (canary weight): only the ConfigMap changes.
e2e_helm_upgrade "$ns" maas "${args[@]}" --set models[0].canary.weight=50 >/dev/null
e2e_assert_eq "$(uids registry) $(uids router) $(uids inference)" "$before_reg $before_router $before_inf" "weight 10 -> 50: no pod of any component restarted"

# 3. A tokens change (auth.extraTokens): the Secret changes, the registry re-reads its tokens
#    file, nothing restarts.
e2e_helm_upgrade "$ns" maas "${args[@]}" --set models[0].canary.weight=50 --set 'auth.extraTokens[0]=ci:reader:e2e-reader-token-0123456789' >/dev/null
e2e_assert_eq "$(kubectl get secret -n "$ns" maas-auth -o jsonpath='{.data.tokens}' | base64 -d | grep -c '^ci:reader:' || true)" 1 "the auth Secret carries the extra token"
e2e_assert_eq "$(uids registry) $(uids router)" "$before_reg $before_router" "extraTokens added: registry and router not restarted"

# 4. An inference-only change rolls the inference pods and nothing else.
e2e_helm_upgrade "$ns" maas "${args[@]}" --set models[0].canary.weight=50 --set 'auth.extraTokens[0]=ci:reader:e2e-reader-token-0123456789' --set inference.env.MAAS_E2E_MARK=1 >/dev/null
kubectl rollout status -n "$ns" deployment/maas-minilm-stable --timeout=120s >/dev/null
after_inf=$(uids inference)
e2e_assert "inference.env changed: inference pods replaced" test "$after_inf" != "$before_inf"
e2e_assert_eq "$(uids registry) $(uids router)" "$before_reg $before_router" "inference.env changed: registry and router not restarted"

# 5. helm rollback to revision 1 restores the ConfigMap and the inference template only.
helm rollback maas 1 -n "$ns" --wait --timeout 120s >/dev/null
e2e_assert_eq "$(uids registry) $(uids router)" "$before_reg $before_router" "helm rollback to revision 1: registry and router not restarted"
e2e_assert_eq "$(kubectl get cm -n "$ns" maas-routing -o jsonpath='{.data.routing\.yaml}' | grep -o 'weight: [0-9]*')" "weight: 10" "helm rollback to revision 1: routing back at 10%"
