#!/usr/bin/env python3
"""Peer benchmark: dwave-samplers' SimulatedAnnealingSampler (ex dwave-neal) on the files
qam benchmarks, with the same reads x sweeps and neal's default beta range (which qam's
`default_beta_range` reproduces), single thread (neal runs one read after another).

Prints, per file: flip attempts per CPU-second (reads * sweeps * n / CPU time of the
timed sample call, which gets the spin model and the default beta range precomputed so
that it does little besides annealing; also per second of neal's own `sampling_ns`), best and mean cut (G-set) or objective (bqp) over the reads, and how many
reads reach the best-known value.

Models, as in qam:
  G-set / rudy  Ising J_ij = w_ij, h = 0;  cut = (W - E) / 2, W = sum of weights.
  OR-Library    QUBO Q_ii = -q_ii, Q_ij = -2 q_ij (a listed off-diagonal counts twice);
                objective = -E (maximised). `--instance k` picks the k-th block (default 1).
  qbsolv .qubo  QUBO as written (minimised).

Usage: neal_sa.py [--reads 10] [--sweeps 1000] [--seed 1] [--instance 1] [--json] FILE...
"""

import argparse
import csv
import json
import os
import sys
import time

import numpy as np
import dimod
from dwave.samplers import SimulatedAnnealingSampler

# Best-known bqp objectives (same table as qam's src/cli/best_known.rs; shared/data README).
BQP_BEST = {
    50: [2098, 3702, 4626, 3544, 4012, 3693, 4520, 4216, 3780, 3507],
    100: [7970, 11036, 12723, 10368, 9083, 10210, 10125, 11435, 11455, 12565],
    250: [45607, 44810, 49037, 41274, 47961, 41014, 46757, 35726, 48916, 40442],
    500: [116586, 128339, 130812, 130097, 125487, 121772, 122201, 123559, 120798, 130619],
    1000: [371438, 354932, 371236, 370675, 352760, 359629, 371193, 351994, 349337, 351415],
}


def read_gset(text):
    toks = text.split()
    n, m = int(toks[0]), int(toks[1])
    body = [line.split() for line in text.splitlines()[1:] if line.strip() and not line.lstrip().startswith("#")]
    if len(body) != m:
        raise ValueError(f"header announces {m} edges, file has {len(body)}")
    i = np.array([int(r[0]) - 1 for r in body], dtype=np.int64)
    j = np.array([int(r[1]) - 1 for r in body], dtype=np.int64)
    w = np.array([float(r[2]) if len(r) > 2 else 1.0 for r in body])
    bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(np.zeros(n), (i, j, w), 0.0, dimod.SPIN)
    return bqm, "cut", float(w.sum())


def read_bqp(text, instance):
    toks = text.split()
    count, p = int(toks[0]), 1
    for k in range(1, count + 1):
        n, nnz = int(toks[p]), int(toks[p + 1])
        p += 2
        if k == instance:
            e = np.array(toks[p : p + 3 * nnz], dtype=np.float64).reshape(nnz, 3)
            i, j, q = e[:, 0].astype(np.int64) - 1, e[:, 1].astype(np.int64) - 1, e[:, 2]
            diag = i == j
            lin = np.zeros(n)
            np.add.at(lin, i[diag], -q[diag])
            off = ~diag
            bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(lin, (i[off], j[off], -2.0 * q[off]), 0.0, dimod.BINARY)
            return bqm, n
        p += 3 * nnz
    raise ValueError(f"instance {instance} not in a file of {count}")


def read_qbsolv(text):
    lin, quad, n = {}, {}, 0
    for line in text.splitlines():
        t = line.split()
        if not t or t[0].lower().startswith("c"):
            continue
        if t[0].lower() == "p":
            n = int(t[3])
            continue
        i, j, w = int(t[0]), int(t[1]), float(t[2])
        if i == j:
            lin[i] = w
        else:
            quad[(i, j)] = w
    bqm = dimod.BinaryQuadraticModel(lin, quad, 0.0, dimod.BINARY)
    bqm.add_variables_from((v, 0.0) for v in range(n))
    return bqm


