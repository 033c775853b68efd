#!/usr/bin/env bash
# MPI tests (issue: distribute subproblems and batch jobs over MPI). Installs OpenMPI and
# libclang (for the mpi crate's bindings) when missing, builds with `--features mpi`, and
# runs the tests that launch real `mpirun` jobs on loopback (each under `timeout`).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mpirun >/dev/null 2>&1 || ! ls /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1 ||
    ! pkg-config --exists ompi 2>/dev/null; then
    echo "== installing OpenMPI and libclang"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        libopenmpi-dev openmpi-bin libclang-dev pkg-config >/dev/null
fi
# CI runs as root on 2 cores: allow root and more ranks than cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# `fault-injection` (test-only) adds the QAM_MPI_FAIL_RANK switch the abort test needs.
echo "== cargo clippy --features mpi,fault-injection -D warnings"
cargo clippy --all-targets --release --features mpi,fault-injection -- -D warnings
echo "== cargo test --features mpi,fault-injection (mpirun on loopback)"
cargo test --release --features mpi,fault-injection --test it mpi:: "$@"
