#!/usr/bin/env bash
# Builds (once) grpcurl v1.9.1, the binary behind the `helm test` image fullstorydev/grpcurl,
# with `go install` from the Go module proxy; cached under $MAAS_E2E_CACHE. Prints its path.
set -euo pipefail
VERSION=v1.9.1
cache=${MAAS_E2E_CACHE:-$HOME/.cache/maas-e2e}
dir="$cache/grpcurl-$VERSION"
if [[ ! -x $dir/grpcurl ]]; then
  echo "[e2e build] building grpcurl $VERSION" >&2
  mkdir -p "$dir"
  GOBIN="$dir" GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local \
    go install -ldflags "-s -w" "github.com/fullstorydev/grpcurl/cmd/grpcurl@$VERSION"
fi
echo "$dir/grpcurl"
