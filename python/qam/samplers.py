"""dimod samplers backed by qam's Rust solvers.

Every sampler is a :class:`dimod.Sampler`: implement ``sample(bqm, **parameters)`` and get
``sample_ising`` / ``sample_qubo`` from dimod. Models go to Rust as COO numpy arrays
(``bqm.to_numpy_vectors()``) with no Python loop per variable or coupling; labels of any
hashable type are kept (column ``i`` of the samples is ``bqm.variables[i]``). The GIL is
released while solving; Ctrl-C stops the solver and raises ``KeyboardInterrupt``.

Parameters are named as in dwave-samplers' ``SimulatedAnnealingSampler`` where they
overlap (``num_reads``, ``num_sweeps``, ``num_sweeps_per_beta``, ``beta_range``,
``beta_schedule_type``, ``beta_schedule``, ``initial_states``, ``seed``), plus
``time_limit`` (seconds; the solver returns what it has) and, on the solvers that check it,
``target`` (stop once a state at or below this energy is found).
"""

import json
import numbers

import dimod
import numpy as np

from . import _qam

__all__ = [
    "SimulatedAnnealingSampler",
    "GpuSimulatedAnnealingSampler",
    "ParallelTemperingSampler",
    "PopulationAnnealingSampler",
    "HierarchicalSampler",
    "QAOASampler",
    "bqm_to_coo",
    "qaoa_circuit",
]


