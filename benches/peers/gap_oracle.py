#!/usr/bin/env python3
"""Peer oracle for constrained LP files: solves each file with HiGHS (pip `highspy`) under
the same time limit as qam and prints one JSON line per file:
{"file", "solver": "highs", "status", "objective" (best found, file's sense, null if none),
 "bound" (dual bound), "gap" (relative MIP gap), "feasible", "elapsed_s"}.

Usage: python3 benches/peers/gap_oracle.py FILE.lp... [--time-limit S] [--threads T]
"""
import argparse
import json
import sys
import time


def solve_highs(path, time_limit, threads):
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("mip_rel_gap", 0.0)
    status = h.readModel(path)
    if status == highspy.HighsStatus.kError:
        return {"file": path, "solver": "highs", "error": "HiGHS could not read the file"}
    t0 = time.time()
    h.run()
    elapsed = time.time() - t0
    info = h.getInfo()
    model_status = h.modelStatusToString(h.getModelStatus())
    feasible = info.primal_solution_status == 2  # kSolutionStatusFeasible
    return {
        "file": path,
        "solver": "highs",
        "status": model_status,
        "objective": info.objective_function_value if feasible else None,
        "bound": info.mip_dual_bound,
        "gap": info.mip_gap if feasible else None,
        "feasible": feasible,
        "infeasible_proven": model_status == "Infeasible",
        "elapsed_s": elapsed,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    failed = False
    for f in a.files:
        try:
            r = solve_highs(f, a.time_limit, a.threads)
        except ImportError:
            print("gap_oracle.py needs HiGHS: pip install highspy", file=sys.stderr)
            return 3
        failed |= "error" in r
        print(json.dumps(r), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
