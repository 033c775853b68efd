//! Multi-read SIMD annealing: `W` independent reads advance together, one per SIMD lane.
//!
//! Every lane is an ordinary read: sequential single-spin Metropolis sweeps over its own
//! copy of the spins, with its own random stream. Lanes only share the instruction
//! stream: for spin `i`, all `W` reads compute their energy change, acceptance and new
//! spin at once, and an accepted flip in any lane updates the neighbours' fields of all
//! lanes with one vector add per neighbour (zero where a lane rejected). Fields and spins
//! are stored interleaved, `[variable][lane]`, so those adds touch contiguous memory. No
//! branch depends on the random outcome, which is where the scalar kernel loses its time.
//!
//! Integer path only (fields in units of the model's power-of-two quantum, see
//! [`anneal`](super::anneal)). Acceptance: `u < exp(-β ΔE)` with `u` a 31-bit uniform
//! (`(r >> 1) / 2^31`, resolution 2^-31) and `exp` a degree-6 polynomial in f32 (relative
//! error ~1e-7); `ΔE < 0` is always accepted, `ΔE = 0` 15 times in 16 (always at `β = 0`;
//! see `anneal::SIDEWAYS_P`) and `β ΔE >= 44.36` always rejected, as in the scalar kernel. All arithmetic is exact integer or plain IEEE f32 (never fused), so
//! every instruction set gives bit-identical results. Each lane's generator is
//! xoshiro128++ seeded from its read's stream, so a read's trajectory does not depend on
//! `W`, on which lane it occupies, or on the instruction set.

use crate::model::Couplings;
use crate::rng::splitmix64;

/// xoshiro128++ for `W` lanes, structure-of-arrays so that the update vectorises.
#[derive(Clone, Debug)]
pub struct LaneRng<const W: usize> {
    s: [[u32; W]; 4],
}

impl<const W: usize> LaneRng<W> {
    /// Lane `l` is seeded from `seeds[l]` (expanded by SplitMix64; never all-zero).
    pub fn new(seeds: &[u64; W]) -> Self {
        let mut s = [[0u32; W]; 4];
        for (l, &seed) in seeds.iter().enumerate() {
            let mut x = seed;
            let a = splitmix64(&mut x);
            let b = splitmix64(&mut x);
            s[0][l] = a as u32;
            s[1][l] = (a >> 32) as u32;
            s[2][l] = b as u32;
            s[3][l] = (b >> 32) as u32 | 1;
        }
        LaneRng { s }
    }

    /// 32 random bits per lane.
    #[inline(always)]
    pub fn next_u32s(&mut self) -> [u32; W] {
        let [s0, s1, s2, s3] = &mut self.s;
        let mut out = [0u32; W];
        for l in 0..W {
            out[l] = s0[l].wrapping_add(s3[l]).rotate_left(7).wrapping_add(s0[l]);
            let t = s1[l] << 9;
            s2[l] ^= s0[l];
            s3[l] ^= s1[l];
            s1[l] ^= s2[l];
            s0[l] ^= s3[l];
            s2[l] ^= t;
            s3[l] = s3[l].rotate_left(11);
        }
        out
    }
}

/// Problem arrays of the integer path: CSR with weights `2 J_ij / q`. Built only from
/// [`Couplings`] (whose column indices are `< n` by construction, which the unchecked
/// field updates of [`sweep`] rely on); the fields are private so no other CSR can reach
/// the sweep.
#[derive(Clone, Copy)]
pub struct IntCsr<'a> {
    /// Row starts (`n + 1`).
    row_ptr: &'a [usize],
    /// Neighbour indices.
    cols: &'a [u32],
    /// `2 J_ij / q` per entry.
    w2: &'a [i32],
}

impl<'a> IntCsr<'a> {
    /// The CSR of `j` with the integer weights `w2` (`2 J_ij / q`, one per stored entry
    /// in `j`'s CSR order). Panics if `w2` has another length (a bug in the caller).
    pub fn new(j: &'a Couplings, w2: &'a [i32]) -> Self {
        let (row_ptr, cols, _) = j.csr();
        assert_eq!(w2.len(), cols.len(), "one integer weight per stored coupling");
        IntCsr { row_ptr, cols, w2 }
    }
}

/// One sequential sweep of `W` reads at `b = 2 β q` (a move with `ΔE = 2 q g` has
/// probability `exp(-b g)`); moves with `g >= gcut` (`b g >= 44.36`) are rejected.
/// Dispatches to the widest vector unit the CPU has.
pub fn sweep<const W: usize>(
    m: IntCsr,
    spins: &mut [[i32; W]],
    field: &mut [[i32; W]],
    b: f32,
    gcut: i32,
    rng: &mut LaneRng<W>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            return unsafe { sweep_avx512(m, spins, field, b, gcut, rng) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { sweep_avx2(m, spins, field, b, gcut, rng) };
        }
    }
    sweep_generic(m, spins, field, b, gcut, rng)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2")]
