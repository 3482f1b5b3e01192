#!/usr/bin/env bash
# GPU pinning on the real scheduler: with the GPU profile inference pods land only on GPU nodes
# (label nvidia.com/gpu.present, taint nvidia.com/gpu, allocatable nvidia.com/gpu: 1 on each of
# the 2 GPU nodes); when GPU capacity runs out the next pod stays Pending and says why; the CPU
# profile asks for no GPU; a missing RuntimeClass gets the chart's message before anything is
# applied (without the check: Pods refused at admission). Pods are simulated (scheduling only).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$E2E_DIR/upgrades.sh"
ns=$(e2e_namespace e2e-gpu)
gpu=(-f "$E2E_VALUES_SIM" -f "$E2E_REPO/helm/values/gpu.yaml")

# events_match REASON REGEX: an event of REASON in the namespace whose message matches REGEX
events_match() { kubectl get events -n "$ns" --field-selector "reason=$1" -o jsonpath='{.items[*].message}' | grep -qi "$2"; }
no_runtimeclass() { ! kubectl get runtimeclass nvidia >/dev/null 2>&1; }

gpu_nodes=$(kubectl get nodes -l nvidia.com/gpu.present=true -o jsonpath='{.items[*].metadata.name}')
e2e_assert_eq "$(wc -w <<<"$gpu_nodes")" 2 "the cluster has two GPU nodes"

# 1. No RuntimeClass "nvidia": the chart refuses, nothing is applied.
e2e_assert "no RuntimeClass nvidia yet" no_runtimeclass
set +e
out=$(helm install maas "$E2E_CHART" -n "$ns" -f "$E2E_VALUES_CPU" "${gpu[@]}" --wait --timeout 60s 2>&1)
rc=$?
set -e
e2e_assert "helm install (GPU profile, no RuntimeClass) fails at once" test "$rc" -ne 0
e2e_assert "... with the chart's message naming the RuntimeClass and the fix" grep -q 'gpu.runtimeClassName: the cluster has no RuntimeClass "nvidia"' <<<"$out"
echo "$out" | grep -o 'Error:.*' | head -n 1 | cut -c1-300 >&2
e2e_assert_eq "$(helm list -n "$ns" -a -q | wc -l)" 0 "no release recorded"
e2e_assert_eq "$(kubectl get deploy,svc,cm,secret,role -n "$ns" -o name | grep -c maas || true)" 0 "no object applied"

# 1b. What the check prevents (clusterChecks=false, as before the fix): the ReplicaSet cannot
#     create a single Pod, admission refuses them.
helm install maas "$E2E_CHART" -n "$ns" -f "$E2E_VALUES_CPU" "${gpu[@]}" --set clusterChecks=false >/dev/null
e2e_await 60 "without the check: the ReplicaSet's pods are refused (FailedCreate: RuntimeClass not found)" \
  events_match FailedCreate 'runtimeclass.*nvidia.*not found' 
e2e_assert_eq "$(kubectl get pods -n "$ns" -l app.kubernetes.io/component=inference -o name | wc -l)" 0 "without the check: no inference pod exists"
helm uninstall maas -n "$ns" --wait >/dev/null

# 2. With the RuntimeClass: two GPU pods on the two GPU nodes, nowhere else.
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: nvidia}
handler: nvidia
YAML
e2e_defer kubectl delete runtimeclass nvidia --ignore-not-found
e2e_helm_install "$ns" maas "${gpu[@]}" >/dev/null
e2e_pass "helm install --wait (GPU profile, RuntimeClass nvidia present)"
sel=app.kubernetes.io/component=inference
placed=$(kubectl get pods -n "$ns" -l "$sel" -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort)
e2e_assert_eq "$(tr '\n' ' ' <<<"$placed" | xargs)" "$(tr ' ' '\n' <<<"$gpu_nodes" | sort | tr '\n' ' ' | xargs)" "the 2 inference pods are on the 2 GPU nodes, one each"
limits=$(kubectl get deploy -n "$ns" maas-minilm-stable -o jsonpath='{.spec.template.spec.containers[0].resources.limits.nvidia\.com/gpu} {.spec.template.spec.runtimeClassName}')
e2e_assert_eq "$limits" "1 nvidia" "inference pods ask for nvidia.com/gpu: 1 and RuntimeClass nvidia"
for c in router registry; do
  node=$(kubectl get pods -n "$ns" -l app.kubernetes.io/component=$c -o jsonpath='{.items[0].spec.nodeName}')
  e2e_assert "$c runs on a CPU node ($node)" bash -c "[[ $node == e2e-cpu-* ]]"
done

# 3. GPU capacity runs out: a third replica stays Pending and the reason is visible.
kubectl scale deployment -n "$ns" maas-minilm-stable --replicas=3 >/dev/null
e2e_await 60 "the third GPU pod is Pending with FailedScheduling: Insufficient nvidia.com/gpu" \
  events_match FailedScheduling 'Insufficient nvidia.com/gpu' 
pending=$(kubectl get pods -n "$ns" -l "$sel" --field-selector status.phase=Pending -o jsonpath='{range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="PodScheduled")].reason}{"\n"}{end}')
e2e_assert_eq "$(wc -l <<<"$pending") $(awk '{print $2}' <<<"$pending")" "1 Unschedulable" "exactly one pod Pending, PodScheduled=False reason Unschedulable"
msg=$(kubectl get events -n "$ns" --field-selector reason=FailedScheduling -o jsonpath='{.items[-1:].message}')
e2e_log "scheduler: $msg"
e2e_assert "the message also says why the CPU nodes do not fit (taint / node selector)" grep -q "untolerated taint\|didn't match Pod's node affinity/selector" <<<"$msg"
helm uninstall maas -n "$ns" --wait >/dev/null

# 4. CPU profile: no GPU request, toleration, selector or runtimeClass; pods on CPU nodes.
e2e_helm_install "$ns" maas -f "$E2E_VALUES_SIM" -f "$E2E_REPO/helm/values/cpu.yaml" >/dev/null
gpu_bits=$(kubectl get deploy -n "$ns" maas-minilm-stable -o json | grep -c nvidia || true)
e2e_assert_eq "$gpu_bits" 0 "CPU profile: the inference pod template mentions no GPU (limit, toleration, selector, runtimeClass)"
nodes=$(kubectl get pods -n "$ns" -l "$sel" -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort -u | xargs)
e2e_assert_eq "$(tr ' ' '\n' <<<"$nodes" | grep -vc '^e2e-cpu-' || true)" 0 "CPU profile: inference pods on CPU nodes only ($nodes)"
