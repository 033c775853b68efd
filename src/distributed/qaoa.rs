//! A QAOA state vector distributed over MPI ranks (feature `mpi`), complex128.
//!
//! With `2^k` ranks and `n` qubits, rank `r` holds the `2^(n-k)` amplitudes whose top `k`
//! index bits equal `r` (global index `r · 2^(n-k) + j`): qubits `q < n − k` are *local*,
//! the top `k` are *global*. Each rank builds the energies of its own slice from the cost
//! terms ([`CostModel`]); no rank holds the whole diagonal. Per layer:
//! - the phase `e^{-iγ c}` is applied locally (a table of the grid levels when the energies
//!   lie on a grid of at most [`MAX_LEVELS`] levels, else a `sin`/`cos` per amplitude);
//! - the mixer `RX(2β)` on local qubits is applied in place (cache-blocked butterflies for
//!   the low qubits, one pass per two higher local qubits, rayon-parallel);
//! - the mixer on global qubit `q` pairs rank `r` with `r ^ 2^(q-(n-k))`: the two exchange
//!   their whole local vectors (`MPI_Sendrecv`, in pieces of at most [`PIECE_AMPLITUDES`])
//!   and each combines `a' = cos β · a − i sin β · b` elementwise, `a` its own amplitude and
//!   `b` the partner's (the scheme of QOKit's and cuStateVec's distributed simulators).
//!
//! Per layer each rank sends and receives `k · 2^(n-k) · 16` bytes. Memory per rank: the
//! local state (16 bytes per amplitude), one receive piece, and the local energies
//! (2 bytes per amplitude on a grid of at most 65 536 levels, else 8).
//!
//! `⟨C⟩`, the norm and the ground-state probability are local sums combined with
//! `MPI_Allreduce`, then broadcast from rank 0 so that every rank holds bitwise the same
//! numbers (an optimiser run on every rank then takes the same steps). The conventions are
//! those of [`crate::qaoa`]; results equal [`CpuSimulator<f64>`](crate::qaoa::CpuSimulator)
//! up to rounding. Every method is collective: all ranks must call it, in the same order,
//! from the thread that initialised MPI.
//!
//! [`DistributedGpuQaoa`](super::qaoa_gpu::DistributedGpuQaoa) is the same split with each
//! rank's slice on its GPU (complex64).

use super::DistError;
use super::mpi::MpiSession;
use crate::qaoa::{
    Angles, CostModel, Evaluation, MAX_LEVELS, QaoaError, RangeExtremes, Simulator, check_host_memory, ground_tolerance,
};
use crate::rng::Rng;
use mpi::collective::{CommunicatorCollectives, Root, SystemOperation};
use mpi::point_to_point::send_receive_into;
use mpi::topology::Communicator;
use rayon::prelude::*;

/// Largest number of amplitudes exchanged in one `MPI_Sendrecv` (2^23 complex128 =
/// 128 MiB; MPI counts are `int`s, and the receive buffer is one piece).
pub const PIECE_AMPLITUDES: usize = 1 << 23;

/// Low local qubits applied together inside blocks of `2^LOW_BITS` amplitudes (128 KiB).
const LOW_BITS: usize = 13;

/// Amplitudes per rayon task in elementwise passes.
const TASK: usize = 1 << 12;

/// The local energies.
enum LocalCost {
    /// `c = base + step · idx`; ground states have `idx == 0`.
    Levels {
        idx: Vec<u16>,
        base: f64,
        step: f64,
        levels: usize,
    },
    /// `c` per amplitude; ground states have `c ≤ threshold`.
    Dense { c: Vec<f64>, threshold: f64 },
}

/// Rank `rank`'s part of a distributed QAOA state (see the module docs).
pub struct DistributedQaoa<'a> {
    session: &'a MpiSession,
    n: usize,
    /// `k`: log2 of the number of ranks (global qubits).
    global_bits: usize,
    rank: usize,
    cost: LocalCost,
    min: f64,
    max: f64,
    /// Interleaved `(re, im)` of the `2^(n-k)` local amplitudes.
    state: Vec<f64>,
    /// One receive piece (interleaved).
    recv: Vec<f64>,
    /// Bytes this rank sent in exchanges so far.
    sent: u64,
    evaluated: bool,
}