unsafe fn sweep_avx512<const W: usize>(
    m: IntCsr,
    spins: &mut [[i32; W]],
    field: &mut [[i32; W]],
    b: f32,
    gcut: i32,
    rng: &mut LaneRng<W>,
) {
    sweep_generic(m, spins, field, b, gcut, rng)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sweep_avx2<const W: usize>(
    m: IntCsr,
    spins: &mut [[i32; W]],
    field: &mut [[i32; W]],
    b: f32,
    gcut: i32,
    rng: &mut LaneRng<W>,
) {
    sweep_generic(m, spins, field, b, gcut, rng)
}

#[inline(always)]
fn sweep_generic<const W: usize>(
    m: IntCsr,
    spins: &mut [[i32; W]],
    field: &mut [[i32; W]],
    b: f32,
    gcut: i32,
    rng: &mut LaneRng<W>,
) {
    let n = spins.len();
    assert!(field.len() == n && m.row_ptr.len() == n + 1 && m.row_ptr[n] <= m.cols.len().min(m.w2.len()));
    // p = 2^(c g) with c = -b log2(e); `c g` stays in [-64, 0] since g <= gcut.
    let c = -b * std::f32::consts::LOG2_E;
    let hot = b == 0.0;
    for i in 0..n {
        let r = rng.next_u32s();
        let si = spins[i];
        let fi = field[i];
        let mut mask = [0i32; W];
        let mut delta = [0i32; W];
        for l in 0..W {
            let g = -(si[l] * fi[l]);
            let x = c * g.max(0).min(gcut) as f32;
            let threshold = exp2_times_2_31(x);
            let u = (r[l] >> 1) as i32 as f32;
            // β = 0: p = 1 exactly (the float of the largest u would round up to 2^31).
            // g == 0 at β > 0 (a sideways move): 15 times in 16 (`anneal::SIDEWAYS_P`),
            // decided by low bits (`u` is only read when g > 0).
            let sideways = (g == 0) & (r[l] & 15 != 0);
            let accept = (g < 0) | hot | sideways | ((u < threshold) & (g > 0) & (g < gcut));
            mask[l] = -(accept as i32);
            delta[l] = -si[l] & mask[l]; // the new spin where accepted, 0 elsewhere
        }
        let sn = &mut spins[i];
        let mut any = 0;
        for l in 0..W {
            sn[l] -= 2 * (sn[l] & mask[l]);
            any |= mask[l];
        }
        if any != 0 {
            let (a, e) = (m.row_ptr[i], m.row_ptr[i + 1]);
            for (&j, &w) in m.cols[a..e].iter().zip(&m.w2[a..e]) {
                // SAFETY: every column index is < n == field.len() (built by `Couplings`).
                let fj = unsafe { field.get_unchecked_mut(j as usize) };
                for l in 0..W {
                    fj[l] += w * delta[l];
                }
            }
        }
    }
}

/// `2^x * 2^31` for `x` in `[-64, 0]` (f32; relative error about 2e-7): `2^x = 2^k 2^f`
/// with `k = round(x)`, `|f| <= 1/2`, and `2^f = e^(f ln 2)` by its degree-6 Taylor
/// polynomial (truncation below 1.2e-7).
#[inline(always)]
fn exp2_times_2_31(x: f32) -> f32 {
    let k = (x + 0.5).floor();
    let f = x - k;
    let p = 1.0
        + f * (std::f32::consts::LN_2
            + f * (0.240_226_5
                + f * (0.055_504_11 + f * (0.009_618_129 + f * (0.001_333_355_8 + f * 0.000_154_035_3)))));
    // SAFETY: k is an integer-valued float in [-64, 0], representable as i32.
    let ki: i32 = unsafe { k.to_int_unchecked() };
    f32::from_bits(((ki + 127 + 31) << 23) as u32) * p
}

#[cfg(test)]
mod tests {
    #[test]
    fn exp2_accurate() {
        let mut x = 0.0f32;
        while x >= -64.0 {
            let want = (x as f64).exp2() * 2f64.powi(31);
            let got = super::exp2_times_2_31(x) as f64;
            assert!(((got - want) / want).abs() < 5e-7, "x = {x}: {got} vs {want}");
            x -= 0.0173;
        }
    }

    use super::*;

    #[test]
    fn lanes_are_independent_of_width_and_neighbours() {
        // Ring of 6 with J = 1 (w2 = 2): lane k of a width-8 run equals lane k of a
        // width-16 run with the same seed, whatever the other lanes hold.
        let row_ptr = [0usize, 2, 4, 6, 8, 10, 12];
        let cols = [1u32, 5, 0, 2, 1, 3, 2, 4, 3, 5, 0, 4];
        let w2 = [2i32; 12];
        let m = IntCsr {
            row_ptr: &row_ptr,
            cols: &cols,
            w2: &w2,
        };
        let run = |seeds: Vec<u64>| -> Vec<Vec<i32>> {
            fn go<const W: usize>(m: IntCsr, seeds: &[u64]) -> Vec<Vec<i32>> {
                let s: [u64; W] = std::array::from_fn(|l| seeds[l]);
                let mut rng = LaneRng::<W>::new(&s);
                let mut spins = vec![[1i32; W]; 6];
                let mut field = vec![[2i32; W]; 6]; // all spins up: f = 2 in units of q = 1
                for k in 0..40 {
                    sweep(m, &mut spins, &mut field, 0.3 + 0.05 * k as f32, 60, &mut rng);
                }
                (0..W).map(|l| spins.iter().map(|s| s[l]).collect()).collect()
            }
            if seeds.len() == 8 {
                go::<8>(m, &seeds)
            } else {
                go::<16>(m, &seeds)
            }
        };
        let a = run((0..8).map(|k| 100 + k).collect());
        let b = run((0..16).map(|k| if k < 8 { 100 + k } else { 7 * k }).collect());
        assert_eq!(a[..], b[..8]);
        assert!(a.iter().any(|s| s != &a[0]), "lanes should differ");
    }
}
