#!/usr/bin/env bash
# Dashboard test of `qam serve` in a real headless browser: installs Debian's chromium and
# chromium-driver (apt) and selenium (pip) when missing, builds the release binary, and
# runs scripts/serve_browser_test.py (loopback only, every wait bounded).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "== installing chromium and chromium-driver"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        chromium chromium-driver >/dev/null
fi
if ! python3 -c "import selenium" 2>/dev/null; then
    echo "== installing selenium"
    python3 -m pip install -q selenium
fi
cargo build --release --quiet
timeout 300 python3 scripts/serve_browser_test.py target/release/qam
