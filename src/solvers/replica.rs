//! One Ising replica with cached local fields and its Metropolis sweep, shared by the CPU
//! tempering ([`pt`](super::pt)) and population ([`pa`](super::pa)) solvers.
//!
//! The local field `f_i = h_i + sum_j J_ij s_j` of every spin is kept up to date, so a flip
//! attempt costs O(1) and an accepted flip O(degree). The energy is tracked incrementally
//! (`E = offset + 1/2 sum_i s_i (h_i + f_i)`), which is exact for integer weights; callers
//! that report an energy recompute it from the state.

use super::sa::{SIDEWAYS_P, sideways_or_exp};
use crate::model::Ising;
use crate::rng::Rng;

/// neal's cut-off: moves with `β ΔE` above this are never accepted (p < 2^-64).
const MAX_BETA_DELTA: f64 = 44.361_419_555_836_5;

/// A spin state with its cached local fields and energy.
#[derive(Clone, Debug, PartialEq)]
pub struct Replica {
    /// ±1 spins.
    pub spins: Vec<i8>,
    /// `h_i + sum_j J_ij s_j` for every spin.
    pub field: Vec<f64>,
    /// Energy of `spins`, tracked incrementally (exact for integer weights).
    pub energy: f64,
}

impl Replica {
    /// A replica in state `spins` (±1) of `ising`, fields and energy computed from scratch.
    pub fn new(ising: &Ising, spins: Vec<i8>) -> Self {
        let field: Vec<f64> = (0..spins.len()).map(|i| ising.local_field(&spins, i)).collect();
        let energy = ising.energy(&spins);
        Replica { spins, field, energy }
    }

    /// One sequential Metropolis sweep at inverse temperature `beta`; returns the number of
    /// accepted flips.
    pub fn sweep(&mut self, ising: &Ising, beta: f64, rng: &mut Rng) -> usize {
        let (row_ptr, cols, vals) = ising.j().csr();
        let n = self.spins.len();
        assert!(self.field.len() == n && row_ptr.len() == n + 1 && row_ptr[n] <= cols.len().min(vals.len()));
        let limit = if beta > 0.0 {
            MAX_BETA_DELTA / beta
        } else {
            f64::INFINITY
        };
        let spins = &mut self.spins[..];
        let field = &mut self.field[..];
        let mut accepted = 0;
        let mut de_sum = 0.0;
        for i in 0..n {
            let s = spins[i] as f64;
            let de = -2.0 * s * field[i];
            let accept = de < 0.0 || (de < limit && rng.next_f64() < sideways_or_exp(beta, de));
            if accept {
                accepted += 1;
                de_sum += de;
                spins[i] = -spins[i];
                let step = -2.0 * s;
                for k in row_ptr[i]..row_ptr[i + 1] {
                    // SAFETY: k < row_ptr[n] <= len of cols and vals (asserted above), and
                    // every column of `Couplings` is < n == field.len().
                    unsafe {
                        let j = *cols.get_unchecked(k) as usize;
                        *field.get_unchecked_mut(j) += vals.get_unchecked(k) * step;
                    }
                }
            }
        }
        self.energy += de_sum;
        accepted
    }

    /// Like [`sweep`](Self::sweep) but with a precomputed acceptance table (see
    /// [`IntegerAcceptance`]): no `exp` and no float random number per attempt.
    pub fn sweep_table(&mut self, ising: &Ising, acc: &IntegerAcceptance, thresholds: &[u64], rng: &mut Rng) -> usize {
        let (row_ptr, cols, vals) = ising.j().csr();
        let n = self.spins.len();
        assert!(
            self.field.len() == n
                && row_ptr.len() == n + 1
                && row_ptr[n] <= cols.len().min(vals.len())
                && thresholds.len() == acc.max_units + 1
        );
        let spins = &mut self.spins[..];
        let field = &mut self.field[..];
        let mut accepted = 0;
        let mut de_sum = 0.0;
        for i in 0..n {
            let s = spins[i] as f64;
            // Uphill amount m = -s f; the move costs ΔE = 2 m.
            let m = -s * field[i];
            let accept = m < 0.0 || {
                // m * scale is an integer in 1..=max_units (fields are exact multiples of
                // 1/scale and bounded by the largest sum of |bias|).
                let k = ((m * acc.scale) as usize).min(acc.max_units);
                let t = thresholds[k];
                t != 0 && rng.next_u64() < t
            };
            if accept {
                accepted += 1;
                de_sum += 2.0 * m;
                spins[i] = -spins[i];
                let step = -2.0 * s;
                for k in row_ptr[i]..row_ptr[i + 1] {
                    // SAFETY: as in `sweep`.
                    unsafe {
                        let j = *cols.get_unchecked(k) as usize;
                        *field.get_unchecked_mut(j) += vals.get_unchecked(k) * step;
                    }
                }
            }
        }
        self.energy += de_sum;
        accepted
    }
}

/// Acceptance by table lookup for models whose biases are all multiples of `1 / scale`
/// (integer or dyadic weights, e.g. G-set and OR-Library problems): a local field is then
/// `k / scale` with `|k| <= max_units`, so `P(accept) = exp(-2 β k / scale)` takes at most
/// `max_units + 1` values, stored as thresholds on a 64-bit random integer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IntegerAcceptance {
    /// Every bias times `scale` is an integer.
    pub scale: f64,
    /// Largest `scale * (|h_i| + sum_j |J_ij|)`.
    pub max_units: usize,
}

