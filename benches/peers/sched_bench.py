#!/usr/bin/env python3
"""Scheduling-under-scarcity benchmark (#11 item 6): generates scarce scenarios with
`qam gen-scenario --scarce-capabilities K --conflict-density D [--horizon-slack F]`, plans
each with `qam orchestrate --time-limit S`, solves the same tasks with the CP-SAT oracle
(sched_oracle.py) at the same limit, and prints a markdown table of total completion time
(qam, greedy list schedule, CP-SAT best and bound) plus a summary.

Instance i of N (seed i): tasks = 20 + round(180 i / (N-1)), agents = max(10, tasks / 4),
3 pools, K = 2 + i mod 3, D = 0.02 or 0.05 (i even / odd), F = 0, 0.1 or none (i mod 3).

Usage: python3 benches/peers/sched_bench.py [--qam target/release/qam] [--instances 30]
       [--time-limit 60] [--threads 2] [--dir /tmp/sched_bench] [--json results.jsonl]
       [--only 3,5,12] [--oracle-cache FILE.jsonl] [--oracle-only] [--oracle-jobs J]
       [--oracle-threads T]

The CP-SAT results are kept in --oracle-cache (benches/peers/oracle_cache.py: keyed by the
scenario's SHA-256, the limit and the threads), so a later run of qam alone reuses them;
--oracle-only fills the cache (--oracle-jobs processes at a time) and stops.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import oracle_cache  # noqa: E402


def instance(i, n):
    tasks = 20 + round(180 * i / max(n - 1, 1))
    agents = max(10, tasks // 4)
    k = 2 + i % 3
    d = 0.02 if i % 2 == 0 else 0.05
    f = [0.0, 0.1, None][i % 3]
    return tasks, agents, k, d, f


run_oracle = oracle_cache.script("sched_oracle.py")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qam", default="target/release/qam")
    ap.add_argument("--instances", type=int, default=30)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dir", default="/tmp/sched_bench")
    ap.add_argument("--json", default=None, help="also append one JSON line per instance here")
    ap.add_argument("--only", default=None, help="comma-separated instance numbers to run (default: all)")
    ap.add_argument("--oracle-cache", default=None)
    ap.add_argument("--oracle-only", action="store_true")
    ap.add_argument("--oracle-jobs", type=int, default=1)
    ap.add_argument("--oracle-threads", type=int, default=None, help="default: --threads")
    a = ap.parse_args()
    othreads = a.threads if a.oracle_threads is None else a.oracle_threads
    os.makedirs(a.dir, exist_ok=True)
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
    only = None if a.only is None else {int(x) for x in a.only.split(",")}
    chosen = [i for i in range(a.instances) if only is None or i in only]
    for i in chosen:
        tasks, agents, k, d, f = instance(i, a.instances)
        path = os.path.join(a.dir, f"sched{i}.json")
        cmd = [a.qam, "gen-scenario", "--agents", str(agents), "--pools", "3", "--tasks", str(tasks),
               "--scarce-capabilities", str(k), "--conflict-density", str(d), "--seed", str(i),
               "--out", path]
        if f is not None:
            cmd[-2:-2] = ["--horizon-slack", str(f)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stderr, file=sys.stderr)
            return 1
    cache = oracle_cache.load(a.oracle_cache)
    items = [(os.path.join(a.dir, f"sched{i}.json"), {"instance_no": i}) for i in chosen]
    oracle_cache.solve_all(cache, a.oracle_cache, items, a.time_limit, othreads,
                           a.oracle_jobs, run_oracle)
    if a.oracle_only:
        return 0
    rows = []
    print("| # | tasks | agents | K | D | F | greedy | qam | CP-SAT best | CP-SAT bound | qam vs CP-SAT | qam vs greedy |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for i in chosen:
        tasks, agents, k, d, f = instance(i, a.instances)
        path = os.path.join(a.dir, f"sched{i}.json")
        plan = subprocess.run([a.qam, "orchestrate", path, "--time-limit", str(a.time_limit), "--output", "json"],
                              capture_output=True, text=True, env=env)
        if plan.returncode not in (0, 3):
            print(plan.stderr, file=sys.stderr)
            return 1
        p = json.loads(plan.stdout)
        o = oracle_cache.lookup(cache, path, a.time_limit, othreads)
        qam_t = p["metrics"]["total_completion_time"]
        greedy_t = p["comparison"]["greedy"]["total_completion_time"]
        best = o.get("objective")
        row = {
            "instance": i, "tasks": tasks, "agents": agents, "k": k, "d": d, "f": f,
            "qam": qam_t, "qam_makespan": p["metrics"]["makespan"], "qam_violations": len(p["violations"]),
            "greedy": greedy_t, "greedy_makespan": p["comparison"]["greedy"]["makespan"],
            "cpsat": best, "cpsat_bound": o.get("bound"), "cpsat_status": o.get("status"),
            "cpsat_makespan": o.get("makespan"),
        }
        rows.append(row)
        if a.json:
            with open(a.json, "a") as fh:
                fh.write(json.dumps(row) + "\n")
        vs = f"{100 * (qam_t - best) / best:+.2f}%" if best else "n/a"
        print(f"| {i} | {tasks} | {agents} | {k} | {d} | {f if f is not None else '-'} | {greedy_t:.0f} | {qam_t:.0f} "
              f"| {best if best is not None else '-'} | {o.get('bound')} | {vs} | "
              f"{100 * (qam_t - greedy_t) / greedy_t:+.2f}% |", flush=True)
    gaps = [(r["qam"] - r["cpsat"]) / r["cpsat"] for r in rows if r["cpsat"]]
    best_of = [(r["qam"] - min(r["qam"], r["cpsat"])) / min(r["qam"], r["cpsat"]) for r in rows if r["cpsat"]]
    print()
    print(f"instances: {len(rows)}; qam violations: {sum(r['qam_violations'] for r in rows)}")
    print(f"qam better than greedy: {sum(r['qam'] < r['greedy'] for r in rows)}/{len(rows)}; "
          f"equal: {sum(r['qam'] == r['greedy'] for r in rows)}")
    if gaps:
        print(f"mean qam vs CP-SAT incumbent: {100 * sum(gaps) / len(gaps):+.2f}%; "
              f"mean gap to the best of both: {100 * sum(best_of) / len(best_of):.2f}%; "
              f"qam <= CP-SAT on {sum(g <= 0 for g in gaps)}/{len(gaps)}")
    proven = [r for r in rows if r["cpsat_status"] == "OPTIMAL"]
    if proven:
        print(f"CP-SAT proved optimal: {len(proven)}; qam equal to it on "
              f"{sum(r['qam'] == r['cpsat'] for r in proven)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
