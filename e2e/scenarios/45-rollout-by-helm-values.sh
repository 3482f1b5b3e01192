#!/usr/bin/env bash
# Progressive delivery declared in Helm values (docs/rollouts.md), on the real API server, under
# steady load through a router pod (Triton's client, API key from the chart):
#  1. a rollout with a one-hour step runs (20% measured), and `helm rollback` to the values
#     without it ends it: ABORTED, canary weight 0 measured, stable serving;
#  2. a candidate whose outputs drift past the declared shadow gate (MiniLM int8 against fp32,
#     minCosine 0.95) is aborted by the registry in its first step, with 0 failed calls, and
#     the unchanged declaration, re-read, does not restart it;
#  3. a rollout with two short steps (20% 5 s, 50% 5 s; gates: error rate, p99, shadow cosine and
#     max abs diff, min calls) is promoted by the registry from the router's reports, each step
#     held at least its 5 s (audit log): every answer then comes from version 2;
#  4. `helm upgrade` with the same values (registration hook included) does not restart it
#     (helm writes nothing then; a watch event makes the registry re-read the document);
#  5. each transition is an Event on the routing ConfigMap (kubectl get events; Warning for an
#     abort) and its annotation maas.io/rollout-minilm tells the state, both written with the
#     registry's own ServiceAccount (Role: create events, patch that ConfigMap only);
#  0 failed calls throughout, no pod restarted.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$E2E_DIR/upgrades.sh"
ns=$(e2e_namespace e2e-rollout)
cm=maas-routing
now() { date +%s.%N; }
# e2e_json_audit_holds: reads `maasctl audit` (newest first), prints the seconds each step of the
# newest rollout was held (RolloutStarted -> RolloutAdvanced -> ... -> RolloutPromoted).
e2e_json_audit_holds() {
  "$E2E_PYTHON" -c '
import sys
from datetime import datetime
rows = []
for line in sys.stdin:
    f = line.split()
    if len(f) > 3 and f[3] in ("RolloutStarted", "RolloutAdvanced", "RolloutPromoted"):
        rows.append((datetime.fromisoformat(f[1].replace("Z", "+00:00")).timestamp(), f[3]))
rows.reverse()
start = max(i for i, r in enumerate(rows) if r[1] == "RolloutStarted")
rows = rows[start:]
print(" ".join("%.1f" % (b[0] - a[0]) for a, b in zip(rows, rows[1:])))'
}

# Version 2 named as canary at weight 0 from the start: its pod is up before any rollout, so the
# upgrades below change only the routing ConfigMap. The shadow rule mirrors a fifth of stable's
# calls to the canary (also at weight 0): the evidence of the shadow gate.
base=$E2E_STATE/rollout-base-$$.yaml
cat >"$base" <<'EOF'
models:
  - name: minilm
    stable: {version: "1", replicas: 1}
    canary: {version: "2", weight: 0, replicas: 1}
router:
  shadow: [{model: minilm, version: canary, share: 0.2}]
  # The router's own canary guard (p99 > 1 s) would fire on 2 overloaded cores and end the
  # rollout as "routing changed outside": the rollout's gates alone decide here.
  canary: {maxP99Ms: 600000}
registry:
  # emptyDir: this cluster has no volume provisioner (60-bad-values tests the PVC).
  db: {h2: {persistence: {enabled: false}}}
EOF
# The rollouts' files hold only `models` (lists replace): they are given after the base file.
# Gates: for load.py's batch (one row padded) MiniLM int8 against fp32 gives a shadow cosine of
# 0.889 and a max abs diff of 4.9 (measured, deterministic: same input every call), so
# minCosine 0.85 / maxAbsDiff 8 pass a healthy candidate while being judged, minCosine 0.95
# stops it. minCalls 10: about 2.5 s of canary calls at 20% of 20 calls/s.
rollout_values() { # rollout_values FILE SHADOW_GATE STEPS...
  local f=$1 shadow=$2; shift 2
  { cat <<'EOF2'
models:
  - name: minilm
    stable: {version: "1", replicas: 1}
    canary:
      version: "2"
      weight: 0
      replicas: 1
      rollout:
        steps:
EOF2
    local s; for s in "$@"; do echo "          - $s"; done
    cat <<EOF2
        analysis:
          minCalls: 10
          maxErrorRateDelta: 0.01
          maxP99Ms: 60000
          shadow: $shadow
EOF2
  } >"$f"
}
healthy="{minCosine: 0.85, maxAbsDiff: 8.0, minCompared: 3}"
long=$E2E_STATE/rollout-long-$$.yaml drift=$E2E_STATE/rollout-drift-$$.yaml short=$E2E_STATE/rollout-short-$$.yaml
rollout_values "$long" "$healthy" "{weight: 20, hold: 1h}"
rollout_values "$drift" "{minCosine: 0.95, minCompared: 3}" "{weight: 20, hold: 1h}"
rollout_values "$short" "$healthy" "{weight: 20, hold: 5s}" "{weight: 50, hold: 5s}"
e2e_defer rm -f "$base" "$long" "$drift" "$short"

