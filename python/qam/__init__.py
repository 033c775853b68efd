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
    "bqm_to_coo",
    "qaoa_circuit",
    "orchestrate",
]


def orchestrate(scenario, time_limit=None, seed=0):
    """Plans a fleet of agents: ``scenario`` is a ``qam-scenario`` document (a dict, or its
    JSON text, as ``qam gen-scenario`` writes); returns the plan as a dict (the JSON that
    ``qam orchestrate --out`` writes). Raises ``ValueError`` naming the field of an invalid
    scenario, ``TimeoutError`` when planning is not done within ``time_limit`` seconds (the
    orchestrator has no internal budget yet: the planner thread is abandoned), and
    ``KeyboardInterrupt`` on Ctrl-C. The GIL is released while planning."""
    text = scenario if isinstance(scenario, str) else json.dumps(scenario)
    if time_limit is not None:
        time_limit = float(time_limit)
    return json.loads(_qam.orchestrate(text, int(seed), time_limit))
