#!/usr/bin/env bash
# Record-linkage benchmark: Frontdoor's matcher against Splink (issue 4). See README.md here.
#
#   bench/linkage/run.sh [bench.py arguments]       e.g. --datasets febrl3,febrl4 --skip-frontdoor
#
# Creates (first run) or reuses a virtualenv with the pinned packages of requirements.txt, then runs
# bench.py from the repository root with every argument passed through.
#   LINKAGE_VENV   the virtualenv (default: <repo>/target/linkage-venv)
#   PYTHON         the interpreter that creates it (default: python3; needs 3.10+)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${LINKAGE_VENV:-$repo/target/linkage-venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "run.sh: creating virtualenv $venv" >&2
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
fi

# Install only when requirements.txt changed since the last install into this venv.
stamp="$venv/.linkage-requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    echo "run.sh: installing pinned packages (requirements.txt) into $venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    echo "$want" >"$stamp"
fi

cd "$repo"
export LINKAGE_BENCH_ENTRY="bench/linkage/run.sh"
exec "$venv/bin/python" "$here/bench.py" "$@"
