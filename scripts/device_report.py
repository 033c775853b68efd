#!/usr/bin/env python3
"""Turns device-check.sh's raw JSON lines into a JSON report and a markdown summary.

Usage: device_report.py [--strict] RAW.jsonl OUT.json OUT.md

With --strict the exit status is 1 when a step failed or found no adapter (the smoke run
in CI uses it).

The QAOA bandwidth fraction uses qam's performance model (docs/benchmarks.md,
"Performance model"): one layer moves (1 + ceil((m - 12) / 9) + (n - m)) x 16 x 2^n bytes
of state (each tiled mixer pass reads and writes every complex64 amplitude once, the
first mixing 12 qubits and fusing the phase step, later ones 9; each qubit above the chunk
size 2^m is one more pass over chunk pairs) plus 4 x 2^n bytes of the cost diagonal; m is
the largest chunk that fits the adapter's storage binding (m = n when the state fits).
Peak bandwidths are the vendors' datasheet figures, matched on the adapter's name.
"""
import json
import math
import sys
import os

PEAKS = [  # (substring of the adapter name, bytes/s, label)
    ("H200", 4.8e12, "H200 HBM3e 4.8 TB/s"),
    ("H100 PCIe", 2.0e12, "H100 PCIe 2.0 TB/s"),
    ("H100", 3.35e12, "H100 SXM 3.35 TB/s"),
    ("A100-SXM4-80GB", 2.039e12, "A100 80GB 2.04 TB/s"),
    ("A100", 1.555e12, "A100 40GB 1.56 TB/s"),
    ("L40S", 0.864e12, "L40S 864 GB/s"),
    ("RTX 4090", 1.008e12, "RTX 4090 1.0 TB/s"),
]
TILE_BITS = 12
LATER_PASS_BITS = 9


def chunk_bits(n: int, binding: int) -> int:
    m = n
    while m > 0 and 8 * 2**m > binding:
        m -= 1
    return m


def layer_bytes(n: int, binding: int = 2**62) -> float:
    m = chunk_bits(n, binding)
    passes = 1 + max(0, math.ceil((m - TILE_BITS) / LATER_PASS_BITS)) + (n - m)
    return passes * 16 * 2.0**n + 4 * 2.0**n


def peak_for(name: str):
    for key, bw, label in PEAKS:
        if key.lower() in name.lower():
            return bw, label
    return None, None


