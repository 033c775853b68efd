//! The distributed QAOA state vector (feature `mpi`) with each rank's slice on its GPU,
//! complex64.
//!
//! The split is that of [`DistributedQaoa`](super::qaoa::DistributedQaoa): with `2^k`
//! ranks, rank `r` holds the `2^(n-k)` amplitudes whose top `k` index bits equal `r`. Each
//! rank runs the GPU simulator's kernels ([`crate::qaoa::GpuSimulator`]) on its slice: the
//! cost diagonal of its basis states is built on its device, the phase and the mixers of
//! the `n − k` local qubits run there (tiled passes, chunk pairs when the slice exceeds one
//! binding). The mixer on global qubit `q` pairs rank `r` with `r ^ 2^(q-(n-k))`: per
//! chunk of the slice, the rank downloads its amplitudes, swaps them with the partner
//! (`MPI_Sendrecv`, pieces of at most [`PIECE_FLOATS`] floats), uploads the partner's, and
//! the pair kernel forms `a' = cos β · a − i sin β · b`.
//!
//! The energy range is all-reduced before the phase tables are built, so every rank uses
//! the same levels; `⟨C⟩`, the norm and the ground-state probability are the ranks' f32
//! sums added in f64 (`MPI_Allreduce`), then broadcast from rank 0 so every rank holds
//! bitwise the same numbers. Sampling reads each slice back once and walks the global
//! index order (the same collective draw as the CPU ranks'). Results equal one process's
//! GPU or complex64 CPU simulator to f32 rounding (about 1e-6 relative).
//!
//! The adapter is the one of [`GpuContext::shared`]: the CLI gives rank `r` adapter
//! `local rank mod count` (see [`crate::gpu`]). Every method is collective.

use super::DistError;
use super::mpi::MpiSession;
use super::qaoa::{global_qubits, sample_slices};
use crate::gpu::GpuContext;
use crate::qaoa::{Angles, CostModel, Evaluation, GpuSimulator, QaoaError, Simulator, Slice, check_host_memory};
use mpi::collective::{CommunicatorCollectives, Root, SystemOperation};
use mpi::point_to_point::send_receive_into;
use mpi::topology::Communicator;
use std::sync::Arc;

/// Largest number of `f32`s exchanged in one `MPI_Sendrecv` (2^24 floats = 64 MiB; MPI
/// counts are `int`s).
pub const PIECE_FLOATS: usize = 1 << 24;

/// Rank `rank`'s part of a distributed QAOA state on its GPU (see the module docs).
pub struct DistributedGpuQaoa<'a> {
    session: &'a MpiSession,
    sim: GpuSimulator,
    n: usize,
    global_bits: usize,
    rank: usize,
    /// Bytes this rank sent in exchanges so far.
    sent: u64,
}

impl std::fmt::Debug for DistributedGpuQaoa<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistributedGpuQaoa")
            .field("n", &self.n)
            .field("ranks", &(1usize << self.global_bits))
            .field("rank", &self.rank)
            .field("adapter", &self.sim.context().name())
            .finish()
    }
}

fn mpi_err(e: QaoaError) -> DistError {
    DistError::Qaoa(e.to_string())
}

impl<'a> DistributedGpuQaoa<'a> {
    /// Rank `session.rank()`'s part of the state of `cost` on `ctx` (collective). Errors
    /// (on every rank alike) when the number of ranks is not a power of two or exceeds
    /// `2^n`; a device or memory error on one rank is reported by that rank (the others
    /// then stop at the next collective, as with any MPI failure).
    pub fn new(session: &'a MpiSession, ctx: Arc<GpuContext>, cost: &CostModel) -> Result<Self, DistError> {
        let n = cost.n;
        let k = global_qubits(session.size(), n)?;
        let rank = session.rank() as usize;
        // Host memory for one chunk's download and the partner's copy.
        let local_bytes = 8u64 << (n - k);
        check_host_memory(
            &format!("rank {rank}'s exchange buffers for a {n}-qubit state"),
            2 * local_bytes.min(ctx.limits().max_storage_buffer_binding_size),
        )
        .map_err(mpi_err)?;
        let world = session.world();
        let mut range = |lo: f32, hi: f32| {
            let (mut glo, mut ghi) = (0f32, 0f32);
            world.all_reduce_into(&lo, &mut glo, SystemOperation::min());
            world.all_reduce_into(&hi, &mut ghi, SystemOperation::max());
            Ok((glo, ghi))
        };
        let slice = Slice { bits: k, index: rank };
        let sim = GpuSimulator::build(ctx, cost, None, slice, &mut range).map_err(mpi_err)?;
        Ok(DistributedGpuQaoa {
            session,
            sim,
            n,
            global_bits: k,
            rank,
            sent: 0,
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
    /// many): `global qubits × 2^(n-k) × 8` per layer.
    pub fn bytes_sent(&self) -> u64 {
        self.sent
    }

    /// The rank's GPU simulator (its slice).
    pub fn simulator(&self) -> &GpuSimulator {
        &self.sim
    }
}

impl Simulator for DistributedGpuQaoa<'_> {
    fn num_qubits(&self) -> usize {
        self.n
    }

    fn cost_range(&self) -> (f64, f64) {
        self.sim.cost_range()
    }

    /// Collective: every rank must call it with the same angles.
    fn evaluate(&mut self, angles: &Angles) -> Result<Evaluation, QaoaError> {
        let world = self.session.world();
        let rank = self.rank;
        let mut sent = 0u64;
        let mut exchange = |bit: usize, own: &[[f32; 2]], other: &mut [[f32; 2]]| {
            let partner = world.process_at_rank((rank ^ (1 << bit)) as i32);
            let own: &[f32] = bytemuck::cast_slice(own);
            let other: &mut [f32] = bytemuck::cast_slice_mut(other);
            for (a, b) in own.chunks(PIECE_FLOATS).zip(other.chunks_mut(PIECE_FLOATS)) {
                send_receive_into(a, &partner, b, &partner);
                sent += 4 * a.len() as u64;
            }
            Ok(())
        };
        let sums = self.sim.evaluate_slice(angles, &mut exchange)?;
        self.sent += sent;
        let mut total = [0.0f64; 3];
        world.all_reduce_into(&sums[..], &mut total[..], SystemOperation::sum());
        world.process_at_rank(0).broadcast_into(&mut total[..]);
        Ok(self.sim.evaluation(total))
    }

    /// Collective: every rank gets the same `shots` indices (see the module docs).
    fn sample(&mut self, shots: usize, seed: u64) -> Result<Vec<u64>, QaoaError> {
        crate::qaoa::check_shots(shots)?;
        let state = self.sim.read_state_checked()?;
        let prob = |i: usize| {
            let [re, im] = state[i];
            (re as f64) * (re as f64) + (im as f64) * (im as f64)
        };
        Ok(sample_slices(self.session, self.local_qubits(), &prob, shots, seed))
    }

    fn backend(&self) -> String {
        format!(
            "mpi gpu complex64 ({} ranks x 2^{} amplitudes, rank {} on {})",
            self.ranks(),
            self.local_qubits(),
            self.rank,
            self.sim.context().name()
        )
    }
}