def load(path, instance):
    """Returns (bqm, metric, to_value(energy) -> user value, best-known or None)."""
    with open(path) as f:
        text = f.read()
    name = os.path.basename(path)
    stem = name.split(".")[0]
    first = text.split("\n", 1)[0].split()
    if path.endswith(".qubo"):
        return read_qbsolv(text), "energy", (lambda e: e), None
    if len(first) == 1:  # OR-Library bqp
        bqm, n = read_bqp(text, instance)
        best = None
        if stem.startswith("bqp") and stem[3:].isdigit() and int(stem[3:]) == n and n in BQP_BEST:
            best = BQP_BEST[n][instance - 1]
        return bqm, "objective", (lambda e: -e), best
    bqm, metric, total = read_gset(text)
    best = None
    csv_path = os.path.join(os.path.dirname(path), "best_known.csv")
    if os.path.exists(csv_path):
        with open(csv_path) as f:
            for row in csv.DictReader(f):
                if row.get("instance") == stem:
                    best = float(row["best_known_cut"])
    return bqm, metric, (lambda e: (total - e) / 2.0), best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--reads", type=int, default=10)
    ap.add_argument("--sweeps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--instance", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="one JSON object per file")
    args = ap.parse_args()

    sampler = SimulatedAnnealingSampler()
    if not args.json:
        print(
            f"{'file':<22} {'n':>7} {'reads×sweeps':>13} {'cpu s':>8} {'wall s':>8} {'Mflips/cpu-s':>13} {'Mflips/samp-s':>14} "
            f"{'best':>10} {'mean':>12} {'best known':>10} {'hits':>6}  beta_range"
        )
    for path in args.files:
        if not os.path.exists(path):
            print(f"note: {path} not found, skipped", file=sys.stderr)
            continue
        bqm, metric, value, best_known = load(path, args.instance)
        n = bqm.num_variables
        # Outside the timed call: the spin form neal anneals, and neal's default beta range
        # (from a 0-sweep call), passed back explicitly so the timed call does only the
        # annealing and the schedule is exactly the default one.
        spin = bqm if bqm.vartype is dimod.SPIN else bqm.change_vartype(dimod.SPIN, inplace=False)
        probe = sampler.sample(spin, num_reads=1, num_sweeps=0, seed=args.seed)
        beta_range = [float(b) for b in probe.info["beta_range"]]
        c0, w0 = time.process_time(), time.perf_counter()
        ss = sampler.sample(spin, num_reads=args.reads, num_sweeps=args.sweeps, seed=args.seed, beta_range=beta_range)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        vals = np.array([value(e) for e in ss.record.energy])
        occ = ss.record.num_occurrences
        vals = np.repeat(vals, occ)
        higher = metric != "energy"
        best = vals.max() if higher else vals.min()
        hits = None
        if best_known is not None:
            tol = 1e-9 * max(1.0, abs(best_known))
            hits = int(np.sum(vals >= best_known - tol) if higher else np.sum(vals <= best_known + tol))
        attempts = args.reads * args.sweeps * n
        sampling_s = ss.info.get("timing", {}).get("sampling_ns", 0) / 1e9
        row = {
            "file": path,
            "solver": "dwave-samplers SimulatedAnnealingSampler",
            "threads": 1,
            "num_variables": n,
            "num_interactions": bqm.num_interactions,
            "reads": args.reads,
            "sweeps": args.sweeps,
            "cpu_s": cpu,
            "wall_s": wall,
            "sampling_s": sampling_s,
            "flips_per_cpu_s": attempts / cpu,
            "flips_per_sampling_s": attempts / sampling_s if sampling_s > 0 else None,
            "metric": metric,
            "best": float(best),
            "mean": float(vals.mean()),
            "best_known": best_known,
            "hits": hits,
            "beta_range": [float(b) for b in ss.info.get("beta_range", [])],
        }
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            bk = "-" if best_known is None else f"{best_known:.0f}"
            h = "-" if hits is None else f"{hits}/{args.reads}"
            br = ",".join(f"{b:.4g}" for b in row["beta_range"])
            print(
                f"{os.path.basename(path):<22} {n:>7} {args.reads:>6}×{args.sweeps:<6} {cpu:>8.3f} {wall:>8.3f} "
                f"{attempts / cpu / 1e6:>13.1f} {attempts / max(sampling_s, 1e-12) / 1e6:>14.1f} {best:>10.1f} {vals.mean():>12.1f} {bk:>10} {h:>6}  [{br}]",
                flush=True,
            )


if __name__ == "__main__":
    main()
