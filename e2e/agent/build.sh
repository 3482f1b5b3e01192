#!/usr/bin/env bash
# Builds the e2e node agent (Go, client-go), cached under $MAAS_E2E_CACHE by the hash of its
# sources. Prints the binary's path.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${MAAS_E2E_CACHE:-$HOME/.cache/maas-e2e}
hash=$(cd "$here" && cat go.mod go.sum *.go | sha256sum | cut -c1-16)
out="$cache/agent-$hash/e2e-agent"
if [[ ! -x $out ]]; then
  echo "[e2e build] building the node agent" >&2
  mkdir -p "$(dirname "$out")"
  (cd "$here" && GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local go build -o "$out.tmp" . && mv "$out.tmp" "$out")
fi
echo "$out"
