"""The qam samplers as dimod samplers: dimod's own test-suite, labels, seeds, bad input,
interruption, and a 1,000,000-variable round trip."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import unittest

import dimod
import dimod.testing
import numpy as np
import pytest

import qam

# Each test class fills in small defaults so dimod's suite (dozens of tiny models) runs fast.
SMALL = {
    qam.SimulatedAnnealingSampler: dict(num_reads=4, num_sweeps=50),
    qam.GpuSimulatedAnnealingSampler: dict(num_reads=4, num_sweeps=50),
    qam.ParallelTemperingSampler: dict(num_reads=2, num_replicas=8, num_sweeps=50),
    qam.PopulationAnnealingSampler: dict(num_reads=16, num_sweeps=50, num_sweeps_per_beta=5),
    qam.HierarchicalSampler: dict(num_reads=2, max_rounds=3),
    qam.QAOASampler: dict(num_reads=20, max_evals=20, restarts=0),
}


def small(cls):
    """A subclass of `cls` whose `sample` defaults to the small parameters above."""

    class Small(cls):
        def sample(self, bqm, **kw):
            for k, v in SMALL[cls].items():
                kw.setdefault(k, v)
            return super().sample(bqm, **kw)

    Small.__name__ = "Small" + cls.__name__
    return Small


@dimod.testing.load_sampler_bqm_tests(small(qam.SimulatedAnnealingSampler))
class TestDimodSuiteSA(unittest.TestCase):
    pass


@dimod.testing.load_sampler_bqm_tests(small(qam.GpuSimulatedAnnealingSampler))
class TestDimodSuiteGpuSA(unittest.TestCase):
    pass


@dimod.testing.load_sampler_bqm_tests(small(qam.ParallelTemperingSampler))
class TestDimodSuitePT(unittest.TestCase):
    pass


@dimod.testing.load_sampler_bqm_tests(small(qam.PopulationAnnealingSampler))
class TestDimodSuitePA(unittest.TestCase):
    pass


@dimod.testing.load_sampler_bqm_tests(small(qam.HierarchicalSampler))
class TestDimodSuiteHierarchical(unittest.TestCase):
    pass


@dimod.testing.load_sampler_bqm_tests(small(qam.QAOASampler))
class TestDimodSuiteQAOA(unittest.TestCase):
    pass


ALL = list(SMALL)


def frustrated_bqm(labels, vartype="SPIN", seed=3):
    """A random model over `labels` with linear terms, couplings and an offset."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    bqm = dimod.BinaryQuadraticModel(vartype)
    for i, v in enumerate(labels):
        bqm.add_variable(v, float(rng.normal()))
    for i in range(n):
        for j in range(i + 1, n):
            if rng.random() < 0.6:
                bqm.add_interaction(labels[i], labels[j], float(rng.normal()))
    bqm.offset = 1.25
    return bqm


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_is_a_dimod_sampler(cls):
    s = cls()
    assert isinstance(s, dimod.Sampler)
    assert "seed" in s.parameters and "num_reads" in s.parameters
    assert s.properties["solver"]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
@pytest.mark.parametrize("vartype", ["SPIN", "BINARY"])
def test_mixed_labels_survive_with_correct_energies(cls, vartype):
    labels = ["b", "a", ("x", 1), 7, frozenset({2}), 2.5]
    bqm = frustrated_bqm(labels, vartype)
    ss = small(cls)().sample(bqm, seed=5)
    assert list(ss.variables) == labels
    assert ss.vartype is bqm.vartype
    dimod.testing.assert_sampleset_energies(ss, bqm, precision=9)
    assert np.allclose(ss.record.energy, bqm.energies((ss.record.sample, ss.variables)), rtol=1e-12, atol=1e-12)
    # Every read is there.
    reads = SMALL[cls]["num_reads"]
    assert ss.record.num_occurrences.sum() == reads


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_same_seed_same_sampleset(cls):
    bqm = frustrated_bqm(list(range(8)), "BINARY", seed=11)
    s = small(cls)()
    a, b = s.sample(bqm, seed=42), s.sample(bqm, seed=42)
    assert a.info["seed"] == 42
    assert np.array_equal(a.record.sample, b.record.sample)
    assert np.array_equal(a.record.energy, b.record.energy)
    assert np.array_equal(a.record.num_occurrences, b.record.num_occurrences)


def test_seed_is_drawn_and_reported_when_absent():
    bqm = frustrated_bqm(list(range(10)), seed=2)
    s = qam.SimulatedAnnealingSampler()
    a = s.sample(bqm, num_reads=8, num_sweeps=20)
    b = s.sample(bqm, num_reads=8, num_sweeps=20, seed=a.info["seed"])
    assert np.array_equal(a.record.sample, b.record.sample)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
