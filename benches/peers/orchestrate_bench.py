#!/usr/bin/env python3
"""Per-pool-load orchestration benchmark: `qam orchestrate --time-limit S` vs the HiGHS
oracle (benches/peers/orchestrate_oracle.py) on scenarios from
`qam gen-scenario --load-model per-pool --utilisation U`.

For each size AxP and seed: generates the scenario, runs qam at every limit in --qam-limits
(RAYON_NUM_THREADS=--threads), the oracle at the largest, and prints a markdown row: qam's
objective and violations after each limit, qam's time to its first feasible placement
(`metrics.time_to_feasible_s` of the longest run), the oracle's best, bound and status, and
the gap of qam's last objective to the oracle's best ((qam - oracle) / oracle, positive =
worse). A summary line follows: instances the oracle found feasible, those qam left
feasible, and the mean gap.

Oracle results are kept in --oracle-cache (benches/peers/oracle_cache.py: keyed by the
scenario's SHA-256, the limit and the threads), so a later run of qam alone reuses them;
--oracle-only fills the cache (--oracle-jobs processes at a time) and stops.

Usage: python3 benches/peers/orchestrate_bench.py --qam target/release/qam \
         --sizes 100x5,200x10,400x20 --seeds 1,2 --utilisation 0.95 --qam-limits 1,10 \
         --dir /tmp/orch [--oracle-cache FILE.jsonl] [--oracle-only] [--oracle-jobs J]
         [--oracle-threads T]
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import oracle_cache  # noqa: E402


run_oracle = oracle_cache.script("orchestrate_oracle.py")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qam", default="target/release/qam")
    ap.add_argument("--sizes", default="100x5,200x10,400x20")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--utilisation", default="0.95")
    ap.add_argument("--qam-limits", default="1,10")
    ap.add_argument("--oracle-limit", type=float, default=None, help="default: the largest qam limit")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tasks", default="0")
    ap.add_argument("--dir", default="/tmp/orch")
    ap.add_argument("--oracle-cache", default=None)
    ap.add_argument("--oracle-only", action="store_true")
    ap.add_argument("--oracle-jobs", type=int, default=1)
    ap.add_argument("--oracle-threads", type=int, default=None, help="default: --threads")
    a = ap.parse_args()
    othreads = a.threads if a.oracle_threads is None else a.oracle_threads
    os.makedirs(a.dir, exist_ok=True)
    limits = [float(x) for x in a.qam_limits.split(",")]
    oracle_limit = a.oracle_limit or max(limits)
    insts = []
    for size in a.sizes.split(","):
        n, m = size.split("x")
        for u in a.utilisation.split(","):
            for seed in a.seeds.split(","):
                f = os.path.join(a.dir, f"orch_{n}x{m}_u{u}_s{seed}.json")
                subprocess.run([a.qam, "gen-scenario", "--agents", n, "--pools", m, "--tasks", a.tasks,
                                "--load-model", "per-pool", "--utilisation", u, "--seed", seed,
                                "--out", f], check=True, stderr=subprocess.DEVNULL)
                insts.append((n, m, u, seed, f))
    cache = oracle_cache.load(a.oracle_cache)
    items = [(f, {"agents": int(n), "pools": int(m), "utilisation": float(u), "seed": int(seed)})
             for n, m, u, seed, f in insts]
    oracle_cache.solve_all(cache, a.oracle_cache, items, oracle_limit, othreads, a.oracle_jobs,
                           run_oracle)
    if a.oracle_only:
        return 0
    print("| agents x pools | U | seed | " + " | ".join(f"qam {l:g} s" for l in limits)
          + " | qam first feasible (s) | HiGHS best | HiGHS bound | HiGHS status | gap to HiGHS |")
    print("|---|---|---|" + "---|" * len(limits) + "---|---|---|---|---|")
    n_oracle_feasible = n_qam_feasible_there = 0
    gaps = []
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
    for n, m, u, seed, f in insts:
        cells, last, first = [], None, None
        for l in limits:
            p = subprocess.run([a.qam, "orchestrate", f, "--time-limit", str(l), "--seed", seed,
                                "--output", "json"], capture_output=True, text=True, env=env)
            if p.returncode not in (0, 3):
                cells.append(f"error {p.returncode}")
                last = None
                continue
            r = json.loads(p.stdout)
            obj, nv = r["metrics"]["objective"], len(r["violations"])
            cells.append(f"{obj:.2f}" + ("" if nv == 0 else f" ({nv} viol.)"))
            last = obj if nv == 0 else None
            first = r["metrics"].get("time_to_feasible_s")
        orc = oracle_cache.lookup(cache, f, oracle_limit, othreads)
        best, bound = orc.get("objective"), orc.get("bound")
        gap = None
        if best is not None:
            n_oracle_feasible += 1
            if last is not None:
                n_qam_feasible_there += 1
                gap = 100.0 * (last - best) / abs(best)
                gaps.append(gap)
        fmt = lambda x: "-" if x is None else f"{x:.2f}"
        print(f"| {n}x{m} | {u} | {seed} | " + " | ".join(cells)
              + f" | {fmt(first)} | {fmt(best)} | {fmt(bound)} | {orc.get('status')} | "
              + ("-" if gap is None else f"{gap:+.2f}%") + " |", flush=True)
    mean = sum(gaps) / len(gaps) if gaps else float("nan")
    print(f"\nHiGHS feasible on {n_oracle_feasible}; qam feasible on {n_qam_feasible_there} of those; "
          f"mean gap {mean:+.2f}% (qam at {max(limits):g} s, HiGHS at {oracle_limit:g} s)")


if __name__ == "__main__":
    sys.exit(main())
