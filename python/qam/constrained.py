"""``ConstrainedSampler``: constrained quadratic models (``dimod.ConstrainedQuadraticModel``)
solved by qam's constrained annealer ``cqm-sa`` through the Rust binding.

It is qam's analogue of dwave-system's ``LeapHybridCQMSampler``: ``sample_cqm(cqm,
time_limit=..)`` returns a ``dimod.SampleSet`` built by ``dimod.SampleSet.from_samples_cqm``,
so energies are the CQM's objective and the ``is_feasible`` / ``is_satisfied`` fields are
dimod's own. Binary variables, spin variables (mapped to binary with ``s = 2x - 1``) and
discrete variables (``cqm.add_discrete``: one-hot groups, which ``cqm-sa`` keeps satisfied
by its moves) are supported; integer and real variables and quadratic constraints raise
``ValueError`` naming the variable or constraint.
"""

import json
import numbers

import dimod
import numpy as np

from . import _qam

__all__ = ["ConstrainedSampler", "cqm_to_qam_json"]

_SENSES = {"<=": "<=", ">=": ">=", "==": "="}


def _finite(what, value):
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{what} is not a finite number ({value!r})")
    return value


def cqm_to_qam_json(cqm):
    """The CQM as a qam-cqm JSON document (``qam solve`` reads it as ``*.json``) whose
    variables are named ``"0"``, ``"1"``, ... in the order of ``cqm.variables``. Spin
    variables must have been mapped to binary first (``cqm.spin_to_binary()``)."""
    variables = list(cqm.variables)
    index = {v: str(i) for i, v in enumerate(variables)}
    for v in variables:
        vt = cqm.vartype(v)
        if vt is not dimod.BINARY:
            raise ValueError(
                f"variable {v!r} is {vt.name}: ConstrainedSampler supports BINARY and SPIN "
                "variables and discrete (one-hot) groups of binary variables")
    obj = cqm.objective
    linear = [[index[v], _finite(f"objective bias of {v!r}", b)] for v, b in obj.linear.items() if b != 0]
    quadratic = [[index[u], index[v], _finite(f"objective bias of ({u!r}, {v!r})", b)]
                 for (u, v), b in obj.quadratic.items() if b != 0]
    constraints = []
    one_hot = []
    used = set()
    discrete = set(cqm.discrete)
    for k, (label, comp) in enumerate(cqm.constraints.items()):
        lhs = comp.lhs
        if lhs.num_interactions:
            raise ValueError(f"constraint {label!r} is quadratic: cqm-sa takes linear constraints only")
        sense = _SENSES[comp.sense.value]
        rhs = _finite(f"right-hand side of constraint {label!r}", comp.rhs) - _finite(
            f"offset of constraint {label!r}", lhs.offset)
        terms = [[index[v], _finite(f"coefficient of {v!r} in constraint {label!r}", a)]
                 for v, a in lhs.linear.items()]
        name = f"c{k}"
        constraints.append({"name": name, "terms": terms, "sense": sense, "rhs": rhs})
        # One-hot groups (dimod's discrete constraints, and any other `sum x == 1` over
        # variables no earlier group has) are kept satisfied by cqm-sa's moves.
        vs = list(lhs.linear.keys())
        unit = sense == "=" and rhs == 1.0 and len(vs) >= 1 and all(a == 1.0 for a in lhs.linear.values())
        if unit and not used.intersection(vs):
            one_hot.append(name)
            used.update(vs)
        elif label in discrete:
            raise ValueError(f"discrete constraint {label!r} shares variables with another one-hot group")
    return {
        "format": "qam-cqm",
        "version": 1,
        "sense": "minimize",
        "variables": [index[v] for v in variables],
        "objective": {"offset": _finite("objective offset", obj.offset), "linear": linear, "quadratic": quadratic},
        "constraints": constraints,
        "one_hot": one_hot,
    }


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {value!r}")
    return int(value)


