"""QAOA state-vector simulation, side by side: qam (CPU, complex128 and complex64), QOKit's C
simulator and Qiskit Aer, on the same graphs (networkx.random_regular_graph(3, n, seed=1),
written by qaoa_graphs.py) with the same angles (the fixed angles of Wurtz & Lykov).

Time per <C> evaluation = prepare |psi(gamma, beta)> from |+>^n and compute <C> (best of
--repeats after one warm-up), for p = 1 and p = 4; time per layer = (t_p4 - t_p1) / 3. Each
(engine, n, threads) runs in its own subprocess.

Engines
- qam: `qam qaoa FILE --gamma .. --beta .. --convention cut --repeat R --qaoa-device cpu
  --qaoa-precision f64|f32` with RAYON_NUM_THREADS; its `evaluation_s` and `setup_s` (cost
  diagonal + state allocation).
- qokit-c: QOKit's own C sources (qokit/fur/c/csim/src/*.c, shipped in the qokit wheel
  without headers or a makefile) compiled here with -O3 -march=native -fopenmp into
  target/peers/qokit_csim/libcsim.so and called through ctypes exactly as QOKit's
  wrapper does (apply_qaoa_furx with gamma_Q = 2 gamma_cut on the cut diagonal), then
  <C> = dot(|psi|^2, cut). OMP_NUM_THREADS threads. The cut diagonal is built with numpy
  (QOKit's own builder is far slower and not what is timed).
- aer: Qiskit circuit H, then per layer RZZ(-gamma_cut) per edge and RX(2 beta), save
  statevector; timed: assign_parameters + run + result + dot with the cut vector
  (transpile excluded); AerSimulator(method='statevector', max_parallel_threads=t).

Usage:
  python3 benches/peers/qaoa_peers.py [--n 16,18,20,22,24,26] [--threads 1,2] [--repeats 3]
      [--engines qam64,qam32,qokit,aer] [--aer-max-n 24] [--qam target/release/qam]
      [--out results.jsonl]
Prints one JSON line per measurement and a Markdown summary table.
"""
import argparse
import ctypes
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
GRAPHS = os.path.join(HERE, "qaoa_graphs")

# Wurtz & Lykov fixed angles for 3-regular graphs, cut convention.
ANGLES = {
    1: ([0.6155], [0.3927]),
    4: ([0.4088, 0.7806, 0.9877, 1.1563], [0.5996, 0.4344, 0.2970, 0.1591]),
}


def graph(n):
    path = os.path.join(GRAPHS, f"rr3_n{n}_s1.gset")
    with open(path) as f:
        lines = f.read().split("\n")
    edges = []
    for line in lines[1:]:
        if line.strip():
            u, v, _ = line.split()
            edges.append((int(u) - 1, int(v) - 1))
    return path, edges


def cut_vector(n, edges):
    import numpy as np

    k = np.arange(1 << n, dtype=np.uint64)
    cut = np.zeros(1 << n, dtype=np.float64)
    for u, v in edges:
        cut += ((k >> np.uint64(u)) ^ (k >> np.uint64(v))) & np.uint64(1)
    return cut


def best_of(fn, repeats):
    fn()  # warm-up
    best = float("inf")
    value = None
    for _ in range(repeats):
        t = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t)
    return best, value


# ---------------------------------------------------------------- QOKit's C simulator
QOKIT_HEADERS = {
    "fur.h": """#include <stddef.h>
void furx_all(double* a_real, double* a_imag, double theta, unsigned int n_qubits, size_t n_states);
void furxy(double* a_real, double* a_imag, double theta, unsigned int q1, unsigned int q2, size_t n_states);
void furxy_ring(double* a_real, double* a_imag, double theta, unsigned int n_qubits, size_t n_states);
void furxy_complete(double* a_real, double* a_imag, double theta, unsigned int n_qubits, size_t n_states);
""",
    "diagonal.h": """#include <stddef.h>
void apply_diagonal(double* sv_real, double* sv_imag, double theta, double* const diag, size_t n);
""",
    "qaoa_fur.h": """#include <stddef.h>
void apply_qaoa_furx(double* sv_real, double* sv_imag, double* const gammas, double* const betas, double* const hc_diag, unsigned int n_qubits, size_t n_states, size_t n_layers);
""",
}


