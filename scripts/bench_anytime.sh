#!/usr/bin/env bash
# Quality against time for the anytime solvers (issue 12): one row per
# (instance, budget, solver) with the cut as % of the best-known cut (G-set) or the gap
# above the planted ground energy (frustrated loops).
#
# Usage: scripts/bench_anytime.sh [BUDGETS] [SOLVERS] [INSTANCES]
#   BUDGETS    space-separated seconds          (default "1 10 60")
#   SOLVERS    space-separated --solver values  (default "auto sa pt hierarchical")
#   INSTANCES  space-separated names: G-set names (G22 ...) or fl27k / fl1m
#              (3D frustrated loops, 30^3 / 100^3 spins, alpha 0.2, seed 1; generated
#              into $WORK on first use)          (default "G22 G55 G70 G81 fl27k fl1m")
# Environment: QAM (binary, default target/release/qam), DATA (default
# /work/shared/data), WORK (generated instances, default /tmp/qam-bench-anytime),
# THREADS (RAYON_NUM_THREADS, default 2), SEEDS (space-separated --seed values, one row
# each, default "1"; the seed is appended to the detail column when more than one).
set -euo pipefail
QAM=${QAM:-target/release/qam}
DATA=${DATA:-/work/shared/data}
WORK=${WORK:-/tmp/qam-bench-anytime}
export RAYON_NUM_THREADS=${THREADS:-2}
BUDGETS=${1:-"1 10 60"}
SOLVERS=${2:-"auto sa pt hierarchical"}
INSTANCES=${3:-"G22 G55 G70 G81 fl27k fl1m"}
SEEDS=${SEEDS:-1}
mkdir -p "$WORK"
file_of() {
    case "$1" in
        fl27k) f="$WORK/fl27k.gset"; [ -f "$f" ] || "$QAM" gen --kind frustrated-loops --dims 3 --n 27000 --alpha 0.2 --seed 1 --out "$f" 2>/dev/null ;;
        fl1m) f="$WORK/fl1m.gset"; [ -f "$f" ] || "$QAM" gen --kind frustrated-loops --dims 3 --n 1000000 --alpha 0.2 --seed 1 --out "$f" 2>/dev/null ;;
        *) f="$DATA/gset/$1.txt" ;;
    esac
    echo "$f"
}
echo "# $(date -u +%FT%TZ) $(nproc) cores, RAYON_NUM_THREADS=$RAYON_NUM_THREADS, load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-7s %6s %-13s %12s %10s %9s %-11s %s\n' instance budget solver energy quality elapsed stop detail
for inst in $INSTANCES; do
    f=$(file_of "$inst")
    for t in $BUDGETS; do
        for s in $SOLVERS; do
            for seed in $SEEDS; do
                "$QAM" solve "$f" --solver "$s" --time-limit "$t" --seed "$seed" --output json -q |
                    python3 -c '
import csv, json, sys
inst, t, data = sys.argv[1], sys.argv[2], sys.argv[3]
v = json.loads(sys.stdin.readline())
if inst.startswith("fl"):
    g = json.load(open(v["file"] + ".planted.json"))["ground_energy"]
    q = "+%.3f%%" % (100 * (v["energy"] - g) / abs(g))
else:
    best = {r["instance"]: float(r["best_known_cut"]) for r in csv.DictReader(open(data + "/gset/best_known.csv"))}
    q = "%.3f%%" % (100 * v["cut"] / best[inst])
detail = v.get("winner") or ""
if len(sys.argv[4].split()) > 1:
    detail = ("%s seed=%s" % (detail, v["seed"])).strip()
print("%-7s %6s %-13s %12.0f %10s %9.2f %-11s %s" % (inst, t, v["solver"], v["energy"], q, v["elapsed_s"], v["stop_reason"], detail))
' "$inst" "$t" "$DATA" "$SEEDS"
            done
        done
    done
done
echo "# end $(date -u +%FT%TZ), load: $(cut -d' ' -f1-3 /proc/loadavg)"
