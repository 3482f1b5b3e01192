#!/usr/bin/env bash
# The harness itself: the control plane is the real v1.34 with RBAC, the nodes are as the other
# scenarios expect, and the node agent materialises a pod as a kubelet would (env from Secret,
# ConfigMap and fieldRef; Secret, ConfigMap and downward API volumes; the pod's user; hosts file
# with Service names; no route out of the pod network), completes it with the process's exit code.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

e2e_assert_eq "$(kubectl version -o json | e2e_json 'j["serverVersion"]["gitVersion"]')" v1.34.4 "API server version"
e2e_assert_eq "$(kubectl get nodes --no-headers | grep -c ' Ready ')" 5 "Ready nodes"
e2e_assert_eq "$(kubectl get nodes -l nvidia.com/gpu.present=true -o jsonpath='{range .items[*]}{.status.allocatable.nvidia\.com/gpu}{.spec.taints[0].key}{" "}{end}')" \
  "1nvidia.com/gpu 1nvidia.com/gpu " "GPU nodes: one nvidia.com/gpu each, tainted"
e2e_assert_eq "$(kubectl auth can-i list secrets -A --as system:serviceaccount:default:default)" no \
  "RBAC: a ServiceAccount without bindings may not list Secrets"
code=$(curl -sk -o /dev/null -w '%{http_code}' "$E2E_APISERVER/api/v1/namespaces/default/secrets")
e2e_assert_eq "$code" 403 "anonymous request refused"

ns=$(e2e_namespace e2e-harness)
kubectl create -n "$ns" secret generic s1 --from-literal=token=s3cr3t >/dev/null
kubectl create -n "$ns" configmap c1 --from-literal=mode=fast >/dev/null
kubectl apply -n "$ns" -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: probe-env, labels: {app: probe-env}}
spec:
  restartPolicy: Never
  securityContext: {runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001}
  containers:
  - name: main
    image: maas/models:any
    command: [sh, -c]
    args:
    - |
      set -e
      echo "uid=$(id -u) gid=$(id -g)"
      echo "token=$TOKEN mode=$MODE pod=$POD_NAME ns=$POD_NS ip=$POD_IP self=$(SELF)"
      echo "file-token=$(cat /etc/s1/token) file-mode=$(cat /etc/c1/mode) labels=$(cat /etc/info/labels)"
      echo "route:"; ip route
      grep -q 'kubernetes.default.svc' /etc/hosts && echo "hosts-has-kubernetes"
      test -f /models/minilm/1/model.onnx && echo "image-files-present"
      touch /models/x 2>/dev/null && echo "image-writable" || echo "image-read-only"
      exit 3
    env:
    - {name: TOKEN, valueFrom: {secretKeyRef: {name: s1, key: token}}}
    - {name: MODE, valueFrom: {configMapKeyRef: {name: c1, key: mode}}}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: POD_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: SELF, value: "$(POD_NAME).$(POD_NS)"}
    volumeMounts:
    - {name: s1, mountPath: /etc/s1, readOnly: true}
    - {name: c1, mountPath: /etc/c1}
    - {name: info, mountPath: /etc/info}
  volumes:
  - {name: s1, secret: {secretName: s1, defaultMode: 0440}}
  - {name: c1, configMap: {name: c1}}
  - name: info
    downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}
EOF
kubectl wait -n "$ns" --for=jsonpath='{.status.phase}'=Failed pod/probe-env --timeout=60s >/dev/null \
  || e2e_fail "the pod did not end Failed (it exits 3)"
e2e_assert_eq "$(kubectl get pod -n "$ns" probe-env -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}')" 3 \
  "exit code reported in the pod status"
log=$(e2e_pod_log "$ns" probe-env main)
echo "$log" >&2
ip=$(kubectl get pod -n "$ns" probe-env -o jsonpath='{.status.podIP}')
e2e_assert "runs as the pod's user" grep -q "uid=10001 gid=10001" <<<"$log"
e2e_assert "env from Secret, ConfigMap, fieldRef and \$(VAR)" \
  grep -q "token=s3cr3t mode=fast pod=probe-env ns=$ns ip=$ip self=probe-env.$ns" <<<"$log"
e2e_assert "Secret, ConfigMap and downward API volumes" grep -q 'file-token=s3cr3t file-mode=fast labels=app="probe-env"' <<<"$log"
e2e_assert "no default route in the pod network" bash -c "! grep -q '^default' <<<\"\$1\"" _ "$log"
e2e_assert "pod IP on eth0" grep -q "src $ip" <<<"$log"
e2e_assert "Service names in /etc/hosts" grep -q hosts-has-kubernetes <<<"$log"
e2e_assert "image files mounted read-only" grep -q "image-files-present" <<<"$log"
e2e_assert "image files not writable" grep -q "image-read-only" <<<"$log"
uid=$(kubectl get pod -n "$ns" probe-env -o jsonpath='{.metadata.uid}' | tr -d - | cut -c1-10)
e2e_await 30 "the pod's network namespace e2e-$uid removed once it completed" bash -c "! ip netns list | grep -q e2e-$uid"

# A long-running pod: an exec readiness probe (run inside the container by the agent), Ready
# reported through the status, then deletion: SIGTERM reaches the process, which exits at once.
kubectl apply -n "$ns" -f - >/dev/null <<'EOF2'
apiVersion: v1
kind: Pod
metadata: {name: probe-exec}
spec:
  terminationGracePeriodSeconds: 30
  securityContext: {runAsUser: 10001, runAsGroup: 10001}
  containers:
  - name: main
    image: maas/models:any
    command: [sh, -c, 'trap "echo got-sigterm; exit 0" TERM; sleep 2; touch /tmp/ready; while :; do sleep 0.2; done']
    readinessProbe:
      exec: {command: [test, -f, /tmp/ready]}
      periodSeconds: 1
EOF2
kubectl wait -n "$ns" --for=condition=Ready pod/probe-exec --timeout=60s >/dev/null || e2e_fail "exec readiness probe never passed"
e2e_pass "exec readiness probe passed inside the container: pod Ready"
t0=$(date +%s)
kubectl delete pod -n "$ns" probe-exec --wait=true --timeout=60s >/dev/null || e2e_fail "pod not deleted"
took=$(( $(date +%s) - t0 ))
e2e_assert_le "$took" 15 "deletion confirmed once the process exited on SIGTERM (well within the 30 s grace), seconds"
e2e_assert "the process got SIGTERM" grep -q got-sigterm <(e2e_pod_log "$ns" probe-exec main)
