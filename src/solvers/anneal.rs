//! The single-spin Metropolis kernel behind `sa` (and reusable by other solvers).
//!
//! Local fields `f_i = h_i + sum_j J_ij s_j` are cached, so a flip attempt costs O(1) and an
//! accepted flip O(degree). Two code paths give the same Markov chain:
//!
//! - **integer path**, taken when every `h_i` and `J_ij` is an integer multiple of a power
//!   of two `q` (G-set graphs: `q = 1`; Ising forms of integer QUBOs: `q = 1/4`) and the
//!   fields stay well inside `i32`: fields are integers in units of `q`, the energy change
//!   of a flip is `ΔE = 2 q g` with `g = -s_i f_i / q`, and the acceptance probability
//!   `exp(-β ΔE)` comes from a per-β table of 64-bit thresholds compared with a raw 64-bit
//!   random number: no float conversion, no `exp`, and when the table covers every
//!   reachable `g` (G-set: at most 38 entries) a single lookup with no branch on `g`;
//! - **float path** otherwise: f64 fields and a polynomial `exp` (relative error ~1e-8).
//!
//! Both treat moves with `β ΔE` above 44.36 (probability below 2^-64, neal's cut-off) as
//! rejected. Random numbers come from [`WyRand`] (one multiply each), seeded from the
//! read's [`Rng`] stream.

use super::SolveContext;
use crate::model::Ising;
use crate::rng::{Rng, WyRand};
use std::time::Instant;

/// neal's cut-off: moves with `β ΔE` above this are never accepted (p < 2^-64).
pub const MAX_BETA_DELTA: f64 = 44.361_419_555_836_5;

/// Largest `|field| / q` allowed on the integer path (keeps every sum inside `i32`).
const INT_FIELD_LIMIT: f64 = (1u64 << 30) as f64;

/// A model prepared for annealing (CSR arrays in the form the kernel wants).
#[derive(Clone, Debug)]
pub struct Annealer<'a> {
    ising: &'a Ising,
    int: Option<IntModel>,
}

/// Integer form of the model: weights as `2 J_ij / q`, fields in units of `q`.
#[derive(Clone, Debug)]
pub(super) struct IntModel {
    pub(super) quantum: f64,
    pub(super) h: Vec<i32>,
    pub(super) w2: Vec<i32>,
    /// Largest `|f_i| / q` any state can produce (bounds the threshold table).
    pub(super) max_field: u32,
}

impl IntModel {
    /// The integer form, if every bias is a multiple of some `q = 2^k` (k in -12..=20)
    /// and the largest possible field fits comfortably in `i32`.
    pub(super) fn try_new(ising: &Ising) -> Option<Self> {
        let n = ising.num_variables();
        let (_, _, vals) = ising.j().csr();
        let mut max_sum = 0.0f64;
        for i in 0..n {
            let s = ising.h()[i].abs() + ising.j().row(i).1.iter().map(|w| w.abs()).sum::<f64>();
            max_sum = max_sum.max(s);
        }
        let all = || ising.h().iter().chain(vals.iter()).copied();
        let is_mult = |q: f64| all().all(|v| (v / q).fract() == 0.0);
        let quantum = (-12..=20).rev().map(|k| 2f64.powi(k)).find(|&q| is_mult(q))?;
        if max_sum / quantum >= INT_FIELD_LIMIT {
            return None;
        }
        Some(IntModel {
            quantum,
            h: ising.h().iter().map(|v| (v / quantum) as i32).collect(),
            w2: vals.iter().map(|v| (2.0 * v / quantum) as i32).collect(),
            max_field: (max_sum / quantum).ceil() as u32,
        })
    }
}

impl<'a> Annealer<'a> {
    /// Prepares `ising` (O(nnz)); picks the integer path when it applies.
    pub fn new(ising: &'a Ising) -> Self {
        Annealer {
            ising,
            int: IntModel::try_new(ising),
        }
    }

    /// True when the exact integer path is used.
    pub fn is_integer(&self) -> bool {
        self.int.is_some()
    }

