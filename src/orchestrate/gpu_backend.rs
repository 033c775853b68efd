//! The GPU backend of the orchestrator: a whole batch of subproblem QUBOs annealed in one
//! `gpu-sa` run.
//!
//! The batch's QUBOs are independent, so their block-diagonal union
//! ([`Model::block_diagonal`]) is one model; every read anneals all of them at once on the
//! device. Each subproblem gets every read's slice as a sample (energies recomputed on the
//! CPU), each polished by steepest descent, plus a descent from its warm start. The run's
//! seed is the batch's first subproblem's seed, so a batch gives the same answer every
//! time (it changes if subproblems are batched differently).

use super::backend::{Subproblem, SubproblemBackend};
use crate::model::{Model, SampleSet, binary_to_spin, spin_to_binary};
use crate::solvers::{GpuSaParams, GpuSaSolver, SaParams, SolveError, Solver, greedy};

/// Batched GPU annealing for orchestration subproblems.
#[derive(Clone, Debug)]
pub struct GpuBackend {
    /// Reads (replicas) per run; each is a sample of every subproblem.
    pub reads: usize,
    /// Sweeps per read.
    pub sweeps: usize,
}

impl Default for GpuBackend {
    fn default() -> Self {
        GpuBackend { reads: 16, sweeps: 400 }
    }
}

/// Steepest descent from `x` (0/1) on `model`; returns the state and its energy.
fn polish(model: &Model, x: &[i8]) -> (Vec<i8>, f64) {
    let mut spins = binary_to_spin(x);
    greedy::descend(&model.to_ising(), &mut spins);
    let x = spin_to_binary(&spins);
    let e = model.energy(&x);
    (x, e)
}

impl SubproblemBackend for GpuBackend {
    fn name(&self) -> String {
        format!("gpu-sa({}x{}, batched)", self.reads, self.sweeps)
    }

    fn solve_batch(&self, batch: &[Subproblem]) -> Result<Vec<SampleSet>, SolveError> {
        let Some(first) = batch.first() else {
            return Ok(Vec::new());
        };
        let models: Vec<Model> = batch.iter().map(|sp| Model::Qubo(sp.qubo.clone())).collect();
        for (m, sp) in models.iter().zip(batch) {
            if let Some(w) = &sp.warm_start {
                m.check_state(w)?;
            }
        }
        let refs: Vec<&Model> = models.iter().collect();
        let (union, offsets) = Model::block_diagonal(&refs)?;
        let set = GpuSaSolver::new(GpuSaParams {
            sa: SaParams {
                num_reads: self.reads.max(1),
                num_sweeps: self.sweeps,
                seed: first.seed,
                ..Default::default()
            },
            ..Default::default()
        })
        .solve(&union)?;
        let reads: Vec<&Vec<i8>> = set.samples().iter().map(|s| &s.state).collect();
        Ok(models
            .iter()
            .zip(batch)
            .zip(&offsets)
            .map(|((model, sp), &off)| {
                let n = model.num_variables();
                let mut states: Vec<(Vec<i8>, f64)> = reads.iter().map(|x| polish(model, &x[off..off + n])).collect();
                if let Some(w) = &sp.warm_start {
                    states.push(polish(model, w));
                }
                let mut info = set.info.clone();
                info.solver = "gpu-sa(batched)".into();
                SampleSet::from_model_states(model, states.into_iter().map(|(s, _)| s).collect(), info)
            })
            .collect())
    }
}
