#!/usr/bin/env bash
# Python package tests: builds and installs ./python (PyO3 + maturin) into a virtual
# environment, then runs pytest on the installed package: dimod's sampler test-suite for
# every sampler, labels, seeds, bad input, Ctrl-C, a 1,000,000-variable round trip, and
# the Qiskit check of the exported OpenQASM circuits.
#
# The venv lives in target/py-venv (kept between runs; QAM_PY_VENV overrides); the
# extension builds into the workspace's target/ (python/ is a workspace member) and reuses
# the dependencies whose features match the root build's. About 40 of them do not (PyO3's
# proc macros need more `syn` features, which changes serde/thiserror and so the wgpu
# stack and qam; the root's dev-dependencies add features too), so a cold target/ compiles
# those once more: 2 min 58 s of CPU (8 min 48 s wall on the shared 2-core machine at load
# 9). With target/ warm the script takes about 40 s (pip, install, 287 tests in ~20 s).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${QAM_PY_VENV:-target/py-venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV"
    "$PY" -m venv "$VENV"
fi
echo "== pip install test dependencies"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q dimod numpy pytest qiskit qiskit-qasm3-import
echo "== cargo clippy -p qam-python -D warnings"
cargo clippy --release -p qam-python -- -D warnings
echo "== pip install ./python"
"$VENV/bin/python" -m pip install -q ./python
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    export XDG_RUNTIME_DIR="$(mktemp -d)"
    chmod 700 "$XDG_RUNTIME_DIR"
fi
echo "== pytest python/tests"
# Run from the repository root so the installed package (not python/qam) is imported.
"$VENV/bin/python" -m pytest -q -s -p no:cacheprovider python/tests "$@"
