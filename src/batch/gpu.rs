//! The GPU batcher: a whole batch of subproblems annealed in one `gpu-sa` run.
//!
//! The batch's subproblems are independent, so their union is one block-diagonal model
//! ([`Model::block_diagonal`]); `gpu-sa` anneals it with every read a replica, all colour
//! classes of all subproblems swept together in the same dispatches. Each subproblem gets
//! every read's slice as a sample (energies recomputed on the CPU on its own model),
//! optionally each polished by steepest descent plus a polished copy of its warm start.
//!
//! The run's seed is the seed of the batch's first non-empty subproblem, so a batch gives
//! the same answer every time (it changes if subproblems are batched differently; the
//! decomposition router chunks in a fixed way). One β schedule serves the whole batch:
//! `beta_range` if given, otherwise the union's re-anneal range `(β1 / 10, β1)` when the
//! anneal starts from the warm starts, or neal's default range of the union.

use super::{BatchSolver, Subproblem};
use crate::model::{Model, SampleSet};
use crate::solvers::greedy::polish;
use crate::solvers::{GpuSaParams, GpuSaSolver, SaParams, SolveContext, SolveError, Solver, default_beta_range};

/// Subproblems per GPU run asked of the decomposition router.
pub const GPU_BATCH: usize = 64;

/// Batched GPU annealing (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct GpuBatcher {
    /// Reads (replicas) per run; each is a sample of every subproblem.
    pub reads: usize,
    /// Sweeps per read.
    pub sweeps: usize,
    /// β range of the run (`None`: see the module docs).
    pub beta_range: Option<(f64, f64)>,
    /// Anneal from the subproblems' warm starts when every non-empty subproblem has one
    /// (otherwise from random states).
    pub start_from_warm: bool,
    /// Polish every read's slice by steepest descent and add the polished warm start as
    /// a sample (the orchestrator's setting); otherwise the raw reads are returned.
    pub polish: bool,
}

impl Default for GpuBatcher {
    /// The orchestrator's batcher: 16 reads x 400 sweeps from random states, polished.
    fn default() -> Self {
        GpuBatcher {
            reads: 16,
            sweeps: 400,
            beta_range: None,
            start_from_warm: false,
            polish: true,
        }
    }
}

impl GpuBatcher {
    /// The orchestrator's batcher with `reads` x `sweeps` (polished, random starts).
    pub fn polished(reads: usize, sweeps: usize) -> Self {
        GpuBatcher {
            reads,
            sweeps,
            ..Default::default()
        }
    }
}

impl BatchSolver for GpuBatcher {
    /// `gpu-sa` for raw reads, `gpu-sa(RxS, batched)` when polishing.
    fn name(&self) -> String {
        if self.polish {
            format!("gpu-sa({}x{}, batched)", self.reads, self.sweeps)
        } else {
            "gpu-sa".into()
        }
    }

    fn batch_size(&self) -> Option<usize> {
        Some(GPU_BATCH)
    }

    fn solve_batch(&self, batch: &[Subproblem], ctx: &SolveContext) -> Result<Vec<SampleSet>, SolveError> {
        for sub in batch {
            if let Some(w) = &sub.warm_start
                && !sub.is_empty()
            {
                sub.model.check_state(w)?;
            }
        }
        let live: Vec<&Subproblem> = batch.iter().filter(|s| !s.is_empty()).collect();
        let Some(first) = live.first() else {
            return Ok(batch.iter().map(|s| s.empty_answer("gpu-sa")).collect());
        };
        let models: Vec<&Model> = live.iter().map(|s| &s.model).collect();
        let (union, offsets) = Model::block_diagonal(&models)?;
        let from_warm = self.start_from_warm && live.iter().all(|s| s.warm_state().is_some());
        let initial_states = from_warm.then(|| {
            vec![
                live.iter()
                    .flat_map(|s| s.warm_state().unwrap_or_default().iter().copied())
                    .collect(),
            ]
        });
        let beta_range = self.beta_range.or_else(|| {
            let (hot, cold) = default_beta_range(&union.to_ising());
            Some(if from_warm { (cold / 10.0, cold) } else { (hot, cold) })
        });
        let set = GpuSaSolver::new(GpuSaParams {
            sa: SaParams {
                num_reads: self.reads.max(1),
                num_sweeps: self.sweeps,
                beta_range,
                seed: first.seed,
                initial_states,
                ..Default::default()
            },
            ..Default::default()
        })
        .solve_with(&union, ctx)?;
        let mut info = set.info.clone();
        info.solver = if self.polish { "gpu-sa(batched)" } else { "gpu-sa" }.into();
        let mut answers = live.iter().zip(&offsets).map(|(sub, &off)| {
            let n = sub.len();
            let slices = set.samples().iter().map(|s| &s.state[off..off + n]);
            let states: Vec<Vec<i8>> = if self.polish {
                let ising = sub.model.to_ising();
                slices
                    .chain(sub.warm_start.as_deref())
                    .map(|x| polish(&sub.model, &ising, x).0)
                    .collect()
            } else {
                slices.map(<[i8]>::to_vec).collect()
            };
            SampleSet::from_model_states(&sub.model, states, info.clone())
        });
        Ok(batch
            .iter()
            .map(|s| {
                if s.is_empty() {
                    s.empty_answer("gpu-sa")
                } else {
                    answers.next().unwrap_or_else(|| s.empty_answer("gpu-sa"))
                }
            })
            .collect())
    }
}