def main(raw_path, json_path, md_path):
    steps = []
    with open(raw_path) as f:
        for line in f:
            line = line.strip()
            if line:
                steps.append(json.loads(line))
    by = lambda kind: [s["data"] for s in steps if s["step"] == kind]
    adapters = (by("adapters") or [[]])[0]
    host = (by("host") or [{}])[0]
    gpu_name = next((a["name"] for a in adapters if a.get("device_type") != "Cpu"), None)
    gpu_name = gpu_name or (adapters[0]["name"] if adapters else "none")
    peak, peak_label = peak_for(gpu_name)
    gpu = next((a for a in adapters if a["name"] == gpu_name), {})
    binding = min(gpu.get("max_storage_buffer_binding_size", 2**62), gpu.get("max_buffer_size", 2**62))

    sa_rows = []
    for d in by("gpu_sa"):
        row = {k: d[k] for k in ("file", "replicas", "sweeps", "backend")}
        if "error" in d:
            row["error"] = d["error"]
        else:
            cpu = next((r for r in d["rows"] if r["solver"] == "sa"), None)
            gpu = next((r for r in d["rows"] if r["solver"] == "gpu-sa"), None)
            row["n"] = (gpu or cpu or {}).get("num_variables")
            row["cpu_flips_per_s"] = cpu and cpu.get("flips_per_s")
            row["cpu_threads"] = cpu and cpu.get("threads")
            row["gpu_flips_per_s"] = gpu and gpu.get("flips_per_s")
            row["gpu_over_cpu"] = gpu and gpu.get("ratio")
            row["gpu_best"] = gpu and gpu.get("best")
            row["cpu_best"] = cpu and cpu.get("best")
        sa_rows.append(row)

    pt = by("gpu_pt")
    pt_row = None
    if pt:
        d = pt[0]
        if "error" in d:
            pt_row = {"error": d["error"]}
        else:
            r = d["rows"][0]
            pt_row = {
                "file": d["file"],
                "target": d["target"],
                "time_limit_s": d["time_limit_s"],
                "best": r.get("best"),
                "time_to_target_s": r.get("time_to_target_s"),
                "time_s": r.get("time_s"),
            }

    qaoa_rows = []
    for d in by("qaoa"):
        n = d["n"]
        row = {
            "n": n,
            "state_bytes": 8 * 2**n,
            "chunk_bits": chunk_bits(n, binding),
            "bytes_per_layer_model": layer_bytes(n, binding),
        }
        if "error" in d:
            row["error"] = d["error"]
        else:
            e1, e3 = d["p1"]["evaluation_s"], d["p3"]["evaluation_s"]
            layer = max((e3 - e1) / 2, 1e-9)
            row.update(
                {
                    "eval_p1_s": e1,
                    "eval_p3_s": e3,
                    "layer_s": layer,
                    "achieved_bytes_per_s": row["bytes_per_layer_model"] / layer,
                    "bandwidth_fraction": (row["bytes_per_layer_model"] / layer / peak) if peak else None,
                    "backend": d["p1"].get("backend"),
                }
            )
        qaoa_rows.append(row)

    report = {
        "device": gpu_name,
        "peak_bandwidth": peak_label,
        "adapters": adapters,
        "host": host,
        "gpu_sa": sa_rows,
        "gpu_pt": pt_row,
        "qaoa": qaoa_rows,
        "tests": by("test"),
        "skipped": by("skipped"),
        "elapsed_s": (by("elapsed") or [None])[0],
    }
    tmp = json_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=1)
    os.replace(tmp, json_path)

    g = lambda v, scale=1.0, fmt="{:.3g}": "-" if v is None else fmt.format(v / scale)
    md = [f"# qam device check: {gpu_name}", ""]
    md.append(
        f"Host: {host.get('cpus')} CPUs ({host.get('cpu', '?')}); smoke={host.get('smoke')}; "
        f"elapsed {report['elapsed_s']} s of a {host.get('budget_s')} s budget. "
        f"Peak bandwidth used for fractions: {peak_label or 'unknown (no fraction)'}."
    )
    md += ["", "## Adapters", "", "| index | name | backend | type | max binding MiB | max buffer MiB | wg storage KiB |", "|---|---|---|---|---|---|---|"]
    for a in adapters:
        md.append(
            f"| {a['index']} | {a['name']} | {a['backend']} | {a['device_type']} | "
            f"{a['max_storage_buffer_binding_size'] >> 20} | {a['max_buffer_size'] >> 20} | "
            f"{a['max_compute_workgroup_storage_size'] >> 10} |"
        )
    md += ["", "## gpu-sa vs all-core sa (same run)", "", "| file | n | replicas | sweeps | backend | CPU Gflips/s (threads) | GPU Gflips/s | GPU/CPU | best GPU / CPU |", "|---|---|---|---|---|---|---|---|---|"]
    for r in sa_rows:
        if "error" in r:
            md.append(f"| {r['file']} | | {r['replicas']} | {r['sweeps']} | {r['backend']} | error: {r['error'][-120:]!r} | | | |")
        else:
            md.append(
                f"| {r['file']} | {r['n']} | {r['replicas']} | {r['sweeps']} | {r['backend']} | "
                f"{g(r['cpu_flips_per_s'], 1e9)} ({r['cpu_threads']}) | {g(r['gpu_flips_per_s'], 1e9)} | "
                f"{g(r['gpu_over_cpu'], 1, '{:.2f}')} | {g(r['gpu_best'])} / {g(r['cpu_best'])} |"
            )
    md += ["", "## gpu-pt time to target", ""]
    if pt_row is None:
        md.append("not run")
    elif "error" in pt_row:
        md.append(f"error: {pt_row['error']}")
    else:
        tt = "no target (smoke)" if pt_row["target"] is None else f"time to target {g(pt_row['time_to_target_s'])} s"
        md.append(
            f"{pt_row['file']}: target {pt_row['target']}, best {pt_row['best']}, {tt} "
            f"(limit {pt_row['time_limit_s']} s, {g(pt_row['time_s'])} s used)"
        )
    md += ["", "## QAOA layer time (f32, GPU)", "", "| n | state GiB | layer ms | model bytes/layer GiB | achieved GB/s | fraction of peak |", "|---|---|---|---|---|---|"]
    for r in qaoa_rows:
        if "error" in r:
            md.append(f"| {r['n']} | {r['state_bytes'] / 2**30:.3g} | error: {r['error'][-160:]!r} | | | |")
        else:
            frac = r["bandwidth_fraction"]
            md.append(
                f"| {r['n']} | {r['state_bytes'] / 2**30:.3g} | {r['layer_s'] * 1e3:.3g} | "
                f"{r['bytes_per_layer_model'] / 2**30:.3g} | {r['achieved_bytes_per_s'] / 1e9:.3g} | "
                f"{'-' if frac is None else f'{frac:.0%}'} |"
            )
    if report["tests"]:
        md += ["", "## Carried GPU tests", ""]
        for t in report["tests"]:
            md.append(f"- {t['binary']}: {'passed' if t['passed'] else 'FAILED'}")
    if report["skipped"]:
        md += ["", "## Skipped", ""]
        for s in report["skipped"]:
            md.append(f"- {s['what']}: {s['why']}")
    tmp = md_path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(md) + "\n")
    os.replace(tmp, md_path)
    failed = [r for r in sa_rows + qaoa_rows if "error" in r or (r.get("gpu_flips_per_s") == 0)]
    if pt_row is None or "error" in pt_row:
        failed.append({"gpu_pt": pt_row})
    if not adapters:
        failed.append({"adapters": "none"})
    failed += [t for t in report["tests"] if not t["passed"]]
    return failed


if __name__ == "__main__":
    args = sys.argv[1:]
    strict = "--strict" in args
    args = [a for a in args if a != "--strict"]
    if len(args) != 3:
        sys.exit("usage: device_report.py [--strict] RAW.jsonl OUT.json OUT.md")
    failed = main(*args)
    if strict and failed:
        print(f"device_report: {len(failed)} step(s) failed: {json.dumps(failed)[:2000]}", file=sys.stderr)
        sys.exit(1)
