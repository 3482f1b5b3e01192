#!/usr/bin/env bash
# Conformance checks with Triton's own tooling: .proto compatibility (test_proto_compat.py)
# and the running service driven by tritonclient (test_tritonclient.py; needs the built jar
# and model repository: `mvn -q -B install -DskipTests`). Works from any directory; extra
# arguments go to pytest (e.g. `-k simple`, `-x`). Exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

"$repo/tools/python/setup.sh"
cd "$repo"
exec "${MAAS_VENV:-$repo/.venv}/bin/python" -m pytest -q -rfEs -p no:cacheprovider tools/conformance "$@"
