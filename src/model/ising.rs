//! Ising spin-glass model.

use super::{Couplings, ModelError, Qubo};

/// An Ising model: minimise `H(s) = sum_i h_i s_i + sum_{i<j} J_ij s_i s_j + offset`
/// over `s in {-1,+1}^n`.
#[derive(Clone, Debug, PartialEq)]
pub struct Ising {
    h: Vec<f64>,
    j: Couplings,
    offset: f64,
}

impl Ising {
    /// Builds an Ising model from fields `h`, couplings `J` and an offset.
    pub fn new(h: Vec<f64>, j: Couplings, offset: f64) -> Result<Self, ModelError> {
        super::check_parts(&h, &j, offset)?;
        Ok(Ising { h, j, offset })
    }

    /// Builds an Ising model over `n` spins from `(i, j, w)` entries: `i == j` entries are
    /// fields `h_i`, others couplings `J_ij` (either order; repeated entries add up).
    pub fn from_entries(n: usize, entries: &[(u32, u32, f64)], offset: f64) -> Result<Self, ModelError> {
        let (h, j) = super::split_entries(n, entries)?;
        Ising::new(h, j, offset)
    }

    /// Builds from parts known to be consistent (conversions), skipping the magnitude
    /// limit (see [`super::MAX_TOTAL_MAGNITUDE`]).
    pub(super) fn from_parts(h: Vec<f64>, j: Couplings, offset: f64) -> Self {
        debug_assert!(h.len() == j.num_variables());
        debug_assert!(h.iter().all(|v| v.is_finite()) && offset.is_finite());
        Ising { h, j, offset }
    }

    /// Number of spins.
    pub fn num_variables(&self) -> usize {
        self.h.len()
    }

    /// Local fields `h`.
    pub fn h(&self) -> &[f64] {
        &self.h
    }

    /// Couplings `J`.
    pub fn j(&self) -> &Couplings {
        &self.j
    }

    /// Constant term.
    pub fn offset(&self) -> f64 {
        self.offset
    }

    /// Energy `H(s)` of a ±1 state (the offset is added last, so a large offset does not
    /// round the variable part away).
    pub fn energy(&self, s: &[i8]) -> f64 {
        self.offset + self.energy_without_offset(s)
    }

    /// Energy of a ±1 state without the constant term:
    /// `sum h_i s_i + sum_{i<j} J_ij s_i s_j`.
    pub fn energy_without_offset(&self, s: &[i8]) -> f64 {
        debug_assert_eq!(s.len(), self.num_variables());
        let mut e = 0.0;
        for (i, &si) in s.iter().enumerate() {
            let si = si as f64;
            e += self.h[i] * si;
            let (c, v) = self.j.row(i);
            let start = c.partition_point(|&j| (j as usize) <= i);
            let mut acc = 0.0;
            for (&j, &w) in c[start..].iter().zip(&v[start..]) {
                acc += w * s[j as usize] as f64;
            }
            e += si * acc;
        }
        e
    }

    /// The same model with offset 0.
    pub fn without_offset(&self) -> Ising {
        Ising::from_parts(self.h.clone(), self.j.clone(), 0.0)
    }

    /// Largest possible `|H(s) - offset|`: `sum |h_i| + sum_{i<j} |J_ij|`, the scale from
    /// which tie tolerances are derived (never from the offset).
    pub fn energy_scale(&self) -> f64 {
        self.h.iter().map(|v| v.abs()).sum::<f64>() + self.j.csr().2.iter().map(|v| v.abs()).sum::<f64>() / 2.0
    }

    /// Local field `h_i + sum_j J_ij s_j` acting on spin `i`.
    #[inline]
    pub fn local_field(&self, s: &[i8], i: usize) -> f64 {
        let (c, v) = self.j.row(i);
        let mut f = self.h[i];
        for (&j, &w) in c.iter().zip(v) {
            f += w * s[j as usize] as f64;
        }
        f
    }

    /// Energy change `-2 s_i (h_i + sum_j J_ij s_j)` caused by flipping spin `i`.
    pub fn flip_delta(&self, s: &[i8], i: usize) -> f64 {
        -2.0 * s[i] as f64 * self.local_field(s, i)
    }

    /// The equivalent QUBO under `s = 2x - 1`, so that `self.energy(s) == qubo.energy(x)`.
    ///
    /// `a_i = 2 h_i - 2 sum_j J_ij`, `Q_ij = 4 J_ij`, `offset' = offset - sum h + sum_{i<j} J_ij`.
    pub fn to_qubo(&self) -> Qubo {
        let linear: Vec<f64> = (0..self.num_variables())
            .map(|i| 2.0 * self.h[i] - 2.0 * self.j.row_sum(i))
            .collect();
        let mut offset = self.offset - self.h.iter().sum::<f64>();
        for (_, _, w) in self.j.iter_upper() {
            offset += w;
        }
        // A valid Ising model (total magnitude within MAX_TOTAL_MAGNITUDE) gives finite
        // values here; the QUBO's total may be up to 6.5 times larger, so it is not
        // re-checked against the limit.
        Qubo::from_parts(linear, self.j.map_weights(|w| 4.0 * w), offset)
    }
}
