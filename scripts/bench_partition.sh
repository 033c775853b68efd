#!/usr/bin/env bash
# Partitioner comparison on G-set graphs: cut weight (fraction of sum |w|), number of
# clusters, balance and time of `qam decompose` level 0, multilevel vs label propagation.
# Usage: scripts/bench_partition.sh [GRAPH...]   (QAM_DATA defaults to ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${QAM_DATA:-../shared/data}"
QAM=./target/release/qam
GRAPHS=("$@")
[ ${#GRAPHS[@]} -eq 0 ] && GRAPHS=(G1 G14 G22 G43 G55 G70 G72 G81)
echo "uptime: $(uptime)"
printf "| graph | n | cap | multilevel cut %% | clusters | balance | s | label-prop cut %% | clusters | balance | s |\n"
printf "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
for g in "${GRAPHS[@]}"; do
    for cap in 20 200 2000; do
        row="| $g"
        first=1
        for m in multilevel label-prop; do
            "$QAM" decompose "$DATA/gset/$g.txt" --cluster-size "$cap" --partitioner "$m" --output json > /tmp/qam_part.json
            vals=$(python3 -c "
import json; d=json.load(open('/tmp/qam_part.json')); l=d['levels'][0]
n=l['num_variables']
if 'cut_fraction' in l:
    print(n, '%.2f' % (100*l['cut_fraction']), l['num_clusters'], '%.2f' % l['balance'], '%.3f' % l['partition_s'])
else:
    print(n, '-', 1, '-', '0')")
            set -- $vals
            if [ $first = 1 ]; then row="$row | $1 | $cap"; first=0; fi
            row="$row | $2 | $3 | $4 | $5"
        done
        echo "$row |"
    done
done
