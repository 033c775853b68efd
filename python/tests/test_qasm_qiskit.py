"""The exported OpenQASM circuits, loaded by Qiskit, give qam's QAOA expectation.

Qiskit's statevector is indexed little-endian (bit i of the index = qubit i), the same as
qam's basis states (bit i = variable i), and qubit i is ``bqm.variables[i]``."""

import dimod
import numpy as np
import pytest

import qam

qiskit = pytest.importorskip("qiskit")
from qiskit import QuantumCircuit  # noqa: E402
from qiskit.quantum_info import Statevector  # noqa: E402


def energy_table(bqm, labels):
    """E(k) for every basis state k (bit i of k = variable labels[i])."""
    n = len(labels)
    k = np.arange(2**n)
    bits = ((k[:, None] >> np.arange(n)[None, :]) & 1).astype(np.int8)
    states = bits if bqm.vartype is dimod.BINARY else 2 * bits - 1
    return bqm.energies((states, labels))


def qiskit_expectation(path, bqm, labels):
    qc = QuantumCircuit.from_qasm_file(str(path))
    assert qc.num_qubits == len(labels)
    qc.remove_final_measurements()
    probs = Statevector(qc).probabilities()
    return float(np.dot(probs, energy_table(bqm, labels)))


def maxcut_bqm():
    """MaxCut of a 6-node graph (a triangle plus a square sharing an edge, weights 1 and
    2) as the Ising energy sum w s_u s_v, with string labels."""
    edges = {("a", "b"): 1, ("b", "c"): 1, ("a", "c"): 1, ("c", "d"): 2, ("d", "e"): 1,
             ("e", "f"): 1, ("f", "c"): 1}
    return dimod.BinaryQuadraticModel({}, edges, 0.0, "SPIN")


def qubo_bqm():
    """A QUBO with linear terms, couplings and an offset, with mixed labels."""
    rng = np.random.default_rng(5)
    labels = ["x", ("y", 1), 3, "z", 0]
    Q = {}
    for i, u in enumerate(labels):
        Q[(u, u)] = float(rng.normal())
        for v in labels[i + 1:]:
            if rng.random() < 0.7:
                Q[(u, v)] = float(rng.normal())
    return dimod.BinaryQuadraticModel.from_qubo(Q, offset=2.75)


@pytest.mark.parametrize("make", [maxcut_bqm, qubo_bqm], ids=["maxcut", "qubo"])
@pytest.mark.parametrize("angles", [([0.37], [0.41]), ([-0.2, 0.55], [0.6, 0.15])], ids=["p1", "p2"])
def test_exported_qasm2_reproduces_qams_expectation(tmp_path, make, angles):
    bqm = make()
    gamma, beta = angles
    ss = qam.QAOASampler().sample(bqm, gamma=gamma, beta=beta, num_reads=10, seed=1)
    labels = ss.info["qubit_labels"]
    assert labels == list(bqm.variables)
    path = tmp_path / "c.qasm"
    path.write_text(ss.info["qasm2"])
    got = qiskit_expectation(path, bqm, labels)
    assert got == pytest.approx(ss.info["expectation"], abs=1e-6)
    # The expectation is not a constant of the model: a sign error would show.
    uniform = float(np.mean(energy_table(bqm, labels)))
    assert abs(got - uniform) > 1e-3


@pytest.mark.parametrize("make", [maxcut_bqm, qubo_bqm], ids=["maxcut", "qubo"])
def test_optimised_angles_circuit_and_qasm3(tmp_path, make):
    bqm = make()
    ss = qam.QAOASampler().sample(bqm, p=2, num_reads=50, seed=3)
    labels = ss.info["qubit_labels"]
    path = tmp_path / "opt.qasm"
    path.write_text(ss.info["qasm2"])
    assert qiskit_expectation(path, bqm, labels) == pytest.approx(ss.info["expectation"], abs=1e-6)
    # The standalone function writes the same text for the same angles.
    assert qam.qaoa_circuit(bqm, ss.info["gamma"], ss.info["beta"]) == ss.info["qasm2"]
    text3 = ss.info["qasm3"]
    assert text3.startswith("OPENQASM 3.0;")
    try:
        from qiskit import qasm3
        qc3 = qasm3.loads(text3)
    except ImportError:  # qiskit-qasm3-import is an optional Qiskit extra
        pytest.skip("qiskit_qasm3_import not installed")
    qc3.remove_final_measurements()
    probs = Statevector(qc3).probabilities()
    got3 = float(np.dot(probs, energy_table(bqm, labels)))
    assert got3 == pytest.approx(ss.info["expectation"], abs=1e-6)


def test_maxcut_circuit_is_qiskits_rzz_minus_gamma_cut():
    """For MaxCut, gamma = -gamma_cut / 2, so each edge of weight w gets RZZ(-gamma_cut w)."""
    bqm = maxcut_bqm()
    gamma_cut = 0.8
    text = qam.qaoa_circuit(bqm, [-gamma_cut / 2], [0.3])
    qc = QuantumCircuit.from_qasm_str(text)
    rzz = sorted(round(float(ins.operation.params[0]), 12) for ins in qc.data if ins.operation.name == "rzz")
    want = sorted(round(-gamma_cut * w, 12) for w in bqm.quadratic.values())
    assert rzz == want
    assert not any(ins.operation.name == "rz" for ins in qc.data)


def test_circuit_bad_input():
    bqm = maxcut_bqm()
    with pytest.raises(ValueError):
        qam.qaoa_circuit(bqm, [0.1, 0.2], [0.3])
    with pytest.raises(ValueError):
        qam.qaoa_circuit(bqm, [0.1], [0.3], version=4)
    with pytest.raises(ValueError):
        qam.QAOASampler().sample(bqm, gamma=[0.1], num_reads=5)
