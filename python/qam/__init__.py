"""qam from Python: dimod-compatible samplers backed by qam's Rust solvers (CPU and GPU
annealing, tempering, decomposition, QAOA), QAOA circuits as OpenQASM, and fleet
orchestration.

>>> import dimod, qam
>>> bqm = dimod.BinaryQuadraticModel({"a": 1.0}, {("a", ("b", 1)): -2.0}, 0.5, "SPIN")
>>> ss = qam.SimulatedAnnealingSampler().sample(bqm, num_reads=4, num_sweeps=100, seed=1)
>>> ss.first.energy
-2.5
"""

import json

from . import _qam
from .constrained import ConstrainedSampler, cqm_to_qam_json
from .samplers import (
    GpuSimulatedAnnealingSampler,
    HierarchicalSampler,
    ParallelTemperingSampler,
    PopulationAnnealingSampler,
    QAOASampler,
    SimulatedAnnealingSampler,
    bqm_to_coo,
    qaoa_circuit,
)

__version__ = _qam.__version__

__all__ = [
    "SimulatedAnnealingSampler",
    "GpuSimulatedAnnealingSampler",
    "ParallelTemperingSampler",
    "PopulationAnnealingSampler",
    "HierarchicalSampler",
    "QAOASampler",
    "ConstrainedSampler",
    "cqm_to_qam_json",
    "bqm_to_coo",
    "qaoa_circuit",
    "orchestrate",
]


def orchestrate(scenario, time_limit=None, seed=0):
    """Plans a fleet of agents: ``scenario`` is a ``qam-scenario`` document (a dict, or its
    JSON text, as ``qam gen-scenario`` writes); returns the plan as a dict (the JSON that
    ``qam orchestrate --out`` writes).

    ``time_limit`` (seconds) is the planner's budget: its constrained stage keeps improving
    until it is spent, and should the planner still run at ``1.25 * time_limit + 1`` seconds
    (earlier stages that took longer than the budget) it is interrupted and returns the
    complete plan it has; ``plan["stop_reason"]`` says ``completed``,
    ``time_limit`` or ``interrupted``. Without a limit the planner does a fixed amount of
    work (the same plan for the same seed). Raises ``ValueError`` naming the field of an
    invalid scenario, and ``KeyboardInterrupt`` on Ctrl-C once the planner stopped (at its
    next check: between stages, rounds and batches, within a sweep of the constrained
    stage). The GIL is released while planning."""
    text = scenario if isinstance(scenario, str) else json.dumps(scenario)
    if time_limit is not None:
        time_limit = float(time_limit)
    return json.loads(_qam.orchestrate(text, int(seed), time_limit))