t_install=$(now)
e2e_helm_install "$ns" maas -f "$base" >/dev/null
e2e_pass "installed (revision 1): v1 stable, v2 canary at 0% ($(awk -v a="$(now)" -v b="$t_install" 'BEGIN{printf "%.0f", a-b}') s)"
router=$(e2e_router_ip "$ns")
pods_before=$(e2e_pods_by_component "$ns")

status() { kubectl get configmap -n "$ns" "$cm" -o jsonpath='{.metadata.annotations.maas\.io/rollout-minilm}'; }
status_is() { [[ $(status) == "$1"* ]]; }
status_has() { [[ $(status) == *"$1"* ]]; }
events() { # TYPE REASON MESSAGE of the Events on the routing ConfigMap, oldest first
  kubectl get events -n "$ns" --field-selector "involvedObject.kind=ConfigMap,involvedObject.name=$cm" \
    --sort-by=.metadata.creationTimestamp -o custom-columns='TYPE:.type,REASON:.reason,SOURCE:.source.component,MESSAGE:.message' --no-headers
}
count() { events | awk -v r="$1" '$2 == r' | wc -l; }
event_has() { events | awk -v t="$1" -v r="$2" '$1 == t && $2 == r' | grep -qF "$3"; }
# Upgrades that change only the routing skip the registration hook (a JVM run: versions 1 and 2
# were registered by the install's); step 4 runs it.
upgrade() { e2e_helm_upgrade "$ns" maas -f "$base" -f "$1" --no-hooks >/dev/null; }

e2e_load_start rollout "$router:8001" --rate 20 --concurrency 2
# Calls before the registry applied the declared routing fail (no routing yet): start counting
# once stable answers.
e2e_await_share rollout "$(now)" 1 100 100 60 >/dev/null
t_ready=$(now)

# --- 1. a running rollout ended by helm rollback ----------------------------------------------
t0=$(now)
upgrade "$long"
e2e_await 30 "revision 2: the rollout runs (annotation: RUNNING step 1/1 weight 20%)" status_is "RUNNING step 1/1 weight 20%"
moved=$(e2e_await_share rollout "$t0" 2 5 45 60)
e2e_pass "revision 2: the measured canary share reached step 1's 20% ${moved}s after helm upgrade started"
e2e_record "rollout started: canary share at 20% ${moved}s after helm upgrade"

# Still running on the evidence (its gates pass): what ends it next is the rollback alone.
sleep 3
e2e_assert "the rollout still runs after its first evaluations" status_is "RUNNING step 1/1 weight 20%"
t1=$(now)
helm rollback maas 1 -n "$ns" --wait --timeout 120s >/dev/null
e2e_await 30 "helm rollback to revision 1 ends the running rollout (annotation: ABORTED)" status_is "ABORTED"
e2e_assert "the annotation says why: the declaration no longer declares a rollout" status_has "no longer declares a rollout"
back=$(e2e_await_share rollout "$t1" 2 0 0 60)
e2e_pass "after the rollback no call reaches the candidate (${back}s after helm rollback started)"
sleep 1
a=$(now); sleep 5
read -r s ok f <<<"$(e2e_share rollout "$a" "$(now)" 2)"
e2e_assert_eq "$s $f" "0.0 0" "over 5 s after the rollback: canary share, failed calls ($ok answered by stable)"
e2e_await 10 "a Warning Event RolloutAborted on $cm says why" event_has Warning RolloutAborted "no longer declares a rollout"

