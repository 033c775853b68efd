#!/usr/bin/env python3
"""Peer oracle for the scheduling part of qam-scenario files: solves each scenario's tasks
exactly with OR-Tools CP-SAT (pip `ortools`) under a time limit and prints one JSON line per
file, in the shape of gap_oracle.py:
{"file", "solver": "cp-sat", "status", "objective" (best total completion time found, or
the makespan with --objective makespan; null if none), "bound" (proven lower bound),
"gap" (relative), "feasible", "infeasible_proven", "makespan", "total_completion_time",
"elapsed_s"}.

Model (the same constraints qam's validator checks): every task t gets a start s_t and end
e_t = s_t + d_t; one optional interval per capable agent with ExactlyOne presence (agent
choice); NoOverlap per agent; NoOverlap for every conflicting pair; e_p <= s_t for every
predecessor p; e_t <= horizon when the scenario has one. Objective: sum_t e_t (total
completion time, qam's scheduling objective) or max_t e_t (--objective makespan).

Usage: python3 benches/peers/sched_oracle.py SCENARIO.json... [--time-limit S] [--threads T]
       [--objective total|makespan]
"""
import argparse
import json
import sys
import time


def build(scenario, objective):
    from ortools.sat.python import cp_model

    tasks = scenario.get("tasks", [])
    agents = scenario["agents"]
    ids = {t["id"]: i for i, t in enumerate(tasks)}
    dur = [int(t["duration"]) for t in tasks]
    horizon = scenario.get("horizon")
    ub = horizon if horizon is not None else sum(dur)
    m = cp_model.CpModel()
    start = [m.NewIntVar(0, ub, f"s{i}") for i in range(len(tasks))]
    end = [m.NewIntVar(0, ub, f"e{i}") for i in range(len(tasks))]
    main = [m.NewIntervalVar(start[i], dur[i], end[i], f"i{i}") for i in range(len(tasks))]
    per_agent = [[] for _ in agents]
    for i, t in enumerate(tasks):
        capable = [a for a, ag in enumerate(agents) if t["capability"] in ag.get("capabilities", [])]
        if not capable:
            raise ValueError(f"tasks[{i}].capability: no agent has `{t['capability']}`")
        lits = []
        for a in capable:
            x = m.NewBoolVar(f"x{i}_{a}")
            per_agent[a].append(m.NewOptionalIntervalVar(start[i], dur[i], end[i], x, f"o{i}_{a}"))
            lits.append(x)
        m.AddExactlyOne(lits)
        for p in t.get("after", []):
            m.Add(end[ids[p]] <= start[i])
    for ivs in per_agent:
        if len(ivs) > 1:
            m.AddNoOverlap(ivs)
    seen = set()
    for i, t in enumerate(tasks):
        for o in t.get("conflicts", []):
            j = ids[o]
            key = (min(i, j), max(i, j))
            if key not in seen:
                seen.add(key)
                m.AddNoOverlap([main[i], main[j]])
    if objective == "makespan":
        mk = m.NewIntVar(0, ub, "makespan")
        m.AddMaxEquality(mk, end)
        m.Minimize(mk)
    else:
        m.Minimize(sum(end))
    return m, start, end, dur


def solve(path, time_limit, threads, objective):
    from ortools.sat.python import cp_model

    with open(path) as f:
        scenario = json.load(f)
    m, start, end, dur = build(scenario, objective)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = int(threads)
    t0 = time.time()
    status = solver.Solve(m)
    elapsed = time.time() - t0
    feasible = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    out = {
        "file": path,
        "solver": "cp-sat",
        "objective_kind": objective,
        "status": solver.StatusName(status),
        "objective": solver.ObjectiveValue() if feasible else None,
        "bound": solver.BestObjectiveBound() if feasible or status == cp_model.UNKNOWN else None,
        "gap": None,
        "feasible": feasible,
        "infeasible_proven": status == cp_model.INFEASIBLE,
        "makespan": None,
        "total_completion_time": None,
        "elapsed_s": elapsed,
    }
    if feasible:
        ends = [solver.Value(e) for e in end]
        out["makespan"] = max(ends, default=0)
        out["total_completion_time"] = sum(ends)
        obj = out["objective"]
        out["gap"] = (obj - out["bound"]) / abs(obj) if obj else 0.0
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--objective", choices=["total", "makespan"], default="total")
    a = ap.parse_args()
    if not a.time_limit > 0:
        print(f"--time-limit must be positive, got {a.time_limit}", file=sys.stderr)
        return 2
    failed = False
    for f in a.files:
        try:
            r = solve(f, a.time_limit, a.threads, a.objective)
        except ImportError:
            print("sched_oracle.py needs OR-Tools: pip install ortools", file=sys.stderr)
            return 3
        except (OSError, ValueError, KeyError) as e:
            r = {"file": f, "solver": "cp-sat", "error": str(e)}
        failed |= "error" in r
        print(json.dumps(r), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