    /// Anneals `spins` (±1) in place through `betas` (one sequential sweep per entry) and
    /// returns the number of sweeps made.
    ///
    /// Stops early when `ctx` asks (interrupt or time limit, measured from `start`), then
    /// finishes cold with the coldest [`COLD_FINISH`] sweeps of the schedule; reports one
    /// unit of progress per sweep.
    pub fn anneal(&self, betas: &[f64], spins: &mut [i8], rng: &mut Rng, ctx: &SolveContext, start: Instant) -> usize {
        let (row_ptr, cols, vals) = self.ising.j().csr();
        let n = self.ising.num_variables();
        assert!(spins.len() == n && row_ptr.len() == n + 1 && row_ptr[n] <= cols.len().min(vals.len()));
        let mut fast = WyRand::new(rng.next_u64());
        match &self.int {
            Some(m) => {
                let mut field: Vec<i32> = (0..n)
                    .map(|i| {
                        let (c, _) = self.ising.j().row(i);
                        let w = &m.w2[row_ptr[i]..row_ptr[i + 1]];
                        m.h[i]
                            + c.iter()
                                .zip(w)
                                .map(|(&j, &w)| w / 2 * spins[j as usize] as i32)
                                .sum::<i32>()
                    })
                    .collect();
                let mut th = Thresholds::new();
                run_sweeps(betas, ctx, start, |beta| {
                    let b = 2.0 * beta * m.quantum;
                    th.fill(b, m.max_field, n);
                    sweep_int(row_ptr, cols, &m.w2, spins, &mut field, &th, b, &mut fast);
                })
            }
            None => {
                let mut field: Vec<f64> = (0..n).map(|i| self.ising.local_field(spins, i)).collect();
                run_sweeps(betas, ctx, start, |beta| {
                    sweep_float(row_ptr, cols, vals, spins, &mut field, beta, &mut fast)
                })
            }
        }
    }
}

impl Annealer<'_> {
    /// [`anneal`](Self::anneal) with the kernel's random stream seeded by `seed` (for
    /// callers outside the crate, e.g. rate measurements).
    pub fn anneal_seeded(
        &self,
        betas: &[f64],
        spins: &mut [i8],
        seed: u64,
        ctx: &SolveContext,
        start: Instant,
    ) -> usize {
        self.anneal(betas, spins, &mut Rng::new(seed), ctx, start)
    }

    /// Anneals up to `W` reads at once on the SIMD lanes kernel ([`lanes`](super::lanes));
    /// `states[k]` (±1) starts as read `k`'s initial state and ends as its final state;
    /// lane `k`'s random stream is seeded with `seeds[k]`. Integer path only: returns
    /// `None` (and leaves the states alone) when the model has no integer form. Otherwise
    /// returns the sweeps made; progress advances by `states.len()` per sweep.
    pub fn anneal_lanes<const W: usize>(
        &self,
        betas: &[f64],
        states: &mut [Vec<i8>],
        seeds: &[u64],
        ctx: &SolveContext,
        start: Instant,
    ) -> Option<usize> {
        let m = self.int.as_ref()?;
        let reads = states.len();
        assert!(reads <= W && seeds.len() == reads);
        let n = self.ising.num_variables();
        let (row_ptr, _, _) = self.ising.j().csr();
        let mut spins = vec![[1i32; W]; n];
        for (l, st) in states.iter().enumerate() {
            for (i, &v) in st.iter().enumerate() {
                spins[i][l] = v as i32;
            }
        }
        let mut field = vec![[0i32; W]; n];
        for i in 0..n {
            let (c, _) = self.ising.j().row(i);
            let w = &m.w2[row_ptr[i]..row_ptr[i + 1]];
            for l in 0..W {
                field[i][l] = m.h[i]
                    + c.iter()
                        .zip(w)
                        .map(|(&j, &w)| w / 2 * spins[j as usize][l])
                        .sum::<i32>();
            }
        }
        let lane_seeds: [u64; W] = std::array::from_fn(|l| seeds.get(l).copied().unwrap_or(l as u64));
        let mut rng = super::lanes::LaneRng::<W>::new(&lane_seeds);
        let csr = super::lanes::IntCsr::new(self.ising.j(), &m.w2);
        let check_stop = ctx.interrupt.is_some() || ctx.time_limit.is_some();
        let mut done = betas.len();
        for (k, &beta) in betas.iter().enumerate() {
            let b = 2.0 * beta * m.quantum;
            let gcut = if b > 0.0 {
                ((MAX_BETA_DELTA / b).ceil()).min(m.max_field as f64 + 1.0) as i32
            } else {
                m.max_field as i32 + 1
            };
            super::lanes::sweep(csr, &mut spins, &mut field, b as f32, gcut, &mut rng);
            ctx.advance(reads as u64);
            if check_stop && ctx.should_stop(start) {
                done = k + 1;
                break;
            }
        }
        // Cut short: finish cold with the coldest sweeps of the schedule.
        for &beta in cold_finish(betas, done) {
            let b = 2.0 * beta * m.quantum;
            let gcut = if b > 0.0 {
                ((MAX_BETA_DELTA / b).ceil()).min(m.max_field as f64 + 1.0) as i32
            } else {
                m.max_field as i32 + 1
            };
            super::lanes::sweep(csr, &mut spins, &mut field, b as f32, gcut, &mut rng);
        }
        for (l, st) in states.iter_mut().enumerate() {
            for (i, v) in st.iter_mut().enumerate() {
                *v = spins[i][l] as i8;
            }
        }
        Some(done)
    }
}

