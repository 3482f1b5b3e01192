#!/usr/bin/env bash
# Rolling updates of inference pods under load, `kubectl rollout undo`, and the helm upgrade and
# helm rollback after it (Helm 4, server-side apply), as docs/kubernetes.md prescribes:
#  1. helm upgrade changes JAVA_OPTS of the stable track: a rolling update, 0 failed calls;
#  2. kubectl rollout undo brings the previous template back, serving, 0 failed calls;
#  3. the next helm upgrade with the values still carrying the change is refused with a conflict
#     on the fields the undo changed (instead of silently re-applying what was undone);
#  4. the documented sequence (values put back, --force-conflicts) succeeds and restarts nothing;
#  5. a later upgrade changing the same field needs --force-conflicts too (kubectl still
#     co-owns it); with it, a rolling update, 0 failed calls, and Helm owns the field again;
#  6. after another undo, helm rollback to the revision the undo restored succeeds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$E2E_DIR/upgrades.sh"
ns=$(e2e_namespace e2e-undo)
dep=maas-minilm-stable
# The registry on an emptyDir: this cluster has no volume provisioner (60-bad-values tests the PVC).
# One stable replica: each rollout starts one JVM (2 busy cores); maxSurge 1 / maxUnavailable 0
# still hands traffic from the old pod to the new one through readiness and EndpointSlices.
base=(-f "$E2E_REPO/helm/values/cpu.yaml" --set models[0].stable.replicas=1 --set registry.db.h2.persistence.enabled=false)
java_opts() { kubectl get deploy -n "$ns" "$dep" -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="JAVA_OPTS")].value}'; }
now() { date +%s.%N; }
span() { awk -v a="$2" -v b="$1" 'BEGIN{printf "%.1f", a-b}'; }
# phase NAME T0 T1: calls sent/failed in the window, asserted 0 failed, recorded
phase() {
  local sum; sum=$(e2e_load_summary undo "$2" "$3")
  e2e_record "$1: $(span "$2" "$3")s, calls $sum"
  e2e_assert_eq "$(e2e_json 'j["failed"]' <<<"$sum")" 0 "$1: 0 failed calls ($(e2e_json 'j["sent"]' <<<"$sum") sent)"
}
rolled() { kubectl rollout status -n "$ns" "deployment/$dep" --timeout=240s >/dev/null; e2e_wait_ready "$ns" "app.kubernetes.io/component=inference" 240; }

e2e_helm_install "$ns" maas "${base[@]}" >/dev/null                       # revision 1
e2e_pass "installed: stable v1, 1 replica"
opts=$(java_opts)        # inference.javaOpts as installed (the harness's values may set it)
[[ -n $opts ]] || e2e_fail "no JAVA_OPTS in deployment/$dep"
bad=(--set-string "inference.javaOpts=$opts -Dmaas.e2e.mark=bad")
later=(--set-string "inference.javaOpts=$opts -Dmaas.e2e.mark=later")
# Deadline 30 s: the first calls a just-Ready inference pod serves are slow (JIT and ONNX Runtime's
# first runs; the service does not warm up before it reports Ready) and took > 10 s once on 2
# cores at load 20. A call past 30 s still counts as failed.
t_load=$(now)
e2e_load_start undo "$(e2e_router_ip "$ns"):8001" --rate 20 --deadline-ms 30000
sleep 3

# 1. rolling update under load
t0=$(now)
e2e_helm_upgrade "$ns" maas "${base[@]}" "${bad[@]}" >/dev/null            # revision 2
rolled; sleep 3; t1=$(now)
e2e_assert_eq "$(java_opts)" "$opts -Dmaas.e2e.mark=bad" "revision 2 rolled out"
phase "rolling update (helm upgrade, JAVA_OPTS)" "$t0" "$t1"

# 2. kubectl rollout undo
kubectl rollout undo -n "$ns" "deployment/$dep" >/dev/null
rolled; sleep 3; t2=$(now)
e2e_assert_eq "$(java_opts)" "$opts" "rollout undo: the previous template is back"
uids_undone=$(e2e_pod_uids "$ns" app.kubernetes.io/component=inference)
phase "kubectl rollout undo" "$t1" "$t2"

