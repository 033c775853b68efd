//! Sub-solver back-ends of the decomposition: which [`BatchSolver`] solves a batch of
//! clusters.
//!
//! The batch layer itself ([`Subproblem`], [`BatchSolver`], [`PerSubproblem`], the GPU
//! batcher [`GpuBatcher`]) lives in [`crate::batch`], shared with the orchestrator. The
//! seed of each subproblem is `derive_seed(job_seed, subproblem.id)` (set by the
//! [`Router`](super::Router)), so results do not depend on how subproblems are batched,
//! which thread solves them, or which MPI rank does.
//!
//! [`SubSolverKind`] names every back-end the command line offers, and [`SubSolverKind::
//! backend`] is the single registry that builds them: one match arm per kind.

use super::DecomposeError;
use crate::batch::best_spins;
pub use crate::batch::{BatchSolver, GpuBatcher, PerSubproblem, Subproblem};
use crate::qaoa::{QaoaParams, QaoaSolver, Tuning};
use crate::rng::Rng;
use crate::solvers::exact::MAX_EXACT_VARIABLES;
use crate::solvers::{
    ExactSolver, GreedySolver, SaParams, SaSolver, SolveContext, SolveError, Solver, default_beta_range,
};
use std::sync::Arc;

/// Parameters of the stochastic CPU sub-solvers.
#[derive(Clone, Debug, PartialEq)]
pub struct SubSolverParams {
    /// Reads (anneals / random starts) per subproblem (default 1).
    pub num_reads: usize,
    /// Sweeps per anneal (default 1000).
    pub num_sweeps: usize,
    /// β range of the anneals (default: neal's, derived per subproblem).
    pub beta_range: Option<(f64, f64)>,
    /// Where anneals and descents start (default: the current state).
    pub start: SubStart,
    /// QAOA layers of the `qaoa` sub-solver (default 1).
    pub qaoa_layers: usize,
    /// Bitstrings the `qaoa` sub-solver samples per subproblem, each polished by steepest
    /// descent (default 200).
    pub qaoa_shots: usize,
    /// Speed knobs of the `qaoa` sub-solver's CPU simulator (default: none set).
    pub qaoa_tuning: Tuning,
}

/// Starting states of the stochastic sub-solvers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SubStart {
    /// Uniformly random states (a fresh solve of the subproblem).
    Random,
    /// The subproblem's current state, annealed from a cooler start (`beta_range`, by
    /// default `(β1 / 10, β1)` with `β1` neal's cold end): a local re-anneal that keeps
    /// the large-scale structure. Falls back to `Random` where there is no current state
    /// (the first `merge` cycle). The default.
    #[default]
    Current,
}

crate::names::named_enum!(serde SubStart, "sub-start" {
    Random = "random": "Random states",
    Current = "current": "The current state of the subproblem",
});

impl Default for SubSolverParams {
    fn default() -> Self {
        SubSolverParams {
            num_reads: 1,
            num_sweeps: 1000,
            beta_range: None,
            start: SubStart::Current,
            qaoa_layers: 1,
            qaoa_shots: 200,
            qaoa_tuning: Tuning::default(),
        }
    }
}

/// β range of a re-anneal from the current state: neal's cold end `β1` for the
/// subproblem and `β1 / 10` as the hot end, warm enough to rearrange local structure,
/// too cold to forget the state.
fn reheat_range(sub: &Subproblem) -> (f64, f64) {
    let (_, cold) = default_beta_range(&sub.model.to_ising());
    (cold / 10.0, cold)
}

impl SubSolverParams {
    /// Initial states for a subproblem under [`start`](Self::start) (`None`: random; also
    /// when the subproblem has no meaningful current state).
    fn start_states(&self, sub: &Subproblem) -> Option<Vec<Vec<i8>>> {
        match self.start {
            SubStart::Current => sub.warm_state().map(|w| vec![w.to_vec()]),
            _ => None,
        }
    }
}

/// The sub-solvers the command line offers (`--sub-solver`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubSolverKind {
    /// Exhaustive search (subproblems up to 30 variables).
    Exact,
    /// CPU simulated annealing ([`SaSolver`]).
    Sa,
    /// CPU steepest descent from random starts ([`GreedySolver`]).
    Greedy,
    /// GPU simulated annealing: a batch of subproblems annealed together in one run.
    GpuSa,
    /// QAOA state-vector simulation (branch `qaoa`).
    Qaoa,
}

crate::names::named_enum!(serde SubSolverKind, "sub-solver" {
    GpuSa = "gpu-sa": "GPU simulated annealing, one batch of subproblems per dispatch",
    Sa = "sa": "CPU simulated annealing",
    Exact = "exact": "Exhaustive search (clusters up to 30 variables)",
    Greedy = "greedy": "Steepest descent from random starts",
    Qaoa = "qaoa": "QAOA simulation (clusters up to about 20 variables; --p, --shots)",
});

