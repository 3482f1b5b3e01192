#!/usr/bin/env bash
# helm install with the CPU profile on the real API server: every object of the release is
# accepted and exists, every pod gets Ready (the services' own readiness probes), the
# registration hook Job registers the MiniLM versions, `helm test` passes (grpcurl through the
# router Service name), and inference through a router pod with Triton's client equals ONNX
# Runtime's output.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ns=$(e2e_namespace e2e-install)
e2e_pv "$ns-registry-data"   # no provisioner here: the registry's claim binds to this PV

e2e_log "helm install (CPU profile + canary at 10%)"
t0=$(date +%s)
if ! out=$(e2e_helm_install "$ns" maas -f "$E2E_REPO/helm/values/cpu.yaml" -f "$E2E_REPO/helm/values/canary.yaml" 2>&1); then
  echo "$out" >&2
  e2e_fail "helm install --wait failed"
fi
e2e_pass "helm install --wait: deployed with hooks in $(( $(date +%s) - t0 ))s"
e2e_assert_eq "$(helm status maas -n "$ns" -o json | e2e_json 'j["info"]["status"]')" deployed "release status"

# Every object of the manifest exists on the server, as rendered (kind/name).
missing=0 count=0
while read -r obj; do
  count=$((count + 1))
  kubectl get -n "$ns" "$obj" >/dev/null 2>&1 || { echo "missing: $obj" >&2; missing=$((missing + 1)); }
done < <(helm get manifest maas -n "$ns" | kubectl create --dry-run=client -n "$ns" -f - -o name)
e2e_assert_ge "$count" 10 "objects in the release manifest"
e2e_assert_eq "$missing" 0 "objects of the manifest missing on the server"

# Deployments complete, pods Ready (each through its own readiness probe, reported by the agent).
for d in $(kubectl get deploy -n "$ns" -o name); do
  kubectl rollout status -n "$ns" "$d" --timeout=120s >/dev/null || e2e_fail "$d not rolled out"
done
e2e_pass "every Deployment rolled out: $(kubectl get deploy -n "$ns" -o jsonpath='{range .items[*]}{.metadata.name}={.status.readyReplicas}/{.spec.replicas} {end}')"
e2e_wait_ready "$ns" "app.kubernetes.io/instance=maas,app.kubernetes.io/component in (router,registry,inference)" 120
notready=$(kubectl get pods -n "$ns" -l 'app.kubernetes.io/component in (router,registry,inference)' \
  -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -cv '=True$' || true)
e2e_assert_eq "$notready" 0 "pods of router, registry and inference not Ready"
e2e_assert_eq "$(kubectl get pvc -n "$ns" maas-registry-data -o jsonpath='{.status.phase}')" Bound "registry claim bound to the PV"

# The router discovered the inference pods from the EndpointSlices.
e2e_assert_eq "$(e2e_endpoint_ips "$ns" maas-minilm-stable | wc -l)" 2 "ready endpoints of the stable Service"
e2e_assert_eq "$(e2e_endpoint_ips "$ns" maas-minilm-canary | wc -l)" 1 "ready endpoints of the canary Service"

# The registration hook ran to completion (hook-succeeded deletes the Job; its pod's log stays)
# and the registry holds both versions.
versions=$(e2e_maasctl "$ns" list minilm 2>&1) || { echo "$versions" >&2; e2e_fail "maasctl list minilm"; }
echo "$versions" >&2
e2e_assert "version 1 (fp32) registered" grep -Eq '(^|[^0-9])1([^0-9]|$).*(sha256|REGISTERED|registered|[0-9a-f]{12})|^ *1 ' <<<"$versions"
e2e_assert "version 2 (int8) registered" grep -Eq '(^|[^0-9])2([^0-9]|$).*(sha256|REGISTERED|registered|[0-9a-f]{12})|^ *2 ' <<<"$versions"
e2e_assert "registration Job deleted after success (hook-succeeded)" \
  bash -c "! kubectl get job -n $ns maas-register-models >/dev/null 2>&1"
e2e_assert "registration pod exited 0" grep -q 'container register exited with 0\|exit 0' \
  <(grep "register-models" "$E2E_STATE/logs/agent.log")

# helm test: grpcurl (the test image) calls ModelInfer through the router Service name.
if ! out=$(helm test maas -n "$ns" --timeout 180s 2>&1); then
  echo "$out" >&2; e2e_pod_log "$ns" maas-test-infer >&2 || true
  e2e_fail "helm test"
fi
e2e_pass "helm test passed"
e2e_assert_eq "$(kubectl get pod -n "$ns" maas-test-infer -o jsonpath='{.status.phase}')" Succeeded "test pod phase"
e2e_assert "test pod got a ModelInfer response" grep -Eq '"model_?[nN]ame": "minilm"' <(e2e_pod_log "$ns" maas-test-infer infer)

# Triton's client at a router pod IP, outputs equal to ONNX Runtime's (both versions pinned).
router=$(e2e_router_ip "$ns")
[[ -n $router ]] || e2e_fail "no Ready router pod"
for v in 1 2; do
  res=$("$E2E_PYTHON" "$E2E_DIR/load.py" compare --target "$router:8001" --repository "$E2E_IMAGES/models/target/repository" \
    --version "$v") || { echo "$res" >&2; e2e_fail "version $v through the router differs from ONNX Runtime"; }
  e2e_pass "router $router: version $v equals ONNX Runtime ($res)"
done
