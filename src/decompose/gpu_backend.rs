//! The GPU sub-solver (`--sub-solver gpu-sa`): a whole batch of subproblems annealed in
//! one GPU run.
//!
//! The batch's subproblems are disjoint, so their union is one block-diagonal Ising model;
//! `gpu-sa` anneals it with every read a replica, all colour classes of all subproblems
//! swept together in the same dispatches. Each subproblem then takes its best read. The
//! union's seed derives from the job seed and the id of the batch's first subproblem, so
//! the answer is reproducible for a given batch size (the router's chunking is fixed),
//! though, unlike the CPU back-ends, it changes if the same subproblem is batched with
//! different neighbours. One β schedule serves the whole batch: `beta_range` if given,
//! otherwise the union's re-anneal range (from the current state) or neal's default.

use super::backend::{BatchSolver, SubSolverParams, SubStart};
use super::subproblem::Subproblem;
use crate::model::{Model, to_spins};
use crate::rng::derive_seed;
use crate::solvers::{GpuSaParams, GpuSaSolver, SaParams, SolveContext, SolveError, Solver, default_beta_range};

/// Subproblems per GPU run.
pub const GPU_BATCH: usize = 64;

/// Batched GPU annealing back-end (see the module docs).
pub struct GpuBatch {
    params: SubSolverParams,
}

impl GpuBatch {
    /// A back-end with the given reads, sweeps, β range and start.
    pub fn new(params: SubSolverParams) -> Self {
        GpuBatch { params }
    }
}

impl BatchSolver for GpuBatch {
    fn name(&self) -> &'static str {
        "gpu-sa"
    }

    fn batch_size(&self) -> Option<usize> {
        Some(GPU_BATCH)
    }

    fn solve_batch(&self, batch: &[Subproblem], seed: u64, ctx: &SolveContext) -> Result<Vec<Vec<i8>>, SolveError> {
        let live: Vec<&Subproblem> = batch.iter().filter(|s| !s.is_empty()).collect();
        let Some(first) = live.first() else {
            return Ok(vec![Vec::new(); batch.len()]);
        };
        let models: Vec<&Model> = live.iter().map(|s| &s.model).collect();
        let (union, offsets) = Model::block_diagonal(&models)?;
        let ising = union.to_ising().into_owned();
        let p = &self.params;
        let from_current = p.start == SubStart::Current && live.iter().all(|s| s.current.len() == s.len());
        let initial_states = from_current.then(|| vec![live.iter().flat_map(|s| s.current.iter().copied()).collect()]);
        let beta_range = p.beta_range.or_else(|| {
            let (hot, cold) = default_beta_range(&ising);
            Some(if from_current { (cold / 10.0, cold) } else { (hot, cold) })
        });
        let solver = GpuSaSolver::new(GpuSaParams {
            sa: SaParams {
                num_reads: p.num_reads.max(1),
                num_sweeps: p.num_sweeps,
                beta_range,
                seed: derive_seed(seed, first.id),
                initial_states,
                ..Default::default()
            },
            ..Default::default()
        });
        let set = solver.solve_with(&Model::Ising(ising), ctx)?;
        // Each subproblem keeps its best read.
        let mut best: Vec<(f64, Vec<i8>)> = live.iter().map(|s| (f64::INFINITY, s.current.clone())).collect();
        for sample in set.samples() {
            let spins = to_spins(set.vartype, &sample.state);
            for (k, sub) in live.iter().enumerate() {
                let local = &spins[offsets[k]..offsets[k] + sub.len()];
                let e = sub.energy(local);
                if e < best[k].0 {
                    best[k] = (e, local.to_vec());
                }
            }
        }
        let mut out = best.into_iter().map(|b| b.1);
        Ok(batch
            .iter()
            .map(|s| {
                if s.is_empty() {
                    Vec::new()
                } else {
                    out.next().unwrap_or_default()
                }
            })
            .collect())
    }
}
