#!/usr/bin/env bash
# The test command (README, CI): installs the software Vulkan driver when missing, then
# runs the format check, clippy with -D warnings, and every test. GPU tests run for real
# on whatever adapter wgpu finds (lavapipe on machines without a GPU): QAM_REQUIRE_GPU=1
# turns "no adapter" into a failure instead of a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

have_lavapipe() {
    ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' &&
        ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1
}
if ! have_lavapipe; then
    echo "== installing the software Vulkan driver (mesa-vulkan-drivers, libvulkan1)"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        mesa-vulkan-drivers libvulkan1 >/dev/null
fi

export QAM_REQUIRE_GPU=1
# Mesa's WSI complains on every instance when this is unset; harmless but noisy.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    export XDG_RUNTIME_DIR="$(mktemp -d)"
    chmod 700 "$XDG_RUNTIME_DIR"
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets --release -D warnings"
cargo clippy --all-targets --release -- -D warnings
echo "== cargo doc --no-deps (public API docs without warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --release --no-deps
echo "== cargo test --release"
cargo test --release "$@"
echo "== scripts/device-check.sh --smoke (the GPU measurement script, tiny sizes, this adapter)"
./scripts/device-check.sh --smoke --out target/device-check-smoke
echo "== Python package (scripts/test-python.sh)"
./scripts/test-python.sh
echo "== qam serve dashboard in headless chromium"
./scripts/test-serve-browser.sh
