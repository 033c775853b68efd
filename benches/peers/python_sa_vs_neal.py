#!/usr/bin/env python3
"""qam's Python `SimulatedAnnealingSampler` vs dwave-samplers' `SimulatedAnnealingSampler`
on the same dimod BQM, same reads x sweeps, side by side in one run.

Both get the G-set file as the Ising BQM J_ij = w_ij (cut = (W - E) / 2), num_reads x
num_sweeps, a geometric schedule over the default beta range (qam's default range is
neal's: tests/solvers.rs::default_beta_range_matches_neal) and a seed. Timed: the whole
`sampler.sample(bqm, ...)` call as a Python user sees it (model conversion and SampleSet
construction included). Repeats are interleaved (neal, qam, qam 1 thread, neal, ...) so
that load on a shared machine hits all alike; the fastest of each is reported.

qam runs its reads on all cores (rayon); "qam 1 thread" is a child process with
RAYON_NUM_THREADS=1 (the thread pool is fixed at the first solve), for a per-core ratio
against neal, which is single-threaded.

Usage: python_sa_vs_neal.py FILE [--reads 64] [--sweeps 1000] [--seed 1] [--repeats 3] [--json]
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from neal_sa import read_gset  # noqa: E402  (same G-set reader as the neal benchmark)


def run(which, path, reads, sweeps, seed):
    with open(path) as f:
        bqm, _, total = read_gset(f.read())
    if which == "neal":
        from dwave.samplers import SimulatedAnnealingSampler
    else:
        from qam import SimulatedAnnealingSampler
    sampler = SimulatedAnnealingSampler()
    # Warm-up on a tiny model (imports, thread pool), not timed.
    import dimod
    sampler.sample(dimod.BinaryQuadraticModel({0: 1.0}, {}, 0.0, "SPIN"), num_reads=1, num_sweeps=1, seed=1)
    t = time.perf_counter()
    ss = sampler.sample(bqm, num_reads=reads, num_sweeps=sweeps, beta_schedule_type="geometric", seed=seed)
    wall = time.perf_counter() - t
    cuts = (total - ss.record.energy) / 2.0
    cuts = np.repeat(cuts, ss.record.num_occurrences)
    return {"wall_s": wall, "best_cut": float(cuts.max()), "mean_cut": float(cuts.mean()),
            "reads": int(len(cuts)), "n": bqm.num_variables}


def child(which, path, reads, sweeps, seed, threads=None):
    env = dict(os.environ)
    if threads:
        env["RAYON_NUM_THREADS"] = str(threads)
    out = subprocess.run([sys.executable, __file__, path, "--child", which, "--reads", str(reads),
                          "--sweeps", str(sweeps), "--seed", str(seed)],
                         env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--reads", type=int, default=64)
    ap.add_argument("--sweeps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", choices=["neal", "qam"])
    a = ap.parse_args()
    if a.child:
        print(json.dumps(run(a.child, a.file, a.reads, a.sweeps, a.seed)))
        return
    rows = {"neal": [], "qam": [], "qam_1thread": []}
    for _ in range(a.repeats):
        rows["neal"].append(child("neal", a.file, a.reads, a.sweeps, a.seed))
        rows["qam"].append(child("qam", a.file, a.reads, a.sweeps, a.seed))
        rows["qam_1thread"].append(child("qam", a.file, a.reads, a.sweeps, a.seed, threads=1))
    best = {k: min(v, key=lambda r: r["wall_s"]) for k, v in rows.items()}
    n = best["neal"]["n"]
    flips = a.reads * a.sweeps * n
    result = {
        "file": a.file, "n": n, "reads": a.reads, "sweeps": a.sweeps, "seed": a.seed, "repeats": a.repeats,
        **{f"{k}_wall_s": v["wall_s"] for k, v in best.items()},
        **{f"{k}_mflips_per_s": flips / v["wall_s"] / 1e6 for k, v in best.items()},
        **{f"{k}_best_cut": v["best_cut"] for k, v in best.items()},
        **{f"{k}_mean_cut": v["mean_cut"] for k, v in best.items()},
        "ratio_qam_vs_neal": best["neal"]["wall_s"] / best["qam"]["wall_s"],
        "ratio_qam_1thread_vs_neal": best["neal"]["wall_s"] / best["qam_1thread"]["wall_s"],
        "all_wall_s": {k: [r["wall_s"] for r in v] for k, v in rows.items()},
    }
    if a.json:
        print(json.dumps(result))
        return
    print(f"{a.file}: n={n}, {a.reads} reads x {a.sweeps} sweeps, seed {a.seed}, fastest of {a.repeats}")
    for k in rows:
        print(f"  {k:12s} {result[k + '_wall_s']:8.3f} s  {result[k + '_mflips_per_s']:8.1f} M flips/s  "
              f"best cut {result[k + '_best_cut']:.0f}  mean cut {result[k + '_mean_cut']:.1f}")
    print(f"  qam / neal: {result['ratio_qam_vs_neal']:.1f}x (all threads), "
          f"{result['ratio_qam_1thread_vs_neal']:.1f}x (1 thread)")


if __name__ == "__main__":
    main()
