#!/usr/bin/env bash
# Creates (or refreshes) the Python virtual environment <repo>/.venv with the pinned
# packages of tools/python/requirements.txt. Idempotent: when the venv already holds
# exactly these requirements (hash stored in .venv/.maas-requirements.sha256) it returns
# at once. Works from any directory and prints nothing on the fast path; callers then use
# <repo>/.venv/bin/python.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${MAAS_VENV:-$repo/.venv}"
req="$here/requirements.txt"
stamp="$venv/.maas-requirements.sha256"
python="${PYTHON:-python3}"

hash_of() { "$python" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"; }

want="$(hash_of "$req")"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
   && "$venv/bin/python" -c '' >/dev/null 2>&1; then
  exit 0
fi

# A venv whose interpreter no longer runs (e.g. the base python was replaced) is rebuilt.
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
  # Debian/Ubuntu split venv/ensurepip into python3-venv: install it when missing (as root).
  if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null; then
      echo "setup.sh: python venv module missing, installing python3-venv" >&2
      apt-get update -qq >/dev/null
      ver="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python${ver}-venv" >/dev/null 2>&1 \
        || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    else
      echo "setup.sh: '$python -m venv' is unavailable; install python3-venv" >&2
      exit 1
    fi
  fi
  rm -rf "$venv"
  echo "setup.sh: creating $venv" >&2
  "$python" -m venv "$venv"
fi

echo "setup.sh: installing $(basename "$req") into $venv" >&2
"$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >&2
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" >&2
echo "$want" > "$stamp"
