//! The cost operator: the model's energy as a diagonal over the `2^n` basis states.
//!
//! Basis state `k` sets variable `i` to bit `i` of `k`: `x_i = bit` for a QUBO, spin
//! `s_i = 2 bit - 1` for an Ising model (the same convention as the `exact` solver), so
//! `c_k = E(state k)` with the model's own energy, offset included.
//!
//! [`CostModel`] holds the terms (O(n + m) memory) and decides whether the energies lie on
//! a grid `c = offset + step * m` with integer `m` (integer or dyadic weights, as in G-set,
//! OR-Library and most QUBO benchmarks). [`CostDiagonal`] is the full table, built once in
//! two parallel passes of O(1) work per state: states are taken in chunks of `2^12`
//! consecutive indices; inside a chunk the energy is `L[x] + T_y[x] + H_y` where `L` (terms
//! among the 12 low variables) is computed once, `H_y` (terms among the high variables) once
//! per chunk, and the cross terms `T_y` are linear in the low variables, so their table is
//! filled by doubling (`T[x | 2^i] = T[x] + f_i Δv`), one addition per entry. On a grid with
//! at most 256 (65 536) levels each state stores a 1-byte (2-byte) level index, and the
//! simulator's phase step looks the phase up in a table of the distinct levels instead of
//! calling sin/cos per state; otherwise the diagonal is kept as `f64` energies.

use super::QaoaError;
use crate::model::Model;
use rayon::prelude::*;

/// Tables cover at least this many qubits (the CPU simulator's chunk of 8 amplitudes);
/// smaller models get idle extra qubits without terms, which stay in `|+⟩` and do not
/// change any expectation or probability of the real ones.
pub const MIN_SIM_QUBITS: usize = 3;
/// Low variables whose energies are tabulated once (chunk size `2^LOW_BITS`).
const LOW_BITS: usize = 12;
/// Largest number of grid levels stored as indices (u16).
pub const MAX_LEVELS: usize = 1 << 16;
/// Largest number of variables any simulator here accepts (the index is a `u64` and the
/// table must be addressable).
pub const MAX_QUBITS: usize = 40;

/// Energies on a grid: `E = offset + step * m` with integer `m = sum of integer weights`.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    /// Spacing of the grid (the gcd of the weights).
    pub step: f64,
    /// Linear weights divided by `step` (exact integers).
    pub linear: Vec<i64>,
    /// Pair weights `(i, j, w / step)`, `i < j`.
    pub quadratic: Vec<(u32, u32, i64)>,
    /// `sum |w| / step` over all terms: bounds `|m|`.
    pub abs_sum: i64,
    /// All energy differences are multiples of `lattice · step`: the gcd of the
    /// coefficients of the model's QUBO form (for spins, `2h_i − 2Σ_j J_ij` and `4J_ij`),
    /// which are exactly the differences `E(x + e_i) − E(x)` and their second differences.
    /// E.g. 2 for unweighted MaxCut, halving the number of levels.
    pub lattice: i64,
}

/// The terms of the cost operator in the model's own vartype.
#[derive(Clone, Debug, PartialEq)]
pub struct CostModel {
    /// Number of variables (qubits).
    pub n: usize,
    /// `true` for a QUBO (variables 0/1), `false` for Ising (spins ±1).
    pub binary: bool,
    /// Linear terms (`Q_ii` or `h_i`).
    pub linear: Vec<f64>,
    /// Pair terms `(i, j, w)`, `i < j`.
    pub quadratic: Vec<(u32, u32, f64)>,
    /// Constant term.
    pub offset: f64,
    /// The integer grid of the energies, when the weights have one.
    pub grid: Option<Grid>,
}