/// Sweeps run after an anneal is cut short (interrupt or time limit) so that the state it
/// leaves is cold, not half-annealed: the coldest `COLD_FINISH` β of the schedule.
pub const COLD_FINISH: usize = 16;

/// The β of the cold finish of an anneal through `betas` cut after `done` sweeps (empty
/// when it was not cut).
fn cold_finish(betas: &[f64], done: usize) -> &[f64] {
    if done >= betas.len() {
        return &[];
    }
    let k = COLD_FINISH.min(betas.len() - done);
    &betas[betas.len() - k..]
}

/// Calls `sweep(beta)` for each β, reporting progress and honouring `ctx`'s interrupt and
/// time limit; returns the number of sweeps of `betas` made. A cut anneal is finished
/// cold ([`COLD_FINISH`]).
pub(super) fn run_sweeps(betas: &[f64], ctx: &SolveContext, start: Instant, mut sweep: impl FnMut(f64)) -> usize {
    let check_stop = ctx.interrupt.is_some() || ctx.time_limit.is_some();
    for (k, &beta) in betas.iter().enumerate() {
        sweep(beta);
        ctx.advance(1);
        if check_stop && ctx.should_stop(start) {
            for &b in cold_finish(betas, k + 1) {
                sweep(b);
            }
            return k + 1;
        }
    }
    betas.len()
}

/// Largest threshold table built per β (entries); beyond it `exp` is evaluated per move.
const TABLE_CAP: usize = 1024;

/// Acceptance thresholds of the integer path at `b = 2 β q` (a move with `ΔE = 2 q g` is
/// accepted with probability `exp(-b g)`).
///
/// Entry `g + 1` is the threshold of `g`: `table[0]` accepts always (`g < 0`, downhill),
/// `table[1]` with probability [`SIDEWAYS_P`] (`g = 0`, a sideways move; see [`sideways_or_exp`]), and
/// `table[g + 1] = floor(exp(-b g) * 2^64)` for `1 <= g`. When `complete`, the table also
/// ends in a 0 entry for `g = gmax`, every `g >= gmax` is rejected (`b g >= 44.36`,
/// probability below 2^-64), and a move is one lookup at `min(g, gmax) + 1`; otherwise `g`
/// past the table uses [`exp_neg`] up to `gmax`.
pub(super) struct Thresholds {
    pub(super) table: Vec<u64>,
    pub(super) gmax: i64,
    pub(super) complete: bool,
}

impl Thresholds {
    pub(super) fn new() -> Self {
        Thresholds {
            table: Vec::new(),
            gmax: 0,
            complete: true,
        }
    }

    /// Refills the table for `b`; `max_field` bounds `g`, `n` caps the table so that
    /// filling it stays cheap next to one sweep of `n` spins.
    pub(super) fn fill(&mut self, b: f64, max_field: u32, n: usize) {
        let reachable = max_field as i64 + 1;
        self.gmax = if b > 0.0 {
            ((MAX_BETA_DELTA / b).ceil() as i64).min(reachable)
        } else {
            reachable
        };
        let cap = (n / 2).clamp(16, TABLE_CAP) as i64;
        self.complete = self.gmax <= cap;
        let len = if self.complete { self.gmax } else { cap };
        self.table.clear();
        self.table.push(u64::MAX); // g < 0: downhill, always
        // g == 0 (a sideways move): 15 times in 16, except at β = 0 where every move is taken.
        self.table
            .push(if b > 0.0 { u64::MAX - (u64::MAX >> 4) } else { u64::MAX });
        for g in 1..len {
            let p = exp_neg(-b * g as f64);
            self.table.push(if p >= 1.0 {
                u64::MAX
            } else {
                (p * 18_446_744_073_709_551_616.0) as u64
            });
        }
        if self.complete {
            self.table.push(0); // g == gmax: rejected
        }
    }
}

