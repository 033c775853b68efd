//! Quadratic unconstrained binary optimisation model.

use super::{Couplings, Ising, ModelError};

/// A QUBO: minimise `E(x) = x^T Q x + offset` over `x in {0,1}^n`.
///
/// `Q` is upper triangular. Its diagonal is kept as a dense `linear` vector (since
/// `x_i^2 = x_i`) and the strictly upper part as sparse symmetric [`Couplings`], so that
/// `E(x) = sum_i linear[i] x_i + sum_{i<j} Q_ij x_i x_j + offset`.
#[derive(Clone, Debug, PartialEq)]
pub struct Qubo {
    linear: Vec<f64>,
    quadratic: Couplings,
    offset: f64,
}

impl Qubo {
    /// Builds a QUBO from its diagonal, its off-diagonal couplings and an offset.
    pub fn new(linear: Vec<f64>, quadratic: Couplings, offset: f64) -> Result<Self, ModelError> {
        super::check_parts(&linear, &quadratic, offset)?;
        Ok(Qubo {
            linear,
            quadratic,
            offset,
        })
    }

    /// Builds a QUBO over `n` variables from `(i, j, q)` entries of `Q`; `i == j` entries
    /// are linear terms, others are couplings (either order; repeated entries add up).
    pub fn from_entries(n: usize, entries: &[(u32, u32, f64)], offset: f64) -> Result<Self, ModelError> {
        let (linear, quadratic) = super::split_entries(n, entries)?;
        Qubo::new(linear, quadratic, offset)
    }

    /// Builds from parts known to be consistent (conversions), skipping the magnitude
    /// limit, which a converted model may exceed (see [`super::MAX_TOTAL_MAGNITUDE`]).
    pub(super) fn from_parts(linear: Vec<f64>, quadratic: Couplings, offset: f64) -> Self {
        debug_assert!(linear.len() == quadratic.num_variables());
        debug_assert!(linear.iter().all(|v| v.is_finite()) && offset.is_finite());
        Qubo {
            linear,
            quadratic,
            offset,
        }
    }

    /// Number of variables.
    pub fn num_variables(&self) -> usize {
        self.linear.len()
    }

    /// Diagonal of `Q` (linear terms).
    pub fn linear(&self) -> &[f64] {
        &self.linear
    }

    /// Off-diagonal part of `Q`.
    pub fn quadratic(&self) -> &Couplings {
        &self.quadratic
    }

    /// Constant term.
    pub fn offset(&self) -> f64 {
        self.offset
    }

    /// Energy `x^T Q x + offset` of a 0/1 state (the offset is added last, so a large
    /// offset does not round the variable part away).
    pub fn energy(&self, x: &[i8]) -> f64 {
        self.offset + self.energy_without_offset(x)
    }

    /// Energy of a 0/1 state without the constant term: `x^T Q x`. Solvers rank states
    /// by this value, so that a large offset cannot hide energy differences.
    pub fn energy_without_offset(&self, x: &[i8]) -> f64 {
        debug_assert_eq!(x.len(), self.num_variables());
        let mut e = 0.0;
        for (i, &xi) in x.iter().enumerate() {
            if xi != 0 {
                e += self.linear[i];
                let (c, v) = self.quadratic.row(i);
                let start = c.partition_point(|&j| (j as usize) <= i);
                for (&j, &w) in c[start..].iter().zip(&v[start..]) {
                    if x[j as usize] != 0 {
                        e += w;
                    }
                }
            }
        }
        e
    }

    /// Energy change caused by flipping variable `i` in state `x`.
    pub fn flip_delta(&self, x: &[i8], i: usize) -> f64 {
        let (c, v) = self.quadratic.row(i);
        let mut field = self.linear[i];
        for (&j, &w) in c.iter().zip(v) {
            if x[j as usize] != 0 {
                field += w;
            }
        }
        if x[i] != 0 { -field } else { field }
    }

    /// The same QUBO with offset 0.
    pub fn without_offset(&self) -> Qubo {
        Qubo::from_parts(self.linear.clone(), self.quadratic.clone(), 0.0)
    }

    /// The equivalent Ising model under `x = (1 + s) / 2`, so that
    /// `self.energy(x) == ising.energy(s)` for every state.
    ///
    /// `h_i = a_i/2 + sum_j Q_ij/4`, `J_ij = Q_ij/4`,
    /// `offset' = offset + sum_i a_i/2 + sum_{i<j} Q_ij/4`.
    pub fn to_ising(&self) -> Ising {
        let n = self.num_variables();
        let mut h: Vec<f64> = self.linear.iter().map(|a| a / 2.0).collect();
        let mut offset = self.offset + self.linear.iter().sum::<f64>() / 2.0;
        for (i, hi) in h.iter_mut().enumerate().take(n) {
            *hi += self.quadratic.row_sum(i) / 4.0;
        }
        for (_, _, w) in self.quadratic.iter_upper() {
            offset += w / 4.0;
        }
        let j = self.quadratic.map_weights(|w| w / 4.0);
        // A valid QUBO (total magnitude within MAX_TOTAL_MAGNITUDE) gives finite values
        // here, and the Ising's total magnitude is at most the QUBO's.
        Ising::from_parts(h, j, offset)
    }
}
