//! Generalized assignment (GAP) instances from the published generators (Chu & Beasley
//! 1997; Laguna et al. 1995), as constrained models.
//!
//! `n` agents (jobs) are each placed in exactly one of `m` pools (one-hot group
//! `assign_j`); pool `i`'s use `sum_j r_ij x_j_i <= b_i` (constraint `cap_i`); minimise
//! `sum c_ij x_j_i`. Variables are named `x_j_i`. All numbers are integers:
//!
//! * type C: `r_ij ~ U{5..25}`, `c_ij ~ U{10..50}`;
//! * type D: `r_ij ~ U{1..100}`, `c_ij = 111 - r_ij + e_ij`, `e_ij ~ U{-10..10}` (cost and
//!   use inversely correlated: the hard type);
//! * type E: `r_ij = round(1 - 10 ln u)`, `c_ij = round(1000 / r_ij - 10 v)`, `u, v ~ U(0, 1]`;
//!
//! and for all three `b_i = floor(0.8 * sum_j r_ij / m)`.

use super::{Cmp, ConstrainedModel, CqmError, Sense};
use crate::rng::Rng;

/// GAP generator type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapType {
    /// Type C (uniform uses and costs).
    C,
    /// Type D (costs inversely correlated with uses).
    D,
    /// Type E (exponential uses, costs inversely proportional).
    E,
}

impl GapType {
    /// Parses `c`, `d` or `e` (case-insensitive).
    pub fn from_name(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "c" => Some(GapType::C),
            "d" => Some(GapType::D),
            "e" => Some(GapType::E),
            _ => None,
        }
    }
}

/// A generated GAP instance: uses `r[j][i]`, costs `c[j][i]`, capacities `b[i]`.
#[derive(Clone, Debug)]
pub struct Gap {
    /// Use of pool `i` by agent `j`: `r[j][i]`.
    pub r: Vec<Vec<f64>>,
    /// Cost of placing agent `j` in pool `i`: `c[j][i]`.
    pub c: Vec<Vec<f64>>,
    /// Capacity of pool `i`.
    pub b: Vec<f64>,
}

/// Generates a GAP instance with `agents` jobs and `pools` pools (both at least 1).
pub fn generate(kind: GapType, agents: usize, pools: usize, seed: u64) -> Result<Gap, CqmError> {
    if agents == 0 || pools == 0 {
        return Err(CqmError::Param {
            name: "agents/pools",
            msg: "must both be at least 1".into(),
        });
    }
    let mut rng = Rng::new(seed);
    let mut uni = |lo: i64, hi: i64| lo + rng.below((hi - lo + 1) as u64) as i64;
    let mut r = vec![vec![0.0; pools]; agents];
    let mut c = vec![vec![0.0; pools]; agents];
    for j in 0..agents {
        for i in 0..pools {
            let (rij, cij) = match kind {
                GapType::C => (uni(5, 25) as f64, uni(10, 50) as f64),
                GapType::D => {
                    let rij = uni(1, 100);
                    (rij as f64, (111 - rij + uni(-10, 10)) as f64)
                }
                GapType::E => (0.0, 0.0),
            };
            r[j][i] = rij;
            c[j][i] = cij;
        }
    }
    if kind == GapType::E {
        let mut rng = Rng::stream(seed, 1);
        for j in 0..agents {
            for i in 0..pools {
                let u = 1.0 - rng.next_f64();
                let v = 1.0 - rng.next_f64();
                let rij = (1.0 - 10.0 * u.ln()).round();
                r[j][i] = rij;
                c[j][i] = (1000.0 / rij - 10.0 * v).round();
            }
        }
    }
    let b = (0..pools)
        .map(|i| (0.8 * (0..agents).map(|j| r[j][i]).sum::<f64>() / pools as f64).floor())
        .collect();
    Ok(Gap { r, c, b })
}

impl Gap {
    /// The instance as a constrained model (see the [module docs](self)).
    pub fn to_model(&self) -> ConstrainedModel {
        let n = self.r.len();
        let mut cm = ConstrainedModel::new(Sense::Minimize);
        let mut var = vec![vec![0usize; self.b.len()]; n];
        for (j, row) in var.iter_mut().enumerate() {
            for (i, v) in row.iter_mut().enumerate() {
                *v = cm.add_variable(&format!("x_{j}_{i}")).expect("fresh names");
                cm.add_linear(*v, self.c[j][i]);
            }
        }
        for (j, row) in var.iter().enumerate() {
            cm.add_one_hot(&format!("assign_{j}"), row).expect("fresh group");
        }
        for (i, &cap) in self.b.iter().enumerate() {
            let terms = (0..n).map(|j| (var[j][i], self.r[j][i])).collect();
            cm.add_constraint(&format!("cap_{i}"), terms, Cmp::Le, cap)
                .expect("fresh constraint");
        }
        cm
    }
}