impl CostModel {
    /// The cost operator of `model`. Errors when the model has no variable or more than
    /// [`MAX_QUBITS`].
    pub fn new(model: &Model) -> Result<Self, QaoaError> {
        let n = model.num_variables();
        if n == 0 {
            return Err(QaoaError::InvalidParameter {
                name: "model",
                reason: "has no variables".into(),
            });
        }
        if n > MAX_QUBITS {
            return Err(QaoaError::TooManyQubits { n, max: MAX_QUBITS });
        }
        let linear = model.linear().to_vec();
        let quadratic: Vec<(u32, u32, f64)> = model
            .couplings()
            .iter_upper()
            .map(|(i, j, w)| (i as u32, j as u32, w))
            .collect();
        let binary = matches!(model, Model::Qubo(_));
        let grid = detect_grid(binary, &linear, &quadratic);
        Ok(CostModel {
            n,
            binary,
            linear,
            quadratic,
            offset: model.offset(),
            grid,
        })
    }

    /// Energy of basis state `k` (bit `i` of `k` is variable `i`), computed from the terms.
    pub fn energy(&self, k: u64) -> f64 {
        let v = |i: usize| -> f64 {
            let bit = (k >> i) & 1;
            if self.binary {
                bit as f64
            } else {
                2.0 * bit as f64 - 1.0
            }
        };
        let mut e = self.offset;
        for (i, &h) in self.linear.iter().enumerate() {
            e += h * v(i);
        }
        for &(i, j, w) in &self.quadratic {
            e += w * v(i as usize) * v(j as usize);
        }
        e
    }