def bqm_to_coo(bqm):
    """The BQM as ``(vartype, linear, irow, icol, quad, offset)`` numpy arrays in the order
    of ``bqm.variables`` (float64 biases, int64 indices; no Python loop over the model)."""
    ldata, (irow, icol, qdata), offset = bqm.to_numpy_vectors()
    return (
        bqm.vartype.name,
        np.ascontiguousarray(ldata, dtype=np.float64),
        np.ascontiguousarray(irow, dtype=np.int64),
        np.ascontiguousarray(icol, dtype=np.int64),
        np.ascontiguousarray(qdata, dtype=np.float64),
        float(offset),
    )


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _non_negative_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _number(name, value, minimum=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
    return float(value)


def _check(name, value):
    """Validates one parameter (type and range); returns its JSON-ready value."""
    if name in ("num_reads", "num_replicas", "sweeps_per_swap", "num_sweeps_per_beta", "p",
                "cluster_size", "sub_reads", "patience", "max_rounds"):
        return _positive_int(name, value)
    if name in ("num_sweeps", "sub_sweeps", "restarts", "max_evals", "exact_below"):
        return _non_negative_int(name, value)
    if name == "seed":
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < 2**64:
            raise ValueError(f"seed must be an integer in [0, 2**64), got {value!r}")
        return int(value)
    if name == "time_limit":
        return _number(name, value, minimum=0.0)
    if name == "target":
        return _number(name, value)
    if name == "beta_range":
        try:
            lo, hi = value
        except (TypeError, ValueError):
            raise ValueError(f"beta_range must be a pair (hot, cold), got {value!r}") from None
        return [_number("beta_range", lo, 0.0), _number("beta_range", hi, 0.0)]
    if name in ("beta_schedule", "gamma", "beta"):
        arr = np.asarray(value, dtype=np.float64).ravel()
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must hold finite numbers")
        return arr.tolist()
    if name == "polish":
        return bool(value)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {value!r}")
    return value


class _QamSampler(dimod.Sampler):
    """Shared implementation: validation, COO conversion, the call, the SampleSet."""

    _kind = None
    #: parameter name -> documented default (None: the solver's own default).
    _defaults = {}
    _accepts_initial_states = False

    def __init__(self):
        self._parameters = {name: [] for name in self._defaults}
        if self._accepts_initial_states:
            self._parameters["initial_states"] = []
        self._properties = {"solver": self._kind, "defaults": dict(self._defaults)}

    @property
    def parameters(self):
        return self._parameters

    @property
    def properties(self):
        return self._properties

    def _params_json(self, parameters, num_initial):
        given = {k: v for k, v in parameters.items() if v is not None and k != "initial_states"}
        if "num_reads" not in given and num_initial:
            given["num_reads"] = num_initial
        if "seed" not in given:
            # dwave-samplers draws a seed when none is given; keep it so the run can be repeated.
            given["seed"] = int(np.random.default_rng().integers(0, 2**63))
        return {k: _check(k, v) for k, v in given.items()}

    def _initial_states(self, initial_states, bqm):
        if initial_states is None:
            return None
        arr, labels = dimod.as_samples(initial_states, copy=False)
        variables = list(bqm.variables)
        if list(labels) != variables:
            if set(labels) != set(variables):
                raise ValueError("initial_states must assign every variable of the model, and only those")
            where = {v: i for i, v in enumerate(labels)}
            arr = arr[:, [where[v] for v in variables]]
        arr = np.asarray(arr)
        if arr.size and not np.all(np.isin(arr, list(bqm.vartype.value))):
            raise ValueError(f"initial_states hold values outside {sorted(bqm.vartype.value)}")
        return np.ascontiguousarray(arr, dtype=np.int8)

    def sample(self, bqm, **parameters):
        """Samples ``bqm``; see the class docs for the parameters. Unknown parameters are
        warned about and ignored (dimod's convention)."""
        parameters = self.remove_unknown_kwargs(**parameters)
        initial = None
        if self._accepts_initial_states:
            initial = self._initial_states(parameters.get("initial_states"), bqm)
        params = self._params_json(parameters, 0 if initial is None else len(initial))
        variables = bqm.variables
        if len(variables) == 0:
            # Nothing to solve: every read is the empty state with the offset as energy.
            reads = params.get("num_reads", 1)
            return dimod.SampleSet.from_samples(
                (np.empty((reads, 0), dtype=np.int8), []), bqm.vartype,
                energy=np.full(reads, float(bqm.offset)),
                info={"solver": self._kind, "params": params, "seed": params["seed"],
                      "timing": {"preprocessing_ns": 0, "sampling_ns": 0, "postprocessing_ns": 0}})
        vartype, linear, irow, icol, quad, offset = bqm_to_coo(bqm)
        if not (np.all(np.isfinite(linear)) and np.all(np.isfinite(quad)) and np.isfinite(offset)):
            raise ValueError("the model has NaN or infinite biases")
        samples, energies, occurrences, info_json = _qam.sample(
            self._kind, vartype, linear, irow, icol, quad, offset, json.dumps(params), initial)
        info = json.loads(info_json)
        info.update(info.pop("extra", {}))
        for key in ("beta_range", "beta_schedule_type"):
            if key in info.get("params", {}):
                info[key] = info["params"][key]
        if self._kind == "qaoa":
            info["qubit_labels"] = list(variables)
        # sort_labels=False: columns stay in the model's variable order (and a million
        # labels are not sorted in Python).
        return dimod.SampleSet.from_samples(
            (samples, variables), bqm.vartype, energy=energies,
            num_occurrences=occurrences, info=info, sort_labels=False)


class SimulatedAnnealingSampler(_QamSampler):
    """qam's CPU simulated annealing (``sa``): SIMD sweeps, reads in parallel.

    Parameters (dwave-samplers' names): ``num_reads`` (default 10, or the number of
    ``initial_states``), ``num_sweeps`` (1000), ``num_sweeps_per_beta`` (1), ``beta_range``
    ((hot, cold); default derived from the model like neal), ``beta_schedule_type``
    ('geometric', 'linear', or 'custom' with ``beta_schedule``), ``initial_states``
    (samples-like, tiled over the reads), ``seed`` (any integer in [0, 2**64); drawn when
    absent and reported in ``info['seed']``), ``time_limit`` (seconds).

    Returns the final state of every read; ``info`` holds ``timing`` (ns, as dimod's
    samplers), ``beta_range``, ``beta_schedule_type``, ``params``, ``seed`` and
    ``flip_attempts``.
    """

    _kind = "sa"
    _accepts_initial_states = True
    _defaults = {"num_reads": 10, "num_sweeps": 1000, "num_sweeps_per_beta": 1, "beta_range": None,
                 "beta_schedule_type": "geometric", "beta_schedule": None, "seed": None,
                 "time_limit": None}


class GpuSimulatedAnnealingSampler(SimulatedAnnealingSampler):
    """The same annealing on a GPU through wgpu (``gpu-sa``), one replica per read.

    Takes :class:`SimulatedAnnealingSampler`'s parameters plus ``backend`` ('auto',
    'workgroup', 'dense', 'color'). Raises ``RuntimeError`` when no GPU adapter exists
    (set ``QAM_ADAPTER`` to pick one; Mesa's lavapipe works on any machine).
    """

    _kind = "gpu-sa"
    _defaults = dict(SimulatedAnnealingSampler._defaults, backend="auto")


class ParallelTemperingSampler(_QamSampler):
    """Parallel tempering (replica exchange, ``pt``) on the CPU.

    ``num_reads`` independent chains (default 1), each of ``num_replicas`` temperatures
    (64) on a geometric ladder over ``beta_range``; ``num_sweeps`` (1000) per replica,
    ``sweeps_per_swap`` (1); ``seed``, ``time_limit``, ``target``. Each read is the best
    state its chain held. ``info['swap_acceptance']`` per adjacent pair.
    """

    _kind = "pt"
    _defaults = {"num_reads": 1, "num_replicas": 64, "num_sweeps": 1000, "sweeps_per_swap": 1,
                 "beta_range": None, "seed": None, "time_limit": None, "target": None}


class PopulationAnnealingSampler(_QamSampler):
    """Population annealing (``pa``) on the CPU: ``num_reads`` replicas (the population,
    default 256) annealed over ``num_sweeps`` (1000) with ``num_sweeps_per_beta`` (10)
    sweeps per β, resampled before every new β. Also ``beta_range``,
    ``beta_schedule_type``, ``seed``, ``time_limit``, ``target``. Returns the final
    population.
    """

    _kind = "pa"
    _defaults = {"num_reads": 256, "num_sweeps": 1000, "num_sweeps_per_beta": 10, "beta_range": None,
                 "beta_schedule_type": "geometric", "seed": None, "time_limit": None, "target": None}


class HierarchicalSampler(_QamSampler):
    """Hierarchical decomposition (``hierarchical``) for large models: clusters of at most
    ``cluster_size`` variables solved by ``sub_solver`` ('sa', 'exact', 'greedy',
    'gpu-sa', 'qaoa') and combined by ``strategy`` ('merge', 'refine').

    ``num_reads`` (default 1) independent runs, run ``r`` seeded with stream ``r`` of
    ``seed``. Also ``partitioner`` ('multilevel', 'label-prop'), ``sub_reads``,
    ``sub_sweeps``, ``sub_start`` ('current', 'random'), ``beta_range`` (of the
    sub-anneals), ``max_rounds``, ``patience``, ``exact_below``, ``p`` (QAOA layers of the
    'qaoa' sub-solver), ``time_limit``, ``target``.
    """

    _kind = "hierarchical"
    _defaults = {"num_reads": 1, "sub_solver": "sa", "cluster_size": None, "strategy": "merge",
                 "partitioner": "multilevel", "sub_reads": None, "sub_sweeps": None, "sub_start": "current",
                 "beta_range": None, "max_rounds": None, "patience": None, "exact_below": None, "p": None,
                 "seed": None, "time_limit": None, "target": None}


class QAOASampler(_QamSampler):
    """QAOA on qam's state-vector simulator (``qaoa``; up to about 30 variables).

    Optimises ``p`` layers of angles (``optimizer`` 'nelder-mead', 'cobyla' or 'none';
    ``restarts``, ``max_evals``) or evaluates the given ``gamma`` and ``beta`` (lists of
    length p, qam's energy convention: layer l applies ``exp(-i gamma_l E)`` then
    ``exp(-i beta_l sum X)``), then draws ``num_reads`` shots (default 1000), each polished
    by steepest descent unless ``polish=False``; identical states are aggregated into
    ``num_occurrences``. ``precision`` 'f64' (default) or 'f32'; ``seed``, ``time_limit``.

    ``info`` holds ``gamma``, ``beta``, ``expectation`` (<E> of the state),
    ``ground_state_probability``, ``ground_energy``, and the circuit of the final angles as
    OpenQASM 2.0 (``qasm2``) and 3.0 (``qasm3``) text, where qubit ``i`` is
    ``info['qubit_labels'][i]`` (= ``bqm.variables[i]``).
    """

    _kind = "qaoa"
    _defaults = {"num_reads": 1000, "p": 1, "optimizer": "nelder-mead", "restarts": 2, "max_evals": 0,
                 "gamma": None, "beta": None, "precision": "f64", "polish": True, "seed": None,
                 "time_limit": None}


def qaoa_circuit(bqm, gamma, beta, version=2):
    """OpenQASM text (``version`` 2 or 3) of the QAOA circuit with angles ``gamma``,
    ``beta`` (qam's energy convention) for ``bqm``: qubit ``i`` is ``bqm.variables[i]``,
    bit ``i`` of a basis state is qubit ``i`` (Qiskit's order)."""
    vartype, linear, irow, icol, quad, offset = bqm_to_coo(bqm)
    return _qam.qaoa_circuit(vartype, linear, irow, icol, quad, offset,
                             [float(g) for g in np.ravel(gamma)], [float(b) for b in np.ravel(beta)],
                             int(version))