@pytest.mark.parametrize("where", ["linear", "quadratic", "offset"])
def test_nan_biases_raise_value_error(cls, where):
    bqm = frustrated_bqm(["a", "b", "c"])
    if where == "linear":
        bqm.set_linear("a", float("nan"))
    elif where == "quadratic":
        bqm.set_quadratic("a", "b", float("nan"))
    else:
        bqm.offset = float("nan")
    with pytest.raises(ValueError):
        cls().sample(bqm, num_reads=2, seed=1)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
@pytest.mark.parametrize("bad", [-1, 0, 2.5, True])
def test_bad_num_reads_raise_value_error(cls, bad):
    bqm = frustrated_bqm(["a", "b"])
    with pytest.raises(ValueError, match="num_reads"):
        cls().sample(bqm, num_reads=bad)


@pytest.mark.parametrize(
    "kw",
    [
        dict(num_sweeps=-5),
        dict(seed=-1),
        dict(beta_range=(1.0,)),
        dict(beta_range=(float("nan"), 1.0)),
        dict(beta_schedule_type="cubic"),
        dict(beta_schedule_type="custom"),
        dict(time_limit=-1.0),
        dict(num_sweeps=10, num_sweeps_per_beta=3),
    ],
)
def test_bad_sa_parameters_raise_value_error(kw):
    with pytest.raises(ValueError):
        qam.SimulatedAnnealingSampler().sample(frustrated_bqm(["a", "b"]), **kw)


def test_unknown_parameters_are_warned_about_and_ignored():
    with pytest.warns(dimod.exceptions.SamplerUnknownArgWarning):
        ss = qam.SimulatedAnnealingSampler().sample(frustrated_bqm(["a", "b"]), num_reads=2, colour="red")
    assert len(ss) == 2


def test_initial_states_in_any_column_order_and_zero_sweeps():
    labels = ["p", ("q", 0), 3]
    bqm = frustrated_bqm(labels, "BINARY")
    # (dimod.as_samples reads every dict in the first one's key order)
    init = [{3: 1, "p": 0, ("q", 0): 1}, {3: 0, "p": 1, ("q", 0): 0}]
    ss = qam.SimulatedAnnealingSampler().sample(bqm, initial_states=init, num_sweeps=0, seed=1)
    # num_reads defaults to the number of initial states; 0 sweeps returns them unchanged.
    got = sorted(tuple(s[v] for v in labels) for s in ss.samples())
    assert got == sorted([(0, 1, 1), (1, 0, 0)])
    with pytest.raises(ValueError):
        qam.SimulatedAnnealingSampler().sample(bqm, initial_states=[{"p": 0}], num_sweeps=0)
    with pytest.raises(ValueError):
        qam.SimulatedAnnealingSampler().sample(bqm, initial_states=[[0, 2, 1]], num_sweeps=0)


def test_custom_beta_schedule_and_info():
    bqm = frustrated_bqm(list(range(6)))
    ss = qam.SimulatedAnnealingSampler().sample(
        bqm, beta_schedule_type="custom", beta_schedule=[0.1, 0.5, 1.0, 3.0], num_reads=3, seed=1)
    assert ss.info["beta_schedule_type"] == "custom"
    assert ss.info["params"]["num_sweeps"] == 4
    assert set(ss.info["timing"]) >= {"preprocessing_ns", "sampling_ns", "postprocessing_ns"}


def test_sa_finds_the_ground_state_of_a_small_model():
    bqm = frustrated_bqm(list(range(12)), seed=7)
    exact = dimod.ExactSolver().sample(bqm).first.energy
    ss = qam.SimulatedAnnealingSampler().sample(bqm, num_reads=32, num_sweeps=500, seed=3)
    assert ss.first.energy == pytest.approx(exact, abs=1e-9)
    ss = qam.ParallelTemperingSampler().sample(bqm, num_reads=2, num_sweeps=500, seed=3)
    assert ss.first.energy == pytest.approx(exact, abs=1e-9)


def test_time_limit_stops_a_long_solve():
    bqm = frustrated_bqm(list(range(200)), seed=1)
    t = time.perf_counter()
    ss = qam.SimulatedAnnealingSampler().sample(bqm, num_reads=1, num_sweeps=10**7, time_limit=0.3, seed=1)
    elapsed = time.perf_counter() - t
    assert len(ss) == 1
    # Hang guard only (10^7 sweeps would take minutes).
    assert elapsed < 60