    /// Bytes of the diagonal table [`CostDiagonal::new`] would allocate (an upper bound:
    /// 2 bytes per state on a grid of at most 65 536 levels, else 8).
    pub fn diagonal_bytes(&self) -> u64 {
        let per = match &self.grid {
            Some(g) if (2 * g.abs_sum as u128 + 1) <= MAX_LEVELS as u128 => 2,
            _ => 8,
        };
        (1u64 << self.n) * per
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Finds `step` such that every weight is an integer multiple of it (trying dyadic scales
/// `2^e`, `e = 0..=20`, then dividing by the gcd).
fn detect_grid(binary: bool, linear: &[f64], quadratic: &[(u32, u32, f64)]) -> Option<Grid> {
    const LIMIT: f64 = (1u64 << 40) as f64;
    let weights = || linear.iter().copied().chain(quadratic.iter().map(|t| t.2));
    for e in 0..=20 {
        let s = (1u64 << e) as f64;
        if !weights().all(|w| {
            let x = w * s;
            x.fract() == 0.0 && x.abs() <= LIMIT
        }) {
            continue;
        }
        let g = weights().fold(0u64, |g, w| gcd(g, (w * s).abs() as u64)).max(1);
        let scale = |w: f64| (w * s) as i64 / g as i64;
        let lin: Vec<i64> = linear.iter().map(|&w| scale(w)).collect();
        let quad: Vec<(u32, u32, i64)> = quadratic.iter().map(|&(i, j, w)| (i, j, scale(w))).collect();
        let abs_sum = lin.iter().map(|w| w.abs()).sum::<i64>() + quad.iter().map(|t| t.2.abs()).sum::<i64>();
        let lattice = if binary {
            1
        } else {
            // QUBO form of the spin model: a_i = 2 h_i - 2 sum_j J_ij, b_ij = 4 J_ij.
            let mut a: Vec<i64> = lin.iter().map(|h| 2 * h).collect();
            for &(i, j, w) in &quad {
                a[i as usize] -= 2 * w;
                a[j as usize] -= 2 * w;
            }
            let g = a
                .iter()
                .map(|v| v.unsigned_abs())
                .chain(quad.iter().map(|t| 4 * t.2.unsigned_abs()))
                .fold(0u64, gcd);
            g.max(1) as i64
        };
        return Some(Grid {
            step: g as f64 / s,
            linear: lin,
            quadratic: quad,
            abs_sum,
            lattice,
        });
    }
    None
}

/// Arithmetic the chunked evaluation runs in: exact `i64` on a grid, else `f64`.
trait Acc:
    Copy
    + Send
    + Sync
    + Default
    + PartialOrd
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Neg<Output = Self>
{
    fn from_small(v: i8) -> Self;
}

impl Acc for i64 {
    fn from_small(v: i8) -> Self {
        v as i64
    }
}

impl Acc for f64 {
    fn from_small(v: i8) -> Self {
        v as f64
    }
}

/// The terms split by where their variables fall: low (`< b`), high, or across.
struct Chunker<A> {
    n: usize,
    b: usize,
    binary: bool,
    low_table: Vec<A>,
    /// For each low variable `i`, its couplings to high variables `(j - b, w)`.
    cross: Vec<Vec<(u32, A)>>,
    high_linear: Vec<(u32, A)>,
    high_quad: Vec<(u32, u32, A)>,
}

impl<A: Acc> Chunker<A> {
    fn new(n: usize, binary: bool, linear: &[A], quadratic: &[(u32, u32, A)]) -> Self {
        let b = n.min(LOW_BITS);
        let v = |bit: u64| -> A { A::from_small(if binary { bit as i8 } else { 2 * bit as i8 - 1 }) };
        let low_lin: Vec<(usize, A)> = (0..b).map(|i| (i, linear[i])).collect();
        let low_quad: Vec<&(u32, u32, A)> = quadratic.iter().filter(|t| (t.1 as usize) < b).collect();
        let low_table: Vec<A> = (0..1u64 << b)
            .map(|x| {
                let mut e = A::default();
                for &(i, w) in &low_lin {
                    e = e + w * v((x >> i) & 1);
                }
                for &&(i, j, w) in &low_quad {
                    e = e + w * v((x >> i) & 1) * v((x >> j) & 1);
                }
                e
            })
            .collect();
        let mut cross = vec![Vec::new(); b];
        let mut high_quad = Vec::new();
        for &(i, j, w) in quadratic {
            let (i, j) = (i as usize, j as usize);
            if j < b {
                continue;
            }
            if i < b {
                cross[i].push(((j - b) as u32, w));
            } else {
                high_quad.push(((i - b) as u32, (j - b) as u32, w));
            }
        }
        let high_linear = (b..n).map(|i| ((i - b) as u32, linear[i])).collect();
        Chunker {
            n,
            b,
            binary,
            low_table,
            cross,
            high_linear,
            high_quad,
        }
    }

    fn num_chunks(&self) -> usize {
        1 << (self.n - self.b)
    }

    /// Energies (without offset) of the states `y * 2^b .. (y + 1) * 2^b` into `out`,
    /// using `cross_table` as scratch.
    fn chunk(&self, y: u64, out: &mut [A], cross_table: &mut [A]) {
        let v = |bit: u64| -> A { A::from_small(if self.binary { bit as i8 } else { 2 * bit as i8 - 1 }) };
        let mut high = A::default();
        for &(j, w) in &self.high_linear {
            high = high + w * v((y >> j) & 1);
        }
        for &(i, j, w) in &self.high_quad {
            high = high + w * v((y >> i) & 1) * v((y >> j) & 1);
        }
        // T[x] = sum_i f_i v_i(x), filled by doubling.
        let dv = v(1) - v(0);
        let mut t0 = A::default();
        cross_table[0] = A::default();
        for i in 0..self.b {
            let mut f = A::default();
            for &(j, w) in &self.cross[i] {
                f = f + w * v((y >> j) & 1);
            }
            t0 = t0 + f * v(0);
            let step = f * dv;
            let (lo, hi) = cross_table.split_at_mut(1 << i);
            for (h, &l) in hi[..1 << i].iter_mut().zip(lo.iter()) {
                *h = l + step;
            }
        }
        let base = high + t0;
        for ((o, &l), &t) in out.iter_mut().zip(&self.low_table).zip(cross_table.iter()) {
            *o = l + t + base;
        }
    }

    /// Smallest and largest energy (without offset) over all states.
    fn min_max(&self) -> (A, A) {
        let size = 1usize << self.b;
        (0..self.num_chunks() as u64)
            .into_par_iter()
            .map_init(
                || (vec![A::default(); size], vec![A::default(); size]),
                |(out, scratch), y| {
                    self.chunk(y, out, scratch);
                    let mut lo = out[0];
                    let mut hi = out[0];
                    for &e in out.iter() {
                        if e < lo {
                            lo = e;
                        }
                        if e > hi {
                            hi = e;
                        }
                    }
                    (lo, hi)
                },
            )
            .reduce_with(|a, b| (if b.0 < a.0 { b.0 } else { a.0 }, if b.1 > a.1 { b.1 } else { a.1 }))
            .expect("at least one chunk")
    }

    /// Writes `map(energy)` of every state into `dest` (length `2^n`), chunk by chunk in
    /// parallel, and returns how many states `is_ground` accepts.
    fn fill<D: Send>(&self, dest: &mut [D], map: impl Fn(A) -> D + Sync, is_ground: impl Fn(A) -> bool + Sync) -> u64 {
        let size = 1usize << self.b;
        dest.par_chunks_mut(size)
            .enumerate()
            .map_init(
                || (vec![A::default(); size], vec![A::default(); size]),
                |(out, scratch), (y, d)| {
                    self.chunk(y as u64, out, scratch);
                    let mut count = 0u64;
                    for (slot, &e) in d.iter_mut().zip(out.iter()) {
                        count += is_ground(e) as u64;
                        *slot = map(e);
                    }
                    count
                },
            )
            .sum()
    }
}

// Used by the distributed simulator (feature `mpi`) and the tests below.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
impl<A: Acc> Chunker<A> {
    /// Energies (without offset) of the states `start .. start + dest.len()` mapped into
    /// `dest`. `start` must be a multiple of `dest.len()`, a power of two (a rank's slice).
    fn fill_range<D: Send>(&self, start: u64, dest: &mut [D], map: impl Fn(A) -> D + Sync) {
        let size = 1usize << self.b;
        if dest.len() < size {
            let (mut out, mut scratch) = (vec![A::default(); size], vec![A::default(); size]);
            self.chunk(start >> self.b, &mut out, &mut scratch);
            let off = start as usize & (size - 1);
            for (d, &e) in dest.iter_mut().zip(&out[off..]) {
                *d = map(e);
            }
            return;
        }
        let first = start >> self.b;
        dest.par_chunks_mut(size).enumerate().for_each_init(
            || (vec![A::default(); size], vec![A::default(); size]),
            |(out, scratch), (y, d)| {
                self.chunk(first + y as u64, out, scratch);
                for (slot, &e) in d.iter_mut().zip(out.iter()) {
                    *slot = map(e);
                }
            },
        );
    }

    /// Smallest and largest energy (without offset) of the states `start .. start + len`
    /// (same alignment as [`fill_range`](Self::fill_range)).
    fn range_min_max(&self, start: u64, len: usize) -> (A, A) {
        let size = 1usize << self.b;
        let span = |v: &[A]| {
            v.iter().fold((v[0], v[0]), |(lo, hi), &e| {
                (if e < lo { e } else { lo }, if e > hi { e } else { hi })
            })
        };
        if len < size {
            let (mut out, mut scratch) = (vec![A::default(); size], vec![A::default(); size]);
            self.chunk(start >> self.b, &mut out, &mut scratch);
            let off = start as usize & (size - 1);
            return span(&out[off..off + len]);
        }
        let first = start >> self.b;
        (0..(len / size) as u64)
            .into_par_iter()
            .map_init(
                || (vec![A::default(); size], vec![A::default(); size]),
                |(out, scratch), y| {
                    self.chunk(first + y, out, scratch);
                    span(out)
                },
            )
            .reduce_with(|a, b| (if b.0 < a.0 { b.0 } else { a.0 }, if b.1 > a.1 { b.1 } else { a.1 }))
            .expect("at least one chunk")
    }
}

/// Energies of a slice of the basis states, for simulators that hold only part of the
/// state (one MPI rank's amplitudes): exact grid integers when the model has a grid
/// ([`CostModel::grid`]), else `f64`; both without the offset.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum RangeExtremes {
    /// `(min m, max m)` with `E = offset + step · m`.
    Grid(i64, i64),
    /// `(min, max)` of `E − offset`.
    Dense(f64, f64),
}

#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
impl CostModel {
    fn grid_chunker(&self, g: &Grid) -> Chunker<i64> {
        Chunker::<i64>::new(self.n, self.binary, &g.linear, &g.quadratic)
    }

    fn dense_chunker(&self) -> Chunker<f64> {
        Chunker::<f64>::new(self.n, self.binary, &self.linear, &self.quadratic)
    }

    /// Extremes of the energies of states `start .. start + len` (`len` a power of two
    /// dividing `start`, `start + len ≤ 2^n`), without building the whole diagonal.
    pub(crate) fn range_extremes(&self, start: u64, len: usize) -> RangeExtremes {
        match &self.grid {
            Some(g) => {
                let (lo, hi) = self.grid_chunker(g).range_min_max(start, len);
                RangeExtremes::Grid(lo, hi)
            }
            None => {
                let (lo, hi) = self.dense_chunker().range_min_max(start, len);
                RangeExtremes::Dense(lo, hi)
            }
        }
    }

    /// Writes `map(m)` for the grid integers `m` (`E = offset + step · m`) of states
    /// `start .. start + dest.len()` (alignment as in [`range_extremes`](Self::range_extremes)).
    /// Does nothing when the model has no grid.
    pub(crate) fn fill_range_grid<D: Send>(&self, start: u64, dest: &mut [D], map: impl Fn(i64) -> D + Sync) {
        if let Some(g) = &self.grid {
            self.grid_chunker(g).fill_range(start, dest, map);
        }
    }

    /// Writes `map(E − offset)` for states `start .. start + dest.len()`, computed in `f64`
    /// (for models without a grid).
    pub(crate) fn fill_range_dense<D: Send>(&self, start: u64, dest: &mut [D], map: impl Fn(f64) -> D + Sync) {
        self.dense_chunker().fill_range(start, dest, map);
    }
}

/// How the diagonal is stored.
#[derive(Clone, Debug, PartialEq)]
pub enum Levels {
    /// Level index per state (`c = offset + step * idx`), at most 256 levels.
    U8(Vec<u8>),
    /// Level index per state, at most 65 536 levels.
    U16(Vec<u16>),
    /// The energy of each state.
    Dense(Vec<f64>),
}

/// The full cost diagonal `c_k`, `k = 0 .. 2^n`, with its minimum (the ground-state energy),
/// maximum and the number of ground states.
#[derive(Clone, Debug, PartialEq)]
pub struct CostDiagonal {
    n: usize,
    /// Qubits of the table: `max(n, MIN_SIM_QUBITS)`; extra qubits carry no terms.
    sim: usize,
    levels: Levels,
    /// Grid origin: `c = base + step * idx` (level index form).
    base: f64,
    step: f64,
    min: f64,
    max: f64,
    num_ground_states: u64,
}

/// Reserves `len` elements or reports the allocation as too large.
pub(crate) fn alloc<T: Clone>(len: usize, fill: T, what: &str) -> Result<Vec<T>, QaoaError> {
    let bytes = len as u64 * std::mem::size_of::<T>() as u64;
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| QaoaError::HostMemory {
        what: what.to_string(),
        needed: bytes,
        available: available_memory(),
    })?;
    v.resize(len, fill);
    Ok(v)
}

/// Bytes of memory this process can still allocate: the OS's `MemAvailable`, or less under
/// a cgroup memory limit ([`crate::limits::available_memory`]).
pub fn available_memory() -> Option<u64> {
    crate::limits::available_memory()
}

/// Errors when `bytes` more would not fit in the memory the OS reports as available.
pub(crate) fn check_host_memory(what: &str, bytes: u64) -> Result<(), QaoaError> {
    if let Some(avail) = available_memory()
        && bytes > avail
    {
        return Err(QaoaError::HostMemory {
            what: what.to_string(),
            needed: bytes,
            available: Some(avail),
        });
    }
    Ok(())
}

impl CostDiagonal {
    /// Builds the diagonal of `cost` (two parallel passes; see the module docs).
    pub fn new(cost: &CostModel) -> Result<Self, QaoaError> {
        let n = cost.n;
        let sim = n.max(MIN_SIM_QUBITS);
        let dummies = 1u64 << (sim - n);
        check_host_memory("cost diagonal", cost.diagonal_bytes() * dummies)?;
        let len = 1usize << sim;
        let pad = |v: &[i64]| -> Vec<i64> { (0..sim).map(|i| v.get(i).copied().unwrap_or(0)).collect() };
        if let Some(g) = &cost.grid {
            let ch = Chunker::<i64>::new(sim, cost.binary, &pad(&g.linear), &g.quadratic);
            let (lo, hi) = ch.min_max();
            let lat = g.lattice;
            let levels = ((hi - lo) / lat) as u128 + 1;
            let min = cost.offset + g.step * lo as f64;
            let max = cost.offset + g.step * hi as f64;
            let base = min;
            let step = g.step * lat as f64;
            let (levels, count) = if levels <= 256 {
                let mut d = alloc(len, 0u8, "cost diagonal")?;
                let c = ch.fill(&mut d, |e| ((e - lo) / lat) as u8, |e| e == lo);
                (Levels::U8(d), c)
            } else if levels <= MAX_LEVELS as u128 {
                let mut d = alloc(len, 0u16, "cost diagonal")?;
                let c = ch.fill(&mut d, |e| ((e - lo) / lat) as u16, |e| e == lo);
                (Levels::U16(d), c)
            } else {
                let mut d = alloc(len, 0f64, "cost diagonal")?;
                let (off, st) = (cost.offset, g.step);
                let c = ch.fill(&mut d, |e| off + st * e as f64, |e| e == lo);
                (Levels::Dense(d), c)
            };
            return Ok(CostDiagonal {
                n,
                sim,
                levels,
                base,
                step,
                min,
                max,
                num_ground_states: count / dummies,
            });
        }
        let quad: Vec<(u32, u32, f64)> = cost.quadratic.clone();
        let linear: Vec<f64> = (0..sim).map(|i| cost.linear.get(i).copied().unwrap_or(0.0)).collect();
        let ch = Chunker::<f64>::new(sim, cost.binary, &linear, &quad);
        let (lo, hi) = ch.min_max();
        let off = cost.offset;
        let tol = ground_tolerance(lo, hi);
        let mut d = alloc(len, 0f64, "cost diagonal")?;
        let count = ch.fill(&mut d, |e| off + e, |e| e <= lo + tol);
        Ok(CostDiagonal {
            n,
            sim,
            levels: Levels::Dense(d),
            base: 0.0,
            step: 1.0,
            min: off + lo,
            max: off + hi,
            num_ground_states: count / dummies,
        })
    }