impl IntegerAcceptance {
    /// The table layout for `ising`, or `None` when its biases are not multiples of 1,
    /// 1/2, ..., 1/16 or a table would exceed 65,536 entries.
    pub fn detect(ising: &Ising) -> Option<Self> {
        let n = ising.num_variables();
        let max_field = (0..n)
            .map(|i| ising.h()[i].abs() + ising.j().row(i).1.iter().map(|w| w.abs()).sum::<f64>())
            .fold(0.0, f64::max);
        [1.0, 2.0, 4.0, 8.0, 16.0].into_iter().find_map(|scale: f64| {
            let integral = |x: f64| (x * scale).fract() == 0.0;
            let units = max_field * scale;
            let ok = units <= 65_535.0
                && ising.h().iter().all(|&x| integral(x))
                && (0..n).all(|i| ising.j().row(i).1.iter().all(|&w| integral(w)));
            ok.then_some(IntegerAcceptance {
                scale,
                max_units: units as usize,
            })
        })
    }

    /// Thresholds at inverse temperature `beta`: entry `k` is `P(accept) * 2^64` for an
    /// uphill field of `k / scale` (0 when below 2^-64; entry 0, a sideways move, is
    /// [`SIDEWAYS_P`] when `beta > 0`, see [`sideways_or_exp`]).
    pub fn thresholds(&self, beta: f64) -> Vec<u64> {
        (0..=self.max_units)
            .map(|k| {
                let p = if k == 0 && beta > 0.0 {
                    SIDEWAYS_P
                } else {
                    (-2.0 * beta * k as f64 / self.scale).exp()
                };
                if p >= 1.0 {
                    u64::MAX
                } else {
                    (p * 18_446_744_073_709_551_616.0) as u64
                }
            })
            .collect()
    }
}

/// `n` geometrically spaced β values from `hot` to `cold` (both included; one value gives
/// `cold`).
pub fn geometric_ladder(hot: f64, cold: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![cold],
        _ => {
            let r = (cold / hot).ln();
            (0..n)
                .map(|k| {
                    if k == n - 1 {
                        cold
                    } else {
                        hot * (r * k as f64 / (n - 1) as f64).exp()
                    }
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_keeps_fields_and_energy_exact() {
        let ising = Ising::from_entries(
            6,
            &[
                (0, 1, 1.0),
                (1, 2, -2.0),
                (2, 3, 1.0),
                (3, 4, 3.0),
                (0, 4, -1.0),
                (4, 5, 1.0),
                (2, 2, 1.0),
                (5, 5, -2.0),
            ],
            0.5,
        )
        .unwrap();
        let mut rng = Rng::new(9);
        let mut r = Replica::new(&ising, rng.spins(6));
        let mut flips = 0;
        for k in 0..200 {
            flips += r.sweep(&ising, 0.05 * k as f64, &mut rng);
            let fresh = Replica::new(&ising, r.spins.clone());
            assert_eq!(fresh.field, r.field);
            assert_eq!(fresh.energy, r.energy);
        }
        assert!(flips > 0);
    }

    #[test]
    fn table_sweep_keeps_fields_exact() {
        let ising = Ising::from_entries(
            5,
            &[
                (0, 1, 1.0),
                (1, 2, -2.0),
                (2, 3, 0.5),
                (3, 4, 1.0),
                (0, 4, -1.5),
                (2, 2, 0.25),
            ],
            0.0,
        )
        .unwrap();
        let acc = IntegerAcceptance::detect(&ising).unwrap();
        assert_eq!(acc.scale, 4.0);
        let thr = acc.thresholds(0.7);
        // a sideways move (k = 0) is taken with probability SIDEWAYS_P, uphill ones by exp
        assert_eq!(thr[0], u64::MAX - (u64::MAX >> 4));
        assert!(thr.windows(2).all(|w| w[0] >= w[1]));
        for (k, &t) in thr.iter().enumerate() {
            let p = if k == 0 {
                crate::solvers::sa::SIDEWAYS_P
            } else {
                (-2.0 * 0.7 * k as f64 / 4.0).exp()
            };
            assert!((t as f64 / 2f64.powi(64) - p).abs() < 1e-12, "k = {k}");
        }
        let mut rng = Rng::new(2);
        let mut r = Replica::new(&ising, rng.spins(5));
        for _ in 0..100 {
            r.sweep_table(&ising, &acc, &thr, &mut rng);
            let fresh = Replica::new(&ising, r.spins.clone());
            assert_eq!(fresh.field, r.field);
            assert_eq!(fresh.energy, r.energy);
        }
        let frac = Ising::from_entries(2, &[(0, 1, 0.1)], 0.0).unwrap();
        assert!(IntegerAcceptance::detect(&frac).is_none());
    }

    #[test]
    fn ladder_ends() {
        let l = geometric_ladder(0.1, 10.0, 3);
        assert!((l[0] - 0.1).abs() < 1e-15 && (l[1] - 1.0).abs() < 1e-12 && l[2] == 10.0);
        assert_eq!(geometric_ladder(0.1, 10.0, 1), vec![10.0]);
    }
}
