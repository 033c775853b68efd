#!/usr/bin/env bash
# One command that measures qam on whatever GPU this machine has and writes a JSON and a
# markdown report (docs/benchmarks.md, "GPU device check", says how to read them):
#   - the adapters and their limits (`qam devices --output json`);
#   - gpu-sa flip rate for each kernel backend on G22, G81 and a generated 1,000,000-variable
#     3-regular model at 1,024 and 4,096 replicas, with the all-core CPU `sa` rate of the same
#     run (ratio in one run, `qam bench --compare sa,gpu-sa --threads 0`);
#   - gpu-pt time to G22 = 13359;
#   - gpu-cqm-sa (1,024 and 8,192 chains) vs cqm-sa on a GAP D 1600x80 file, 10 s each
#     (raw `gpu_cqm` lines: sweeps, objective, feasible);
#   - QAOA layer time at n = 26..32 (f32, GPU) and the fraction of the device's memory
#     bandwidth that implies (bytes per layer from the performance model);
#   - optionally, carried GPU test binaries (e.g. gpu_anneal_kernels: long single-dispatch
#     runs stay exact on this driver).
#
# Usage: scripts/device-check.sh [--smoke] [--out DIR] [--bin QAM] [--data DIR]
#                                [--tests DIR] [--budget SECONDS]
#   --smoke   the same steps at tiny sizes, on any adapter (CI runs it on lavapipe)
#   --out     report folder (default: $OUT if set, else target/device-check)
#   --bin     a prebuilt qam binary (default: target/release/qam, built with cargo when cargo
#             is here; a device machine without a toolchain uses a carried binary)
#   --data    folder holding gset/G22.txt and gset/G81.txt (default ../shared/data, then
#             .devcheck/); when missing, random stand-ins of the same size are generated and
#             marked so in the report
#   --tests   folder of carried test executables (the `it` binary) to run with
#             QAM_REQUIRE_GPU=1, filtered to the tests whose path names "gpu"
#   --budget  seconds for the whole run (default 480); steps that would start after the
#             budget is spent are skipped and listed as such
#
# Machine set-up: when the Vulkan loader is missing it is installed from carried .deb files
# in .gl/ (no network on device machines) or with apt-get; when an NVIDIA driver's ICD file
# exists but the loader does not find it, VK_DRIVER_FILES is pointed at it.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

SMOKE=0
OUT_DIR="${OUT:-}"
BIN=""
DATA=""
TESTS=""
BUDGET=480
while [ $# -gt 0 ]; do
    case "$1" in
    --smoke) SMOKE=1 ;;
    --out) OUT_DIR="$2"; shift ;;
    --bin) BIN="$2"; shift ;;
    --data) DATA="$2"; shift ;;
    --tests) TESTS="$2"; shift ;;
    --budget) BUDGET="$2"; shift ;;
    -h | --help) sed -n 2,30p "$0"; exit 0 ;;
    *) echo "device-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$OUT_DIR" ] || OUT_DIR="$ROOT/target/device-check"
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RAW="$OUT_DIR/device-check.jsonl"
: >"$RAW"
START=$(date +%s)
log() { echo "== device-check: $*" >&2; }
left() { echo $((BUDGET - ($(date +%s) - START))); }
# record KIND JSON: one line of the raw log
record() { printf '{"step":"%s","data":%s}\n' "$1" "$2" >>"$RAW"; }
skip() { record skipped "$(printf '{"what":"%s","why":"%s"}' "$1" "$2")"; log "skipped $1: $2"; }