impl std::fmt::Debug for DistributedQaoa<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistributedQaoa")
            .field("n", &self.n)
            .field("ranks", &(1usize << self.global_bits))
            .field("rank", &self.rank)
            .finish()
    }
}

/// `log2(ranks)` if `ranks` is a power of two that `n` qubits can be split over.
pub fn global_qubits(ranks: usize, n: usize) -> Result<usize, DistError> {
    if !ranks.is_power_of_two() {
        return Err(DistError::WorldSize {
            ranks,
            reason: "the distributed QAOA state vector needs a power-of-two number of ranks (1, 2, 4, 8, ...)".into(),
        });
    }
    let k = ranks.trailing_zeros() as usize;
    if k > n {
        return Err(DistError::WorldSize {
            ranks,
            reason: format!("more ranks than the 2^{n} amplitudes of {n} qubits"),
        });
    }
    Ok(k)
}

impl<'a> DistributedQaoa<'a> {
    /// Rank `session.rank()`'s part of the state of `cost` (collective). Errors (on every
    /// rank alike) when the number of ranks is not a power of two or exceeds `2^n`, or
    /// when the local state does not fit this rank's memory.
    pub fn new(session: &'a MpiSession, cost: &CostModel) -> Result<Self, DistError> {
        let n = cost.n;
        let ranks = session.size();
        let k = global_qubits(ranks, n)?;
        let rank = session.rank() as usize;
        let len = 1usize << (n - k);
        let start = (rank as u64) << (n - k);
        let piece = len.min(PIECE_AMPLITUDES);
        let bytes = (len as u64 + piece as u64) * 16 + len as u64 * 8;
        check_host_memory(&format!("rank {rank}'s part of a {n}-qubit state"), bytes)
            .map_err(|e| DistError::Qaoa(e.to_string()))?;
        let world = session.world();
        let local = cost.range_extremes(start, len);
        let (cost_local, min, max) = match local {
            RangeExtremes::Grid(lo, hi) => {
                let (mut glo, mut ghi) = (0i64, 0i64);
                world.all_reduce_into(&lo, &mut glo, SystemOperation::min());
                world.all_reduce_into(&hi, &mut ghi, SystemOperation::max());
                let g = cost.grid.as_ref().expect("grid extremes come from a grid");
                let lat = g.lattice;
                let levels = ((ghi - glo) / lat) as u128 + 1;
                let min = cost.offset + g.step * glo as f64;
                let max = cost.offset + g.step * ghi as f64;
                if levels <= MAX_LEVELS as u128 {
                    let mut idx = vec![0u16; len];
                    cost.fill_range_grid(start, &mut idx, |e| ((e - glo) / lat) as u16);
                    let lc = LocalCost::Levels {
                        idx,
                        base: min,
                        step: g.step * lat as f64,
                        levels: levels as usize,
                    };
                    (lc, min, max)
                } else {
                    let mut c = vec![0f64; len];
                    let (off, st) = (cost.offset, g.step);
                    cost.fill_range_grid(start, &mut c, |e| off + st * e as f64);
                    let threshold = min + ground_tolerance(min, max);
                    (LocalCost::Dense { c, threshold }, min, max)
                }
            }
            RangeExtremes::Dense(lo, hi) => {
                let (mut glo, mut ghi) = (0f64, 0f64);
                world.all_reduce_into(&lo, &mut glo, SystemOperation::min());
                world.all_reduce_into(&hi, &mut ghi, SystemOperation::max());
                let off = cost.offset;
                let mut c = vec![0f64; len];
                cost.fill_range_dense(start, &mut c, |e| off + e);
                let (min, max) = (off + glo, off + ghi);
                let threshold = min + ground_tolerance(min, max);
                (LocalCost::Dense { c, threshold }, min, max)
            }
        };
        Ok(DistributedQaoa {
            session,
            n,
            global_bits: k,
            rank,
            cost: cost_local,
            min,
            max,
            state: vec![0.0; 2 * len],
            recv: vec![0.0; 2 * piece],
            sent: 0,
            evaluated: false,
        })
    }

