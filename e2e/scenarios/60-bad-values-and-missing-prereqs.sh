#!/usr/bin/env bash
# A values file the schema refuses fails before anything is applied, with the schema's message
# (on install and on upgrade); a missing PersistentVolume provisioner or ServiceMonitor CRD gets
# the chart's message before anything is applied. (The missing RuntimeClass: 30-gpu-pinning.)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$E2E_DIR/upgrades.sh"
ns=$(e2e_namespace e2e-bad-values)
bad=$(mktemp "$E2E_STATE/bad-values.XXXXXX.yaml"); e2e_defer rm -f "$bad"
cat >"$bad" <<'YAML'
models:
  - name: minilm
    stable: {version: "1", replicas: 1}
    canary: {version: "2", weight: 150, replicas: 1}
gpu:
  tolerations:
    - {key: nvidia.com/gpu, operator: exists, effect: NoSchedule}
YAML
objects() { kubectl get deploy,rs,pods,svc,cm,secret,sa,role,rolebinding,pvc,jobs -n "$ns" -o name | grep -v 'serviceaccount/default\|configmap/kube-root-ca.crt' | sort; }
attempt() { set +e; out=$(helm "$@" 2>&1); rc=$?; set -e; }

# 1. install with a refused values file
attempt install maas "$E2E_CHART" -n "$ns" -f "$E2E_VALUES_CPU" -f "$E2E_VALUES_SIM" -f "$bad" --wait --timeout 60s
e2e_assert "install with a refused values file fails" test "$rc" -ne 0
e2e_assert "... with the schema's message for the weight" grep -q "at '/models/0/canary/weight': maximum: got 150, want 100" <<<"$out"
e2e_assert "... and for the toleration operator" grep -q "at '/gpu/tolerations/0/operator': value must be one of 'Exists', 'Equal'" <<<"$out"
e2e_log "helm said: $(head -c 400 <<<"$out" | tr '\n' ' ')"
e2e_assert_eq "$(helm list -n "$ns" -a -q | wc -l)" 0 "no release recorded"
e2e_assert_eq "$(objects | wc -l)" 0 "nothing applied in the namespace"

# 2. upgrade of a working release with a refused values file
e2e_helm_install "$ns" maas -f "$E2E_VALUES_SIM" -f "$E2E_REPO/helm/values/canary.yaml" --set models[0].stable.replicas=1 >/dev/null
before=$(objects); rv=$(kubectl get cm -n "$ns" maas-routing -o jsonpath='{.metadata.resourceVersion}')
attempt upgrade maas "$E2E_CHART" -n "$ns" -f "$E2E_VALUES_CPU" -f "$E2E_VALUES_SIM" -f "$bad" --wait --timeout 60s
e2e_assert "upgrade with a refused values file fails" test "$rc" -ne 0
e2e_assert "... with the schema's message" grep -q "at '/models/0/canary/weight': maximum: got 150, want 100" <<<"$out"
e2e_assert_eq "$(helm history maas -n "$ns" -o json | e2e_json 'len(j), j[-1]["status"]')" "1 deployed" "release still at revision 1, deployed"
e2e_assert_eq "$(kubectl get cm -n "$ns" maas-routing -o jsonpath='{.metadata.resourceVersion}')" "$rv" "routing ConfigMap untouched"
[[ $(objects) == "$before" ]] && same=yes || same=no
e2e_assert_eq "$same" yes "the same $(wc -l <<<"$before") objects as before"
helm uninstall maas -n "$ns" --wait >/dev/null

# 3. the registry's PVC with no provisioner and no PersistentVolume (this cluster has neither)
if [[ -z $(kubectl get storageclass -o name) && -z $(kubectl get pv -o jsonpath='{.items[?(@.status.phase=="Available")].metadata.name}') ]]; then
  attempt install maas "$E2E_CHART" -n "$ns" -f "$E2E_VALUES_CPU" -f "$E2E_VALUES_SIM" --set registry.db.h2.persistence.enabled=true --wait --timeout 60s
  e2e_assert "install with a PVC nothing can bind fails" test "$rc" -ne 0
  e2e_assert "... with the chart's message" grep -q "registry.db.h2.persistence: the cluster has no default StorageClass and no Available PersistentVolume without a class, so the registry's PersistentVolumeClaim maas-registry-data would stay Pending" <<<"$out"
  e2e_assert_eq "$(objects | wc -l)" 0 "nothing applied"
  # a PersistentVolume to bind makes it install (the check accepts it)
  pv=e2e-registry-pv-$$
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: {name: $pv}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: $E2E_STATE/pv/$pv, type: DirectoryOrCreate}
YAML
  e2e_defer kubectl delete pv "$pv" --ignore-not-found --wait=false
  e2e_defer kubectl delete pvc -n "$ns" maas-registry-data --ignore-not-found --wait=false
  e2e_await 20 "the PersistentVolume is Available" bash -c "[[ \$(\"$E2E_KUBECTL\" --kubeconfig $E2E_KUBECONFIG get pv $pv -o jsonpath='{.status.phase}') == Available ]]"
  e2e_helm_install "$ns" maas -f "$E2E_VALUES_SIM" --set registry.db.h2.persistence.enabled=true >/dev/null
  e2e_assert_eq "$(kubectl get pvc -n "$ns" maas-registry-data -o jsonpath='{.status.phase} {.spec.volumeName}')" "Bound $pv" "with a PersistentVolume: installed, the registry's claim Bound to it"
  helm uninstall maas -n "$ns" --wait >/dev/null
  kubectl delete pvc -n "$ns" maas-registry-data --wait=true --timeout=60s >/dev/null   # kept by helm (resource-policy keep)
else
  e2e_log "the cluster has a StorageClass or an Available PV: the missing-provisioner case is not tested here"
fi

# 4. a ServiceMonitor without the Prometheus Operator's CRD
attempt install maas "$E2E_CHART" -n "$ns" -f "$E2E_VALUES_CPU" -f "$E2E_VALUES_SIM" --set serviceMonitor.enabled=true --wait --timeout 60s
e2e_assert "install with serviceMonitor.enabled and no CRD fails" test "$rc" -ne 0
e2e_assert "... with the chart's message" grep -q "serviceMonitor.enabled=true, but the cluster does not serve monitoring.coreos.com/v1 ServiceMonitor" <<<"$out"
e2e_assert_eq "$(objects | wc -l)" 0 "nothing applied"