# --- machine set-up -------------------------------------------------------------------
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
    if ls .gl/*.deb >/dev/null 2>&1; then
        log "installing the carried Vulkan loader from .gl/"
        for f in .gl/*.deb; do dpkg -x "$f" /; done
        ldconfig
    elif command -v apt-get >/dev/null 2>&1; then
        log "installing the Vulkan loader (libvulkan1) and lavapipe"
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
            --no-install-recommends libvulkan1 mesa-vulkan-drivers >/dev/null
    fi
fi
NV_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$NV_ICD" ] &&
    ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
    export VK_DRIVER_FILES="$NV_ICD"
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
    log "using the NVIDIA ICD at $NV_ICD"
fi
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    export XDG_RUNTIME_DIR="$WORK/xdg"
    mkdir -p "$XDG_RUNTIME_DIR"
    chmod 700 "$XDG_RUNTIME_DIR"
fi

# --- the binary -----------------------------------------------------------------------
if [ -z "$BIN" ]; then
    if command -v cargo >/dev/null 2>&1; then
        log "cargo build --release"
        cargo build --release -q || log "cargo build failed; using target/release/qam if present"
    fi
    BIN="$ROOT/target/release/qam"
fi
[ -x "$BIN" ] || { echo "device-check: no qam binary at $BIN (build it or pass --bin)" >&2; exit 2; }
QAM() { "$BIN" "$@"; }

# --- adapters ---------------------------------------------------------------------------
ADAPTERS=$(QAM devices --output json 2>"$WORK/devices.err" | paste -sd, -)
record adapters "[${ADAPTERS}]"
if [ -z "$ADAPTERS" ]; then
    log "no GPU adapter: $(cat "$WORK/devices.err")"
fi
record host "$(printf '{"cpus":%s,"cpu":"%s","smoke":%s,"budget_s":%s}' "$(nproc)" \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//;s/"//g')" "$SMOKE" "$BUDGET")"

# --- instances --------------------------------------------------------------------------
find_data() {
    for d in "$DATA" "$ROOT/../shared/data" "$ROOT/.devcheck"; do
        [ -n "$d" ] && [ -f "$d/gset/$1" ] && { echo "$d/gset/$1"; return; }
        [ -n "$d" ] && [ -f "$d/$1" ] && { echo "$d/$1"; return; }
    done
}
if [ "$SMOKE" = 1 ]; then
    QAM gen --kind erdos-renyi --n 200 --degree 10 --seed 22 --out "$WORK/G22.gset" >/dev/null
    QAM gen --kind torus --n 400 --weights pm1 --seed 81 --out "$WORK/G81.gset" >/dev/null
    QAM gen --kind regular3 --n 5000 --seed 1 --out "$WORK/big.gset" >/dev/null
    G22="$WORK/G22.gset"; G81="$WORK/G81.gset"; BIG="$WORK/big.gset"
    REPLICAS="32"; SWEEPS=20; BIG_SWEEPS=5; PT_TARGET=""; QAOA_N="10 11"; PT_LIMIT=2
else
    G22=$(find_data G22.txt); G81=$(find_data G81.txt)
    if [ -z "$G22" ]; then
        QAM gen --kind erdos-renyi --n 2000 --degree 20 --seed 22 --out "$WORK/G22.gset" >/dev/null
        G22="$WORK/G22.gset"; skip "G22 from shared data" "not found; a random graph of G22's size stands in"
    fi
    if [ -z "$G81" ]; then
        QAM gen --kind torus --n 20000 --weights pm1 --seed 81 --out "$WORK/G81.gset" >/dev/null
        G81="$WORK/G81.gset"; skip "G81 from shared data" "not found; a random torus of G81's size stands in"
    fi
    QAM gen --kind regular3 --n 1000000 --seed 1 --out "$WORK/big.gset" >/dev/null
    BIG="$WORK/big.gset"
    REPLICAS="1024 4096"; SWEEPS=1000; BIG_SWEEPS=50; PT_TARGET=13359; QAOA_N="26 27 28 29 30 31 32"; PT_LIMIT=60
fi

# --- gpu-sa vs all-core sa, each kernel backend ----------------------------------------
bench() { # FILE REPLICAS SWEEPS BACKEND
    local tmo
    tmo=$(left)
    if [ "$tmo" -le 5 ]; then skip "gpu-sa $(basename "$1") $2 replicas $4" "budget spent"; return; fi
    local rows
    if rows=$(timeout "$tmo" "$BIN" bench "$1" --compare sa,gpu-sa --threads 0 --reads "$2" --sweeps "$3" \
        --kernel "$4" --output json 2>"$WORK/bench.err"); then
        record gpu_sa "$(printf '{"file":"%s","replicas":%s,"sweeps":%s,"backend":"%s","rows":[%s]}' \
            "$(basename "$1")" "$2" "$3" "$4" "$(echo "$rows" | paste -sd, -)")"
    else
        record gpu_sa "$(printf '{"file":"%s","replicas":%s,"sweeps":%s,"backend":"%s","error":%s}' \
            "$(basename "$1")" "$2" "$3" "$4" "$(python3 -c 'import json,sys;print(json.dumps(sys.stdin.read()[-400:]))' <"$WORK/bench.err")")"
    fi
}
for r in $REPLICAS; do
    for b in workgroup color dense; do bench "$G22" "$r" "$SWEEPS" "$b"; done
    for b in workgroup color; do bench "$G81" "$r" "$SWEEPS" "$b"; done
done
for r in $REPLICAS; do bench "$BIG" "$r" "$BIG_SWEEPS" color; done

# --- gpu-pt time to target on G22 -------------------------------------------------------
if [ "$(left)" -gt 10 ]; then
    target_args=()
    [ -n "$PT_TARGET" ] && target_args=(--target "$PT_TARGET")
    lim=$PT_LIMIT; [ "$(left)" -lt "$lim" ] && lim=$(($(left) - 5))
    if rows=$("$BIN" bench "$G22" --compare gpu-pt --replicas 64 --chains 16 --sweeps 100000 \
        --time-limit "$lim" "${target_args[@]}" --output json 2>"$WORK/pt.err"); then
        record gpu_pt "$(printf '{"file":"%s","target":%s,"time_limit_s":%s,"rows":[%s]}' "$(basename "$G22")" \
            "${PT_TARGET:-null}" "$lim" "$(echo "$rows" | paste -sd, -)")"
    else
        record gpu_pt "$(printf '{"error":%s}' "$(python3 -c 'import json,sys;print(json.dumps(sys.stdin.read()[-400:]))' <"$WORK/pt.err")")"
    fi
else
    skip "gpu-pt time to target" "budget spent"
fi

# --- gpu-cqm-sa vs cqm-sa on one GAP D file, same time limit (raw lines: step gpu_cqm) ---
read -r GA GP GT C1 C2 <<<"$([ "$SMOKE" = 1 ] && echo "20 4 1 16 64" || echo "1600 80 10 1024 8192")"
QAM gen --kind gap --agents "$GA" --pools "$GP" --gap-type d --seed 1 --out "$WORK/gap.lp" >/dev/null 2>&1
for s in "cqm-sa --reads 16" "gpu-cqm-sa --reads $C1" "gpu-cqm-sa --reads $C2"; do [ "$(left)" -gt $((GT + 10)) ] && r=$({ timeout $((GT + 30)) "$BIN" solve "$WORK/gap.lp" --solver $s --time-limit "$GT" -q --output json 2>/dev/null || true; } | python3 -c 'import json,sys;v=json.loads(sys.stdin.readline());v.pop("state");print(json.dumps(v))') && record gpu_cqm "$r"; done

# --- QAOA layer time ---------------------------------------------------------------------
# One evaluation at p = 1 and one at p = 3 on the same graph: the difference over 2 is one
# layer (phase + mixer passes), set-up and the final reduction cancel.
for n in $QAOA_N; do
    if [ "$(left)" -le 15 ]; then skip "qaoa n=$n" "budget spent"; continue; fi
    QAM gen --kind erdos-renyi --n "$n" --degree 3 --seed "$n" --out "$WORK/q$n.gset" >/dev/null
    if a=$(timeout "$(left)" "$BIN" qaoa "$WORK/q$n.gset" --p 1 --gamma 0.3 --beta 0.4 \
        --qaoa-device gpu --qaoa-precision f32 --shots 0 --output json 2>"$WORK/q.err") &&
        b=$(timeout "$(left)" "$BIN" qaoa "$WORK/q$n.gset" --p 3 --gamma 0.3,0.2,0.1 --beta 0.4,0.3,0.2 \
            --qaoa-device gpu --qaoa-precision f32 --shots 0 --output json 2>>"$WORK/q.err"); then
        record qaoa "$(printf '{"n":%s,"p1":%s,"p3":%s}' "$n" "$a" "$b")"
    else
        record qaoa "$(printf '{"n":%s,"error":%s}' "$n" "$(python3 -c 'import json,sys;print(json.dumps(sys.stdin.read()[-400:]))' <"$WORK/q.err")")"
    fi
done

# --- carried GPU test binaries ---------------------------------------------------------
if [ -n "$TESTS" ] && [ -d "$TESTS" ]; then
    for t in "$TESTS"/*; do
        [ -x "$t" ] || continue
        if [ "$(left)" -le 10 ]; then skip "test $(basename "$t")" "budget spent"; continue; fi
        if QAM_REQUIRE_GPU=1 timeout "$(left)" "$t" gpu --test-threads 1 >"$WORK/t.out" 2>&1; then ok=true; else ok=false; fi
        record test "$(printf '{"binary":"%s","passed":%s,"tail":%s}' "$(basename "$t")" "$ok" \
            "$(tail -c 600 "$WORK/t.out" | python3 -c 'import json,sys;print(json.dumps(sys.stdin.read()))')")"
    done
fi

# --- report -----------------------------------------------------------------------------
record elapsed "$(( $(date +%s) - START ))"
# A smoke run fails when any step failed: it is the CI check that the script works.
strict=""; [ "$SMOKE" = 1 ] && strict="--strict"
python3 "$ROOT/scripts/device_report.py" $strict "$RAW" "$OUT_DIR/device-check.json" "$OUT_DIR/device-check.md" || {
    echo "device-check: a step failed (see $OUT_DIR/device-check.md)" >&2; exit 1; }
log "report: $OUT_DIR/device-check.json and $OUT_DIR/device-check.md ($(( $(date +%s) - START )) s)"
