#!/usr/bin/env python3
"""Exact oracle for the placement part of a qam scenario (`qam-scenario` JSON): writes it as
a mixed-integer program and solves it with HiGHS (pip `highspy`) under a time limit, printing
one JSON line per scenario:
{"file", "solver": "highs", "status", "objective" (best placement + communication cost
 found, the plan's `metrics.objective`; null if none), "bound" (dual bound), "gap" (relative
 MIP gap), "feasible", "infeasible_proven", "elapsed_s", "variables", "rows"}.

Model (the same objective qam minimises, README "Orchestration"):
  x[a,p] in {0,1} for every pool p agent a may use (per-pool loads list them; uniform loads:
  every pool); sum_p x[a,p] = 1; for every pool p and resource kind k:
  sum_a load[a,p,k] x[a,p] <= capacity[p,k]; for every traffic pair {a,b} with weight
  w = comm_cost * (rate(a->b) + rate(b->a)): d[a,b] in [0,1], d[a,b] >= x[a,p] - x[b,p] for
  every pool p (d = 1 when a and b are apart; pools only one of them may use give
  d >= x[a,p] or d >= x[b,p]);
  minimise sum cost[a,p] x[a,p] + sum w d[a,b].

Usage: python3 benches/peers/orchestrate_oracle.py SCENARIO.json... [--time-limit S]
         [--threads T] [--write-lp OUT.lp]
"""
import argparse
import json
import sys
import time


def load_rows(s):
    """Per agent: {pool index: [load per kind]} over the pools it may use."""
    kinds = s["resource_kinds"]
    pools = [p["id"] for p in s["pools"]]
    pidx = {p: i for i, p in enumerate(pools)}
    rows = []
    for a in s["agents"]:
        load = a.get("load", {}) or {}
        per_pool = any(isinstance(v, dict) for v in load.values())
        if per_pool:
            r = {pidx[p]: [float(l.get(k, 0.0)) for k in kinds] for p, l in load.items()}
        else:
            row = [float(load.get(k, 0.0)) for k in kinds]
            r = {j: row for j in range(len(pools))}
        rows.append(r)
    return rows


def costs(s):
    pools = [p["id"] for p in s["pools"]]
    out = []
    for a in s["agents"]:
        c = a.get("cost", {})
        if isinstance(c, list):
            out.append([float(x) for x in c])
        else:
            out.append([float(c.get(p, 0.0)) for p in pools])
    return out


def pair_weights(s):
    aidx = {a["id"]: i for i, a in enumerate(s["agents"])}
    cc = float(s.get("comm_cost", 1.0))
    w = {}
    for t in s.get("traffic", []):
        a, b = aidx[t["from"]], aidx[t["to"]]
        key = (min(a, b), max(a, b))
        w[key] = w.get(key, 0.0) + cc * float(t["rate"])
    return {k: v for k, v in w.items() if v > 0.0}


def write_lp(s, path):
    """The model above as a CPLEX LP file (x binary, d continuous in [0, 1])."""
    kinds = s["resource_kinds"]
    rows, cost, pairs = load_rows(s), costs(s), pair_weights(s)
    npools = len(s["pools"])
    obj, cons, bins, bounds = [], [], [], []
    for a, r in enumerate(rows):
        for p in sorted(r):
            bins.append(f"x_{a}_{p}")
            obj.append(f"{cost[a][p]:+.17g} x_{a}_{p}")
        cons.append(f" one_{a}: " + " + ".join(f"x_{a}_{p}" for p in sorted(r)) + " = 1")
    for p in range(npools):
        caps = s["pools"][p].get("capacity", {})
        for k, kind in enumerate(kinds):
            terms = [f"{r[p][k]:+.17g} x_{a}_{p}" for a, r in enumerate(rows) if p in r and r[p][k] != 0.0]
            if terms:
                cons.append(f" cap_{p}_{k}: " + " ".join(terms) + f" <= {float(caps.get(kind, 0.0)):.17g}")
    for (a, b), w in sorted(pairs.items()):
        obj.append(f"{w:+.17g} d_{a}_{b}")
        bounds.append(f" 0 <= d_{a}_{b} <= 1")
        for p in sorted(set(rows[a]) | set(rows[b])):
            xa = f" - x_{a}_{p}" if p in rows[a] else ""
            xb = f" + x_{b}_{p}" if p in rows[b] else ""
            cons.append(f" sep_{a}_{b}_{p}: d_{a}_{b}{xa}{xb} >= 0")
    with open(path, "w") as f:
        f.write("Minimize\n obj: " + "\n  ".join(obj) + "\nSubject To\n")
        f.write("\n".join(cons) + "\nBounds\n" + "\n".join(bounds) + "\nBinary\n")
        for i in range(0, len(bins), 20):
            f.write(" " + " ".join(bins[i:i + 20]) + "\n")
        f.write("End\n")
    return len(bins) + len(pairs), len(cons)


def solve(path, time_limit, threads, lp_out):
    import highspy

    with open(path) as f:
        s = json.load(f)
    nv, nr = write_lp(s, lp_out)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("mip_rel_gap", 0.0)
    if h.readModel(lp_out) == highspy.HighsStatus.kError:
        return {"file": path, "solver": "highs", "error": "HiGHS could not read the model"}
    t0 = time.time()
    h.run()
    elapsed = time.time() - t0
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    feasible = info.primal_solution_status == 2
    return {
        "file": path,
        "solver": "highs",
        "status": status,
        "objective": info.objective_function_value if feasible else None,
        "bound": info.mip_dual_bound,
        "gap": info.mip_gap if feasible else None,
        "feasible": feasible,
        "infeasible_proven": status == "Infeasible",
        "elapsed_s": elapsed,
        "variables": nv,
        "rows": nr,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--write-lp", default=None, help="where to keep the LP (one input only)")
    a = ap.parse_args()
    if a.write_lp and len(a.files) > 1:
        ap.error("--write-lp takes one scenario")
    failed = False
    for f in a.files:
        lp = a.write_lp or (f + ".oracle.lp")
        try:
            r = solve(f, a.time_limit, a.threads, lp)
        except ImportError:
            print("orchestrate_oracle.py needs HiGHS: pip install highspy", file=sys.stderr)
            return 3
        failed |= "error" in r
        print(json.dumps(r), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
