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
use crate::model::{Couplings, Ising, Model, to_spins};
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

/// The block-diagonal union of `subs` and the offset of each one's first variable.
fn union(subs: &[&Subproblem]) -> Result<(Ising, Vec<usize>), SolveError> {
    let mut offsets = Vec::with_capacity(subs.len());
    let mut h = Vec::new();
    let mut triplets = Vec::new();
    for sub in subs {
        let off = h.len();
        offsets.push(off);
        let ising = sub.ising();
        h.extend_from_slice(ising.h());
        triplets.extend(
            ising
                .j()
                .iter_upper()
                .map(|(i, j, w)| ((i + off) as u32, (j + off) as u32, w)),
        );
    }
    let n = h.len();
    let j = Couplings::from_triplets(n, triplets)?;
    Ok((Ising::new(h, j, 0.0)?, offsets))
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
        let (ising, offsets) = union(&live)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_is_block_diagonal() {
        let a = Subproblem {
            id: 1,
            vars: vec![0, 1],
            model: Model::Ising(Ising::from_entries(2, &[(0, 1, 2.0), (0, 0, 0.5)], 0.0).unwrap()),
            constant: 0.0,
            current: vec![1, 1],
        };
        let b = Subproblem {
            id: 2,
            vars: vec![5, 6, 7],
            model: Model::Ising(Ising::from_entries(3, &[(0, 2, -1.0), (1, 1, 0.25)], 0.0).unwrap()),
            constant: 0.0,
            current: vec![1, -1, 1],
        };
        let (u, off) = union(&[&a, &b]).unwrap();
        assert_eq!(off, vec![0, 2]);
        assert_eq!(u.num_variables(), 5);
        let s = [1i8, -1, 1, 1, -1];
        assert_eq!(u.energy(&s), a.energy(&s[..2]) + b.energy(&s[2..]));
    }
}
