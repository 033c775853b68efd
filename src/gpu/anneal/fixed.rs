//! The fixed-point form of an Ising model that the annealing kernels use.
//!
//! Fields and couplings are 32-bit integers `round(value * scale)` with `scale = 2^k`
//! chosen so that every local field satisfies `|f_i| <= 2^28` (`k` as large as that
//! allows). Integer sums are exact and independent of the order of atomic updates, which
//! makes GPU runs reproducible; integer-weight problems (G-set, OR-Library) are represented
//! exactly. Other weights are rounded to `1 / scale`, a relative error of about `2^-28`
//! of the largest field (far finer than f32). Reported energies are always recomputed on
//! the CPU in f64 from the returned states.

use crate::model::Ising;

/// Largest allowed `|h_i| + sum_j |J_ij|` in fixed-point units (so that `2 * field + bit`
/// and the field changes `4 J` fit in an i32).
pub const FIELD_LIMIT: f64 = (1u64 << 28) as f64;

/// An Ising model in fixed point, CSR adjacency (each coupling stored in both rows).
#[derive(Clone, Debug, PartialEq)]
pub struct FixedIsing {
    /// Number of spins.
    pub n: usize,
    /// Fixed-point scale (a power of two): stored integer = round(value * scale).
    pub scale: f64,
    /// Fields `h_i`.
    pub h: Vec<i32>,
    /// Row starts into `cols` / `vals` (length n + 1).
    pub row_ptr: Vec<u32>,
    /// Neighbour of each stored coupling.
    pub cols: Vec<u32>,
    /// Weight of each stored coupling.
    pub vals: Vec<i32>,
    /// True when no value was rounded (the GPU sees exactly the model).
    pub exact: bool,
}

/// The power-of-two scale that maps the largest `|h_i| + sum_j |J_ij|` to at most
/// [`FIELD_LIMIT`].
pub fn scale_for(max_field: f64) -> f64 {
    if max_field <= 0.0 || !max_field.is_finite() {
        return 1.0;
    }
    let k = (FIELD_LIMIT / max_field).log2().floor().clamp(-1000.0, 1000.0) as i32;
    2f64.powi(k)
}

impl FixedIsing {
    /// Converts `ising` (its offset is not needed on the device).
    ///
    /// Returns `None` when the model has more stored couplings than 32-bit indices
    /// address.
    pub fn new(ising: &Ising) -> Option<Self> {
        let n = ising.num_variables();
        let (row_ptr, cols, vals) = ising.j().csr();
        if cols.len() > u32::MAX as usize {
            return None;
        }
        let max_field = (0..n)
            .map(|i| ising.h()[i].abs() + vals[row_ptr[i]..row_ptr[i + 1]].iter().map(|w| w.abs()).sum::<f64>())
            .fold(0.0, f64::max);
        let scale = scale_for(max_field);
        let mut exact = true;
        let mut conv = |x: f64| {
            let y = (x * scale).round();
            if y != x * scale {
                exact = false;
            }
            y as i32
        };
        let h: Vec<i32> = ising.h().iter().map(|&x| conv(x)).collect();
        let vals: Vec<i32> = vals.iter().map(|&x| conv(x)).collect();
        Some(FixedIsing {
            n,
            scale,
            h,
            row_ptr: row_ptr.iter().map(|&p| p as u32).collect(),
            cols: cols.to_vec(),
            vals,
            exact,
        })
    }

    /// Fixed-point local field `h_i + sum_j J_ij s_j`.
    pub fn field(&self, spins: &[i8], i: usize) -> i64 {
        let (a, b) = (self.row_ptr[i] as usize, self.row_ptr[i + 1] as usize);
        let mut f = self.h[i] as i64;
        for k in a..b {
            f += self.vals[k] as i64 * spins[self.cols[k] as usize] as i64;
        }
        f
    }

    /// The words the kernels keep per variable: `2 * field + (spin == +1)`.
    pub fn words(&self, spins: &[i8]) -> Vec<i32> {
        (0..self.n)
            .map(|i| (2 * self.field(spins, i) + i64::from(spins[i] > 0)) as i32)
            .collect()
    }

    /// Energy without offset, in model units: `1/2 sum_i s_i (h_i + f_i) / scale`.
    pub fn energy(&self, spins: &[i8]) -> f64 {
        let mut e: i64 = 0;
        for i in 0..self.n {
            e += spins[i] as i64 * (self.h[i] as i64 + self.field(spins, i));
        }
        e as f64 * 0.5 / self.scale
    }

    /// Dense row-major `n x n` coupling matrix (zero diagonal).
    pub fn dense(&self) -> Vec<i32> {
        let mut m = vec![0i32; self.n * self.n];
        for i in 0..self.n {
            for k in self.row_ptr[i] as usize..self.row_ptr[i + 1] as usize {
                m[i * self.n + self.cols[k] as usize] = self.vals[k];
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_weights_exact_and_fields_bounded() {
        let ising = Ising::from_entries(3, &[(0, 1, 1.0), (1, 2, -2.0), (0, 0, 3.0)], 0.0).unwrap();
        let f = FixedIsing::new(&ising).unwrap();
        assert!(f.exact);
        // max field 4 -> scale 2^26
        assert_eq!(f.scale, 2f64.powi(26));
        let s = [1i8, -1, 1];
        assert_eq!(f.energy(&s), ising.energy(&s));
        let w = f.words(&s);
        assert_eq!(w[0] & 1, 1);
        assert_eq!(w[1] & 1, 0);
        assert_eq!((w[0] >> 1) as f64 / f.scale, ising.local_field(&s, 0));
    }

    #[test]
    fn fractional_weights_rounded() {
        let ising = Ising::from_entries(2, &[(0, 1, 0.1), (0, 0, 1.0)], 0.0).unwrap();
        let f = FixedIsing::new(&ising).unwrap();
        assert!(!f.exact);
        let s = [1i8, 1];
        assert!((f.energy(&s) - ising.energy(&s)).abs() < 1e-7);
    }
}
