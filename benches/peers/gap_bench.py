#!/usr/bin/env python3
"""GAP benchmark: qam cqm-sa vs HiGHS (benches/peers/gap_oracle.py) at equal time limits.

Generates instances with `qam gen --kind gap`, runs `qam solve FILE.lp --time-limit S` for
each S in --qam-limits and the oracle at the largest one, and prints a markdown table:
objective after each limit, time to first feasible, the oracle's best and bound, and the
gap of qam's last value to the oracle's best ((qam - oracle) / oracle, positive = worse).

Usage: python3 benches/peers/gap_bench.py --qam target/release/qam --types c,d,e \
         --sizes 100x5,200x10,400x20 --seeds 1 --qam-limits 1,10 --dir /tmp/gap
"""
import argparse
import json
import os
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qam", default="target/release/qam")
    ap.add_argument("--types", default="c,d,e")
    ap.add_argument("--sizes", default="100x5,200x10,400x20")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--qam-limits", default="1,10")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dir", default="/tmp/gap")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    limits = [float(x) for x in a.qam_limits.split(",")]
    here = os.path.dirname(os.path.abspath(__file__))
    rows = []
    print("| type | agents x pools | seed | " + " | ".join(f"qam {l:g} s" for l in limits)
          + " | qam first feasible | HiGHS best | HiGHS bound | gap to HiGHS |")
    print("|---|---|---|" + "---|" * len(limits) + "---|---|---|---|")
    for t in a.types.split(","):
        for size in a.sizes.split(","):
            n, m = size.split("x")
            for seed in a.seeds.split(","):
                f = os.path.join(a.dir, f"gap_{t}_{n}x{m}_s{seed}.lp")
                subprocess.run([a.qam, "gen", "--kind", "gap", "--agents", n, "--pools", m,
                                "--gap-type", t, "--seed", seed, "--out", f],
                               check=True, stderr=subprocess.DEVNULL)
                vals, first = [], None
                for l in limits:
                    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
                    p = subprocess.run([a.qam, "solve", f, "--time-limit", str(l), "--reads",
                                        str(a.threads), "--sweeps", "3000", "--output", "json", "-q"],
                                       capture_output=True, text=True, env=env)
                    r = json.loads(p.stdout)
                    vals.append(r["objective"] if r["feasible"] else None)
                    if first is None:
                        first = r.get("time_to_feasible_s")
                o = subprocess.run([sys.executable, os.path.join(here, "gap_oracle.py"), f,
                                    "--time-limit", str(max(limits)), "--threads", str(a.threads)],
                                   capture_output=True, text=True)
                orc = json.loads(o.stdout.strip().splitlines()[-1])
                best, bound = orc.get("objective"), orc.get("bound")
                last = vals[-1]
                gap = (100.0 * (last - best) / best) if (last is not None and best) else None
                fmt = lambda v: "infeasible" if v is None else f"{v:,.0f}"
                print(f"| {t.upper()} | {n} x {m} | {seed} | " + " | ".join(fmt(v) for v in vals)
                      + f" | {first if first is None else f'{first:.3f} s'} | {fmt(best)} | {bound:,.1f} | "
                      + ("n/a" if gap is None else f"{gap:+.2f}%") + " |", flush=True)
                rows.append(gap)
    g = [x for x in rows if x is not None]
    if g:
        print(f"\nmean gap {sum(g)/len(g):+.2f}% over {len(g)} instances", flush=True)


if __name__ == "__main__":
    main()
