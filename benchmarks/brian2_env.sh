#!/usr/bin/env bash
# Create the separate virtual environment for the Brian2 peer benchmark/cross-check.
# Brian2 is NOT a dependency of snnreduce; it lives only in this venv.
#   bash benchmarks/brian2_env.sh          # -> /work/brian2-venv (or $BRIAN2_VENV)
# Then: $BRIAN2_VENV/bin/python benchmarks/brian2_peer.py --help
set -euo pipefail
VENV="${BRIAN2_VENV:-/work/brian2-venv}"
PY="${PYTHON311:-python3.11}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install "numpy<2" "brian2==2.9.0" "setuptools"
"$VENV/bin/python" -c "import brian2, numpy; print('brian2', brian2.__version__, 'numpy', numpy.__version__)"
