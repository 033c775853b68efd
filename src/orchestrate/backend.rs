//! Where subproblem QUBOs are solved: one trait, [`SubproblemBackend`], that every stage of
//! the orchestrator (clustering, placement, scheduling) sends its batches through.
//!
//! A batch holds independent subproblems; a backend may solve them in any order or all at
//! once (a GPU batch kernel, a hierarchical decomposer), but must give subproblem `j` the
//! seed `batch[j].seed` so answers do not depend on batching or thread counts. The
//! orchestrator decodes several samples of each answer, repairs them, and keeps the best
//! plan it sees (never worse than the warm start), so a backend only needs to return good
//! states, not feasible ones.

use crate::model::{Model, Qubo, SampleSet, SolveInfo};
use crate::solvers::{ExactSolver, GreedySolver, SaParams, SaSolver, SolveError, Solver, greedy};
use rayon::prelude::*;

/// One QUBO subproblem of a batch.
#[derive(Clone, Debug)]
pub struct Subproblem {
    /// The model (binary).
    pub qubo: Qubo,
    /// A good known state (the current plan encoded), if any.
    pub warm_start: Option<Vec<i8>>,
    /// Seed for this subproblem's random streams.
    pub seed: u64,
}

/// Solves batches of independent QUBO subproblems. Implement this to route the
/// orchestrator's subproblems to another backend (GPU batch, hierarchical decomposition).
pub trait SubproblemBackend: Send + Sync {
    /// Name shown in plans and reports.
    fn name(&self) -> String;
    /// Solves every subproblem; answer `j` belongs to `batch[j]`, states in 0/1.
    fn solve_batch(&self, batch: &[Subproblem]) -> Result<Vec<SampleSet>, SolveError>;
}

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
    fn solve_one(&self, sp: &Subproblem) -> Result<SampleSet, SolveError> {
        let model = Model::Qubo(sp.qubo.clone());
        let n = model.num_variables();
        let kind = match self.kind {
            CpuSolverKind::Auto if n <= self.exact_max => CpuSolverKind::Exact,
            CpuSolverKind::Auto => CpuSolverKind::Sa,
            k => k,
        };
        let mut set = match kind {
            CpuSolverKind::Exact => ExactSolver { max_states: 4 }.solve(&model)?,
            CpuSolverKind::Greedy => GreedySolver {
                num_reads: self.reads.max(1),
                seed: sp.seed,
                initial_states: None,
            }
            .solve(&model)?,
            _ => {
                let set = SaSolver::new(SaParams {
                    num_reads: self.reads.max(1),
                    num_sweeps: self.sweeps,
                    seed: sp.seed,
                    ..Default::default()
                })
                .solve(&model)?;
                // Polish every read by steepest descent.
                let ising = model.to_ising();
                let states: Vec<(Vec<i8>, f64)> = set
                    .samples()
                    .iter()
                    .map(|s| {
                        let mut spins = crate::model::binary_to_spin(&s.state);
                        greedy::descend(&ising, &mut spins);
                        let x = crate::model::spin_to_binary(&spins);
                        let e = model.energy(&x);
                        (x, e)
                    })
                    .collect();
                SampleSet::from_model_states(&model, states.into_iter().map(|(s, _)| s).collect(), set.info)
            }
        };
        if let Some(w) = &sp.warm_start {
            model.check_state(w)?;
            // Descend from the warm start too: a cheap, never-worse candidate.
            let ising = model.to_ising();
            let mut spins = crate::model::binary_to_spin(w);
            greedy::descend(&ising, &mut spins);
            let x = crate::model::spin_to_binary(&spins);
            let e = model.energy(&x);
            let mut states: Vec<(Vec<i8>, f64)> = set.samples().iter().map(|s| (s.state.clone(), s.energy)).collect();
            states.push((x, e));
            let info = std::mem::take(&mut set.info);
            set = SampleSet::from_model_states(&model, states.into_iter().map(|(s, _)| s).collect(), info);
        }
        Ok(set)
    }
}

impl SubproblemBackend for CpuBackend {
    fn name(&self) -> String {
        match self.kind {
            CpuSolverKind::Auto => format!("cpu-auto(exact<={}, sa {}x{})", self.exact_max, self.reads, self.sweeps),
            CpuSolverKind::Exact => "cpu-exact".into(),
            CpuSolverKind::Sa => format!("cpu-sa({}x{})", self.reads, self.sweeps),
            CpuSolverKind::Greedy => format!("cpu-greedy({})", self.reads),
        }
    }

    fn solve_batch(&self, batch: &[Subproblem]) -> Result<Vec<SampleSet>, SolveError> {
        batch.par_iter().map(|sp| self.solve_one(sp)).collect()
    }
}

/// Adapts any [`Solver`] to a backend (subproblems one after another, the solver's own
/// parallelism inside; the warm start is returned as an extra sample).
pub struct SolverBackend<S: Solver>(pub S);

impl<S: Solver> SubproblemBackend for SolverBackend<S> {
    fn name(&self) -> String {
        self.0.name().to_string()
    }

    fn solve_batch(&self, batch: &[Subproblem]) -> Result<Vec<SampleSet>, SolveError> {
        batch
            .iter()
            .map(|sp| {
                let model = Model::Qubo(sp.qubo.clone());
                let mut set = self.0.solve(&model)?;
                if let Some(w) = &sp.warm_start {
                    model.check_state(w)?;
                    let mut states: Vec<(Vec<i8>, f64)> =
                        set.samples().iter().map(|s| (s.state.clone(), s.energy)).collect();
                    states.push((w.clone(), model.energy(w)));
                    let info: SolveInfo = std::mem::take(&mut set.info);
                    set = SampleSet::from_model_states(&model, states.into_iter().map(|(s, _)| s).collect(), info);
                }
                Ok(set)
            })
            .collect()
    }
}