class ConstrainedSampler:
    """Samples ``dimod.ConstrainedQuadraticModel`` s with qam's ``cqm-sa`` (the qam analogue
    of ``LeapHybridCQMSampler``).

    ``sample_cqm(cqm, time_limit=None, seed=None, num_reads=1, num_sweeps=None,
    num_chains=None)``:

    * ``time_limit`` (seconds): the run keeps improving until it is spent (shared evenly by
      the reads); without one, a fixed amount of work (4 cycles), the same answer on any
      machine.
    * ``num_reads``: independent runs (seeds derived from ``seed``), one sample each (its
      best feasible state, else its least violated one).
    * ``num_sweeps``: sweeps per annealing cycle (default 1000); ``num_chains``: chains per
      run (default 4).
    * ``seed``: drawn (and reported in ``info``) when absent; the same seed gives the same
      SampleSet whatever the thread count.

    The SampleSet has one row per read with ``energy`` (the CQM objective), ``is_feasible``
    and ``is_satisfied``; ``info`` has ``solver``, ``params``, ``seed``, ``timing``, per-read
    ``stop_reason``. Ctrl-C stops the run in progress and raises ``KeyboardInterrupt``; the
    GIL is released while solving.
    """

    def __init__(self):
        self._parameters = {"time_limit": [], "seed": [], "num_reads": [], "num_sweeps": [], "num_chains": []}
        self._properties = {
            "solver": "cqm-sa",
            "supported_vartypes": ["BINARY", "SPIN"],
            "supported_constraints": ["linear <=", "linear >=", "linear ==", "discrete (one-hot)"],
            "defaults": {"num_reads": 1, "num_sweeps": 1000, "num_chains": 4, "time_limit": None},
        }

    @property
    def parameters(self):
        return self._parameters

    @property
    def properties(self):
        return self._properties

    def sample_cqm(self, cqm, time_limit=None, seed=None, num_reads=1, num_sweeps=None, num_chains=None, **kwargs):
        """Solves ``cqm``; see the class docs. Unknown keyword arguments raise
        ``ValueError``."""
        if kwargs:
            raise ValueError(f"unknown parameters {sorted(kwargs)}; known: {sorted(self._parameters)}")
        if not isinstance(cqm, dimod.ConstrainedQuadraticModel):
            raise ValueError(f"expected a dimod.ConstrainedQuadraticModel, got {type(cqm).__name__}")
        params = {"num_reads": _check_int("num_reads", num_reads, 1)}
        if num_sweeps is not None:
            params["num_sweeps"] = _check_int("num_sweeps", num_sweeps, 1)
        if num_chains is not None:
            params["num_chains"] = _check_int("num_chains", num_chains, 1)
        if time_limit is not None:
            if isinstance(time_limit, bool) or not isinstance(time_limit, numbers.Real) \
                    or not np.isfinite(time_limit) or time_limit <= 0:
                raise ValueError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
            params["time_limit"] = float(time_limit)
        if seed is None:
            seed = int(np.random.default_rng().integers(0, 2**63))
        params["seed"] = _check_int("seed", seed, 0)
        variables = list(cqm.variables)
        spins = [i for i, v in enumerate(variables) if cqm.vartype(v) is dimod.SPIN]
        binary = cqm.spin_to_binary(inplace=False) if spins else cqm
        model = cqm_to_qam_json(binary)
        reads = params["num_reads"]
        if not variables:
            samples = np.empty((reads, 0), dtype=np.int8)
            info = {"solver": "cqm-sa", "params": params, "seed": params["seed"],
                    "timing": {"preprocessing_ns": 0, "sampling_ns": 0, "postprocessing_ns": 0}}
        else:
            raw, info_json = _qam.sample_cqm(json.dumps(model), json.dumps(params))
            info = json.loads(info_json)
            samples = np.asarray(raw, dtype=np.int8)
            if spins:
                samples[:, spins] = 2 * samples[:, spins] - 1
        return dimod.SampleSet.from_samples_cqm((samples, variables), cqm, info=info)
