#!/usr/bin/env python3
"""GAP benchmark: qam cqm-sa vs HiGHS (benches/peers/gap_oracle.py).

Generates instances with `qam gen --kind gap`, runs qam on each and prints a markdown table:
objective after each of --qam-limits, time to first feasible, the oracle's best and bound,
and the gap of qam's last value to the oracle's best ((qam - oracle) / oracle, positive =
qam worse), then the mean gap per type and per size.

qam: with --qam-trace, one run at the largest limit and the values at the smaller limits
read from its `trace` (the best feasible objective found by then: what a run with that
limit returns for the same seed, since the chains do not depend on the limit); without
it, one run per limit.

Oracle: HiGHS at --oracle-limit (default: the largest qam limit). Results are kept in
--oracle-cache (JSON lines keyed by the file's SHA-256, the limit and the thread count),
so the oracle runs once per instance and a later run of qam alone reuses them;
--oracle-only fills the cache (with --oracle-jobs processes at a time) and stops.

Usage:
  python3 benches/peers/gap_bench.py --qam target/release/qam --types c,d,e \
      --sizes 100x5,200x10,400x20 --seeds 1 --qam-limits 1,10 --dir /tmp/gap
  # the issue's 60 instances, oracle cached in the repository, qam traced:
  python3 benches/peers/gap_bench.py --qam target/release/qam --types c,d,e \
      --sizes 100x5,200x10,400x20,800x40,1600x80 --seeds 1,2,3,4 --qam-limits 1,10,60 \
      --qam-trace --oracle-cache benches/peers/results/gap_highs.jsonl --dir /tmp/gap
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import oracle_cache  # noqa: E402


run_oracle = oracle_cache.script("gap_oracle.py")


def value_at(trace, t):
    """Best objective recorded at or before t seconds (None if nothing feasible yet)."""
    v = None
    for ts, obj in trace:
        if ts <= t:
            v = obj
    return v


def run_qam(a, path, limits):
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
    base = [a.qam, "solve", path, "--reads", str(a.threads), "--sweeps", "3000",
            "--output", "json", "-q"]
    if a.qam_trace:
        p = subprocess.run(base + ["--time-limit", str(max(limits))], capture_output=True,
                           text=True, env=env)
        r = json.loads(p.stdout)
        if "trace" not in r:
            raise SystemExit("--qam-trace: this qam build reports no `trace`")
        vals = [value_at(r["trace"], l) for l in limits]
        vals[-1] = r["objective"] if r["feasible"] else None
        return vals, r.get("time_to_feasible_s"), r.get("bound")
    vals, first, bound = [], None, None
    for l in limits:
        p = subprocess.run(base + ["--time-limit", str(l)], capture_output=True, text=True,
                           env=env)
        r = json.loads(p.stdout)
        vals.append(r["objective"] if r["feasible"] else None)
        if first is None:
            first = r.get("time_to_feasible_s")
        bound = r.get("bound")
    return vals, first, bound


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qam", default="target/release/qam")
    ap.add_argument("--types", default="c,d,e")
    ap.add_argument("--sizes", default="100x5,200x10,400x20")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--qam-limits", default="1,10")
    ap.add_argument("--qam-trace", action="store_true")
    ap.add_argument("--threads", type=int, default=2, help="qam's threads")
    ap.add_argument("--oracle-limit", type=float, default=None)
    ap.add_argument("--oracle-threads", type=int, default=2)
    ap.add_argument("--oracle-jobs", type=int, default=1)
    ap.add_argument("--oracle-cache", default=None)
    ap.add_argument("--oracle-only", action="store_true")
    ap.add_argument("--json", default=None, help="append one JSON line per instance here")
    ap.add_argument("--dir", default="/tmp/gap")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    limits = [float(x) for x in a.qam_limits.split(",")]
    olimit = a.oracle_limit if a.oracle_limit is not None else max(limits)

    insts = []
    for t in a.types.split(","):
        for size in a.sizes.split(","):
            n, m = size.split("x")
            for seed in a.seeds.split(","):
                f = os.path.join(a.dir, f"gap_{t}_{n}x{m}_s{seed}.lp")
                subprocess.run([a.qam, "gen", "--kind", "gap", "--agents", n, "--pools", m,
                                "--gap-type", t, "--seed", seed, "--out", f, "--force"],
                               check=True, stderr=subprocess.DEVNULL)
                insts.append((t, n, m, seed, f))

    cache = oracle_cache.load(a.oracle_cache)
    items = [(i[4], {"type": i[0], "agents": int(i[1]), "pools": int(i[2]), "seed": int(i[3])})
             for i in insts]
    oracle_cache.solve_all(cache, a.oracle_cache, items, olimit, a.oracle_threads,
                           a.oracle_jobs, run_oracle)
    if a.oracle_only:
        return

    fmt = lambda v: "infeasible" if v is None else f"{v:,.0f}"
    print("| type | agents x pools | seed | " + " | ".join(f"qam {l:g} s" for l in limits)
          + " | qam first feasible | qam bound | HiGHS best | HiGHS bound | gap to HiGHS |")
    print("|---|---|---|" + "---|" * len(limits) + "---|---|---|---|---|")
    rows = []
    for t, n, m, seed, f in insts:
        vals, first, qbound = run_qam(a, f, limits)
        orc = oracle_cache.lookup(cache, f, olimit, a.oracle_threads)
        best, bound = orc.get("objective"), orc.get("bound")
        last = vals[-1]
        gap = (100.0 * (last - best) / best) if (last is not None and best) else None
        opt = " (opt)" if orc.get("status") == "Optimal" else ""
        print(f"| {t.upper()} | {n} x {m} | {seed} | " + " | ".join(fmt(v) for v in vals)
              + f" | {'never' if first is None else f'{first:.3f} s'} | "
              + f"{'-' if qbound is None else f'{qbound:,.1f}'} | {fmt(best)}{opt} | "
              + f"{'-' if bound is None else f'{bound:,.1f}'} | "
              + ("n/a" if gap is None else f"{gap:+.2f}%") + " |", flush=True)
        rec = {"type": t, "agents": int(n), "pools": int(m), "seed": int(seed),
               "limits": limits, "qam": vals, "first_feasible_s": first, "qam_bound": qbound,
               "oracle": best, "oracle_bound": bound, "oracle_status": orc.get("status"),
               "gap_pct": gap}
        rows.append(rec)
        if a.json:
            with open(a.json, "a") as fh:
                fh.write(json.dumps(rec) + "\n")
    mean = lambda xs: sum(xs) / len(xs)
    for key, name in (("type", "type"), ("agents", "agents")):
        for k in dict.fromkeys(r[key] for r in rows):
            g = [r["gap_pct"] for r in rows if r[key] == k and r["gap_pct"] is not None]
            if g:
                print(f"mean gap {name} {str(k).upper()}: {mean(g):+.2f}% over {len(g)}")
    g = [r["gap_pct"] for r in rows if r["gap_pct"] is not None]
    if g:
        print(f"\nmean gap {mean(g):+.2f}% over {len(g)} instances; qam feasible on "
              f"{sum(r['qam'][-1] is not None for r in rows)} of {len(rows)} "
              f"(oracle on {sum(r['oracle'] is not None for r in rows)})", flush=True)


if __name__ == "__main__":
    main()