    /// Number of ranks the state is split over.
    pub fn ranks(&self) -> usize {
        1 << self.global_bits
    }

    /// Qubits held within each rank (`n − log2 ranks`).
    pub fn local_qubits(&self) -> usize {
        self.n - self.global_bits
    }

    /// Bytes this rank has sent to partners in mixer exchanges so far (it received as
    /// many): `global qubits × 2^(n-k) × 16` per layer.
    pub fn bytes_sent(&self) -> u64 {
        self.sent
    }

    /// Amplitude `ψ_k` of the last evaluated state, for `k` in this rank's slice
    /// (`None` for other indices).
    pub fn local_amplitude(&self, k: u64) -> Option<(f64, f64)> {
        let lb = self.local_qubits();
        if (k >> lb) as usize != self.rank || k >> self.n != 0 {
            return None;
        }
        let j = (k as usize) & ((1usize << lb) - 1);
        Some((self.state[2 * j], self.state[2 * j + 1]))
    }

    /// Multiplies by `e^{-iγ c}`; on the first layer, sets the state to `|+⟩^n` first.
    fn phase(&mut self, gamma: f64, first: bool) {
        let amp0 = ((1u64 << self.n) as f64).sqrt().recip();
        let rot = move |z: &mut [f64], (c, s): (f64, f64)| {
            if first {
                z[0] = amp0 * c;
                z[1] = amp0 * s;
            } else {
                let (re, im) = (z[0], z[1]);
                z[0] = re * c - im * s;
                z[1] = re * s + im * c;
            }
        };
        match &self.cost {
            LocalCost::Levels {
                idx,
                base,
                step,
                levels,
            } => {
                let table: Vec<(f64, f64)> = (0..*levels)
                    .map(|m| {
                        let (s, c) = (-gamma * (base + step * m as f64)).sin_cos();
                        (c, s)
                    })
                    .collect();
                self.state
                    .par_chunks_mut(2 * TASK)
                    .zip(idx.par_chunks(TASK))
                    .for_each(|(z, ix)| {
                        for (a, &m) in z.chunks_exact_mut(2).zip(ix) {
                            rot(a, table[m as usize]);
                        }
                    });
            }
            LocalCost::Dense { c, .. } => {
                self.state
                    .par_chunks_mut(2 * TASK)
                    .zip(c.par_chunks(TASK))
                    .for_each(|(z, cs)| {
                        for (a, &e) in z.chunks_exact_mut(2).zip(cs) {
                            let (s, c) = (-gamma * e).sin_cos();
                            rot(a, (c, s));
                        }
                    });
            }
        }
    }

    /// `RX(2β)` on every local qubit.
    fn mix_local(&mut self, c: f64, s: f64) {
        let lb = self.local_qubits();
        let low = lb.min(LOW_BITS);
        self.state.par_chunks_mut(2 << low).for_each(|blk| {
            for q in 0..low {
                let h = 1usize << q;
                for pair in blk.chunks_exact_mut(4 << q) {
                    let (lo, hi) = pair.split_at_mut(2 * h);
                    butterfly(lo, hi, c, s);
                }
            }
        });
        // Higher local qubits two per pass over memory: amplitudes j, j + h, j + 2h, j + 3h
        // (h = 2^q) take the butterflies of qubit q, then of qubit q + 1, while cached.
        let mut q = low;
        while q + 1 < lb {
            let h = 1usize << q;
            self.state.par_chunks_mut(8 << q).for_each(|group| {
                let (x01, x23) = group.split_at_mut(4 * h);
                let (x0, x1) = x01.split_at_mut(2 * h);
                let (x2, x3) = x23.split_at_mut(2 * h);
                x0.par_chunks_mut(2 * TASK)
                    .zip(x1.par_chunks_mut(2 * TASK))
                    .zip(x2.par_chunks_mut(2 * TASK))
                    .zip(x3.par_chunks_mut(2 * TASK))
                    .for_each(|(((a, b), d), e)| {
                        butterfly(a, b, c, s);
                        butterfly(d, e, c, s);
                        butterfly(a, d, c, s);
                        butterfly(b, e, c, s);
                    });
            });
            q += 2;
        }
        if q < lb {
            let h = 1usize << q;
            self.state.par_chunks_mut(4 << q).for_each(|pair| {
                let (lo, hi) = pair.split_at_mut(2 * h);
                lo.par_chunks_mut(2 * TASK)
                    .zip(hi.par_chunks_mut(2 * TASK))
                    .for_each(|(a, b)| butterfly(a, b, c, s));
            });
        }
    }

