# Sourced by run.sh and large_requests.sh (after setting here and bench_name): their common settings and
# messages, the chart's values, and private venvs for the peers and the load generator, one per pinned version set,
# under $CACHE/venvs/<key>. A venv counts as installed only once its .complete marker exists, so an
# interrupted install is redone instead of half-used.

repo="$(cd "$here/../.." && pwd)"
CACHE="${MAAS_BENCH_CACHE:-$HOME/.cache/maas-bench}"
PYTHON="${PYTHON:-python3}"
say() { printf '%s: %s\n' "$bench_name" "$*" >&2; }
die() { printf '%s: %s\n' "$bench_name" "$*" >&2; exit 1; }

KSERVE_VERSION="${KSERVE_VERSION:-0.21.0}"
MLSERVER_VERSION="${MLSERVER_VERSION:-1.7.1}"
ORT_PY_VERSION="${ORT_PY_VERSION:-1.28.0}"
TRITONCLIENT_VERSION="2.47.0"   # its wheel carries a perf_analyzer that runs on glibc 2.36
PYTRITON_VERSION="0.7.0"        # carries libb64 and libcudart, which that perf_analyzer links against

py_tag() { "$PYTHON" -c 'import sys; print("py%d.%d" % sys.version_info[:2])'; }

venv_dir() { # NAME -> path of the venv for the pinned versions
  local tag; tag="$(py_tag)"
  case "$1" in
    kserve)   echo "$CACHE/venvs/kserve-$KSERVE_VERSION-ort-$ORT_PY_VERSION-$tag" ;;
    mlserver) echo "$CACHE/venvs/mlserver-$MLSERVER_VERSION-ort-$ORT_PY_VERSION-$tag" ;;
    perf)     echo "$CACHE/venvs/perf-tritonclient-$TRITONCLIENT_VERSION-pytriton-$PYTRITON_VERSION-$tag" ;;
    *) die "unknown venv $1" ;;
  esac
}

venv_packages() { # NAME -> pip requirement arguments
  case "$1" in
    kserve)   echo "kserve==$KSERVE_VERSION onnxruntime==$ORT_PY_VERSION numpy psutil" ;;
    mlserver) echo "mlserver==$MLSERVER_VERSION onnxruntime==$ORT_PY_VERSION numpy" ;;
    perf)     echo "tritonclient[grpc]==$TRITONCLIENT_VERSION" ;;
  esac
}

ensure_venv() { # NAME -> installs if missing, prints the venv path
  local name="$1" dir; dir="$(venv_dir "$name")"
  if [[ -f "$dir/.complete" ]]; then echo "$dir"; return; fi
  say "installing $name into $dir (PyPI; first run only) ..." >&2
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  "$PYTHON" -m venv "$dir" >&2 || die "python venv failed for $name"
  "$dir/bin/pip" install -q --disable-pip-version-check $(venv_packages "$name") >&2 \
    || die "pip install failed for $name; see the output above"
  if [[ "$name" == perf ]]; then
    # Only the shared libraries are wanted from pytriton, not its dependency tree (it pins another tritonclient).
    "$dir/bin/pip" install -q --disable-pip-version-check --no-deps "nvidia-pytriton==$PYTRITON_VERSION" >&2 \
      || die "pip install failed for nvidia-pytriton"
  fi
  touch "$dir/.complete"
  echo "$dir"
}

# perf_analyzer from tritonclient's wheel (installed as the venv's bin/perf_analyzer, an ELF binary), and
# the LD_LIBRARY_PATH that makes it run: pytriton's wheel carries libb64 and libcudart under
# auditwheel's hashed names, so links with the sonames perf_analyzer asks for go into <venv>/perf-libs.
perf_analyzer_env() { # VENV -> sets PERF_ANALYZER and PERF_LD_PATH
  local venv="$1" libs="$1/perf-libs"
  PERF_ANALYZER="$venv/bin/perf_analyzer"
  [[ -x "$PERF_ANALYZER" ]] && head -c 4 "$PERF_ANALYZER" | grep -q ELF \
    || die "no perf_analyzer binary from tritonclient $TRITONCLIENT_VERSION's wheel at $PERF_ANALYZER"
  mkdir -p "$libs"
  local soname pattern f
  for soname in libb64.so.0d libcudart.so.12; do
    pattern="${soname%%.so*}-*.so*"
    f="$(find "$venv" -path '*nvidia_pytriton.libs/*' -name "$pattern" -print -quit)"
    [[ -n "$f" ]] || die "nvidia-pytriton's wheel has no $pattern (needed by perf_analyzer)"
    ln -sfn "$f" "$libs/$soname"
  done
  PERF_LD_PATH="$libs"
  local missing
  missing="$(LD_LIBRARY_PATH="$PERF_LD_PATH" ldd "$PERF_ANALYZER" | grep 'not found' | tr -s ' \t\n' ' ' || true)"
  [[ -z "$missing" ]] || die "perf_analyzer still misses libraries:$missing"
  return 0
}

# The chart's settings, so our JVMs run as the chart runs them.
chart_value() { # SECTION KEY -> the top-level section's value of KEY in helm/maas/values.yaml, quotes removed
  awk -v s="$1:" -v k="$2:" '$0 == s {in_s = 1; next} /^[^ #]/ {in_s = 0}
    in_s && $1 == k {sub(/^[^:]*: */, ""); gsub(/"/, ""); print; exit}' "$repo/helm/maas/values.yaml"
}