def build_qokit():
    import importlib.util

    # Locate the installed package without importing it (its Python side needs numba,
    # which may not match the installed numpy; only the C sources are used here).
    spec = importlib.util.find_spec("qokit")
    if spec is None:
        raise SystemExit("qokit is not installed (pip install qokit)")
    src = os.path.join(spec.submodule_search_locations[0], "fur", "c", "csim", "src")
    out = os.path.join(ROOT, "target", "peers", "qokit_csim")
    lib = os.path.join(out, "libcsim.so")
    if os.path.exists(lib):
        return lib
    os.makedirs(out, exist_ok=True)
    for name, text in QOKIT_HEADERS.items():
        with open(os.path.join(out, name), "w") as f:
            f.write(text)
    files = [os.path.join(src, f) for f in ("diagonal.c", "fur.c", "qaoa_fur.c")]
    cmd = ["gcc", "-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", "-I", out, "-o", lib] + files + ["-lm"]
    subprocess.run(cmd, check=True)
    return lib


def worker_qokit(n, p, repeats):
    import numpy as np
    from numpy.ctypeslib import ndpointer

    lib = ctypes.cdll.LoadLibrary(build_qokit())
    f = lib.apply_qaoa_furx
    f.restype = None
    dbl = ndpointer(ctypes.c_double, flags="C_CONTIGUOUS")
    f.argtypes = [dbl, dbl, dbl, dbl, dbl, ctypes.c_uint, ctypes.c_size_t, ctypes.c_size_t]
    _, edges = graph(n)
    t = time.perf_counter()
    cut = cut_vector(n, edges)
    setup = time.perf_counter() - t
    g_cut, beta = ANGLES[p]
    gammas = np.array([2.0 * g for g in g_cut])  # QOKit's gamma = 2 gamma_cut
    betas = np.array(beta)
    amp = 1.0 / np.sqrt(float(1 << n))

    def run():
        re = np.full(1 << n, amp)
        im = np.zeros(1 << n)
        f(re, im, gammas, betas, cut, n, 1 << n, p)
        return float(np.dot(re * re + im * im, cut))

    best, value = best_of(run, repeats)
    return {"evaluation_s": best, "expected_cut": value, "setup_s": setup}


# ---------------------------------------------------------------- Qiskit Aer
def worker_aer(n, p, repeats, threads):
    import numpy as np
    from qiskit import QuantumCircuit, transpile
    from qiskit.circuit import Parameter
    from qiskit_aer import AerSimulator

    _, edges = graph(n)
    cut = cut_vector(n, edges)
    gs = [Parameter(f"g{i}") for i in range(p)]
    bs = [Parameter(f"b{i}") for i in range(p)]
    qc = QuantumCircuit(n)
    qc.h(range(n))
    for i in range(p):
        for u, v in edges:
            qc.rzz(-gs[i], u, v)
        qc.rx(2 * bs[i], range(n))
    qc.save_statevector()
    sim = AerSimulator(method="statevector", max_parallel_threads=threads)
    tqc = transpile(qc, sim)
    g_cut, beta = ANGLES[p]
    binding = {**dict(zip(gs, g_cut)), **dict(zip(bs, beta))}

    def run():
        bound = tqc.assign_parameters(binding)
        sv = sim.run(bound).result().get_statevector()
        a = np.asarray(sv)
        return float(np.dot(a.real * a.real + a.imag * a.imag, cut))

    best, value = best_of(run, repeats)
    return {"evaluation_s": best, "expected_cut": value}