def test_gil_is_released_while_solving():
    bqm = frustrated_bqm(list(range(200)), seed=1)
    done = threading.Event()
    ticks = []

    def other():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.01)

    th = threading.Thread(target=other)
    th.start()
    try:
        qam.SimulatedAnnealingSampler().sample(bqm, num_reads=1, num_sweeps=10**7, time_limit=1.0, seed=1)
    finally:
        done.set()
        th.join()
    # With the GIL held for the whole second the other thread would tick about once.
    assert len(ticks) > 10


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery")
def test_ctrl_c_interrupts_a_long_solve():
    # The child installs Python's Ctrl-C handler itself: a Python started with SIGINT
    # ignored (pytest run as a background job of a non-interactive shell, which ignores
    # SIGINT and passes that on) installs none, and the signal would be lost.
    script = textwrap.dedent("""
        import signal, sys, dimod, qam
        signal.signal(signal.SIGINT, signal.default_int_handler)
        bqm = dimod.generators.ran_r(1, 1000, seed=1)
        print("start", flush=True)
        try:
            # 64 reads x 4,000,000 sweeps (within the 2^22-sweep bound) x 1000 variables:
            # minutes of work, so the interrupt always lands mid-solve.
            qam.SimulatedAnnealingSampler().sample(bqm, num_reads=64, num_sweeps=4 * 10**6, seed=1)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(3)
    """)
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "start"
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    try:
        out, _ = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        pytest.fail("Ctrl-C did not stop the solve")
    assert p.returncode == 3 and "interrupted" in out


def test_million_variable_round_trip():
    """1,000,000 variables and 2,000,000 couplings go in and out as numpy arrays; the
    conversion is timed against a 1,000-sweep solve (printed, not asserted)."""
    n = 1_000_000
    rng = np.random.default_rng(1)
    irow = np.concatenate([np.arange(n), np.arange(n)])
    icol = np.concatenate([(np.arange(n) + 1) % n, (np.arange(n) + 7919) % n])
    quad = rng.choice([-1.0, 1.0], size=2 * n)
    linear = rng.choice([-1.0, 0.0, 1.0], size=n)
    bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(linear, (irow, icol, quad), 0.5, "SPIN")
    t0 = time.perf_counter()
    coo = qam.bqm_to_coo(bqm)
    t_coo = time.perf_counter() - t0
    assert len(coo[1]) == n and len(coo[4]) == 2 * n
    t0 = time.perf_counter()
    ss = qam.SimulatedAnnealingSampler().sample(bqm, num_reads=1, num_sweeps=1000, seed=1)
    t_total = time.perf_counter() - t0
    timing = ss.info["timing"]
    t_solve = (timing["preprocessing_ns"] + timing["sampling_ns"] + timing["postprocessing_ns"]) / 1e9
    t_build = timing["model_build_ns"] / 1e9
    overhead = t_total - t_solve
    print(f"\n1M variables, 2M couplings: bqm_to_coo {t_coo:.3f} s, Rust model build {t_build:.3f} s, "
          f"solve (1 read x 1000 sweeps) {t_solve:.3f} s, all Python<->Rust overhead "
          f"(conversion in and out, SampleSet) {overhead:.3f} s = {100 * overhead / t_total:.1f}% of the call")
    assert ss.record.sample.shape == (1, n)
    assert list(ss.variables)[:3] == [0, 1, 2]
    assert ss.first.energy == pytest.approx(bqm.energies((ss.record.sample, ss.variables))[0])


def test_orchestrate_returns_the_plan():
    import json
    here = os.path.dirname(__file__)
    with open(os.path.join(here, "..", "..", "examples", "scenario_small.json")) as f:
        scenario = json.load(f)
    plan = qam.orchestrate(scenario, seed=1)
    assert plan["format"] == "qam-plan"
    assert plan["stop_reason"] == "completed"
    agents = {a["id"] for a in scenario["agents"]}
    assert {p["agent"] for p in plan["placements"]} == agents
    again = qam.orchestrate(json.dumps(scenario), seed=1)
    assert again["placements"] == plan["placements"] and again["schedule"] == plan["schedule"]
    bad = dict(scenario, pools=[])
    with pytest.raises(ValueError):
        qam.orchestrate(bad)


def test_hierarchical_decomposes_a_larger_model():
    bqm = dimod.generators.ran_r(1, 300, seed=4)
    ss = qam.HierarchicalSampler().sample(bqm, cluster_size=20, sub_solver="exact", num_reads=2, seed=9,
                                          max_rounds=5)
    assert len(ss.record) == 2 and ss.info["seed"] == 9
    dimod.testing.assert_sampleset_energies(ss, bqm, precision=9)
    # Better than a random state by a wide margin (a random state has mean energy 0).
    assert ss.first.energy < -0.5 * bqm.num_interactions ** 0.5 * 10


def test_qaoa_refuses_too_many_qubits():
    bqm = dimod.generators.ran_r(1, 50, seed=1)
    with pytest.raises(ValueError, match="qubits"):
        qam.QAOASampler().sample(bqm, num_reads=1, seed=1)


def test_gpu_backend_names_are_checked():
    with pytest.raises(ValueError, match="backend"):
        qam.GpuSimulatedAnnealingSampler().sample(frustrated_bqm(["a", "b"]), backend="tpu", seed=1)