    /// Number of qubits (the model's variables).
    pub fn num_qubits(&self) -> usize {
        self.n
    }

    /// Qubits the table covers: `max(n, 3)` (states `k ≥ 2^n` repeat `k mod 2^n`).
    pub fn sim_qubits(&self) -> usize {
        self.sim
    }

    /// The stored table.
    pub fn levels(&self) -> &Levels {
        &self.levels
    }

    /// `(base, step)` with `c = base + step * idx` for the level-index forms.
    pub fn grid(&self) -> (f64, f64) {
        (self.base, self.step)
    }

    /// Number of distinct grid levels (`None` for the dense form).
    pub fn num_levels(&self) -> Option<usize> {
        let top = match &self.levels {
            Levels::U8(_) | Levels::U16(_) => ((self.max - self.min) / self.step).round() as usize,
            Levels::Dense(_) => return None,
        };
        Some(top + 1)
    }

    /// `c_k` (`k < 2^sim_qubits`).
    pub fn value(&self, k: usize) -> f64 {
        match &self.levels {
            Levels::U8(d) => self.base + self.step * d[k] as f64,
            Levels::U16(d) => self.base + self.step * d[k] as f64,
            Levels::Dense(d) => d[k],
        }
    }

    /// Whether state `k` has the minimum energy.
    pub fn is_ground(&self, k: usize) -> bool {
        match &self.levels {
            Levels::U8(d) => d[k] == 0,
            Levels::U16(d) => d[k] == 0,
            Levels::Dense(d) => d[k] <= self.min + ground_tolerance(self.min, self.max),
        }
    }

