#!/usr/bin/env bash
# qam's simulated annealing next to dwave-samplers' SimulatedAnnealingSampler (neal) on the
# same files, with the same reads x sweeps and the same default beta range:
#   G-set G1, G22, G81; OR-Library bqp1000.1; a generated 100,000-vertex 3-regular graph.
# Prints `qam bench` (1 thread and all threads), the peer (single thread), then a
# side-by-side table of flip attempts per second with ratios.
#
# Usage: scripts/bench_vs_neal.sh            (env: QAM_DATA, READS=10, SWEEPS=1000, SEED=1)
# Needs: python3 with dwave-samplers and dimod (pip install dwave-samplers).
set -euo pipefail
cd "$(dirname "$0")/.."

DATA="${QAM_DATA:-../shared/data}"
READS="${READS:-10}"
SWEEPS="${SWEEPS:-1000}"
SEED="${SEED:-1}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

cargo build --release --quiet
QAM=target/release/qam

"$QAM" gen --kind regular3 --n 100000 --seed 1 --out "$TMP/regular3-100k.gset"
FILES=()
for f in "$DATA/gset/G1.txt" "$DATA/gset/G22.txt" "$DATA/gset/G81.txt" "$DATA/bqp/bqp1000.txt"; do
    if [ -f "$f" ]; then FILES+=("$f"); else echo "note: $f not found, skipped (set QAM_DATA)" >&2; fi
done
FILES+=("$TMP/regular3-100k.gset")

echo "== machine: $(nproc) cores; $(uptime)"
cat >"$TMP/show.py" <<'EOF'
import json, sys
rate = sys.argv[1]
for line in sys.stdin:
    r = json.loads(line)
    name = r["file"].split("/")[-1]
    print(f"{name:<22} thr={r['threads']:<3} {r[rate] / 1e6:8.1f} M{rate}  best {r['metric']} {r['best']:.0f}  "
          f"mean {r['mean']:.1f}  best-known {r.get('best_known', '-')}  hits {r.get('hits', '-')}/{r['reads']}",
          flush=True)
EOF

echo "== qam bench --reads $READS --sweeps $SWEEPS --seed $SEED --threads 1,0"
"$QAM" bench --instance 1 --reads "$READS" --sweeps "$SWEEPS" --seed "$SEED" --threads 1,0 --output json "${FILES[@]}" \
    | tee "$TMP/qam.jsonl" | python3 "$TMP/show.py" flips_per_s
echo
echo "== dwave-samplers SimulatedAnnealingSampler, single thread (benches/peers/neal_sa.py)"
python3 benches/peers/neal_sa.py --reads "$READS" --sweeps "$SWEEPS" --seed "$SEED" --json "${FILES[@]}" \
    | tee "$TMP/neal.jsonl" | python3 "$TMP/show.py" flips_per_cpu_s
echo
echo "== side by side (M flip attempts per second; ratios = qam / neal wall)"
echo "   neal cpu = per CPU-second of the sample call; neal wall = per second of neal's sampling_ns;"
echo "   qam = per wall second of sampling (SolveInfo.timing.sampling_s). On a loaded machine"
echo "   compare wall with wall."
python3 - "$TMP/qam.jsonl" "$TMP/neal.jsonl" <<'EOF'
import json, sys
qam = [json.loads(l) for l in open(sys.argv[1])]
neal = {r["file"]: r for r in map(json.loads, open(sys.argv[2]))}
nan = float("nan")
print(f"{'file':<22} {'neal cpu':>9} {'neal wall':>9} {'qam 1thr':>9} {'ratio':>6} {'qam all':>9} {'ratio':>6}")
for f in dict.fromkeys(r["file"] for r in qam):
    rows = sorted((r for r in qam if r["file"] == f), key=lambda r: r["threads"])
    n = neal.get(f, {})
    one, many = rows[0], rows[-1]
    nc = n.get("flips_per_cpu_s") or nan
    nw = n.get("flips_per_sampling_s") or nan
    print(f"{f.split('/')[-1]:<22} {nc/1e6:>9.1f} {nw/1e6:>9.1f} {one['flips_per_s']/1e6:>9.1f} {one['flips_per_s']/nw:>6.2f} "
          f"{many['flips_per_s']/1e6:>9.1f} {many['flips_per_s']/nw:>6.2f}   (all = {many['threads']} threads)")
EOF
