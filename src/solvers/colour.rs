//! Colour-class parallel sweeps: one read annealed on every core.
//!
//! The SIMD lanes kernel ([`lanes`](super::lanes)) and the scalar kernel
//! ([`anneal`](super::anneal)) put one read on one core, so a solve with fewer reads than
//! cores (or than SIMD lanes) leaves most of the machine idle. Here the interaction graph
//! is coloured once (greedy, [`greedy_coloring`]): spins of one colour share no
//! coupling, so a whole colour class can be updated at the same time without changing
//! any spin's Metropolis step. A sweep visits the classes in order; each class is cut
//! into fixed chunks of [`CHUNK`] spins that rayon runs in parallel.
//!
//! - **Fields**: on the integer path the local fields `f_i = h_i + sum_j J_ij s_j` are
//!   cached as in the scalar kernel (O(1) per attempt); an accepted flip adds to its
//!   neighbours' fields with atomic integer adds. Neighbours are never in the class being
//!   swept, and integer adds commute, so the fields a class reads are the same whatever
//!   the order of the adds. On the float path (where the order of f64 adds would change
//!   the rounding) a spin's field is recomputed from its neighbours when it is visited
//!   (O(degree) per attempt) and threads only write their own spins.
//! - **Counter-based random numbers**: the uniform of a spin at sweep `k` of a read is
//!   `fmix64(fmix64(key ^ k * φ) ^ (p + 1) * c)` (MurmurHash3's finaliser; `key` from the
//!   read's RNG stream, `p` the spin's position in the colour order), so a read's trajectory is the same whatever the number of
//!   threads or the chunking.
//! - **Same acceptance as every kernel**: integer fields in units of the model's
//!   power-of-two quantum with the per-β threshold tables of the scalar integer path, or
//!   f64 fields with [`sideways_or_exp`]; sideways moves taken with probability
//!   [`SIDEWAYS_P`](super::anneal::SIDEWAYS_P); moves with `β ΔE >= 44.36` rejected; a cut
//!   anneal is finished cold like the others.
//!
//! The sweep order differs from the other kernels (colour by colour instead of by index),
//! so a read's final state differs from theirs for the same seed; its distribution is
//! that of the same Metropolis chain (every spin is updated once per sweep against the
//! current state of its neighbours).

use super::SolveContext;
use super::anneal::{IntModel, MAX_BETA_DELTA, Thresholds, exp_neg, run_sweeps, sideways_or_exp};
use crate::gpu::anneal::coloring::greedy_coloring;
use crate::model::Ising;
use rayon::prelude::*;
use std::sync::atomic::{AtomicI8, AtomicI32, Ordering::Relaxed};
use std::time::Instant;

/// Spins per parallel task within a colour class (fixed, so the work split does not
/// depend on the thread count; the result never does).
pub const CHUNK: usize = 4096;

/// Weights of the permuted model.
#[derive(Clone, Debug)]
enum Weights {
    /// Fields in units of `quantum`: `h / q` and `w2 = 2 J / q` (exact integers).
    Int {
        quantum: f64,
        h: Vec<i32>,
        w2: Vec<i32>,
        max_field: u32,
    },
    /// Plain f64 `h` and `J`.
    Float { h: Vec<f64>, w: Vec<f64> },
}

/// A model prepared for colour-class parallel sweeps: variables renumbered so that each
/// colour class is contiguous (in increasing original index), CSR rows in that order.
#[derive(Clone, Debug)]
pub struct ColourAnnealer {
    /// Start of each class in the renumbered order (`colours + 1` entries).
    class_ptr: Vec<usize>,
    /// Original index of renumbered variable `p`.
    orig: Vec<u32>,
    row_ptr: Vec<usize>,
    /// Neighbours, renumbered.
    cols: Vec<u32>,
    weights: Weights,
}