    /// Smallest energy: the ground-state energy (exact, from all `2^n` states).
    pub fn min(&self) -> f64 {
        self.min
    }

    /// Largest energy.
    pub fn max(&self) -> f64 {
        self.max
    }

    /// How many basis states have the minimum energy.
    pub fn num_ground_states(&self) -> u64 {
        self.num_ground_states
    }

    /// Bytes held by the table.
    pub fn heap_bytes(&self) -> usize {
        match &self.levels {
            Levels::U8(d) => d.len(),
            Levels::U16(d) => 2 * d.len(),
            Levels::Dense(d) => 8 * d.len(),
        }
    }
}

/// Energies within this of the minimum count as ground states (dense form only).
pub(crate) fn ground_tolerance(min: f64, max: f64) -> f64 {
    1e-9 * (1.0 + min.abs().max(max.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Ising, Qubo};
    use crate::rng::Rng;

    /// Every slice `[r·len, (r+1)·len)` (as one MPI rank holds) gives the same energies and
    /// extremes as the full diagonal, on a grid and off it, for slices shorter and longer
    /// than a chunk.
    #[test]
    fn range_energies_match_the_diagonal() {
        let mut rng = Rng::new(5);
        let n = 14;
        let mut grid = Vec::new();
        let mut dense = Vec::new();
        for i in 0..n as u32 {
            for j in i..n as u32 {
                if rng.next_f64() < 0.4 {
                    grid.push((i, j, rng.below(7) as f64 - 3.0));
                    dense.push((i, j, rng.next_f64() - 0.5));
                }
            }
        }
        for entries in [&grid, &dense] {
            let model = Model::Qubo(Qubo::from_entries(n, entries, 0.75).unwrap());
            let cm = CostModel::new(&model).unwrap();
            let d = CostDiagonal::new(&cm).unwrap();
            for bits in [3usize, 12, 13] {
                let len = 1usize << bits;
                let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
                for r in 0..(1u64 << (n - bits)) {
                    let start = r << bits;
                    let mut e = vec![0f64; len];
                    let span = match (&cm.grid, cm.range_extremes(start, len)) {
                        (Some(g), RangeExtremes::Grid(a, b)) => {
                            cm.fill_range_grid(start, &mut e, |m| cm.offset + g.step * m as f64);
                            (cm.offset + g.step * a as f64, cm.offset + g.step * b as f64)
                        }
                        (None, RangeExtremes::Dense(a, b)) => {
                            cm.fill_range_dense(start, &mut e, |x| cm.offset + x);
                            (cm.offset + a, cm.offset + b)
                        }
                        other => panic!("grid and extremes disagree: {other:?}"),
                    };
                    for (j, &x) in e.iter().enumerate() {
                        let want = d.value(start as usize + j);
                        assert!((x - want).abs() <= 1e-12, "state {}: {x} vs {want}", start as usize + j);
                    }
                    let slo = e.iter().copied().fold(f64::INFINITY, f64::min);
                    let shi = e.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    assert!((span.0 - slo).abs() <= 1e-12 && (span.1 - shi).abs() <= 1e-12);
                    lo = lo.min(span.0);
                    hi = hi.max(span.1);
                }
                assert!((lo - d.min()).abs() <= 1e-12 && (hi - d.max()).abs() <= 1e-12);
            }
        }
    }

    fn check(model: &Model) -> CostDiagonal {
        let cm = CostModel::new(model).unwrap();
        let d = CostDiagonal::new(&cm).unwrap();
        let n = model.num_variables();
        let mut min = f64::INFINITY;
        for k in 0..1usize << n {
            let state: Vec<i8> = (0..n)
                .map(|i| {
                    let b = ((k >> i) & 1) as i8;
                    if cm.binary { b } else { 2 * b - 1 }
                })
                .collect();
            let e = model.energy(&state);
            assert!((d.value(k) - e).abs() < 1e-9, "k={k}: {} vs {e}", d.value(k));
            assert!((cm.energy(k as u64) - e).abs() < 1e-9);
            min = min.min(e);
        }
        assert!((d.min() - min).abs() < 1e-9);
        let count = (0..1usize << n).filter(|&k| d.is_ground(k)).count() as u64;
        assert_eq!(d.sim_qubits(), n.max(MIN_SIM_QUBITS));
        assert_eq!(count, d.num_ground_states());
        d
    }

    #[test]
    fn grid_ising_matches_brute_force() {
        let mut rng = Rng::new(3);
        for n in [1usize, 3, 12, 13, 15] {
            let mut e = Vec::new();
            for i in 0..n as u32 {
                e.push((i, i, (rng.below(5) as f64) - 2.0));
                for j in i + 1..n as u32 {
                    if rng.below(3) == 0 {
                        e.push((i, j, rng.below(7) as f64 - 3.0));
                    }
                }
            }
            let d = check(&Model::Ising(Ising::from_entries(n, &e, 1.5).unwrap()));
            assert!(matches!(d.levels(), Levels::U8(_)));
        }
    }

    #[test]
    fn maxcut_energies_use_the_even_lattice() {
        let problem = crate::generate::regular(14, 3, crate::generate::Weights::One, 2).unwrap();
        let d = check(&problem.model);
        assert_eq!(d.grid().1, 2.0);
        assert_eq!(d.num_levels(), Some(((d.max() - d.min()) / 2.0) as usize + 1));
        // With fields of odd weight the lattice is 2 as well; with a field of weight
        // 1 on a QUBO it is 1.
        let ising = Ising::from_entries(3, &[(0, 0, 1.0), (0, 1, 1.0), (1, 2, -3.0)], 0.0).unwrap();
        assert_eq!(check(&Model::Ising(ising)).grid().1, 2.0);
        let qubo = Qubo::from_entries(2, &[(0, 0, 1.0), (0, 1, 2.0)], 0.0).unwrap();
        assert_eq!(check(&Model::Qubo(qubo)).grid().1, 1.0);
    }

    #[test]
    fn dyadic_and_dense_qubo() {
        let mut rng = Rng::new(4);
        let n = 14;
        let mut dy = Vec::new();
        let mut dense = Vec::new();
        for i in 0..n as u32 {
            for j in i..n as u32 {
                if rng.below(2) == 0 {
                    dy.push((i, j, (rng.below(400) as f64 - 200.0) * 0.25));
                    dense.push((i, j, rng.next_f64() * 2.0 - 1.0));
                }
            }
        }
        let d = check(&Model::Qubo(Qubo::from_entries(n, &dy, -0.75).unwrap()));
        assert!(matches!(d.levels(), Levels::U16(_)), "{:?}", d.num_levels());
        let d = check(&Model::Qubo(Qubo::from_entries(n, &dense, 0.1).unwrap()));
        assert!(matches!(d.levels(), Levels::Dense(_)));
    }
}
