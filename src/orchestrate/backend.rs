//! The orchestrator's CPU batch solvers. Every stage of the orchestrator (clustering,
//! placement, scheduling) sends its subproblem QUBOs through one
//! [`BatchSolver`] of the shared batch layer ([`crate::batch`]):
//! [`CpuBackend`] here, the GPU batcher [`GpuBatcher`](crate::batch::GpuBatcher), or any
//! [`Solver`] through [`SolverBackend`].
//!
//! A batch holds independent subproblems; a batch solver may solve them in any order or
//! all at once, but must give subproblem `j` the seed `batch[j].seed` so answers do not
//! depend on batching or thread counts. The orchestrator decodes several samples of each
//! answer, repairs them, and keeps the best plan it sees (never worse than the warm
//! start), so a batch solver only needs to return good states, not feasible ones.

use crate::batch::{BatchSolver, Subproblem};
use crate::model::{SampleSet, SolveInfo};
use crate::solvers::greedy::polish;
use crate::solvers::{ExactSolver, GreedySolver, SaParams, SaSolver, SolveContext, SolveError, Solver};
use rayon::prelude::*;

/// Which CPU solver [`CpuBackend`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuSolverKind {
    /// `exact` up to `exact_max` variables, otherwise `sa` with greedy polish.
    Auto,
    /// Always `exact` (fails above 30 variables).
    Exact,
    /// Simulated annealing, each read polished by steepest descent.
    Sa,
    /// Steepest descent from random states (and from the warm start).
    Greedy,
}

/// The solver of orchestration's subproblems by name (`qam orchestrate --sub-solver`):
/// one of the [`CpuSolverKind`]s on [`CpuBackend`], or `gpu-sa` (each batch of
/// subproblems annealed together on the GPU, [`crate::batch::GpuBatcher`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SubSolver {
    /// `exact` up to 20 variables, otherwise `sa` polished by steepest descent.
    #[default]
    Auto,
    /// `exact` only.
    Exact,
    /// Simulated annealing.
    Sa,
    /// Steepest descent.
    Greedy,
    /// GPU annealing of whole batches.
    GpuSa,
}

crate::names::named_enum!(serde SubSolver, "sub-solver" {
    Auto = "auto": "`exact` up to 20 variables, otherwise `sa` polished by steepest descent",
    Exact = "exact": "`exact` only (every subproblem must have at most 30 variables)",
    Sa = "sa": "Simulated annealing",
    Greedy = "greedy": "Steepest descent from random states",
    GpuSa = "gpu-sa" | "gpu": "GPU annealing: each batch of subproblems annealed together in one run",
});

impl SubSolver {
    /// The CPU solver kind, or `None` for `gpu-sa`.
    pub fn cpu(self) -> Option<CpuSolverKind> {
        match self {
            SubSolver::Auto => Some(CpuSolverKind::Auto),
            SubSolver::Exact => Some(CpuSolverKind::Exact),
            SubSolver::Sa => Some(CpuSolverKind::Sa),
            SubSolver::Greedy => Some(CpuSolverKind::Greedy),
            SubSolver::GpuSa => None,
        }
    }
}

/// The CPU backend: the crate's `exact`, `sa` and `greedy` solvers, subproblems of a batch
/// in parallel (rayon), each with its own seed.
#[derive(Clone, Debug)]
pub struct CpuBackend {
    /// Solver choice.
    pub kind: CpuSolverKind,
    /// Reads per subproblem (sa, greedy).
    pub reads: usize,
    /// Sweeps per read (sa).
    pub sweeps: usize,
    /// `Auto` uses `exact` up to this many variables.
    pub exact_max: usize,
}

impl Default for CpuBackend {
    fn default() -> Self {
        CpuBackend {
            kind: CpuSolverKind::Auto,
            reads: 4,
            sweeps: 400,
            exact_max: 20,
        }
    }
}

impl CpuBackend {
    fn solve_one(&self, sp: &Subproblem, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        let model = &sp.model;
        let n = model.num_variables();
        let kind = match self.kind {
            CpuSolverKind::Auto if n <= self.exact_max => CpuSolverKind::Exact,
            CpuSolverKind::Auto => CpuSolverKind::Sa,
            k => k,
        };
        let mut set = match kind {
            CpuSolverKind::Exact => ExactSolver { max_states: 4 }.solve_with(model, ctx)?,
            CpuSolverKind::Greedy => GreedySolver {
                num_reads: self.reads.max(1),
                seed: sp.seed,
                initial_states: None,
            }
            .solve_with(model, ctx)?,
            _ => {
                let set = SaSolver::new(SaParams {
                    num_reads: self.reads.max(1),
                    num_sweeps: self.sweeps,
                    seed: sp.seed,
                    ..Default::default()
                })
                .solve_with(model, ctx)?;
                // Polish every read by steepest descent.
                let ising = model.to_ising();
                let states = set
                    .samples()
                    .iter()
                    .map(|s| polish(model, &ising, &s.state).0)
                    .collect();
                SampleSet::from_model_states(model, states, set.info)
            }
        };
        if let Some(w) = &sp.warm_start {
            model.check_state(w)?;
            // Descend from the warm start too: a cheap, never-worse candidate.
            let (x, _) = polish(model, &model.to_ising(), w);
            let mut states: Vec<Vec<i8>> = set.samples().iter().map(|s| s.state.clone()).collect();
            states.push(x);
            let info = std::mem::take(&mut set.info);
            set = SampleSet::from_model_states(model, states, info);
        }
        Ok(set)
    }
}

impl BatchSolver for CpuBackend {
    fn name(&self) -> String {
        match self.kind {
            CpuSolverKind::Auto => format!("cpu-auto(exact<={}, sa {}x{})", self.exact_max, self.reads, self.sweeps),
            CpuSolverKind::Exact => "cpu-exact".into(),
            CpuSolverKind::Sa => format!("cpu-sa({}x{})", self.reads, self.sweeps),
            CpuSolverKind::Greedy => format!("cpu-greedy({})", self.reads),
        }
    }

    fn solve_batch(&self, batch: &[Subproblem], ctx: &SolveContext) -> Result<Vec<SampleSet>, SolveError> {
        batch.par_iter().map(|sp| self.solve_one(sp, ctx)).collect()
    }
}

/// Adapts any [`Solver`] to a backend (subproblems one after another, the solver's own
/// parallelism inside; the warm start is returned as an extra sample).
pub struct SolverBackend<S: Solver>(pub S);

impl<S: Solver> BatchSolver for SolverBackend<S> {
    fn name(&self) -> String {
        self.0.name().to_string()
    }

    fn solve_batch(&self, batch: &[Subproblem], ctx: &SolveContext) -> Result<Vec<SampleSet>, SolveError> {
        batch
            .iter()
            .map(|sp| {
                let model = &sp.model;
                let mut set = self.0.solve_with(model, ctx)?;
                if let Some(w) = &sp.warm_start {
                    model.check_state(w)?;
                    let mut states: Vec<Vec<i8>> = set.samples().iter().map(|s| s.state.clone()).collect();
                    states.push(w.clone());
                    let info: SolveInfo = std::mem::take(&mut set.info);
                    set = SampleSet::from_model_states(model, states, info);
                }
                Ok(set)
            })
            .collect()
    }
}