# --- 2. a drifting candidate stopped by the shadow gate ---------------------------------------
upgrade "$drift"
e2e_await 60 "revision 4: the shadow gate aborts the drifting candidate (annotation: ABORTED … shadow_cosine)" \
  status_has "gate shadow_cosine broken"
e2e_log "annotation: $(status | cut -c1-200)"
e2e_await 10 "a Warning Event RolloutAborted on $cm names the gate" event_has Warning RolloutAborted "gate shadow_cosine broken"
# The declaration is unchanged: a watch event (any write to the ConfigMap) must not restart it.
kubectl annotate configmap -n "$ns" "$cm" e2e.maas.io/touched="$(date +%s)" --overwrite >/dev/null
t_gate=$(now)
e2e_await_share rollout "$t_gate" 2 0 0 30 >/dev/null
e2e_pass "after the gate's abort no call reaches the candidate"
sleep 2
e2e_assert_eq "$(count RolloutStarted) $(status | cut -d: -f1)" "2 ABORTED step 1/1 weight 0% candidate 2 stable 1" \
  "the unchanged declaration, re-read, does not restart the aborted rollout"

# --- 3. a healthy candidate promoted through two short steps ---------------------------------
t2=$(now)
upgrade "$short"
started_again() { [[ $(status) == "RUNNING step "[12]"/2 "* || $(status) == PROMOTED* ]]; }
e2e_await 30 "revision 5: a new rollout of two steps starts" started_again
e2e_await 120 "the registry promotes the candidate after step 2 (annotation: PROMOTED)" status_is "PROMOTED"
e2e_assert "annotation: the candidate is now stable (not 'weight 0%')" grep -q "^PROMOTED step 2/2 candidate 2 is now stable (was 1)" <<<"$(status)"
t3=$(now)
e2e_record "rollout 20% 5s -> 50% 5s -> promoted: $(awk -v a="$t3" -v b="$t2" 'BEGIN{printf "%.1f", a-b}')s after helm upgrade started"
e2e_await_share rollout "$t3" 2 100 100 30 >/dev/null
a=$(now); sleep 5
read -r s ok f <<<"$(e2e_share rollout "$a" "$(now)" 2)"
e2e_assert_eq "$s $f" "100.0 0" "promoted: share of version 2 over 5 s, failed calls ($ok calls)"
st=$(e2e_maasctl "$ns" rollout status minilm)
echo "$st" >&2
e2e_assert "maasctl rollout status: PROMOTED, candidate 2 against stable 1" grep -q '^rollout: *PROMOTED, candidate 2 against stable 1' <<<"$st"
e2e_assert "maasctl rollout status: declared by the ConfigMap" grep -q "declared by declared:configmap/$ns/$cm" <<<"$st"
e2e_assert "maasctl rollout status: the shadow gate was judged on comparisons" grep -q '^shadow: *[0-9]* compared, mean cosine' <<<"$st"
# Each step held at least its 5 s, from the audit log (newest first; this rollout's records are
# those after the last RolloutStarted).
audit=$(e2e_maasctl "$ns" audit minilm --limit 50)
holds=$(e2e_json_audit_holds <<<"$audit")
e2e_log "holds from the audit log: $holds"
e2e_assert_eq "$(wc -w <<<"$holds")" 2 "the audit log has both steps of the promoted rollout"
for h in $holds; do e2e_assert_ge "$h" 5 "a step was held at least its 5 s"; done
e2e_record "steps held (s, from the audit log): $holds"

# --- 4. the same values again: the finished rollout is not restarted --------------------------
started=$(count RolloutStarted)
rv=$(kubectl get configmap -n "$ns" "$cm" -o jsonpath='{.metadata.resourceVersion}')
e2e_helm_upgrade "$ns" maas -f "$base" -f "$short" >/dev/null
written=no; [[ $(kubectl get configmap -n "$ns" "$cm" -o jsonpath='{.metadata.resourceVersion}') == "$rv" ]] || written=yes
e2e_pass "revision 6: helm upgrade with the same values (registration hook ran; routing ConfigMap written by helm: $written)"
# Whatever helm wrote, the registry re-reads the document on the next watch event: make one.
kubectl annotate configmap -n "$ns" "$cm" e2e.maas.io/touched="$(date +%s)" --overwrite >/dev/null
a=$(now); sleep 5
read -r s ok f <<<"$(e2e_share rollout "$a" "$(now)" 2)"
e2e_assert_eq "$s $f" "100.0 0" "after the same-values upgrade: share of version 2 over 5 s, failed calls ($ok calls)"
e2e_assert "the rollout stays PROMOTED" status_is PROMOTED
e2e_assert_eq "$(count RolloutStarted)" "$started" "no new RolloutStarted Event"
st2=$(e2e_maasctl "$ns" rollout status minilm)
e2e_assert_eq "$(grep '^rollout:' <<<"$st2")" "$(grep '^rollout:' <<<"$st")" "maasctl rollout status: the same rollout (same start)"

