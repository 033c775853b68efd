"""Oracle results kept between benchmark runs (shared by gap_bench.py and sched_bench.py).

A cache is a JSON-lines file; each record carries the instance file's SHA-256, the oracle's
time limit and thread count, which together are the key: a regenerated instance that
differs, or another limit, is solved again. Records are appended (and fsynced) one at a
time, so an interrupted run keeps what it finished.
"""
import concurrent.futures
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def key(rec):
    return (rec["sha256"], float(rec["time_limit"]), int(rec["threads"]))


def load(path):
    cache = {}
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    cache[key(r)] = r
    return cache


def append(path, rec):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(rec, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def solve_all(cache, path, items, limit, threads, jobs, solve):
    """Run `solve(file, limit, threads) -> dict` on every (file, meta) in `items` whose key is
    not in `cache`, `jobs` at a time; store each result (meta + sha256 + limit + threads +
    the oracle's dict) in `cache` and append it to `path` (if given). Returns `cache`."""
    todo = []
    for f, meta in items:
        h = sha256(f)
        if (h, float(limit), int(threads)) not in cache:
            todo.append((f, meta, h))
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
        futs = {ex.submit(solve, f, limit, threads): (f, meta, h) for f, meta, h in todo}
        for fu in concurrent.futures.as_completed(futs):
            f, meta, h = futs[fu]
            rec = dict(meta, instance=os.path.basename(f), sha256=h, time_limit=float(limit),
                       threads=int(threads), **fu.result())
            rec.pop("file", None)
            cache[key(rec)] = rec
            if path:
                append(path, rec)
            print(f"oracle {rec['instance']}: {rec.get('status')} {rec.get('objective')} "
                  f"(bound {rec.get('bound')})", file=sys.stderr, flush=True)
    return cache


def lookup(cache, f, limit, threads):
    return cache[(sha256(f), float(limit), int(threads))]


def script(name):
    """A `solve(file, limit, threads)` for `solve_all` that runs the oracle script `name`
    (next to this file) on one file and returns its last JSON line."""

    def solve(path, limit, threads):
        o = subprocess.run([sys.executable, os.path.join(HERE, name), path,
                            "--time-limit", str(limit), "--threads", str(threads)],
                           capture_output=True, text=True)
        if o.returncode != 0 or not o.stdout.strip():
            raise RuntimeError(f"{name} failed on {path}: {o.stderr.strip()}")
        return json.loads(o.stdout.strip().splitlines()[-1])

    return solve
