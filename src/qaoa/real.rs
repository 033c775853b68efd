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
}

/// `x * y + z`: a fused multiply-add when `FMA` (the caller runs with the `fma` target
/// feature), otherwise a multiply and an add (a libm `fma` call would be far slower).
#[inline(always)]
pub(crate) fn madd<T: Real, const FMA: bool>(x: T, y: T, z: T) -> T {
    if FMA { x.fused(y, z) } else { x * y + z }
}