/// One sequential sweep on the integer path (see the module docs).
#[allow(clippy::too_many_arguments)]
#[inline]
fn sweep_int(
    row_ptr: &[usize],
    cols: &[u32],
    w2: &[i32],
    spins: &mut [i8],
    field: &mut [i32],
    th: &Thresholds,
    b: f64,
    rng: &mut WyRand,
) {
    let n = spins.len();
    assert!(field.len() == n && row_ptr.len() == n + 1 && row_ptr[n] <= cols.len().min(w2.len()));
    let table = &th.table[..];
    let last = table.len() as i64 - 1;
    for i in 0..n {
        let s = spins[i] as i32;
        let g = -(s * field[i]) as i64;
        // table[g + 1] holds the threshold of g (see `Thresholds`).
        let accept = if th.complete {
            // One lookup, no branch on g: g < 0 hits table[0] (always), g >= gmax the 0.
            rng.next_u64() < table[(g + 1).clamp(0, last) as usize]
        } else if g < 0 {
            true
        } else if g + 1 < last {
            rng.next_u64() < table[g as usize + 1]
        } else {
            g < th.gmax && rng.next_f64() < exp_neg(-b * g as f64)
        };
        if accept {
            spins[i] = -spins[i];
            let sn = -s;
            let (a, b) = (row_ptr[i], row_ptr[i + 1]);
            for (&j, &w) in cols[a..b].iter().zip(&w2[a..b]) {
                // SAFETY: every column index is < n == field.len() (built by `Couplings`).
                unsafe { *field.get_unchecked_mut(j as usize) += w * sn }
            }
        }
    }
}

/// One sequential sweep on the float path.
#[inline]
fn sweep_float(
    row_ptr: &[usize],
    cols: &[u32],
    vals: &[f64],
    spins: &mut [i8],
    field: &mut [f64],
    beta: f64,
    rng: &mut WyRand,
) {
    let n = spins.len();
    assert!(field.len() == n && row_ptr.len() == n + 1 && row_ptr[n] <= cols.len().min(vals.len()));
    let limit = if beta > 0.0 {
        MAX_BETA_DELTA / beta
    } else {
        f64::INFINITY
    };
    for i in 0..n {
        let s = spins[i] as f64;
        let de = -2.0 * s * field[i];
        let accept = de < 0.0 || (de < limit && rng.next_f64() < sideways_or_exp(beta, de));
        if accept {
            spins[i] = -spins[i];
            let step = -2.0 * s;
            let (a, b) = (row_ptr[i], row_ptr[i + 1]);
            for (&j, &w) in cols[a..b].iter().zip(&vals[a..b]) {
                // SAFETY: every column index is < n == field.len() (built by `Couplings`).
                unsafe { *field.get_unchecked_mut(j as usize) += w * step }
            }
        }
    }
}

/// Probability of taking a sideways move (energy change 0) at `beta > 0`: 15/16.
///
/// Plain Metropolis takes every sideways move. With sequential sweeps that moves every
/// domain wall of a chain or lattice one site per sweep in lock-step, so walls never meet
/// and annihilate: an even ring (MaxCut 24) stayed at cut 16-20 whatever the number of
/// sweeps. Rejecting one sideways move in 16 lets walls random-walk (the ring reaches 24
/// in every read) and measured no loss on G-set and frustrated-loop instances at fixed
/// sweeps (16 reads x 1,000 sweeps, seeds 0-2: mean energy G22 -6,663 vs -6,656, G62
/// -9,675 vs -9,677, G55 within noise; one half lost about 0.4% on G62). Detailed balance
/// holds for any value (the reverse of a sideways move is sideways).
pub const SIDEWAYS_P: f64 = 0.9375;

/// Acceptance probability of a move with energy change `de >= 0` at inverse temperature
/// `beta`: `exp(-beta de)` (Metropolis), except that a sideways move (`de == 0`) is taken
/// with probability [`SIDEWAYS_P`] when `beta > 0`. At `beta == 0` every move is taken.
#[inline]
pub fn sideways_or_exp(beta: f64, de: f64) -> f64 {
    if de == 0.0 && beta > 0.0 {
        SIDEWAYS_P
    } else {
        exp_neg(-beta * de)
    }
}

