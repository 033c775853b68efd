//! Models: [`Qubo`] and [`Ising`] over sparse symmetric [`Couplings`], the [`Model`] that
//! holds either, and the [`SampleSet`] that solvers return.
//!
//! Conventions (the same as dimod's):
//! - QUBO minimises `E(x) = x^T Q x + offset`, `x in {0,1}^n`, `Q` upper triangular.
//! - Ising minimises `H(s) = sum h_i s_i + sum_{i<j} J_ij s_i s_j + offset`, `s in {-1,+1}^n`.
//! - The two are linked by `s = 2x - 1` (`x = 1` is spin `+1`); conversions are exact,
//!   offsets included.
//! - States are `i8` slices holding 0/1 (binary) or -1/+1 (spin).

mod couplings;
pub mod dimod_json;
mod ising;
mod qubo;
mod sampleset;

pub use couplings::Couplings;
pub use ising::Ising;
pub use qubo::Qubo;
pub use sampleset::{Sample, SampleSet, SolveInfo, StopReason, Timing};

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Errors building or using a model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A variable index is not below the number of variables.
    #[error("variable index {index} out of range for {n} variables")]
    IndexOutOfRange {
        /// The offending index (0-based).
        index: usize,
        /// Number of variables.
        n: usize,
    },
    /// A coupling of a variable with itself was given where only pairs are allowed.
    #[error("coupling of variable {0} with itself")]
    SelfCoupling(usize),
    /// The same pair was listed twice where each pair may appear once.
    #[error("coupling between variables {0} and {1} listed more than once")]
    DuplicateCoupling(usize, usize),
    /// A weight, field or offset is NaN or infinite.
    #[error("non-finite value: {0}")]
    NonFinite(String),
    /// The coefficients are so large that energies or QUBO/Ising conversions could
    /// overflow: the sum of their magnitudes exceeds [`MAX_TOTAL_MAGNITUDE`].
    #[error(
        "coefficients too large: their magnitudes sum to {0:e}, above the limit of {MAX_TOTAL_MAGNITUDE:e} \
         (energies and QUBO/Ising conversions would overflow)"
    )]
    TooLarge(f64),
    /// More variables than the 32-bit indices can address.
    #[error("{0} variables exceed the limit of 2^32 - 1")]
    TooManyVariables(usize),
    /// Linear terms and couplings disagree on the number of variables.
    #[error("linear terms cover {linear} variables but couplings cover {couplings}")]
    SizeMismatch {
        /// Length of the linear vector.
        linear: usize,
        /// Rows of the coupling matrix.
        couplings: usize,
    },
    /// A state has the wrong length or a value outside the vartype's domain.
    #[error("invalid state: {0}")]
    InvalidState(String),
}

/// Variable domain: binary `{0, 1}` or spin `{-1, +1}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Vartype {
    /// `x in {0, 1}` (QUBO).
    #[serde(rename = "BINARY")]
    Binary,
    /// `s in {-1, +1}` (Ising).
    #[serde(rename = "SPIN")]
    Spin,
}

impl Vartype {
    /// The name used in files and JSON (`BINARY` / `SPIN`).
    pub fn as_str(self) -> &'static str {
        match self {
            Vartype::Binary => "BINARY",
            Vartype::Spin => "SPIN",
        }
    }
}

/// A model in either vartype. Solvers accept any `Model` and answer in its vartype.
#[derive(Clone, Debug, PartialEq)]
pub enum Model {
    /// Binary model.
    Qubo(Qubo),
    /// Spin model.
    Ising(Ising),
}

impl Model {
    /// Vartype of the states this model takes.
    pub fn vartype(&self) -> Vartype {
        match self {
            Model::Qubo(_) => Vartype::Binary,
            Model::Ising(_) => Vartype::Spin,
        }
    }

    /// Number of variables.
    pub fn num_variables(&self) -> usize {
        match self {
            Model::Qubo(q) => q.num_variables(),
            Model::Ising(i) => i.num_variables(),
        }
    }

