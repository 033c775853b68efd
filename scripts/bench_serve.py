#!/usr/bin/env python3
"""Load test of `qam serve` (loopback only): JOBS small solve jobs submitted by CLIENTS
concurrent client threads; each client submits (with an Idempotency-Key, retried on
connection errors) and polls until its job ends. Reports jobs lost (accepted but never
done), throughput and p50/p99 latency (submit -> done, and submit -> 202).

With --kill-at K the server is killed with SIGKILL once K jobs were accepted and
restarted on the same data folder; clients retry through the outage with the same keys.
At the end the journal's job list must equal the accepted set, each job done once.

Usage: bench_serve.py PATH/TO/qam [--jobs 1000] [--clients 32] [--workers 2] [--kill-at K]
"""

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

DATA = open(os.path.join(os.path.dirname(__file__), "..", "tests", "data", "rr3_n16_s1.gset")).read()


def start(qam, data_dir, workers):
    p = subprocess.Popen([qam, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir,
                          "--workers", str(workers)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    addr = p.stdout.readline().strip().rsplit("http://", 1)[1]
    return p, addr


class Target:
    """The server's current address (changes on restart)."""

    def __init__(self, addr):
        self.addr = addr
        self.lock = threading.Lock()

    def get(self):
        with self.lock:
            return self.addr


def call(target, method, path, body=None, key=None, deadline=120.0):
    """One API call, retried on connection errors until `deadline` seconds pass."""
    t_end = time.monotonic() + deadline
    while True:
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        req = urllib.request.Request(f"http://{target.get()}{path}", method=method, headers=headers,
                                     data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            if e.code == 429:
                time.sleep(0.05)
            else:
                return e.code, json.loads(e.read() or b"null")
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.05)
        if time.monotonic() > t_end:
            raise RuntimeError(f"{method} {path}: no answer within {deadline} s")


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("qam")
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kill-at", type=int, default=0)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="qam-bench-")
    data_dir = os.path.join(work, "data")
    server, addr = start(a.qam, data_dir, a.workers)
    target = Target(addr)
    accepted, done, submit_lat, total_lat, errors = {}, {}, [], [], []
    lock = threading.Lock()
    next_job = iter(range(a.jobs))
    killed = threading.Event()

    def maybe_kill():
        nonlocal server
        if a.kill_at and not killed.is_set() and len(accepted) >= a.kill_at:
            killed.set()
            server.kill()
            server.wait()
            server, new = start(a.qam, data_dir, a.workers)
            with target.lock:
                target.addr = new

    def client():
        while True:
            with lock:
                k = next(next_job, None)
            if k is None:
                return
            body = {"format": "gset", "data": DATA, "solver": "sa", "name": f"job{k}",
                    "params": {"reads": 4, "sweeps": 100, "seed": k}}
            t0 = time.monotonic()
            code, v = call(target, "POST", "/v1/jobs", body, key=f"bench-{k}")
            if code != 202:
                errors.append((k, code, v))
                continue
            t1 = time.monotonic()
            with lock:
                accepted[v["id"]] = k
                submit_lat.append(t1 - t0)
                if a.kill_at and not killed.is_set() and len(accepted) >= a.kill_at:
                    maybe_kill()
            for _ in range(20000):
                code, j = call(target, "GET", f"/v1/jobs/{v['id']}")
                if code == 200 and j["status"] not in ("queued", "running"):
                    with lock:
                        done[v["id"]] = j["status"]
                        total_lat.append(time.monotonic() - t0)
                    break
                time.sleep(0.02)

    t_start = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t_start
    # The journal's view: every job, each with one final status.
    listed, cursor = {}, None
    while True:
        path = "/v1/jobs?limit=500" + (f"&cursor={cursor}" if cursor else "")
        _, page = call(target, "GET", path)
        for j in page["jobs"]:
            listed[j["id"]] = j["status"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    server.kill()
    server.wait()
    shutil.rmtree(work, ignore_errors=True)
    lost = [i for i in accepted if listed.get(i) != "done"]
    extra = [i for i in listed if i not in accepted]
    print(json.dumps({
        "jobs": a.jobs, "clients": a.clients, "workers": a.workers, "kill_at": a.kill_at or None,
        "killed_and_restarted": killed.is_set(),
        "accepted": len(accepted), "done": sum(1 for s in listed.values() if s == "done"),
        "journal_jobs": len(listed), "lost": len(lost), "unexpected": len(extra), "errors": errors[:5],
        "wall_s": round(wall, 2), "throughput_jobs_per_s": round(len(done) / wall, 1),
        "latency_p50_ms": round(1000 * pct(total_lat, 0.5), 1), "latency_p99_ms": round(1000 * pct(total_lat, 0.99), 1),
        "submit_p50_ms": round(1000 * pct(submit_lat, 0.5), 1), "submit_p99_ms": round(1000 * pct(submit_lat, 0.99), 1),
    }))
    if lost or extra or errors or len(accepted) != a.jobs:
        raise SystemExit("FAILED: jobs lost, duplicated or rejected")


if __name__ == "__main__":
    main()
