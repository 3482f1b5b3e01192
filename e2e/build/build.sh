#!/usr/bin/env bash
# Builds (once per version) the real Kubernetes control plane the e2e harness runs:
# kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes), etcd and kwok,
# all from the Go module proxy (helm and kubectl come from helm/tests/ensure-tools.sh).
# Binaries are cached by version under $MAAS_E2E_CACHE (default ~/.cache/maas-e2e), so a rerun
# skips the build. Prints the bin folder on its last line.
set -euo pipefail
K8S_VERSION=v1.34.4
STAGING_VERSION=v0.34.4
ETCD_VERSION=v3.6.5
KWOK_VERSION=v0.8.0

cache=${MAAS_E2E_CACHE:-$HOME/.cache/maas-e2e}
bin="$cache/bin-k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
mkdir -p "$bin"
export GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local
log() { printf '[e2e build] %s\n' "$*" >&2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/maas-e2e-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [[ ! -x $bin/kube-apiserver || ! -x $bin/kube-controller-manager || ! -x $bin/kube-scheduler ]]; then
  log "building Kubernetes $K8S_VERSION (about 14 minutes cold on 2 cores)"
  mkdir -p "$work/k8s" && cd "$work/k8s"
  go mod init maas.local/e2e-k8s >/dev/null 2>&1
  go mod edit -require=k8s.io/kubernetes@$K8S_VERSION
  # As a dependency, k8s.io/kubernetes' own replace lines for its staging modules are ignored:
  # replace each one with its published release.
  modfile=$(go mod download -json k8s.io/kubernetes@$K8S_VERSION | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  for m in $(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$modfile"); do
    go mod edit -replace="$m=$m@$STAGING_VERSION"
  done
  pkg=k8s.io/component-base/version; cpkg=k8s.io/client-go/pkg/version
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  ld="-s -w"
  for p in $pkg $cpkg; do
    ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    go build -ldflags "$ld" -o "$bin/$c.tmp" k8s.io/kubernetes/cmd/$c && mv "$bin/$c.tmp" "$bin/$c"
    log "built $c"
  done
fi

if [[ ! -x $bin/etcd ]]; then
  log "building etcd $ETCD_VERSION"
  mkdir -p "$work/etcd" && cd "$work/etcd"
  go mod init maas.local/e2e-etcd >/dev/null 2>&1
  go mod edit -require=go.etcd.io/etcd/server/v3@$ETCD_VERSION
  go build -ldflags "-s -w" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3 && mv "$bin/etcd.tmp" "$bin/etcd"
fi

if [[ ! -x $bin/kwok ]]; then
  log "building kwok $KWOK_VERSION"
  GOBIN="$work/kwokbin" go install -ldflags "-s -w" sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION
  mv "$work/kwokbin/kwok" "$bin/kwok"
fi

echo "$bin"
