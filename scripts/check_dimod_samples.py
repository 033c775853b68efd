#!/usr/bin/env python3
"""Checks a `qam solve --samples FILE` output with dimod.

Usage: check_dimod_samples.py MODEL.json SAMPLES.json READS

MODEL.json is a qam-model JSON file (`qam gen ... --out m.json` or `qam convert`).
Loads SAMPLES.json with dimod.SampleSet.from_serializable, rebuilds the model as a
dimod BinaryQuadraticModel and checks: the vartype, the variable labels 0..n-1, every
energy against bqm.energies (to 1e-6 relative), that rows are distinct (aggregated),
and that the occurrences add up to READS. Exit 0 and one summary line on success.
"""
import json
import sys

import dimod
import numpy as np


def main():
    model_path, samples_path, reads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(model_path) as f:
        m = json.load(f)
    n = m["num_variables"]
    linear = m.get("linear", [])
    if linear and not isinstance(linear[0], list):
        linear = [[i, v] for i, v in enumerate(linear)]
    bqm = dimod.BinaryQuadraticModel({i: 0.0 for i in range(n)}, {}, m.get("offset", 0.0), m["vartype"])
    for i, v in linear:
        bqm.add_linear(i, v)
    for i, j, v in m.get("quadratic", []):
        bqm.add_quadratic(i, j, v)
    with open(samples_path) as f:
        ss = dimod.SampleSet.from_serializable(json.load(f))
    assert ss.vartype is bqm.vartype, (ss.vartype, bqm.vartype)
    assert list(ss.variables) == list(range(n)), "variable labels are not 0..n-1"
    expected = bqm.energies(ss)
    got = ss.record.energy
    assert np.allclose(got, expected, rtol=1e-6, atol=1e-6), (got[:5], expected[:5])
    rows = {tuple(r) for r in ss.record.sample}
    assert len(rows) == len(ss), "rows are not aggregated"
    total = int(ss.record.num_occurrences.sum())
    assert total == reads, f"{total} occurrences, expected {reads}"
    print(f"ok: {len(ss)} rows, {total} reads, lowest energy {ss.first.energy}, dimod {dimod.__version__}")


if __name__ == "__main__":
    main()
