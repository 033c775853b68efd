#!/usr/bin/env bash
# Decomposition benchmarks (docs/benchmarks.md, "Decomposition"):
#   g81      G81 (20,000-node torus): hierarchical refine/merge, 55 s limit, seeds 1-5, and
#            plain `--solver sa` at about the same wall time, cut and time to cut >= 13990.
#   planted  1,000,000-variable tile-planted instance: gap to the planted ground energy,
#            time and peak memory (/usr/bin/time -v).
#   regular  10,000,000-variable random 3-regular MaxCut instance: completes, time, memory.
# Usage: scripts/bench_decompose.sh [g81|planted|regular]...   (default: all)
# QAM_DATA: data folder (default ../shared/data); BIG: scratch folder (default /tmp/qam-big).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${QAM_DATA:-../shared/data}"
BIG="${BIG:-/tmp/qam-big}"
QAM=./target/release/qam
mkdir -p "$BIG"
TASKS=("$@")
[ ${#TASKS[@]} -eq 0 ] && TASKS=(g81 planted regular)

peak() { grep -E "Maximum resident|Elapsed" "$1" | sed 's/^\s*//' | tr '\n' ';'; }

summary() { # file json, W (total edge weight or ground energy), kind
    python3 - "$@" <<'PY'
import json, sys
path, kind = sys.argv[1], sys.argv[2]
d = json.load(open(path))
t = d.get("energy_trace", [])
if kind == "cut":
    W = 2 * d["cut"] + d["energy"]
    def first(c):
        for a, b in t:
            if (W - b) / 2 >= c:
                return round(a, 1)
    print(f"cut {d['cut']:.0f} elapsed {d['elapsed_s']:.1f} s rounds {d.get('rounds')} "
          f"t(cut>=13990) {first(13990)} s t(cut>=14000) {first(14000)} s")
else:
    g = float(sys.argv[3])
    gaps = [(round(a, 1), round(100 * (b - g) / abs(g), 3)) for a, b in t]
    print(f"energy {d['energy']:.0f} ground {g:.0f} gap {100 * (d['energy'] - g) / abs(g):.3f}% "
          f"elapsed {d['elapsed_s']:.1f} s rounds {d.get('rounds')} trace (s, gap%) {gaps}")
PY
}

for task in "${TASKS[@]}"; do
    echo "== $task   uptime: $(uptime)"
    case "$task" in
    g81)
        for st in refine merge; do
            for seed in 1 2 3 4 5; do
                "$QAM" solve "$DATA/gset/G81.txt" --solver hierarchical --strategy "$st" --time-limit 55 \
                    --patience 1000 --seed "$seed" -q --output json > "$BIG/g81.json"
                echo "hierarchical $st seed $seed: $(summary "$BIG/g81.json" cut)"
            done
        done
        for cfg in "2 50000" "8 12500"; do
            set -- $cfg
            "$QAM" solve "$DATA/gset/G81.txt" --solver sa --reads "$1" --sweeps "$2" --seed 1 -q --output json > "$BIG/g81sa.json"
            echo "sa reads $1 sweeps $2: $(summary "$BIG/g81sa.json" cut)"
        done
        ;;
    planted)
        [ -f "$BIG/tp1m.gset" ] || "$QAM" gen --kind tile-planted --n 1000000 --seed 1 --out "$BIG/tp1m.gset"
        g=$(python3 -c "import json;print(json.load(open('$BIG/tp1m.gset.planted.json'))['ground_energy'])")
        for st in refine merge; do
            /usr/bin/time -v "$QAM" solve "$BIG/tp1m.gset" --solver hierarchical --strategy "$st" --time-limit 60 \
                -q --output json > "$BIG/tp.json" 2> "$BIG/tp.time"
            echo "hierarchical $st: $(summary "$BIG/tp.json" planted "$g") | $(peak "$BIG/tp.time")"
        done
        ;;
    regular)
        [ -f "$BIG/r10m.gset" ] || /usr/bin/time -v "$QAM" gen --kind regular3 --n 10000000 --seed 1 \
            --out "$BIG/r10m.gset" 2> "$BIG/gen.time"
        [ -f "$BIG/gen.time" ] && echo "gen: $(peak "$BIG/gen.time")"
        /usr/bin/time -v "$QAM" solve "$BIG/r10m.gset" --solver hierarchical --strategy merge --rounds 2 \
            -q --output json > "$BIG/r10m.json" 2> "$BIG/r10m.time"
        python3 -c "
import json; d=json.load(open('$BIG/r10m.json'))
print('hierarchical merge, 2 rounds: cut', d['cut'], 'cut/m %.4f' % (d['cut']/15e6), 'partition_s %.1f' % d['partition_s'], 'elapsed %.1f s' % d['elapsed_s'], 'trace', d['energy_trace'])"
        echo "  $(peak "$BIG/r10m.time")"
        ;;
    *) echo "unknown task $task"; exit 2 ;;
    esac
done