    /// Number of couplings (unordered pairs with a non-zero weight).
    pub fn num_interactions(&self) -> usize {
        self.couplings().num_interactions()
    }

    /// The off-diagonal part (`Q` or `J`).
    pub fn couplings(&self) -> &Couplings {
        match self {
            Model::Qubo(q) => q.quadratic(),
            Model::Ising(i) => i.j(),
        }
    }

    /// The diagonal part (`Q_ii` or `h`).
    pub fn linear(&self) -> &[f64] {
        match self {
            Model::Qubo(q) => q.linear(),
            Model::Ising(i) => i.h(),
        }
    }

    /// Constant term.
    pub fn offset(&self) -> f64 {
        match self {
            Model::Qubo(q) => q.offset(),
            Model::Ising(i) => i.offset(),
        }
    }

    /// Energy of a state given in this model's vartype.
    pub fn energy(&self, state: &[i8]) -> f64 {
        match self {
            Model::Qubo(q) => q.energy(state),
            Model::Ising(i) => i.energy(state),
        }
    }

    /// Energy of a state without the constant term (the value solvers rank states by; see
    /// [`Model::offset`]). `energy(s) == offset() + energy_without_offset(s)`.
    pub fn energy_without_offset(&self, state: &[i8]) -> f64 {
        match self {
            Model::Qubo(q) => q.energy_without_offset(state),
            Model::Ising(i) => i.energy_without_offset(state),
        }
    }

    /// The same model with offset 0 (borrowed when the offset already is 0). Solvers search
    /// this model, so that a large offset cannot round energy differences away, and add the
    /// offset back to the energies they report.
    pub fn without_offset(&self) -> Cow<'_, Model> {
        if self.offset() == 0.0 {
            return Cow::Borrowed(self);
        }
        Cow::Owned(match self {
            Model::Qubo(q) => Model::Qubo(q.without_offset()),
            Model::Ising(i) => Model::Ising(i.without_offset()),
        })
    }

    /// Largest possible `|E(state) - offset|`: `sum |linear| + sum_{i<j} |coupling|` (in the
    /// model's own vartype). Tie tolerances are relative to this scale, never to the offset.
    pub fn energy_scale(&self) -> f64 {
        self.linear().iter().map(|v| v.abs()).sum::<f64>()
            + self.couplings().csr().2.iter().map(|v| v.abs()).sum::<f64>() / 2.0
    }

    /// Energy change caused by flipping variable `i` of `state` (this model's vartype).
    pub fn flip_delta(&self, state: &[i8], i: usize) -> f64 {
        match self {
            Model::Qubo(q) => q.flip_delta(state, i),
            Model::Ising(m) => m.flip_delta(state, i),
        }
    }

    /// The model as Ising (borrowed when it already is one).
    pub fn to_ising(&self) -> Cow<'_, Ising> {
        match self {
            Model::Qubo(q) => Cow::Owned(q.to_ising()),
            Model::Ising(i) => Cow::Borrowed(i),
        }
    }

    /// The model as QUBO (borrowed when it already is one).
    pub fn to_qubo(&self) -> Cow<'_, Qubo> {
        match self {
            Model::Qubo(q) => Cow::Borrowed(q),
            Model::Ising(i) => Cow::Owned(i.to_qubo()),
        }
    }

    /// Checks that `state` has this model's length and vartype domain.
    pub fn check_state(&self, state: &[i8]) -> Result<(), ModelError> {
        check_state(state, self.num_variables(), self.vartype())
    }

    /// The disjoint union of `parts` (all of one vartype) as one block-diagonal model, and
    /// the index of each part's first variable in it: the union's energy of a state is the
    /// sum of the parts' energies of its slices. Used to anneal many small models in one
    /// GPU run. Errors when the vartypes differ.
    pub fn block_diagonal(parts: &[&Model]) -> Result<(Model, Vec<usize>), ModelError> {
        let vartype = parts.first().map_or(Vartype::Spin, |m| m.vartype());
        let mut offsets = Vec::with_capacity(parts.len());
        let mut linear = Vec::new();
        let mut triplets = Vec::new();
        let mut offset = 0.0;
        for part in parts {
            if part.vartype() != vartype {
                return Err(ModelError::InvalidState(
                    "block_diagonal: parts mix BINARY and SPIN models".into(),
                ));
            }
            let off = linear.len();
            offsets.push(off);
            linear.extend_from_slice(part.linear());
            offset += part.offset();
            triplets.extend(
                part.couplings()
                    .iter_upper()
                    .map(|(i, j, w)| ((i + off) as u32, (j + off) as u32, w)),
            );
        }
        let quad = Couplings::from_triplets(linear.len(), triplets)?;
        Ok((
            match vartype {
                Vartype::Binary => Model::Qubo(Qubo::new(linear, quad, offset)?),
                Vartype::Spin => Model::Ising(Ising::new(linear, quad, offset)?),
            },
            offsets,
        ))
    }

    /// Bytes held by the model's arrays.
    pub fn heap_bytes(&self) -> usize {
        self.couplings().heap_bytes() + self.linear().len() * 8
    }
}