# ---------------------------------------------------------------- qam
def worker_qam(n, p, repeats, threads, precision, qam):
    path, _ = graph(n)
    g_cut, beta = ANGLES[p]
    cmd = [
        qam, "qaoa", path, "--convention", "cut",
        "--gamma", ",".join(map(str, g_cut)), "--beta", ",".join(map(str, beta)),
        "--repeat", str(repeats + 1), "--qaoa-device", "cpu", "--qaoa-precision", precision, "--shots", "0",
        "--output", "json", "--quiet",
    ]
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    return {"evaluation_s": r["evaluation_s"], "expected_cut": r["expected_cut"], "setup_s": r["setup_s"],
            "backend": r["backend"]}


def worker(args):
    engine, n, p, threads = args.worker, args.n_one, args.p_one, args.threads_one
    if engine == "qokit":
        r = worker_qokit(n, p, args.repeats)
    elif engine == "aer":
        r = worker_aer(n, p, args.repeats, threads)
    elif engine in ("qam64", "qam32"):
        r = worker_qam(n, p, args.repeats, threads, "f64" if engine == "qam64" else "f32", args.qam)
    else:
        raise SystemExit(f"unknown engine {engine}")
    r.update({"engine": engine, "n": n, "p": p, "threads": threads})
    print(json.dumps(r))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", default="16,18,20,22,24,26")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--engines", default="qam64,qam32,qokit,aer")
    ap.add_argument("--aer-max-n", type=int, default=24)
    ap.add_argument("--qam", default=os.path.join(ROOT, "target", "release", "qam"))
    ap.add_argument("--out")
    ap.add_argument("--worker")
    ap.add_argument("--n-one", type=int)
    ap.add_argument("--p-one", type=int)
    ap.add_argument("--threads-one", type=int)
    args = ap.parse_args()
    if args.worker:
        return worker(args)

    results = []
    sink = open(args.out, "w") if args.out else None
    for n in map(int, args.n.split(",")):
        for engine in args.engines.split(","):
            if engine == "aer" and n > args.aer_max_n:
                continue
            for threads in map(int, args.threads.split(",")):
                for p in (1, 4):
                    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
                    cmd = [sys.executable, __file__, "--worker", engine, "--n-one", str(n), "--p-one", str(p),
                           "--threads-one", str(threads), "--repeats", str(args.repeats), "--qam", args.qam]
                    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
                    if out.returncode != 0:
                        print(f"# {engine} n={n} p={p} t={threads} failed: {out.stderr.strip()[-300:]}", flush=True)
                        continue
                    line = out.stdout.strip().split("\n")[-1]
                    print(line, flush=True)
                    if sink:
                        sink.write(line + "\n")
                        sink.flush()
                    results.append(json.loads(line))
    summary(results)


def summary(results):
    key = {(r["engine"], r["n"], r["p"], r["threads"]): r for r in results}
    engines = []
    for r in results:
        if r["engine"] not in engines:
            engines.append(r["engine"])
    print("\n| n | threads | engine | s per <C> (p=1) | s per <C> (p=4) | s per layer | layer vs qam64 | expected cut (p=4) |")
    print("|---|---|---|---|---|---|---|---|")
    for n in sorted({r["n"] for r in results}):
        for t in sorted({r["threads"] for r in results}):
            base = None
            q1, q4 = key.get(("qam64", n, 1, t)), key.get(("qam64", n, 4, t))
            if q1 and q4:
                base = (q4["evaluation_s"] - q1["evaluation_s"]) / 3
            for e in engines:
                r1, r4 = key.get((e, n, 1, t)), key.get((e, n, 4, t))
                if not (r1 and r4):
                    continue
                layer = (r4["evaluation_s"] - r1["evaluation_s"]) / 3
                ratio = f"{layer / base:.1f}x" if base and base > 0 else "-"
                print(f"| {n} | {t} | {e} | {r1['evaluation_s']:.4f} | {r4['evaluation_s']:.4f} | {layer:.4f} | "
                      f"{ratio} | {r4['expected_cut']:.6f} |")


if __name__ == "__main__":
    main()
