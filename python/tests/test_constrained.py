"""``qam.ConstrainedSampler.sample_cqm`` against brute force (every state enumerated), a
knapsack, a one-hot assignment, an infeasible model, seeds, labels and bad input; and
``qam.orchestrate`` stopped by its time limit and by Ctrl-C through the planner's
interrupt."""

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import dimod
import numpy as np
import pytest

import qam

HERE = os.path.dirname(__file__)
SCENARIO = os.path.join(HERE, "..", "..", "examples", "scenario_small.json")


def brute_force(cqm):
    """(best feasible objective or None, number of feasible states) by enumeration."""
    variables = list(cqm.variables)
    values = [sorted(cqm.vartype(v).value) for v in variables]
    best, count = None, 0
    for state in itertools.product(*values):
        sample = dict(zip(variables, state))
        if cqm.check_feasible(sample):
            count += 1
            e = cqm.objective.energy(sample)
            best = e if best is None else min(best, e)
    return best, count


def random_cqm(seed, n=8):
    rng = np.random.default_rng(seed)
    cqm = dimod.ConstrainedQuadraticModel()
    x = [dimod.Binary(f"x{i}") for i in range(n)]
    obj = sum(float(rng.normal()) * xi for xi in x)
    for i, j in itertools.combinations(range(n), 2):
        if rng.random() < 0.3:
            obj += float(rng.normal()) * x[i] * x[j]
    cqm.set_objective(obj)
    w = rng.integers(1, 5, size=n)
    cqm.add_constraint(sum(int(w[i]) * x[i] for i in range(n)) <= int(w.sum() // 2), label="cap")
    cqm.add_constraint(x[0] + x[1] + x[2] >= 1, label="cover")
    cqm.add_discrete([f"x{i}" for i in (5, 6, 7)], label="pick")
    return cqm


@pytest.mark.parametrize("seed", range(5))
def test_small_cqms_reach_the_brute_force_optimum(seed):
    cqm = random_cqm(seed)
    best, count = brute_force(cqm)
    assert count > 0
    ss = qam.ConstrainedSampler().sample_cqm(cqm, seed=seed, num_reads=3)
    assert len(ss) == 3
    assert set(ss.variables) == set(cqm.variables)
    assert {"is_feasible", "is_satisfied"} <= set(ss.record.dtype.names)
    feasible = ss.filter(lambda d: d.is_feasible)
    assert len(feasible) > 0
    assert feasible.first.energy == pytest.approx(best, abs=1e-9)
    # Energies are the CQM objective; feasibility is dimod's own check.
    for row in ss.data(["sample", "energy", "is_feasible"]):
        assert row.energy == pytest.approx(cqm.objective.energy(row.sample))
        assert row.is_feasible == cqm.check_feasible(row.sample)


def test_a_knapsack_reaches_its_optimum():
    values = [10, 13, 7, 8, 15, 4, 9, 11, 6, 12, 5, 14]
    weights = [5, 7, 3, 4, 8, 2, 5, 6, 3, 7, 2, 8]
    cqm = dimod.ConstrainedQuadraticModel()
    x = [dimod.Binary(("item", i)) for i in range(len(values))]
    cqm.set_objective(sum(-v * xi for v, xi in zip(values, x)))
    cqm.add_constraint(sum(w * xi for w, xi in zip(weights, x)) <= 25, label="weight")
    best, _ = brute_force(cqm)
    ss = qam.ConstrainedSampler().sample_cqm(cqm, seed=7, num_reads=2, time_limit=1.0)
    assert ss.first.is_feasible
    assert ss.first.energy == pytest.approx(best)
    assert set(ss.variables) == {("item", i) for i in range(len(values))}


def test_a_one_hot_assignment_reaches_its_optimum_and_keeps_every_group():
    cost = np.array([[4, 2, 7], [3, 6, 1], [5, 5, 2], [1, 8, 6]], dtype=float)
    load = [3, 2, 2, 3]
    capacity = [4, 4, 4]
    cqm = dimod.ConstrainedQuadraticModel()
    for a in range(4):
        cqm.add_discrete([(a, p) for p in range(3)], label=f"agent{a}")
    cqm.set_objective(sum(cost[a, p] * dimod.Binary((a, p)) for a in range(4) for p in range(3)))
    for p in range(3):
        cqm.add_constraint(sum(load[a] * dimod.Binary((a, p)) for a in range(4)) <= capacity[p], label=f"pool{p}")
    best, _ = brute_force(cqm)
    ss = qam.ConstrainedSampler().sample_cqm(cqm, seed=2, num_reads=2)
    for sample, ok in ss.data(["sample", "is_feasible"]):
        for a in range(4):
            assert sum(sample[(a, p)] for p in range(3)) == 1, "a one-hot group was broken"
    assert ss.first.is_feasible
    assert ss.first.energy == pytest.approx(best)


def test_an_infeasible_model_returns_infeasible_samples_without_crashing():
    cqm = dimod.ConstrainedQuadraticModel()
    x, y = dimod.Binary("x"), dimod.Binary("y")
    cqm.set_objective(x + 2 * y)
    cqm.add_constraint(x + y >= 3, label="impossible")
    ss = qam.ConstrainedSampler().sample_cqm(cqm, seed=1, num_reads=3, num_sweeps=50)
    assert len(ss) == 3
    assert not ss.record.is_feasible.any()
    assert ss.info["feasible"] == [False, False, False]


def test_same_seed_same_sampleset_and_labels_of_mixed_types_survive():
    cqm = dimod.ConstrainedQuadraticModel()
    labels = ["b", 1, ("x", 1), frozenset({2})]
    v = [dimod.Binary(lab) for lab in labels]
    cqm.set_objective(v[0] - 2 * v[1] + v[2] * v[3] - v[3])
    cqm.add_constraint(v[0] + v[1] + v[2] <= 1, label=("cap", 0))
    a = qam.ConstrainedSampler().sample_cqm(cqm, seed=11, num_reads=4, num_sweeps=100)
    b = qam.ConstrainedSampler().sample_cqm(cqm, seed=11, num_reads=4, num_sweeps=100)
    assert set(a.variables) == set(labels)
    assert np.array_equal(a.record.sample, b.record.sample)
    assert np.array_equal(a.record.energy, b.record.energy)
    assert a.info["seed"] == 11
    assert a.first.energy == pytest.approx(brute_force(cqm)[0])


def test_spin_variables_are_mapped():
    cqm = dimod.ConstrainedQuadraticModel()
    s = [dimod.Spin(f"s{i}") for i in range(5)]
    cqm.set_objective(s[0] * s[1] + s[1] * s[2] - s[3] + 0.5 * s[4])
    cqm.add_constraint(s[0] + s[1] + s[2] + s[3] + s[4] <= 1, label="balance")
    best, _ = brute_force(cqm)
    ss = qam.ConstrainedSampler().sample_cqm(cqm, seed=3, num_reads=2)
    assert set(np.unique(ss.record.sample)) <= {-1, 1}
    assert ss.first.is_feasible
    assert ss.first.energy == pytest.approx(best)


@pytest.mark.parametrize("vartype", ["INTEGER", "REAL"])
def test_unsupported_variables_raise_value_error_naming_them(vartype):
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.add_variable("BINARY", "ok")
    cqm.add_variable(vartype, "count", lower_bound=0, upper_bound=3)
    cqm.set_objective(dimod.Binary("ok"))
    with pytest.raises(ValueError, match="'count'"):
        qam.ConstrainedSampler().sample_cqm(cqm)


def test_bad_parameters_and_quadratic_constraints_raise_value_error():
    cqm = random_cqm(0)
    sampler = qam.ConstrainedSampler()
    for kw in (dict(num_reads=0), dict(num_reads=-1), dict(time_limit=-1.0), dict(time_limit=float("nan")),
               dict(num_sweeps=0), dict(seed=-1), dict(bogus=1)):
        with pytest.raises(ValueError):
            sampler.sample_cqm(cqm, **kw)
    quad = dimod.ConstrainedQuadraticModel()
    x, y = dimod.Binary("x"), dimod.Binary("y")
    quad.set_objective(x + y)
    quad.add_constraint(x * y <= 0, label="q")
    with pytest.raises(ValueError, match="'q'"):
        sampler.sample_cqm(quad)
    nan = dimod.ConstrainedQuadraticModel()
    nan.set_objective(float("nan") * x)
    with pytest.raises(ValueError):
        sampler.sample_cqm(nan)
    assert set(sampler.parameters) >= {"time_limit", "seed", "num_reads"}
    assert sampler.properties["solver"] == "cqm-sa"


def test_orchestrate_time_limit_is_the_planners_budget():
    with open(SCENARIO) as f:
        scenario = json.load(f)
    t0 = time.perf_counter()
    plan = qam.orchestrate(scenario, time_limit=1.0, seed=1)
    took = time.perf_counter() - t0
    # Bound that only fails when the budget is ignored (not a timing benchmark).
    assert took < 30, took
    # `time_limit` when the budget ran out; `completed` when every stage finished early
    # (here the scheduler proves its schedule optimal and stops before the budget).
    assert plan["stop_reason"] in ("time_limit", "completed")
    assert {p["agent"] for p in plan["placements"]} == {a["id"] for a in scenario["agents"]}
    assert all(p["pool"] is not None for p in plan["placements"])
    assert plan["violations"] == []


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery")
@pytest.mark.parametrize("call", [
    "qam.orchestrate(scenario, time_limit=600, seed=1)",
    "qam.ConstrainedSampler().sample_cqm(cqm, time_limit=600, seed=1)",
])
def test_ctrl_c_stops_a_running_planner_or_cqm_solve(call):
    # The child installs Python's Ctrl-C handler itself (see test_samplers.py's Ctrl-C test:
    # a Python started with SIGINT ignored, as under a background job, installs none).
    script = textwrap.dedent(f"""
        import json, signal, sys, dimod, qam
        signal.signal(signal.SIGINT, signal.default_int_handler)
        scenario = json.load(open({SCENARIO!r}))
        cqm = dimod.ConstrainedQuadraticModel()
        x = [dimod.Binary(i) for i in range(30)]
        cqm.set_objective(sum((i % 7 - 3) * xi for i, xi in enumerate(x)))
        cqm.add_constraint(sum((i % 5 + 1) * xi for i, xi in enumerate(x)) <= 20, label="cap")
        print("start", flush=True)
        try:
            {call}
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(3)
    """)
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "start"
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    try:
        out, _ = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        pytest.fail("Ctrl-C did not stop the run")
    assert p.returncode == 3 and "interrupted" in out