# --- 5. what Kubernetes shows ----------------------------------------------------------------
ev=$(events)
e2e_log "kubectl get events --field-selector involvedObject.name=$cm:"
sed 's/^/    /' <<<"$ev" >&2
e2e_assert_eq "$(count RolloutStarted) $(count RolloutAdvanced) $(count RolloutPromoted) $(count RolloutAborted)" "3 1 1 2" \
  "Events Started, Advanced, Promoted, Aborted"
e2e_assert_eq "$(awk '{print $3}' <<<"$ev" | sort -u)" maas-registry "every Event's source is the registry"
e2e_assert_eq "$(kubectl get events -n "$ns" --field-selector "involvedObject.name=$cm,reason=RolloutPromoted" -o jsonpath='{.items[0].involvedObject.uid}')" \
  "$(kubectl get configmap -n "$ns" "$cm" -o jsonpath='{.metadata.uid}')" "the Events point at the ConfigMap's UID (kubectl describe lists them)"
described() { kubectl describe configmap -n "$ns" "$cm" | grep -q RolloutPromoted; }
e2e_assert "kubectl describe configmap lists the Events" described
# Who wrote the annotation (the API server records each writer in managedFields): not helm.
writers=$(kubectl get configmap -n "$ns" "$cm" -o json --show-managed-fields | e2e_json '" ".join(sorted({f["manager"] for f in j["metadata"]["managedFields"] if "maas.io/rollout-minilm" in json.dumps(f.get("fieldsV1", {}))}))')
e2e_log "the annotation's writer (managedFields): $writers"
not_helm() { [[ -n $writers && $writers != *helm* ]]; }
e2e_assert "the annotation is written by the registry's client, not by helm" not_helm
registry_pod=$(kubectl get pods -n "$ns" -l app.kubernetes.io/component=registry -o jsonpath='{.items[0].metadata.name}')
reglog=$(e2e_pod_log "$ns" "$registry_pod" registry)
no_refused_write() { ! grep -q 'not written to ConfigMap' <<<"$reglog"; }
e2e_assert "the registry log has no refused status write" no_refused_write
registry=$(e2e_token_kubeconfig "$ns" maas-registry)
can() { kubectl_as "$registry" auth can-i "$@" -n "$ns" 2>/dev/null || true; }
e2e_assert_eq "$(can create events) $(can patch configmaps/$cm)" "yes yes" "registry token: create events, patch its ConfigMap"
e2e_assert_eq "$(can patch configmaps/kube-root-ca.crt) $(can update events) $(can delete events) $(can list events)" "no no no no" \
  "registry token: no other ConfigMap, no update/delete/list of events"

# --- the load ---------------------------------------------------------------------------------
sum=$(e2e_load_summary rollout "$t_ready" "$(now)")
e2e_assert_eq "$(e2e_json 'j["failed"]' <<<"$sum")" 0 "0 failed calls from the first stable answer to the end"
same_pods() { [[ $(e2e_pods_by_component "$ns") == "$pods_before" ]]; }
e2e_assert "no pod restarted by the upgrades and the rollback (the same $(wc -l <<<"$pods_before") pod UIDs)" same_pods
e2e_load_stop rollout >/dev/null
echo "calls sent=$(e2e_json 'j["sent"]' <<<"$sum") failed=$(e2e_json 'j["failed"]' <<<"$sum") (rollout: run + helm rollback, shadow-gate abort, promotion, same-values upgrade; versions $(e2e_json 'j["versions"]' <<<"$sum"))" >&2
