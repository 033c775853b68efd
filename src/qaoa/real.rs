//! The floating-point types the CPU simulator runs in: `f32` (complex64 amplitudes) and
//! `f64` (complex128 amplitudes).

use std::fmt::Debug;
use std::ops::{Add, AddAssign, Mul, Neg, Sub};

/// A real scalar the state vector is stored in (`f32` or `f64`).
pub trait Real:
    Copy
    + Send
    + Sync
    + Default
    + Debug
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + bytemuck::Pod
    + 'static
{
    /// `"f32"` or `"f64"`.
    const NAME: &'static str;
    /// Bytes per real (4 or 8); a complex amplitude takes twice this.
    const BYTES: usize;
    /// Rounds an `f64` to this type.
    fn from_f64(x: f64) -> Self;
    /// Widens to `f64`.
    fn to_f64(self) -> f64;
    /// `self * a + b` in one rounding (only used where the CPU has FMA).
    fn fused(self, a: Self, b: Self) -> Self;
    /// `(x, y)` rounded to this type so that `x² + y²` is kept as exactly as possible
    /// while the angle moves by at most 1e-6 rad (see `round_pair_f32`). Phase factors
    /// and mixer coefficients rounded this way keep the norm of a complex64 state to
    /// ~1e-8 per step instead of ~1e-7.
    fn round_pair(x: f64, y: f64) -> (Self, Self);
}

impl Real for f32 {
    const NAME: &'static str = "f32";
    const BYTES: usize = 4;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn fused(self, a: Self, b: Self) -> Self {
        self.mul_add(a, b)
    }
    fn round_pair(x: f64, y: f64) -> (Self, Self) {
        round_pair_f32(x, y)
    }
}

/// See [`Real::round_pair`]. The larger component `u` is tried at its nearest f32 values
/// (as far as moves the angle by at most 1e-6 rad); for each, the smaller component is
/// solved for, `v = ±sqrt(|z|² − u²)`, and rounded; the pair with the smallest magnitude
/// error wins.
pub fn round_pair_f32(x: f64, y: f64) -> (f32, f32) {
    let want = x * x + y * y;
    let swap = y.abs() > x.abs();
    let (u, v) = if swap { (y, x) } else { (x, y) };
    let u0 = u as f32;
    let ulp = (u0.next_up() - u0).abs() as f64;
    let reach = if ulp > 0.0 {
        ((1e-6 * v.abs()) / ulp).floor().min(64.0) as i32
    } else {
        0
    };
    let mut best = (u0, v as f32);
    let mut best_err = {
        let (a, b) = (best.0 as f64, best.1 as f64);
        (a * a + b * b - want).abs()
    };
    let mut cu = u0;
    for _ in 0..reach {
        cu = cu.next_down();
    }
    for _ in 0..=2 * reach {
        let a = cu as f64;
        let rest = want - a * a;
        if rest >= 0.0 {
            let cv = (rest.sqrt().copysign(v)) as f32;
            let b = cv as f64;
            let err = (a * a + b * b - want).abs();
            // sin of the angle between (a, b) and (u, v).
            let turn = (a * v - b * u).abs() / want;
            if err < best_err && turn <= 1e-6 {
                best = (cu, cv);
                best_err = err;
            }
        }
        cu = cu.next_up();
    }
    if swap { (best.1, best.0) } else { best }
}

impl Real for f64 {
    const NAME: &'static str = "f64";
    const BYTES: usize = 8;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn fused(self, a: Self, b: Self) -> Self {
        self.mul_add(a, b)
    }
    fn round_pair(x: f64, y: f64) -> (Self, Self) {
        (x, y)
    }
}

/// `x * y + z`: a fused multiply-add when `FMA` (the caller runs with the `fma` target
/// feature), otherwise a multiply and an add (a libm `fma` call would be far slower).
#[inline(always)]
pub(crate) fn madd<T: Real, const FMA: bool>(x: T, y: T, z: T) -> T {
    if FMA { x.fused(y, z) } else { x * y + z }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounded_pairs_keep_the_magnitude() {
        // Near the axes the angle bound leaves no freedom; on average the error drops.
        let (mut mean_plain, mut mean) = (0.0, 0.0);
        let count = 1000;
        for k in 0..count {
            let t = k as f64 * 0.0137 - 6.0;
            let (s, c) = t.sin_cos();
            let (a, b) = round_pair_f32(c, s);
            mean += ((a as f64).powi(2) + (b as f64).powi(2) - 1.0).abs() / count as f64;
            mean_plain += ((c as f32 as f64).powi(2) + (s as f32 as f64).powi(2) - 1.0).abs() / count as f64;
            // Still the same angle to 1e-6 rad.
            let turn = (b as f64).atan2(a as f64) - s.atan2(c);
            let turn = (turn + std::f64::consts::PI).rem_euclid(std::f64::consts::TAU) - std::f64::consts::PI;
            assert!(turn.abs() < 1.01e-6, "t {t}: {turn}");
        }
        assert!(mean < mean_plain / 4.0, "{mean} vs {mean_plain}");
    }
}