    /// `RX(2β)` on global qubit `q ≥ n − k`: exchange with the partner rank, then
    /// `own ← c · own − i s · partner's`.
    fn mix_global(&mut self, q: usize, c: f64, s: f64) {
        let partner = (self.rank ^ (1 << (q - self.local_qubits()))) as i32;
        let world = self.session.world();
        let other = world.process_at_rank(partner);
        let piece = self.recv.len();
        for own in self.state.chunks_mut(piece) {
            let recv = &mut self.recv[..own.len()];
            send_receive_into(&*own, &other, recv, &other);
            self.sent += 8 * own.len() as u64;
            own.par_chunks_mut(2 * TASK)
                .zip(recv.par_chunks(2 * TASK))
                .for_each(|(a, b)| {
                    for (x, y) in a.chunks_exact_mut(2).zip(b.chunks_exact(2)) {
                        let (ar, ai) = (x[0], x[1]);
                        x[0] = c * ar + s * y[1];
                        x[1] = c * ai - s * y[0];
                    }
                });
        }
    }

    /// Local `(Σ|ψ|², Σ|ψ|² w, Σ_ground |ψ|²)` with `w` the level index or the energy.
    fn local_sums(&self) -> [f64; 3] {
        let add = |a: [f64; 3], b: [f64; 3]| [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
        match &self.cost {
            LocalCost::Levels { idx, .. } => self
                .state
                .par_chunks(2 * TASK)
                .zip(idx.par_chunks(TASK))
                .map(|(z, ix)| {
                    let mut acc = [0.0; 3];
                    for (a, &m) in z.chunks_exact(2).zip(ix) {
                        let p = a[0] * a[0] + a[1] * a[1];
                        acc[0] += p;
                        acc[1] += p * m as f64;
                        if m == 0 {
                            acc[2] += p;
                        }
                    }
                    acc
                })
                .reduce(|| [0.0; 3], add),
            LocalCost::Dense { c, threshold } => self
                .state
                .par_chunks(2 * TASK)
                .zip(c.par_chunks(TASK))
                .map(|(z, cs)| {
                    let mut acc = [0.0; 3];
                    for (a, &e) in z.chunks_exact(2).zip(cs) {
                        let p = a[0] * a[0] + a[1] * a[1];
                        acc[0] += p;
                        acc[1] += p * e;
                        if e <= *threshold {
                            acc[2] += p;
                        }
                    }
                    acc
                })
                .reduce(|| [0.0; 3], add),
        }
    }
}

/// `(a, b) ← (c a − i s b, c b − i s a)` elementwise on interleaved complex slices.
fn butterfly(lo: &mut [f64], hi: &mut [f64], c: f64, s: f64) {
    for (x, y) in lo.chunks_exact_mut(2).zip(hi.chunks_exact_mut(2)) {
        let (ar, ai, br, bi) = (x[0], x[1], y[0], y[1]);
        x[0] = c * ar + s * bi;
        x[1] = c * ai - s * br;
        y[0] = c * br + s * ai;
        y[1] = c * bi - s * ar;
    }
}

impl Simulator for DistributedQaoa<'_> {
    fn num_qubits(&self) -> usize {
        self.n
    }

    fn cost_range(&self) -> (f64, f64) {
        (self.min, self.max)
    }

    /// Collective: every rank must call it with the same angles.
    fn evaluate(&mut self, angles: &Angles) -> Result<Evaluation, QaoaError> {
        angles.check()?;
        for l in 0..angles.p() {
            self.phase(angles.gamma[l], l == 0);
            let (s, c) = angles.beta[l].sin_cos();
            self.mix_local(c, s);
            for q in self.local_qubits()..self.n {
                self.mix_global(q, c, s);
            }
        }
        self.evaluated = true;
        let local = self.local_sums();
        let world = self.session.world();
        let mut total = [0.0f64; 3];
        world.all_reduce_into(&local[..], &mut total[..], SystemOperation::sum());
        world.process_at_rank(0).broadcast_into(&mut total[..]);
        let [norm, weighted, ground] = total;
        let expectation = match &self.cost {
            LocalCost::Levels { base, step, .. } => base * norm + step * weighted,
            LocalCost::Dense { .. } => weighted,
        };
        Ok(Evaluation {
            expectation,
            norm,
            ground_state_probability: ground,
        })
    }

