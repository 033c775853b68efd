//! QAOA circuits as OpenQASM 2.0 / 3.0 text, to run qam's angles on a device or another
//! simulator.
//!
//! The circuit prepares exactly the state of [`Simulator::evaluate`](super::Simulator) up to
//! a global phase (the offset and the constants of the QUBO → Z substitution are dropped):
//!
//! 1. `h` on every qubit (`|+⟩^n`);
//! 2. per layer `l`, the cost unitary `e^{−iγ_l C}` then the mixer `e^{−iβ_l Σ X}`;
//! 3. `measure` of every qubit into the classical bit of the same index.
//!
//! **Qubit `i` is variable `i`** and, as in qam's simulators, bit `i` of a basis state is
//! variable `i` (Qiskit's little-endian order: qubit 0 is the least significant bit).
//! With `Z_i|b⟩ = (−1)^{b_i}|b⟩`:
//! - a QUBO variable is `x_i = b_i = (1 − Z_i)/2`, so `C = const + Σ a_i Z_i + Σ b_ij Z_i Z_j`
//!   with `a_i = −Q_ii/2 − Σ_j Q_ij/4` and `b_ij = Q_ij/4`;
//! - an Ising spin is `s_i = 2 b_i − 1 = −Z_i`, so `a_i = −h_i` and `b_ij = J_ij`.
//!
//! Then `e^{−iγ a Z} = RZ(2γa)` and `e^{−iγ b Z⊗Z} = RZZ(2γb)` (`RZ(θ) = e^{−iθZ/2}`,
//! `RZZ(θ) = e^{−iθ Z⊗Z/2}`, the Qiskit / OpenQASM definitions), and `e^{−iβX} = RX(2β)`.
//! OpenQASM 2.0 uses `rzz` from `qelib1.inc`; OpenQASM 3.0's `stdgates.inc` has no `rzz`,
//! so there each coupling is `cx a,b; rz(θ) b; cx a,b;` (the same operator).
//! For MaxCut (G-set, `E = Σ w s_u s_v`) this gives `RZZ(2γw) = RZZ(−γ_cut w)`, Qiskit's
//! MaxCut QAOA circuit.

use super::{Angles, CostModel, QaoaError};
use std::fmt::Write;

/// OpenQASM dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QasmVersion {
    /// OpenQASM 2.0 with `qelib1.inc` (couplings as `rzz`).
    V2,
    /// OpenQASM 3.0 with `stdgates.inc` (couplings as `cx`-`rz`-`cx`).
    V3,
}

/// One gate of the circuit (angles in radians, OpenQASM's definitions).
#[derive(Clone, Debug, PartialEq)]
pub enum Gate {
    /// Hadamard on a qubit.
    H(usize),
    /// `RZ(θ) = e^{−iθZ/2}`.
    Rz(usize, f64),
    /// `RZZ(θ) = e^{−iθ Z⊗Z/2}` on two qubits.
    Rzz(usize, usize, f64),
    /// `RX(θ) = e^{−iθX/2}`.
    Rx(usize, f64),
}

/// A QAOA circuit: gates before the final measurement of every qubit.
#[derive(Clone, Debug, PartialEq)]
pub struct Circuit {
    /// Qubits (= variables).
    pub num_qubits: usize,
    /// Gates in order of application.
    pub gates: Vec<Gate>,
    /// The angles it was built from (energy convention).
    pub angles: Angles,
}

/// The cost Hamiltonian in Pauli Z form, constant dropped: `(a_i, [(i, j, b_ij)])` with
/// `C = const + Σ a_i Z_i + Σ b_ij Z_i Z_j` (see the module docs).
pub fn z_terms(cost: &CostModel) -> (Vec<f64>, Vec<(usize, usize, f64)>) {
    if cost.binary {
        let mut a: Vec<f64> = cost.linear.iter().map(|q| -q / 2.0).collect();
        let mut b = Vec::with_capacity(cost.quadratic.len());
        for &(i, j, w) in &cost.quadratic {
            a[i as usize] -= w / 4.0;
            a[j as usize] -= w / 4.0;
            b.push((i as usize, j as usize, w / 4.0));
        }
        (a, b)
    } else {
        let a = cost.linear.iter().map(|h| -h).collect();
        let b = cost
            .quadratic
            .iter()
            .map(|&(i, j, w)| (i as usize, j as usize, w))
            .collect();
        (a, b)
    }
}

