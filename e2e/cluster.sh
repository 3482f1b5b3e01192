#!/usr/bin/env bash
# A private Kubernetes cluster for the e2e scenarios (e2e/README.md).
#   e2e/cluster.sh up           starts etcd, kube-apiserver, controller manager, scheduler, kwok
#                               (5 nodes) and the node agent; prints the state folder (stdout,
#                               last line); progress on stderr
#   e2e/cluster.sh down STATE   kills everything `up` started (by PID), removes every network
#                               namespace and the bridge, deletes STATE (unless E2E_KEEP_STATE=1)
# Needs root (network namespaces, mounts). Built binaries come from e2e/build/build.sh,
# e2e/agent/build.sh, e2e/build/grpcurl.sh and helm/tests/ensure-tools.sh (cached).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf '[e2e cluster] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- down --------------------------------------------------------------------------------
# Kills PID (process group first when it leads one), waits up to $2 seconds, then SIGKILL.
stop_pid() {
  local pid=$1 wait_s=${2:-10} i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < wait_s * 10; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

down() {
  local state=$1 f pid ns
  [[ -d $state && -f $state/.maas-e2e ]] || die "not a harness state folder: $state"
  # The agent first: on SIGTERM it stops every pod process (grace periods) and removes its
  # network namespaces itself.
  if [[ -f $state/pids/agent ]]; then stop_pid "$(cat "$state/pids/agent")" 45; fi
  for c in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    [[ -f $state/pids/$c ]] && stop_pid "$(cat "$state/pids/$c")" 15
  done
  # Load clients a scenario left running.
  for f in "$state"/load/*.pid; do [[ -f $f ]] && stop_pid "$(cat "$f")" 5; done
  # Whatever pod process the agent left (it records each container's PID, also process
  # group leader): killed by PID.
  if [[ -d $state/pids/containers ]]; then
    for f in "$state"/pids/containers/*; do
      [[ -f $f ]] || continue
      pid=$(cat "$f")
      if kill -0 "$pid" 2>/dev/null; then
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      fi
    done
  fi
  # Every network namespace the agent created (listed before creation) and the bridge.
  if [[ -f $state/netns.list ]]; then
    while read -r ns; do
      [[ -n $ns ]] && ip netns del "$ns" 2>/dev/null || true
    done <"$state/netns.list"
  fi
  if [[ -f $state/bridge ]]; then ip link del "$(cat "$state/bridge")" 2>/dev/null || true; fi
  if [[ ${E2E_KEEP_STATE:-0} == 1 ]]; then
    log "state kept: $state"
    return 0
  fi
  # Never follow a mount out of the state folder (pod mounts live in private mount namespaces,
  # so none should be visible here; refuse rather than risk it).
  if findmnt -rn -o TARGET | grep -q "^$state"; then
    log "mounts remain under $state, not deleting it:"; findmnt -rn -o TARGET | grep "^$state" >&2
    return 1
  fi
  rm -rf --one-file-system "$state"
}

# --- up ----------------------------------------------------------------------------------
free_ports() { # N: N distinct free TCP ports (bound once on all addresses to check, then freed)
  python3 -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("0.0.0.0", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()' "$1"
}

kubeconfig() { # FILE USER CERT KEY
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: https://$bridge_ip:$api_port
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(base64 -w0 "$3")
    client-key-data: $(base64 -w0 "$4")
contexts:
- name: e2e
  context: {cluster: e2e, user: $2}
current-context: e2e
EOF
  chmod 600 "$1"
}

client_cert() { # NAME CN [O]
  local subj="/CN=$2"; [[ -n ${3:-} ]] && subj="/O=$3/CN=$2"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$pki/$1.key" -subj "$subj" -out "$pki/$1.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 \
    -extfile <(printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n') \
    -out "$pki/$1.crt" 2>/dev/null
}

start() { # NAME CMD...: starts CMD in its own session, logs to logs/NAME.log, PID in pids/NAME
  local name=$1; shift
  setsid "$@" >"$state/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$state/pids/$name"
}

wait_for() { # SECONDS WHAT CMD...
  local t=$1 what=$2 i; shift 2
  for ((i = 0; i < t * 5; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "$what not up within ${t}s (logs: $state/logs)"
}

up() {
  [[ $(id -u) == 0 ]] || die "needs root (network namespaces, mounts)"
  local bins agent grpcurl tools
  bins=$("$repo/e2e/build/build.sh" | tail -n1)
  agent=$("$repo/e2e/agent/build.sh" | tail -n1)
  grpcurl=$("$repo/e2e/build/grpcurl.sh" | tail -n1)
  mapfile -t tools < <("$repo/helm/tests/ensure-tools.sh")
  local helm=${tools[0]} kubectl=${tools[1]}

  state=$(mktemp -d "${TMPDIR:-/tmp}/maas-e2e.XXXXXX")
  chmod 711 "$state"
  touch "$state/.maas-e2e"
  trap 'rc=$?; if (( rc != 0 )); then log "up failed; logs:"; tail -n 20 "$state"/logs/*.log >&2 2>/dev/null; down "$state" || true; fi' EXIT
  mkdir -p "$state"/{pki,logs,pids/containers,etcd,kwok,pods,helm}
  pki=$state/pki

  # Pod network: a bridge with no uplink; pods get <net>.<node>.x/16 and no default route.
  local net=${E2E_POD_NET:-10.244}
  bridge_ip=$net.0.1
  if ip -4 route show | grep -v '^default' | grep -q "^$net\."; then
    die "$net.0.0/16 is already routed on this machine; choose another E2E_POD_NET"
  fi
  local br; br=mae2e$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
  echo "$br" >"$state/bridge"
  ip link add "$br" type bridge
  ip addr add "$bridge_ip/16" dev "$br"
  ip link set "$br" up

  local ports; read -r etcd_port etcd_peer api_port kcm_port sched_port kwok_port <<<"$(free_ports 6)"

  log "certificates"
  openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" -days 2 \
    -subj "/CN=maas-e2e-ca" 2>/dev/null
  openssl req -new -newkey rsa:2048 -nodes -keyout "$pki/apiserver.key" -subj "/CN=kube-apiserver" \
    -out "$pki/apiserver.csr" 2>/dev/null
  openssl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 \
    -extfile <(printf '%s\n' "subjectAltName=IP:$bridge_ip,IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
      'extendedKeyUsage=serverAuth' 'keyUsage=critical,digitalSignature,keyEncipherment') \
    -out "$pki/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  client_cert admin e2e-admin system:masters
  client_cert kcm system:kube-controller-manager
  client_cert scheduler system:kube-scheduler
  client_cert kwok e2e-kwok system:masters
  client_cert agent e2e-node-agent system:masters
  kubeconfig "$state/admin.kubeconfig" e2e-admin "$pki/admin.crt" "$pki/admin.key"
  kubeconfig "$state/kcm.kubeconfig" kcm "$pki/kcm.crt" "$pki/kcm.key"
  kubeconfig "$state/scheduler.kubeconfig" scheduler "$pki/scheduler.crt" "$pki/scheduler.key"
  kubeconfig "$state/kwok.kubeconfig" kwok "$pki/kwok.crt" "$pki/kwok.key"
  kubeconfig "$state/agent.kubeconfig" agent "$pki/agent.crt" "$pki/agent.key"

  log "etcd on 127.0.0.1:$etcd_port"
  start etcd "$bins/etcd" --name e2e --data-dir "$state/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "e2e=http://127.0.0.1:$etcd_peer" --log-level warn
  wait_for 30 etcd curl -fsS "http://127.0.0.1:$etcd_port/health"

  log "kube-apiserver on $bridge_ip:$api_port"
  start kube-apiserver "$bins/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address "$bridge_ip" --advertise-address "$bridge_ip" --secure-port "$api_port" \
    --cert-dir "$pki" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-account-issuer "https://kubernetes.default.svc.cluster.local" \
    --service-cluster-ip-range 10.96.0.0/16 --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction --allow-privileged=false --profiling=false \
    --endpoint-reconciler-type lease --v 1
  wait_for 90 kube-apiserver curl -fsS --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://$bridge_ip:$api_port/readyz"

  log "controller manager and scheduler"
  start kube-controller-manager "$bins/kube-controller-manager" --kubeconfig "$state/kcm.kubeconfig" \
    --authentication-kubeconfig "$state/kcm.kubeconfig" --authorization-kubeconfig "$state/kcm.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$kcm_port" --leader-elect=false \
    --use-service-account-credentials --controllers='*,-nodeipam' --allocate-node-cidrs=false \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --service-cluster-ip-range 10.96.0.0/16 --concurrent-deployment-syncs 2 --v 1
  start kube-scheduler "$bins/kube-scheduler" --kubeconfig "$state/scheduler.kubeconfig" \
    --authentication-kubeconfig "$state/scheduler.kubeconfig" --authorization-kubeconfig "$state/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$sched_port" --leader-elect=false --v 1

  local k=("$kubectl" --kubeconfig "$state/admin.kubeconfig")
  log "nodes"
  nodes_yaml "$net" | "${k[@]}" create -f - >/dev/null

  log "kwok"
  kwok_config "$kwok_port" >"$state/kwok/kwok.yaml"
  start kwok "$bins/kwok" --kubeconfig "$state/kwok.kubeconfig" --config "$state/kwok/kwok.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --server-address "127.0.0.1:$kwok_port" --v=INFO
  "${k[@]}" wait --for=condition=Ready node --all --timeout=60s >/dev/null \
    || die "nodes not Ready (logs: $state/logs/kwok.log)"

  # "Images": a snapshot of the build outputs taken now, so a rebuild during the run (another
  # mvn in this checkout) changes nothing under running pods.
  log "image snapshot"
  local rel
  for rel in inference-service/target/quarkus-app router-service/target/quarkus-app \
             model-registry/target/quarkus-app maasctl/target/maasctl.jar models/target/repository; do
    [[ -e $repo/$rel ]] || die "missing build output $rel (run ./mvnw -B -ntp install -DskipTests)"
    mkdir -p "$state/images/$(dirname "$rel")"
    cp -a "$repo/$rel" "$state/images/$rel"
  done

  log "node agent"
  start agent "$agent" --kubeconfig "$state/agent.kubeconfig" --state "$state" --repo "$state/images" \
    --images "$repo/e2e/agent/images.json" --grpcurl "$grpcurl" --bridge "$br" --gateway "$bridge_ip" \
    --pod-prefix-len 16 --apiserver "$bridge_ip:$api_port"
  wait_for 30 "node agent" test -f "$state/agent.ready"

  # The ServiceAccount and root-CA publisher controllers at work.
  wait_for 60 "default ServiceAccount" "${k[@]}" get serviceaccount default -n default
  wait_for 60 "kube-root-ca.crt" "${k[@]}" get configmap kube-root-ca.crt -n default

  cat >"$state/env" <<EOF
E2E_REPO=$repo
E2E_IMAGES=$state/images
E2E_KUBECONFIG=$state/admin.kubeconfig
E2E_KUBECTL=$kubectl
E2E_HELM=$helm
E2E_BRIDGE=$br
E2E_BRIDGE_IP=$bridge_ip
E2E_APISERVER=https://$bridge_ip:$api_port
E2E_POD_NET=$net
E2E_BIN=$bins
E2E_CA=$pki/ca.crt
EOF
  trap - EXIT
  log "up: $("${k[@]}" version -o json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])'), 5 nodes, state $state"
  echo "$state"
}

nodes_yaml() { # NET
  local net=$1 i
  node() { # NAME CIDR_INDEX GPU
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: $1
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: $1
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
$( [[ $3 == gpu ]] && printf '    nvidia.com/gpu.present: "true"\n' )
spec:
  podCIDR: $net.$2.0/24
  podCIDRs: [$net.$2.0/24]
$( [[ $3 == gpu ]] && printf '  taints:\n  - {key: nvidia.com/gpu, value: present, effect: NoSchedule}\n' )
status:
  addresses:
  - {type: InternalIP, address: $bridge_ip}
  - {type: Hostname, address: $1}
  allocatable: {cpu: "8", memory: 32Gi, pods: "110"$( [[ $3 == gpu ]] && printf ', nvidia.com/gpu: "1"' )}
  capacity: {cpu: "8", memory: 32Gi, pods: "110"$( [[ $3 == gpu ]] && printf ', nvidia.com/gpu: "1"' )}
  nodeInfo:
    architecture: amd64
    operatingSystem: linux
    kubeletVersion: v1.34.4
    containerRuntimeVersion: maas-e2e-agent
EOF
  }
  for i in 1 2 3; do node "e2e-cpu-$i" "$i" cpu; done
  for i in 1 2; do node "e2e-gpu-$i" "$((10 + i))" gpu; done
}

kwok_config() { # PORT
  cat <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  manageAllNodes: false
  manageNodesWithAnnotationSelector: kwok.x-k8s.io/node=fake
  serverAddress: 127.0.0.1:$1
  nodeIP: $bridge_ip
  enableCRDs: []
  podPlayStageParallelism: 4
  nodePlayStageParallelism: 2
  nodeLeaseDurationSeconds: 40
  nodeLeaseParallelism: 2
---
# Nodes: initialize (Ready, addresses, capacity kept from the Node object).
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-initialize
spec:
  resourceRef: {apiGroup: v1, kind: Node}
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: NotIn
      values: ['True']
  next:
    statusTemplate: |
      {{ \$now := Now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ \$now | Quote }}
        lastTransitionTime: {{ \$now | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type | Quote }}
      {{ end }}
      phase: Running
---
# Nodes: heartbeat (with the node lease, renewed by kwok every nodeLeaseDurationSeconds/4).
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-heartbeat-with-lease
spec:
  resourceRef: {apiGroup: v1, kind: Node}
  selector:
    matchExpressions:
    - key: '.status.phase'
      operator: In
      values: [Running]
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: In
      values: ['True']
  delay:
    durationMilliseconds: 600000
    jitterDurationMilliseconds: 610000
  next:
    statusTemplate: |
      {{ \$now := Now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ \$now | Quote }}
        lastTransitionTime: {{ \$now | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type | Quote }}
      {{ end }}
---
# Pods the node agent runs: kwok takes them over (hostIP, Running, NOT Ready); the agent gives
# each an IP from the node's podCIDR (round-robin like CNI host-local IPAM, see
# e2e/agent/ipam.go: kwok's own pool hands a freed IP to the next pod at once), reports
# readiness from the pod's own probes and completes them with the process's exit code.
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-running-agent
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: DoesNotExist
    - key: '.status.hostIP'
      operator: DoesNotExist
    - key: '.metadata.labels["e2e.maas.io/simulated"]'
      operator: DoesNotExist
  next:
    statusTemplate: |
      {{ \$now := Now }}
      conditions:
      - {lastTransitionTime: {{ \$now | Quote }}, status: "False", type: Ready, reason: ContainersNotReady}
      - {lastTransitionTime: {{ \$now | Quote }}, status: "False", type: ContainersReady, reason: ContainersNotReady}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      phase: Running
      startTime: {{ \$now | Quote }}
---
# Simulated pods (label e2e.maas.io/simulated=true): kwok alone, Ready at once.
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready-simulated
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchLabels: {e2e.maas.io/simulated: "true"}
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: DoesNotExist
    - key: '.status.podIP'
      operator: DoesNotExist
  next:
    statusTemplate: |
      {{ \$now := Now }}
      conditions:
      - {lastTransitionTime: {{ \$now | Quote }}, status: "True", type: Initialized}
      - {lastTransitionTime: {{ \$now | Quote }}, status: "True", type: Ready}
      - {lastTransitionTime: {{ \$now | Quote }}, status: "True", type: ContainersReady}
      containerStatuses:
      {{ range .spec.containers }}
      - {image: {{ .image | Quote }}, name: {{ .name | Quote }}, ready: true, restartCount: 0, started: true, state: {running: {startedAt: {{ \$now | Quote }}}}}
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      phase: Running
      startTime: {{ \$now | Quote }}
---
# Simulated Job pods complete at once.
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-complete-simulated
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchLabels: {e2e.maas.io/simulated: "true"}
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: DoesNotExist
    - key: '.status.phase'
      operator: In
      values: [Running]
    - key: '.metadata.ownerReferences.[].kind'
      operator: In
      values: [Job]
  next:
    statusTemplate: |
      {{ \$now := Now }}
      containerStatuses:
      {{ range .spec.containers }}
      - {image: {{ .image | Quote }}, name: {{ .name | Quote }}, ready: false, restartCount: 0, started: false, state: {terminated: {exitCode: 0, reason: Completed, startedAt: {{ \$now | Quote }}, finishedAt: {{ \$now | Quote }}}}}
      {{ end }}
      phase: Succeeded
---
# Simulated pods: deleted at once. (The agent deletes its own pods once their processes are gone.)
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete-simulated
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchLabels: {e2e.maas.io/simulated: "true"}
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: Exists
  next:
    finalizers: {empty: true}
    delete: true
EOF
}

case ${1:-} in
  up) up ;;
  down) [[ -n ${2:-} ]] || die "usage: $0 down STATE"; down "$2" ;;
  *) echo "usage: $0 up | down STATE" >&2; exit 2 ;;
esac