/// Checks that `state` has length `n` and values in the domain of `vartype`.
pub fn check_state(state: &[i8], n: usize, vartype: Vartype) -> Result<(), ModelError> {
    if state.len() != n {
        return Err(ModelError::InvalidState(format!(
            "length {} but the model has {n} variables",
            state.len()
        )));
    }
    let ok = |v: i8| match vartype {
        Vartype::Binary => v == 0 || v == 1,
        Vartype::Spin => v == -1 || v == 1,
    };
    if let Some(p) = state.iter().position(|&v| !ok(v)) {
        return Err(ModelError::InvalidState(format!(
            "value {} at variable {p} is not {}",
            state[p],
            match vartype {
                Vartype::Binary => "0 or 1",
                Vartype::Spin => "-1 or +1",
            }
        )));
    }
    Ok(())
}

/// Converts a 0/1 state to ±1 (`s = 2x - 1`).
pub fn binary_to_spin(x: &[i8]) -> Vec<i8> {
    x.iter().map(|&v| 2 * v - 1).collect()
}

/// Converts a ±1 state to 0/1 (`x = (s + 1) / 2`).
pub fn spin_to_binary(s: &[i8]) -> Vec<i8> {
    s.iter().map(|&v| (v + 1) / 2).collect()
}

/// Converts a spin state to the given vartype.
pub fn spins_as(vartype: Vartype, s: &[i8]) -> Vec<i8> {
    match vartype {
        Vartype::Spin => s.to_vec(),
        Vartype::Binary => spin_to_binary(s),
    }
}

/// Converts a state in the given vartype to spins.
pub fn to_spins(vartype: Vartype, state: &[i8]) -> Vec<i8> {
    match vartype {
        Vartype::Spin => state.to_vec(),
        Vartype::Binary => binary_to_spin(state),
    }
}

/// Largest allowed `|offset| + sum_i |linear_i| + sum_i sum_{j != i} |coupling_ij|` of a
/// model built with `Qubo::new` / `Ising::new` (`f64::MAX / 16`). Below it every energy,
/// flip delta and QUBO <-> Ising conversion (which grows the sum at most 6.5-fold) stays
/// finite, so no computation on a valid model can overflow to infinity or NaN.
pub const MAX_TOTAL_MAGNITUDE: f64 = f64::MAX / 16.0;

fn check_parts(linear: &[f64], quad: &Couplings, offset: f64) -> Result<(), ModelError> {
    if linear.len() != quad.num_variables() {
        return Err(ModelError::SizeMismatch {
            linear: linear.len(),
            couplings: quad.num_variables(),
        });
    }
    if let Some(i) = linear.iter().position(|v| !v.is_finite()) {
        return Err(ModelError::NonFinite(format!("linear term {i} = {}", linear[i])));
    }
    if !offset.is_finite() {
        return Err(ModelError::NonFinite(format!("offset = {offset}")));
    }
    let total =
        offset.abs() + linear.iter().map(|v| v.abs()).sum::<f64>() + quad.csr().2.iter().map(|v| v.abs()).sum::<f64>();
    // Sums of finite magnitudes are finite or +inf, never NaN.
    if total > MAX_TOTAL_MAGNITUDE {
        return Err(ModelError::TooLarge(total));
    }
    Ok(())
}