# 3. the values still carry the change: refused, with the conflict named
set +e; out=$(e2e_helm_upgrade "$ns" maas "${base[@]}" "${bad[@]}" 2>&1); rc=$?; set -e
e2e_assert "helm upgrade re-applying the undone change is refused" test "$rc" -ne 0
e2e_assert "... by a conflict with kubectl on the field the undo changed" grep -q 'conflict with "kubectl"' <<<"$out"
e2e_log "helm said: $(grep -o 'Error:.*' <<<"$out" | head -c 300)"
e2e_assert_eq "$(java_opts)" "$opts" "... and the undone template stays in place"

# 4. the documented sequence: values put back, --force-conflicts
t3=$(now)
e2e_helm_upgrade "$ns" maas "${base[@]}" --force-conflicts >/dev/null
t4=$(now)
e2e_assert_eq "$(helm status maas -n "$ns" -o json | e2e_json 'j["info"]["status"]')" deployed "documented sequence (values put back, --force-conflicts): helm upgrade succeeds"
rev_restored=$(helm history maas -n "$ns" -o json | e2e_json 'j[-1]["revision"]')   # its template is the undone-to one
e2e_assert_eq "$(e2e_pod_uids "$ns" app.kubernetes.io/component=inference)" "$uids_undone" "... and restarts nothing (same template)"
managers=$(kubectl get deploy -n "$ns" "$dep" --show-managed-fields -o jsonpath='{range .metadata.managedFields[*]}{.manager}/{.operation} {end}')
e2e_log "field managers after the sequence: $managers"
phase "helm upgrade after the undo" "$t3" "$t4"

# 5. a later change of the same field: kubectl still co-owns it (a forced apply of the
#    same value takes nothing from it), so a plain upgrade is refused and --force-conflicts,
#    as the docs say, goes through (a rolling update under load)
t5=$(now)
set +e; out=$(e2e_helm_upgrade "$ns" maas "${base[@]}" "${later[@]}" 2>&1); rc=$?; set -e
e2e_log "plain upgrade changing JAVA_OPTS: rc=$rc $(grep -o 'Error:.*' <<<"$out" | head -c 300)"
refused=no; if [[ $rc != 0 ]] && grep -q 'conflict with "kubectl"' <<<"$out"; then refused=yes; fi
e2e_assert_eq "$refused" yes "a later plain helm upgrade changing the undone field is refused (conflict with kubectl)"
e2e_helm_upgrade "$ns" maas "${base[@]}" "${later[@]}" --force-conflicts >/dev/null
rolled; sleep 3; t6=$(now)
e2e_assert_eq "$(java_opts)" "$opts -Dmaas.e2e.mark=later" "with --force-conflicts the later change rolled out"
owners=$(kubectl get deploy -n "$ns" "$dep" --show-managed-fields -o json | e2e_json '" ".join(sorted(m["manager"] for m in j["metadata"]["managedFields"] if "JAVA_OPTS" in json.dumps(m.get("fieldsV1", {}))))')
e2e_assert_eq "$owners" helm "... and JAVA_OPTS is Helm's alone again"
phase "rolling update (later helm upgrade --force-conflicts)" "$t5" "$t6"

# 6. undo again, then helm rollback to the revision whose template the undo restored
kubectl rollout undo -n "$ns" "deployment/$dep" >/dev/null
rolled; t7=$(now)
e2e_assert_eq "$(java_opts)" "$opts" "second rollout undo: back to the revision-$rev_restored template"
uids=$(e2e_pod_uids "$ns" app.kubernetes.io/component=inference)
helm rollback maas "$rev_restored" -n "$ns" --wait --timeout 120s --force-conflicts >/dev/null
t8=$(now)
e2e_assert_eq "$(helm status maas -n "$ns" -o json | e2e_json 'j["info"]["status"]')" deployed "helm rollback $rev_restored --force-conflicts after the undo succeeds"
e2e_assert_eq "$(e2e_pod_uids "$ns" app.kubernetes.io/component=inference)" "$uids" "... and restarts nothing"
phase "second undo + helm rollback" "$t6" "$t8"

sum=$(e2e_load_summary undo "$t_load" "$(now)")    # this run's calls (the events file of a kept state folder accumulates)
e2e_load_stop undo >/dev/null
e2e_record "total: $sum"
e2e_assert_eq "$(e2e_json 'j["failed"]' <<<"$sum")" 0 "0 failed calls over the whole scenario ($(e2e_json 'j["sent"]' <<<"$sum") sent)"