impl Circuit {
    /// The circuit of `angles` on the cost operator `cost` (terms with a zero coefficient
    /// give no gate). Errors on invalid angles.
    pub fn new(cost: &CostModel, angles: &Angles) -> Result<Self, QaoaError> {
        angles.check()?;
        let n = cost.n;
        let (a, b) = z_terms(cost);
        let mut gates: Vec<Gate> = (0..n).map(Gate::H).collect();
        for (&gamma, &beta) in angles.gamma.iter().zip(&angles.beta) {
            gates.extend(
                a.iter()
                    .enumerate()
                    .filter(|&(_, &ai)| ai != 0.0)
                    .map(|(i, &ai)| Gate::Rz(i, 2.0 * gamma * ai)),
            );
            gates.extend(
                b.iter()
                    .filter(|t| t.2 != 0.0)
                    .map(|&(i, j, bij)| Gate::Rzz(i, j, 2.0 * gamma * bij)),
            );
            gates.extend((0..n).map(|i| Gate::Rx(i, 2.0 * beta)));
        }
        Ok(Circuit {
            num_qubits: n,
            gates,
            angles: angles.clone(),
        })
    }

    /// The circuit as OpenQASM text (ends with a measurement of every qubit).
    pub fn to_qasm(&self, version: QasmVersion) -> String {
        let n = self.num_qubits;
        let mut s = String::new();
        // Writing to a String cannot fail.
        let mut line = |t: std::fmt::Arguments| {
            let _ = s.write_fmt(t);
            s.push('\n');
        };
        match version {
            QasmVersion::V2 => {
                line(format_args!("OPENQASM 2.0;"));
                line(format_args!("include \"qelib1.inc\";"));
            }
            QasmVersion::V3 => {
                line(format_args!("OPENQASM 3.0;"));
                line(format_args!("include \"stdgates.inc\";"));
            }
        }
        line(format_args!(
            "// QAOA from qam, p = {}: qubit i = variable i; e^(-i gamma C) then RX(2 beta) per layer",
            self.angles.p()
        ));
        line(format_args!(
            "// gamma (energy convention) = {:?}, beta = {:?}; global phase omitted",
            self.angles.gamma, self.angles.beta
        ));
        match version {
            QasmVersion::V2 => {
                line(format_args!("qreg q[{n}];"));
                line(format_args!("creg c[{n}];"));
            }
            QasmVersion::V3 => {
                line(format_args!("qubit[{n}] q;"));
                line(format_args!("bit[{n}] c;"));
            }
        }
        // `{}` prints f64 in plain decimal notation with the shortest digits that read back
        // to the same value (no exponent, which OpenQASM 2.0 requires with a dot).
        for g in &self.gates {
            match (g, version) {
                (Gate::H(i), _) => line(format_args!("h q[{i}];")),
                (Gate::Rz(i, t), _) => line(format_args!("rz({t}) q[{i}];")),
                (Gate::Rx(i, t), _) => line(format_args!("rx({t}) q[{i}];")),
                (Gate::Rzz(i, j, t), QasmVersion::V2) => line(format_args!("rzz({t}) q[{i}],q[{j}];")),
                (Gate::Rzz(i, j, t), QasmVersion::V3) => {
                    line(format_args!("cx q[{i}], q[{j}];"));
                    line(format_args!("rz({t}) q[{j}];"));
                    line(format_args!("cx q[{i}], q[{j}];"));
                }
            }
        }
        match version {
            QasmVersion::V2 => {
                for i in 0..n {
                    line(format_args!("measure q[{i}] -> c[{i}];"));
                }
            }
            QasmVersion::V3 => line(format_args!("c = measure q;")),
        }
        s
    }
}