    /// Collective: every rank gets the same `shots` indices. Shot `j` draws
    /// `u = U_j · total` from the RNG stream `(seed, j)` and takes the first index whose
    /// running probability exceeds `u`, in global index order (ranks in order).
    fn sample(&mut self, shots: usize, seed: u64) -> Result<Vec<u64>, QaoaError> {
        crate::qaoa::check_shots(shots)?;
        if !self.evaluated {
            return Err(QaoaError::NotEvaluated);
        }
        let state = &self.state;
        let prob = |i: usize| state[2 * i] * state[2 * i] + state[2 * i + 1] * state[2 * i + 1];
        Ok(sample_slices(self.session, self.local_qubits(), &prob, shots, seed))
    }

    fn backend(&self) -> String {
        format!(
            "mpi complex128 ({} ranks x 2^{} amplitudes, {} threads per rank)",
            self.ranks(),
            self.local_qubits(),
            rayon::current_num_threads()
        )
    }
}

/// Collective sampling over a state split into `2^k` rank slices of `2^local` amplitudes:
/// every rank gets the same `shots` indices. Shot `j` draws `u = U_j · total` from the RNG
/// stream `(seed, j)` and takes the first index whose running probability exceeds `u`, in
/// global index order (ranks in order); `prob(i)` is `|ψ|²` of this rank's local state `i`.
pub(super) fn sample_slices(
    session: &MpiSession,
    local: usize,
    prob: &(dyn Fn(usize) -> f64 + Sync),
    shots: usize,
    seed: u64,
) -> Vec<u64> {
    let world = session.world();
    let ranks = session.size();
    let rank = session.rank() as usize;
    let len = 1usize << local;
    let chunk = len.min(4096);
    let sums: Vec<f64> = (0..len / chunk)
        .into_par_iter()
        .map(|c| (c * chunk..(c + 1) * chunk).map(prob).sum())
        .collect();
    let mine: f64 = sums.iter().sum();
    // Every rank's mass, then the offsets of the ranks in global order.
    let mut own = vec![0.0f64; ranks];
    own[rank] = mine;
    let mut mass = vec![0.0f64; ranks];
    world.all_reduce_into(&own[..], &mut mass[..], SystemOperation::sum());
    world.process_at_rank(0).broadcast_into(&mut mass[..]);
    let mut before = vec![0.0f64; ranks + 1];
    for r in 0..ranks {
        before[r + 1] = before[r] + mass[r];
    }
    let total = before[ranks];
    let mut cum = sums;
    for i in 1..cum.len() {
        cum[i] += cum[i - 1];
    }
    let base = (rank as u64) << local;
    let last_rank = (0..ranks).rev().find(|&r| mass[r] > 0.0).unwrap_or(0);
    // Shots that land in this rank's slice get their index; the others 0 (summed).
    let picks: Vec<u64> = (0..shots as u64)
        .into_par_iter()
        .map(|j| {
            let u = Rng::stream(seed, j).next_f64() * total;
            let owner = (before[1..].partition_point(|&x| x <= u)).min(last_rank);
            if owner != rank {
                return 0;
            }
            let u = u - before[rank];
            let ch = cum.partition_point(|&x| x <= u).min(cum.len() - 1);
            let mut acc = if ch == 0 { 0.0 } else { cum[ch - 1] };
            let mut last = ch * chunk;
            for i in ch * chunk..(ch + 1) * chunk {
                let p = prob(i);
                if p > 0.0 {
                    last = i;
                }
                acc += p;
                if acc > u {
                    return base + i as u64;
                }
            }
            base + last as u64
        })
        .collect();
    let mut out = vec![0u64; shots];
    world.all_reduce_into(&picks[..], &mut out[..], SystemOperation::sum());
    out
}
