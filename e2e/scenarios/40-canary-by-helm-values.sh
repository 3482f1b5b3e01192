#!/usr/bin/env bash
# Canary by Helm values under steady load (Triton's client at a router pod's IP, 20 calls/s):
# `helm upgrade` 10% -> 50% moves the measured split within seconds, `helm rollback` restores
# it, 0 failed calls across both, and neither restarts a pod (only the routing ConfigMap changes).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$E2E_DIR/upgrades.sh"
ns=$(e2e_namespace e2e-canary)
# The registry on an emptyDir: this cluster has no volume provisioner (60-bad-values tests the PVC).
args=(-f "$E2E_REPO/helm/values/canary.yaml" --set models[0].stable.replicas=1 --set models[0].canary.replicas=1 --set registry.db.h2.persistence.enabled=false
  # The router's automatic canary abort (p99 > 1 s) would fire on 2 overloaded cores and set the
  # weight to 0 behind helm's back; this scenario tests the declared split, so it is set out of reach.
  --set router.canary.maxP99Ms=600000)
e2e_helm_install "$ns" maas "${args[@]}" >/dev/null
e2e_pass "installed: v1 stable, v2 canary at 10%"
router=$(e2e_router_ip "$ns")
pods_before=$(e2e_pods_by_component "$ns")

e2e_load_start canary "$router:8001" --rate 20 --concurrency 2
now() { date +%s.%N; }
window() { # window SECONDS: share of v2 over the next SECONDS
  local a; a=$(now); sleep "$1"; e2e_share canary "$a" "$(now)" 2
}
# The registry applies the declared 10% once the hook registered v2; wait for it.
# (Calls before that fail with FAILED_PRECONDITION: no routing yet and pods of two versions.)
e2e_await_share canary "$(now)" 2 1 25 60 >/dev/null
t_ready=$(now)
read -r s ok f <<<"$(window 10)"
e2e_assert_le "$f" 0 "10%: no failed call over 10 s"
e2e_assert "10%: measured canary share $s% over $ok calls lies in [2, 22]" awk -v s="$s" 'BEGIN{exit !(s>=2 && s<=22)}'
e2e_record "split at 10%: $s% of $ok calls"

# helm upgrade to 50%: the split is measured while helm runs (its --wait includes the
# registration hook Job, a JVM, so helm returns well after the ConfigMap changed)
t0=$(now)
e2e_helm_upgrade "$ns" maas "${args[@]}" --set models[0].canary.weight=50 >"$E2E_STATE/helm-upgrade-$$.log" 2>&1 &
hpid=$!
moved=$(e2e_await_share canary "$t0" 2 35 65 60)
wait "$hpid" || { cat "$E2E_STATE/helm-upgrade-$$.log" >&2; e2e_fail "helm upgrade to 50% failed"; }
t1=$(now)
e2e_pass "50%: the measured split moved ${moved}s after helm upgrade started (helm took $(awk -v a="$t1" -v b="$t0" 'BEGIN{printf "%.1f", a-b}')s, hook included)"
e2e_record "upgrade 10->50: split moved ${moved}s after helm upgrade started; helm $(awk -v a="$t1" -v b="$t0" 'BEGIN{printf "%.1f", a-b}')s"
read -r s ok f <<<"$(window 10)"
e2e_assert "50%: measured canary share $s% over $ok calls lies in [35, 65]" awk -v s="$s" 'BEGIN{exit !(s>=35 && s<=65)}'
e2e_record "split at 50%: $s% of $ok calls"

# helm rollback to revision 1 (no hook runs on rollback)
t2=$(now)
helm rollback maas 1 -n "$ns" --wait --timeout 120s >"$E2E_STATE/helm-rollback-$$.log" 2>&1 &
hpid=$!
back=$(e2e_await_share canary "$t2" 2 0 25 60)
wait "$hpid" || { cat "$E2E_STATE/helm-rollback-$$.log" >&2; e2e_fail "helm rollback failed"; }
t3=$(now)
e2e_pass "rollback: the measured split is back ${back}s after helm rollback started (helm took $(awk -v a="$t3" -v b="$t2" 'BEGIN{printf "%.1f", a-b}')s)"
sleep 2   # past the switch before the steady window
e2e_record "rollback 50->10: split back ${back}s after helm rollback started; helm $(awk -v a="$t3" -v b="$t2" 'BEGIN{printf "%.1f", a-b}')s"
read -r s ok f <<<"$(window 10)"
e2e_assert "after rollback: measured canary share $s% over $ok calls lies in [2, 22]" awk -v s="$s" 'BEGIN{exit !(s>=2 && s<=22)}'
e2e_record "split after rollback: $s% of $ok calls"
e2e_assert_eq "$(kubectl get cm -n "$ns" maas-routing -o jsonpath='{.data.routing\.yaml}' | grep -o 'weight: [0-9]*')" "weight: 10" "the routing ConfigMap declares 10% again"

sum=$(e2e_load_summary canary "$t0" "$(now)")
e2e_record "calls from the upgrade to the end: $sum"
e2e_assert_eq "$(e2e_json 'j["failed"]' <<<"$sum")" 0 "0 failed calls across the upgrade and the rollback ($(e2e_json 'j["sent"]' <<<"$sum") sent)"
e2e_assert_eq "$(e2e_pods_by_component "$ns")" "$pods_before" "no pod restarted by the upgrade or the rollback"
e2e_record "all calls once the routing was applied: $(e2e_load_summary canary "$t_ready" "$(now)")"
e2e_load_stop canary >/dev/null