/// OpenQASM text of the QAOA circuit of `angles` on `cost` (see [`Circuit`]).
pub fn to_qasm(cost: &CostModel, angles: &Angles, version: QasmVersion) -> Result<String, QaoaError> {
    Ok(Circuit::new(cost, angles)?.to_qasm(version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Ising, Model, Qubo};
    use crate::qaoa::{CostDiagonal, CpuSimulator, Simulator};
    use num_complex::Complex64 as C;
    use std::sync::Arc;

    /// A gate-by-gate state-vector simulator of the OpenQASM text (the subset written
    /// here), independent of qam's fused simulators: bit `i` of the index is qubit `i`.
    fn run_text(text: &str, n: usize) -> Vec<C> {
        let mut psi = vec![C::new(0.0, 0.0); 1 << n];
        psi[0] = C::new(1.0, 0.0);
        let q = |s: &str| -> usize {
            let s = s.trim().trim_end_matches(';').trim();
            s.strip_prefix("q[")
                .unwrap()
                .strip_suffix(']')
                .unwrap()
                .parse()
                .unwrap()
        };
        for l in text.lines() {
            let l = l.trim();
            if l.is_empty()
                || l.starts_with("//")
                || l.starts_with("OPENQASM")
                || l.starts_with("include")
                || l.starts_with("qreg")
                || l.starts_with("creg")
                || l.starts_with("qubit")
                || l.starts_with("bit")
                || l.contains("measure")
            {
                continue;
            }
            let (head, args) = l.split_once(' ').unwrap();
            let (name, theta) = match head.split_once('(') {
                Some((nm, rest)) => (nm, rest.trim_end_matches(')').parse::<f64>().unwrap()),
                None => (head, 0.0),
            };
            let qs: Vec<usize> = args.split(',').map(q).collect();
            let (c, s) = ((theta / 2.0).cos(), (theta / 2.0).sin());
            match name {
                "h" | "rx" => {
                    let m = 1 << qs[0];
                    let r = std::f64::consts::FRAC_1_SQRT_2;
                    for k in 0..psi.len() {
                        if k & m == 0 {
                            let (a, b) = (psi[k], psi[k | m]);
                            if name == "h" {
                                psi[k] = (a + b) * r;
                                psi[k | m] = (a - b) * r;
                            } else {
                                let mi = C::new(0.0, -s);
                                psi[k] = a * c + b * mi;
                                psi[k | m] = a * mi + b * c;
                            }
                        }
                    }
                }
                "rz" => {
                    for (k, amp) in psi.iter_mut().enumerate() {
                        let z = if (k >> qs[0]) & 1 == 0 { 1.0 } else { -1.0 };
                        *amp *= C::new(c, -s * z);
                    }
                }
                "rzz" => {
                    for (k, amp) in psi.iter_mut().enumerate() {
                        let z = if ((k >> qs[0]) ^ (k >> qs[1])) & 1 == 0 {
                            1.0
                        } else {
                            -1.0
                        };
                        *amp *= C::new(c, -s * z);
                    }
                }
                "cx" => {
                    for k in 0..psi.len() {
                        if (k >> qs[0]) & 1 == 1 && (k >> qs[1]) & 1 == 0 {
                            psi.swap(k, k | (1 << qs[1]));
                        }
                    }
                }
                other => panic!("unexpected gate {other}"),
            }
        }
        psi
    }

    fn check(model: Model, angles: Angles) {
        let cost = CostModel::new(&model).unwrap();
        let n = cost.n;
        let mut sim = CpuSimulator::<f64>::new(Arc::new(CostDiagonal::new(&cost).unwrap())).unwrap();
        let want = sim.evaluate(&angles).unwrap().expectation;
        for v in [QasmVersion::V2, QasmVersion::V3] {
            let text = to_qasm(&cost, &angles, v).unwrap();
            let psi = run_text(&text, n);
            let got: f64 = psi
                .iter()
                .enumerate()
                .map(|(k, a)| a.norm_sqr() * cost.energy(k as u64))
                .sum();
            assert!((got - want).abs() < 1e-9, "{v:?}: circuit {got} vs simulator {want}");
            // The expectation depends on the angles: a sign error would not pass here.
            let flipped = Angles::new(angles.gamma.iter().map(|g| -g).collect(), angles.beta.clone()).unwrap();
            let other = sim.evaluate(&flipped).unwrap().expectation;
            assert!((other - want).abs() > 1e-3, "test angles too symmetric");
        }
    }

    #[test]
    fn qubo_with_linear_terms_and_offset_matches_the_simulator() {
        let q = Qubo::from_entries(
            4,
            &[
                (0, 0, -1.0),
                (1, 1, 0.7),
                (3, 3, -0.3),
                (0, 1, 2.0),
                (1, 2, -1.5),
                (0, 3, 0.8),
                (2, 3, 1.1),
            ],
            3.25,
        )
        .unwrap();
        check(Model::Qubo(q), Angles::new(vec![0.4, -0.9], vec![0.3, 0.7]).unwrap());
    }

    #[test]
    fn ising_with_fields_matches_the_simulator() {
        let m = Ising::from_entries(
            3,
            &[(0, 0, 0.5), (2, 2, -1.2), (0, 1, 1.0), (1, 2, -0.6), (0, 2, 0.4)],
            -2.0,
        )
        .unwrap();
        check(Model::Ising(m), Angles::new(vec![0.35], vec![-0.45]).unwrap());
    }

    #[test]
    fn maxcut_is_qiskits_rzz_minus_gamma_cut() {
        // Triangle MaxCut read as E = sum s_u s_v: RZZ(2 gamma) = RZZ(-gamma_cut) per edge.
        let m = Ising::from_entries(3, &[(0, 1, 1.0), (1, 2, 1.0), (0, 2, 1.0)], 0.0).unwrap();
        let cost = CostModel::new(&Model::Ising(m.clone())).unwrap();
        let a = Angles::from_cut_convention(&[0.6155], &[0.39]).unwrap();
        let c = Circuit::new(&cost, &a).unwrap();
        let rzz: Vec<f64> = c
            .gates
            .iter()
            .filter_map(|g| if let Gate::Rzz(_, _, t) = g { Some(*t) } else { None })
            .collect();
        assert_eq!(rzz, vec![-0.6155; 3]);
        assert!(!c.gates.iter().any(|g| matches!(g, Gate::Rz(..))));
        check(Model::Ising(m), Angles::new(vec![-0.31, 0.2], vec![0.39, 0.1]).unwrap());
    }

    #[test]
    fn text_layout() {
        let q = Qubo::from_entries(2, &[(0, 0, 1.0), (0, 1, -2.0)], 0.0).unwrap();
        let cost = CostModel::new(&Model::Qubo(q)).unwrap();
        let a = Angles::new(vec![0.5], vec![0.25]).unwrap();
        let t2 = to_qasm(&cost, &a, QasmVersion::V2).unwrap();
        assert!(t2.starts_with("OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"));
        assert!(t2.contains("qreg q[2];") && t2.contains("measure q[1] -> c[1];"));
        // a_0 = -1/2 + 2/4 = 0: no rz on qubit 0; a_1 = 2/4; b_01 = -2/4.
        assert!(!t2.lines().any(|l| l.starts_with("rz(") && l.ends_with("q[0];")));
        assert!(t2.contains("rz(0.5) q[1];"));
        assert!(t2.contains("rzz(-0.5) q[0],q[1];"));
        assert!(t2.contains("rx(0.5) q[0];"));
        let t3 = to_qasm(&cost, &a, QasmVersion::V3).unwrap();
        assert!(t3.starts_with("OPENQASM 3.0;\ninclude \"stdgates.inc\";\n"));
        assert!(t3.contains("cx q[0], q[1];\nrz(-0.5) q[1];\ncx q[0], q[1];"));
        assert!(t3.ends_with("c = measure q;\n"));
        assert!(
            to_qasm(
                &cost,
                &Angles {
                    gamma: vec![],
                    beta: vec![]
                },
                QasmVersion::V2
            )
            .is_err()
        );
    }
}