impl SubSolverKind {
    /// A cluster size that suits this back-end: small enough for exhaustive search or a
    /// state vector, thousands for annealers.
    pub fn default_cluster_size(self) -> usize {
        match self {
            SubSolverKind::Exact => 20,
            SubSolverKind::Qaoa => 20,
            SubSolverKind::Sa | SubSolverKind::Greedy => 1000,
            SubSolverKind::GpuSa => 4096,
        }
    }

    /// Builds the back-end (the registry: one arm per kind).
    pub fn backend(self, params: &SubSolverParams) -> Result<Arc<dyn BatchSolver>, DecomposeError> {
        let p = params.clone();
        if p.num_reads == 0 {
            return Err(DecomposeError::InvalidParameter {
                name: "sub_reads",
                reason: "must be at least 1".into(),
            });
        }
        Ok(match self {
            SubSolverKind::Exact => exact_backend(),
            SubSolverKind::Sa => Arc::new(PerSubproblem::new("sa", usize::MAX, move |sub: &Subproblem| {
                let (initial_states, beta_range) = match p.start_states(sub) {
                    Some(states) => (Some(states), p.beta_range.or_else(|| Some(reheat_range(sub)))),
                    None => (None, p.beta_range),
                };
                Box::new(SaSolver::new(SaParams {
                    num_reads: p.num_reads,
                    num_sweeps: p.num_sweeps,
                    beta_range,
                    seed: sub.seed,
                    initial_states,
                    ..Default::default()
                })) as Box<dyn Solver>
            })),
            SubSolverKind::Greedy => Arc::new(PerSubproblem::new("greedy", usize::MAX, move |sub: &Subproblem| {
                let seed = sub.seed;
                // Descents from the current state (if any) and from `num_reads` random
                // states drawn from the subproblem's seed.
                let mut starts = p.start_states(sub).unwrap_or_default();
                starts.extend((0..p.num_reads as u64).map(|r| Rng::stream(seed, r).spins(sub.len())));
                Box::new(GreedySolver {
                    num_reads: p.num_reads,
                    seed,
                    initial_states: Some(starts),
                }) as Box<dyn Solver>
            })),
            SubSolverKind::GpuSa => Arc::new(GpuBatcher {
                reads: p.num_reads,
                sweeps: p.num_sweeps,
                beta_range: p.beta_range,
                start_from_warm: p.start == SubStart::Current,
                polish: false,
            }),
            SubSolverKind::Qaoa => Arc::new(PerSubproblem::new(
                "qaoa",
                QAOA_MAX_VARIABLES,
                move |sub: &Subproblem| {
                    Box::new(QaoaSolver::new(QaoaParams {
                        p: p.qaoa_layers.max(1),
                        shots: p.qaoa_shots.max(1),
                        seed: sub.seed,
                        tuning: p.qaoa_tuning,
                        ..Default::default()
                    })) as Box<dyn Solver>
                },
            )),
        })
    }
}

/// Largest subproblem the `qaoa` sub-solver simulates (a 2^24-amplitude state, 256 MiB in
/// complex128, about a second per angle evaluation).
pub const QAOA_MAX_VARIABLES: usize = 24;

/// The exhaustive back-end (up to `MAX_EXACT_VARIABLES` (30)).
pub fn exact_backend() -> Arc<dyn BatchSolver> {
    Arc::new(PerSubproblem::new("exact", MAX_EXACT_VARIABLES, |_sub: &Subproblem| {
        Box::new(ExactSolver::default()) as Box<dyn Solver>
    }))
}

/// Solves one subproblem with `backend` (seed `sub.seed`); returns its best state as
/// spins (±1). A convenience for tests and single jobs.
pub fn solve_one(backend: &dyn BatchSolver, sub: &Subproblem) -> Result<Vec<i8>, SolveError> {
    Ok(best_spins(&crate::batch::solve_one(
        backend,
        sub,
        &SolveContext::default(),
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;

    #[test]
    fn every_backend_builds() {
        for kind in [
            SubSolverKind::Exact,
            SubSolverKind::Sa,
            SubSolverKind::Greedy,
            SubSolverKind::GpuSa,
            SubSolverKind::Qaoa,
        ] {
            assert!(kind.backend(&SubSolverParams::default()).is_ok(), "{kind:?}");
        }
    }

    #[test]
    fn model_is_spin() {
        let m = Model::Ising(crate::model::Ising::from_entries(2, &[(0, 1, 1.0)], 0.0).unwrap());
        let sub = Subproblem {
            id: 3,
            model: m,
            warm_start: Some(vec![1, 1]),
            seed: 0,
        };
        let s = solve_one(&*exact_backend(), &sub).unwrap();
        assert_eq!(s[0], -s[1]);
    }
}
