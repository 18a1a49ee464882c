#!/usr/bin/env bash
# Creates .venv at the repository root with Netskope's official Python clients, pinned, for the
# netskope-sim conformance tests. Afterwards: export CTE_PY_VENV="$PWD/.venv" and run
# cargo test -p netskope-sim --test it -- --ignored conformance.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${CTE_PY_VENV:-$root/.venv}"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    'netskope==1.5.*' \
    'netskopesdk==0.0.41' \
    'netskope-py-sdk==1.0.3'
# netskope-py-sdk owns the `netskope` package, the `netskope` distribution owns `netskope_cli`.
"$venv/bin/python" -c 'import netskope, netskope_cli, netskope_api'
test -x "$venv/bin/netskope"
echo "python clients ready in $venv (export CTE_PY_VENV=$venv)"