/// `exp(x)` for `x` in `[-45, 0]`, relative error below about 1e-8.
///
/// `exp(x) = 2^k * e^r` with `k = round(x / ln 2)` and `|r| <= ln(2)/2`, `e^r` by a
/// degree-7 Taylor polynomial.
#[inline(always)]
pub fn exp_neg(x: f64) -> f64 {
    const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52: adding it rounds to an integer
    let t = x * std::f64::consts::LOG2_E;
    let k = (t + ROUND) - ROUND;
    let r = (t - k) * std::f64::consts::LN_2;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let scale = f64::from_bits(((k as i64 + 1023) as u64) << 52);
    p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_neg_accurate() {
        let mut x = 0.0;
        while x > -45.0 {
            let (a, b) = (exp_neg(x), x.exp());
            assert!(((a - b) / b).abs() < 2e-8, "x = {x}: {a} vs {b}");
            x -= 0.0137;
        }
    }

    fn random_ising(n: usize, integer: bool, seed: u64) -> Ising {
        let mut rng = Rng::new(seed);
        let mut e = Vec::new();
        for i in 0..n as u32 {
            for j in i + 1..n as u32 {
                if rng.below(3) == 0 {
                    let w = if integer {
                        rng.below(9) as f64 - 4.0
                    } else {
                        rng.next_f64() - 0.5
                    };
                    e.push((i, j, w * 0.25));
                }
            }
            e.push((i, i, if integer { 0.5 } else { 0.1 }));
        }
        Ising::from_entries(n, &e, 0.0).unwrap()
    }

    #[test]
    fn integer_path_detected() {
        assert!(Annealer::new(&random_ising(10, true, 1)).is_integer());
        assert!(!Annealer::new(&random_ising(10, false, 1)).is_integer());
    }

    /// At β = 0 every move is accepted on both paths, so both must walk the same states.
    #[test]
    fn paths_agree_at_infinite_temperature() {
        let ising = random_ising(12, true, 2);
        let a = Annealer::new(&ising);
        let float = Annealer {
            ising: &ising,
            int: None,
        };
        let mut r0 = Rng::new(9);
        let s0 = r0.spins(12);
        let (mut s1, mut s2) = (s0.clone(), s0.clone());
        let ctx = SolveContext::default();
        a.anneal(&[0.0; 7], &mut s1, &mut Rng::new(3), &ctx, Instant::now());
        float.anneal(&[0.0; 7], &mut s2, &mut Rng::new(3), &ctx, Instant::now());
        assert_eq!(s1, s2);
        // 7 sweeps of all-accepted flips leave every spin flipped an odd number of times.
        assert!(s1.iter().zip(&s0).all(|(a, b)| a == &-b));
    }

    /// Both paths sample the Boltzmann distribution: compare visit frequencies of a
    /// 3-spin model at fixed β with the exact probabilities.
    #[test]
    fn boltzmann_frequencies() {
        let ising = Ising::from_entries(3, &[(0, 1, 1.0), (1, 2, -0.5), (0, 0, 0.25)], 0.0).unwrap();
        let beta = 0.7;
        let states: Vec<Vec<i8>> = (0..8)
            .map(|k| (0..3).map(|b| if k >> b & 1 == 1 { 1 } else { -1 }).collect())
            .collect();
        let z: f64 = states.iter().map(|s| (-beta * ising.energy(s)).exp()).sum();
        for int in [true, false] {
            let mut a = Annealer::new(&ising);
            assert!(a.is_integer());
            if !int {
                a.int = None;
            }
            let mut rng = Rng::new(4);
            let mut s = vec![1i8; 3];
            let mut counts = [0u32; 8];
            let sweeps = 200_000;
            let ctx = SolveContext::default();
            for _ in 0..sweeps {
                a.anneal(&[beta], &mut s, &mut rng, &ctx, Instant::now());
                let k = s
                    .iter()
                    .enumerate()
                    .map(|(b, &v)| ((v == 1) as usize) << b)
                    .sum::<usize>();
                counts[k] += 1;
            }
            for (k, st) in states.iter().enumerate() {
                let p = (-beta * ising.energy(st)).exp() / z;
                let f = counts[k] as f64 / sweeps as f64;
                assert!((f - p).abs() < 0.01, "int={int} state {k}: {f} vs {p}");
            }
        }
    }
}