/// MurmurHash3's 64-bit finaliser (a bijection with full avalanche).
#[inline(always)]
fn fmix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Key of sweep `k` of the read keyed `key`.
#[inline]
fn sweep_key(key: u64, k: u64) -> u64 {
    fmix64(key ^ k.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// The 64 random bits of the spin at position `i` of the colour order in the sweep keyed `sk`.
#[inline(always)]
fn spin_bits(sk: u64, i: u32) -> u64 {
    fmix64(sk ^ (i as u64 + 1).wrapping_mul(0xd6e8_feb8_6659_fd93))
}

impl ColourAnnealer {
    /// Colours `ising`'s interaction graph and renumbers it (O(n log n + couplings)).
    /// Takes the exact integer path when the scalar kernel would.
    pub fn new(ising: &Ising) -> Self {
        let j = ising.j();
        let n = ising.num_variables();
        let colouring = greedy_coloring(j);
        let class_ptr: Vec<usize> = colouring.class_ptr.iter().map(|&c| c as usize).collect();
        let orig = colouring.class_vars;
        let mut pos = vec![0u32; n];
        for (p, &i) in orig.iter().enumerate() {
            pos[i as usize] = p as u32;
        }
        let int = IntModel::try_new(ising);
        let (csr_ptr, _, _) = j.csr();
        let mut row_ptr = Vec::with_capacity(n + 1);
        row_ptr.push(0);
        let mut cols = Vec::with_capacity(csr_ptr[n]);
        let mut wi = Vec::new();
        let mut wf = Vec::new();
        for &i in &orig {
            let i = i as usize;
            let (c, v) = j.row(i);
            cols.extend(c.iter().map(|&k| pos[k as usize]));
            match &int {
                Some(m) => wi.extend_from_slice(&m.w2[csr_ptr[i]..csr_ptr[i + 1]]),
                None => wf.extend_from_slice(v),
            }
            row_ptr.push(cols.len());
        }
        let weights = match int {
            Some(m) => Weights::Int {
                quantum: m.quantum,
                h: orig.iter().map(|&i| m.h[i as usize]).collect(),
                w2: wi,
                max_field: m.max_field,
            },
            None => Weights::Float {
                h: orig.iter().map(|&i| ising.h()[i as usize]).collect(),
                w: wf,
            },
        };
        ColourAnnealer {
            class_ptr,
            orig,
            row_ptr,
            cols,
            weights,
        }
    }

    /// Number of colour classes (parallel phases per sweep).
    pub fn num_colors(&self) -> usize {
        self.class_ptr.len() - 1
    }

    /// True when the exact integer path is used.
    pub fn is_integer(&self) -> bool {
        matches!(self.weights, Weights::Int { .. })
    }

    /// Anneals `spins` (±1, original order) in place through `betas` (one sweep per
    /// entry); the random numbers come from `key` only (see the module docs), so the
    /// result does not depend on the thread count. Returns the sweeps made: stops early
    /// when `ctx` asks (interrupt or time limit from `start`) and then finishes cold, as
    /// [`Annealer::anneal`](super::anneal::Annealer::anneal) does; reports one unit of
    /// progress per sweep.
    pub fn anneal(&self, betas: &[f64], spins: &mut [i8], key: u64, ctx: &SolveContext, start: Instant) -> usize {
        let n = self.orig.len();
        assert_eq!(spins.len(), n, "one spin per variable");
        let mut k = 0u64;
        match &self.weights {
            Weights::Int {
                quantum,
                h,
                w2,
                max_field,
            } => {
                let mut state: Vec<i8> = self.orig.iter().map(|&i| spins[i as usize]).collect();
                // Cached fields in units of q; exact integer adds commute, so the order in
                // which threads add to a shared neighbour never changes the result.
                let field: Vec<AtomicI32> = (0..n)
                    .map(|p| {
                        let (a, e) = (self.row_ptr[p], self.row_ptr[p + 1]);
                        let f: i32 = self.cols[a..e]
                            .iter()
                            .zip(&w2[a..e])
                            .map(|(&j, &w)| w / 2 * state[j as usize] as i32)
                            .sum();
                        AtomicI32::new(h[p] + f)
                    })
                    .collect();
                let mut th = Thresholds::new();
                let done = run_sweeps(betas, ctx, start, |beta| {
                    let b = 2.0 * beta * quantum;
                    th.fill(b, *max_field, n);
                    let sk = sweep_key(key, k);
                    k += 1;
                    for c in self.class_ptr.windows(2) {
                        let (a, e) = (c[0], c[1]);
                        let class = &mut state[a..e];
                        if class.len() <= CHUNK {
                            self.chunk_int(a, class, &field, w2, &th, b, sk);
                        } else {
                            class
                                .par_chunks_mut(CHUNK)
                                .enumerate()
                                .for_each(|(q, part)| self.chunk_int(a + q * CHUNK, part, &field, w2, &th, b, sk));
                        }
                    }
                });
                for (p, &i) in self.orig.iter().enumerate() {
                    spins[i as usize] = state[p];
                }
                done
            }
            Weights::Float { h, w } => {
                let state: Vec<AtomicI8> = self.orig.iter().map(|&i| AtomicI8::new(spins[i as usize])).collect();
                let done = run_sweeps(betas, ctx, start, |beta| {
                    let sk = sweep_key(key, k);
                    k += 1;
                    self.each_chunk(|lo, hi| self.chunk_float(lo, hi, &state, h, w, beta, sk));
                });
                for (p, &i) in self.orig.iter().enumerate() {
                    spins[i as usize] = state[p].load(Relaxed);
                }
                done
            }
        }
    }

    /// Runs `f(lo, hi)` on every chunk of every colour class, class after class; the
    /// chunks of one class in parallel.
    fn each_chunk(&self, f: impl Fn(usize, usize) + Sync) {
        for c in self.class_ptr.windows(2) {
            let (a, e) = (c[0], c[1]);
            let chunks = (e - a).div_ceil(CHUNK);
            if chunks <= 1 {
                f(a, e);
            } else {
                (0..chunks)
                    .into_par_iter()
                    .for_each(|k| f(a + k * CHUNK, (a + (k + 1) * CHUNK).min(e)));
            }
        }
    }

    /// Metropolis steps of renumbered spins `lo..lo + spins.len()` (part of one colour
    /// class) on the integer path, with cached fields: the same decision as the scalar
    /// kernel's `sweep_int` for the same uniform; an accepted flip adds to its neighbours'
    /// fields (neighbours are never in the class being swept).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn chunk_int(
        &self,
        lo: usize,
        spins: &mut [i8],
        field: &[AtomicI32],
        w2: &[i32],
        th: &Thresholds,
        b: f64,
        sk: u64,
    ) {
        let table = &th.table[..];
        let last = table.len() as i64 - 1;
        for (p, sp) in (lo..).zip(spins.iter_mut()) {
            let s = *sp as i32;
            let g = -(s * field[p].load(Relaxed)) as i64;
            let u = spin_bits(sk, p as u32);
            let accept = if th.complete {
                u < table[(g + 1).clamp(0, last) as usize]
            } else if g < 0 {
                true
            } else if g + 1 < last {
                u < table[g as usize + 1]
            } else {
                g < th.gmax && ((u >> 11) as f64 * (1.0 / (1u64 << 53) as f64)) < exp_neg(-b * g as f64)
            };
            if accept {
                *sp = -*sp;
                let sn = -s;
                let (a, e) = (self.row_ptr[p], self.row_ptr[p + 1]);
                for (&j, &w) in self.cols[a..e].iter().zip(&w2[a..e]) {
                    field[j as usize].fetch_add(w * sn, Relaxed);
                }
            }
        }
    }

    /// Metropolis steps of renumbered spins `lo..hi` (one colour class) on the float path.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn chunk_float(&self, lo: usize, hi: usize, state: &[AtomicI8], h: &[f64], w: &[f64], beta: f64, sk: u64) {
        let limit = if beta > 0.0 {
            MAX_BETA_DELTA / beta
        } else {
            f64::INFINITY
        };
        for p in lo..hi {
            let (ra, rb) = (self.row_ptr[p], self.row_ptr[p + 1]);
            let mut f = h[p];
            for (&j, &wj) in self.cols[ra..rb].iter().zip(&w[ra..rb]) {
                f += wj * state[j as usize].load(Relaxed) as f64;
            }
            let s = state[p].load(Relaxed);
            let de = -2.0 * s as f64 * f;
            let accept = de < 0.0 || {
                let u = (spin_bits(sk, p as u32) >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
                de < limit && u < sideways_or_exp(beta, de)
            };
            if accept {
                state[p].store(-s, Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// A periodic L x L grid with ±1 couplings (integer) or uniform ones (float).
    fn grid(l: usize, integer: bool, seed: u64) -> Ising {
        let mut rng = Rng::new(seed);
        let mut e = Vec::new();
        for y in 0..l {
            for x in 0..l {
                let i = (y * l + x) as u32;
                for (dx, dy) in [(1, 0), (0, 1)] {
                    let j = (((y + dy) % l) * l + (x + dx) % l) as u32;
                    let w = if integer {
                        if rng.below(2) == 0 { 1.0 } else { -1.0 }
                    } else {
                        rng.next_f64() - 0.5
                    };
                    e.push((i, j, w));
                }
            }
        }
        Ising::from_entries(l * l, &e, 0.0).unwrap()
    }

    #[test]
    fn renumbering_keeps_the_model() {
        for integer in [true, false] {
            let ising = grid(6, integer, 3);
            let a = ColourAnnealer::new(&ising);
            assert_eq!(a.is_integer(), integer);
            // Every class is independent, and row p lists original row orig[p].
            for c in a.class_ptr.windows(2) {
                for p in c[0]..c[1] {
                    for &q in &a.cols[a.row_ptr[p]..a.row_ptr[p + 1]] {
                        assert!(!(c[0]..c[1]).contains(&(q as usize)), "coupled spins share a class");
                    }
                }
            }
            let nnz: usize = (0..36).map(|i| ising.j().row(i).0.len()).sum();
            assert_eq!(a.cols.len(), nnz);
        }
    }

    #[test]
    fn thread_count_does_not_change_the_trajectory() {
        // 40 x 40 = 1600 spins in 2+ classes; CHUNK is larger, so also force the chunked
        // path by a model bigger than a chunk.
        for integer in [true, false] {
            let ising = grid(100, integer, 5);
            let a = ColourAnnealer::new(&ising);
            let betas: Vec<f64> = (0..30).map(|k| 0.1 + 0.05 * k as f64).collect();
            let start = Rng::new(8).spins(10_000);
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let mut s = start.clone();
                let ctx = SolveContext::default();
                pool.install(|| a.anneal(&betas, &mut s, 77, &ctx, Instant::now()));
                s
            };
            let one = run(1);
            assert_eq!(one, run(2), "integer={integer}");
            assert_eq!(one, run(3), "integer={integer}");
            assert_ne!(one, start);
        }
    }

    /// At fixed β the chain samples the Boltzmann distribution (odd ring of 3 plus a
    /// field: three colours), on both paths.
    #[test]
    fn boltzmann_frequencies() {
        let ising = Ising::from_entries(3, &[(0, 1, 1.0), (1, 2, -0.5), (0, 2, 0.75), (0, 0, 0.25)], 0.0).unwrap();
        let beta = 0.7;
        let states: Vec<Vec<i8>> = (0..8)
            .map(|k| (0..3).map(|b| if k >> b & 1 == 1 { 1 } else { -1 }).collect())
            .collect();
        let z: f64 = states.iter().map(|s| (-beta * ising.energy(s)).exp()).sum();
        for int in [true, false] {
            let mut a = ColourAnnealer::new(&ising);
            assert!(a.is_integer());
            assert_eq!(a.num_colors(), 3);
            if !int {
                a.weights = Weights::Float {
                    h: a.orig.iter().map(|&i| ising.h()[i as usize]).collect(),
                    w: (0..3)
                        .flat_map(|p: usize| {
                            let i = a.orig[p] as usize;
                            ising.j().row(i).1.to_vec()
                        })
                        .collect(),
                };
            }
            let mut s = vec![1i8; 3];
            let mut counts = [0u32; 8];
            let sweeps = 200_000u64;
            let ctx = SolveContext::default();
            for k in 0..sweeps {
                a.anneal(&[beta], &mut s, k, &ctx, Instant::now());
                let idx = s
                    .iter()
                    .enumerate()
                    .map(|(b, &v)| ((v == 1) as usize) << b)
                    .sum::<usize>();
                counts[idx] += 1;
            }
            for (k, st) in states.iter().enumerate() {
                let p = (-beta * ising.energy(st)).exp() / z;
                let f = counts[k] as f64 / sweeps as f64;
                assert!((f - p).abs() < 0.01, "int={int} state {k}: {f} vs {p}");
            }
        }
    }
}