/// Splits `(i, j, w)` entries into a dense diagonal and sparse couplings.
fn split_entries(n: usize, entries: &[(u32, u32, f64)]) -> Result<(Vec<f64>, Couplings), ModelError> {
    let mut linear = vec![0.0; n];
    let mut pairs = Vec::with_capacity(entries.len());
    for &(i, j, w) in entries {
        if i == j {
            if i as usize >= n {
                return Err(ModelError::IndexOutOfRange { index: i as usize, n });
            }
            if !w.is_finite() {
                return Err(ModelError::NonFinite(format!("linear term {i} = {w}")));
            }
            linear[i as usize] += w;
        } else {
            pairs.push((i, j, w));
        }
    }
    Ok((linear, Couplings::from_triplets(n, pairs)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_qubo() -> Qubo {
        Qubo::from_entries(
            4,
            &[
                (0, 0, -1.0),
                (1, 1, 2.0),
                (0, 1, 3.0),
                (1, 2, -4.0),
                (2, 3, 1.5),
                (3, 3, -0.5),
            ],
            0.25,
        )
        .unwrap()
    }

    #[test]
    fn energies_agree_across_conversion() {
        let q = sample_qubo();
        let ising = q.to_ising();
        let back = ising.to_qubo();
        for k in 0..16u32 {
            let x: Vec<i8> = (0..4).map(|b| ((k >> b) & 1) as i8).collect();
            let s = binary_to_spin(&x);
            let e = q.energy(&x);
            assert!((e - ising.energy(&s)).abs() < 1e-12);
            assert!((e - back.energy(&x)).abs() < 1e-12);
        }
    }

    #[test]
    fn flip_delta_matches_energy_difference() {
        let q = sample_qubo();
        let ising = q.to_ising();
        for k in 0..16u32 {
            let x: Vec<i8> = (0..4).map(|b| ((k >> b) & 1) as i8).collect();
            let s = binary_to_spin(&x);
            for i in 0..4 {
                let mut y = x.clone();
                y[i] = 1 - y[i];
                assert!((q.energy(&y) - q.energy(&x) - q.flip_delta(&x, i)).abs() < 1e-12);
                let mut t = s.clone();
                t[i] = -t[i];
                assert!((ising.energy(&t) - ising.energy(&s) - ising.flip_delta(&s, i)).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn energy_by_hand() {
        let q = sample_qubo();
        // x = 1,1,1,0: -1 + 2 + 3 - 4 + 0.25
        assert_eq!(q.energy(&[1, 1, 1, 0]), 0.25);
    }

    #[test]
    fn block_diagonal_energy_is_the_sum_of_the_parts() {
        let a = Model::Qubo(sample_qubo());
        let b = Model::Qubo(Qubo::from_entries(2, &[(0, 1, -2.0), (1, 1, 1.0)], 3.0).unwrap());
        let (u, off) = Model::block_diagonal(&[&a, &b, &a]).unwrap();
        assert_eq!(off, vec![0, 4, 6]);
        let x: Vec<i8> = vec![1, 0, 1, 1, 1, 1, 0, 1, 1, 0];
        let want = a.energy(&x[0..4]) + b.energy(&x[4..6]) + a.energy(&x[6..10]);
        assert!((u.energy(&x) - want).abs() < 1e-12);
        let s = Model::Ising(sample_qubo().to_ising());
        assert!(Model::block_diagonal(&[&a, &s]).is_err());
    }

    #[test]
    fn state_checks() {
        let m = Model::Qubo(sample_qubo());
        assert!(m.check_state(&[0, 1, 0, 1]).is_ok());
        assert!(m.check_state(&[0, 1, 0]).is_err());
        assert!(m.check_state(&[0, 1, -1, 1]).is_err());
    }
}
