//! Sub-solver back-ends: solve a batch of small subproblems.
//!
//! A back-end implements [`BatchSolver`]. The seed of each subproblem is
//! `derive_seed(job_seed, subproblem.id)`, so results do not depend on how subproblems are
//! batched, which thread solves them, or (later) which MPI rank does.
//!
//! [`SubSolverKind`] names every back-end the command line offers, and [`SubSolverKind::
//! backend`] is the single registry that builds them: one match arm per kind (a batched
//! GPU kernel is a type implementing [`BatchSolver`] with [`BatchSolver::batch_size`] set,
//! a per-model [`Solver`] goes in [`PerSubproblem`]).

use super::DecomposeError;
use super::subproblem::Subproblem;
use crate::model::to_spins;
use crate::qaoa::{QaoaParams, QaoaSolver};
use crate::rng::{Rng, derive_seed};
use crate::solvers::exact::MAX_EXACT_VARIABLES;
use crate::solvers::{
    ExactSolver, GreedySolver, SaParams, SaSolver, SolveContext, SolveError, Solver, default_beta_range,
};
use rayon::prelude::*;
use std::sync::Arc;

/// Solves batches of subproblems. Implementations must be deterministic for a given
/// `(seed, subproblem.id)` and independent of batch composition and thread count.
pub trait BatchSolver: Send + Sync {
    /// Name reported in solve info (`exact`, `sa`, `greedy`, ...).
    fn name(&self) -> &'static str;

    /// Largest subproblem (variables) this back-end accepts.
    fn max_variables(&self) -> usize {
        usize::MAX
    }

    /// `None`: subproblems are handed over one at a time as they are extracted (CPU
    /// pools, which overlap extraction and solving by themselves). `Some(k)`: the
    /// back-end wants batches of up to `k` subproblems (a GPU runs one batch per
    /// dispatch); the router extracts the next batch while this one is solved.
    fn batch_size(&self) -> Option<usize> {
        None
    }

    /// Solves every subproblem of `batch`; returns, in order, the best local spin state
    /// (±1, length `batch[i].len()`) found for each.
    fn solve_batch(&self, batch: &[Subproblem], seed: u64, ctx: &SolveContext) -> Result<Vec<Vec<i8>>, SolveError>;
}

/// Runs a [`Solver`] on each subproblem of a batch, in parallel over subproblems
/// (rayon). `make(seed, sub)` builds the solver for one subproblem from its derived seed
/// (and, if it wants, the subproblem's current state as a starting point).
pub struct PerSubproblem<F> {
    name: &'static str,
    max_variables: usize,
    batch_size: Option<usize>,
    make: F,
}

impl<F> PerSubproblem<F>
where
    F: Fn(u64, &Subproblem) -> Box<dyn Solver> + Send + Sync,
{
    /// A back-end called `name` taking subproblems of up to `max_variables`.
    pub fn new(name: &'static str, max_variables: usize, make: F) -> Self {
        PerSubproblem {
            name,
            max_variables,
            batch_size: None,
            make,
        }
    }

    /// Asks the router for batches of up to `k` subproblems (as a GPU back-end would).
    pub fn with_batch_size(mut self, k: usize) -> Self {
        self.batch_size = Some(k.max(1));
        self
    }
}

impl<F> BatchSolver for PerSubproblem<F>
where
    F: Fn(u64, &Subproblem) -> Box<dyn Solver> + Send + Sync,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn max_variables(&self) -> usize {
        self.max_variables
    }

    fn batch_size(&self) -> Option<usize> {
        self.batch_size
    }

    fn solve_batch(&self, batch: &[Subproblem], seed: u64, ctx: &SolveContext) -> Result<Vec<Vec<i8>>, SolveError> {
        batch
            .par_iter()
            .map(|sub| {
                if sub.is_empty() {
                    return Ok(Vec::new());
                }
                let solver = (self.make)(derive_seed(seed, sub.id), sub);
                let set = solver.solve_with(&sub.model, ctx)?;
                let best = set
                    .first()
                    .ok_or_else(|| SolveError::Backend(format!("{} returned no sample", self.name)))?;
                Ok(to_spins(set.vartype, &best.state))
            })
            .collect()
    }
}

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

impl Default for SubSolverParams {
    fn default() -> Self {
        SubSolverParams {
            num_reads: 1,
            num_sweeps: 1000,
            beta_range: None,
            start: SubStart::Current,
            qaoa_layers: 1,
            qaoa_shots: 200,
        }
    }
}

/// β range of a re-anneal from the current state: neal's cold end `β1` for the
/// subproblem and `β1 / 10` as the hot end, warm enough to rearrange local structure,
/// too cold to forget the state.
fn reheat_range(sub: &Subproblem) -> (f64, f64) {
    let (_, cold) = default_beta_range(&sub.ising());
    (cold / 10.0, cold)
}

impl SubSolverParams {
    /// Initial states for a subproblem under [`start`](Self::start) (`None`: random; also
    /// when the subproblem has no meaningful current state).
    fn start_states(&self, sub: &Subproblem) -> Option<Vec<Vec<i8>>> {
        match self.start {
            SubStart::Current if sub.current.len() == sub.len() => Some(vec![sub.current.clone()]),
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

impl SubSolverKind {
    /// Name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SubSolverKind::Exact => "exact",
            SubSolverKind::Sa => "sa",
            SubSolverKind::Greedy => "greedy",
            SubSolverKind::GpuSa => "gpu-sa",
            SubSolverKind::Qaoa => "qaoa",
        }
    }

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
            SubSolverKind::Sa => Arc::new(PerSubproblem::new("sa", usize::MAX, move |seed, sub: &Subproblem| {
                let (initial_states, beta_range) = match p.start_states(sub) {
                    Some(states) => (Some(states), p.beta_range.or_else(|| Some(reheat_range(sub)))),
                    None => (None, p.beta_range),
                };
                Box::new(SaSolver::new(SaParams {
                    num_reads: p.num_reads,
                    num_sweeps: p.num_sweeps,
                    beta_range,
                    seed,
                    initial_states,
                    ..Default::default()
                })) as Box<dyn Solver>
            })),
            SubSolverKind::Greedy => Arc::new(PerSubproblem::new(
                "greedy",
                usize::MAX,
                move |seed, sub: &Subproblem| {
                    // Descents from the current state (if any) and from `num_reads` random
                    // states drawn from the subproblem's seed.
                    let mut starts = p.start_states(sub).unwrap_or_default();
                    starts.extend((0..p.num_reads as u64).map(|r| Rng::stream(seed, r).spins(sub.len())));
                    Box::new(GreedySolver {
                        num_reads: p.num_reads,
                        seed,
                        initial_states: Some(starts),
                    }) as Box<dyn Solver>
                },
            )),
            SubSolverKind::GpuSa => Arc::new(super::gpu_backend::GpuBatch::new(p)),
            SubSolverKind::Qaoa => Arc::new(PerSubproblem::new(
                "qaoa",
                QAOA_MAX_VARIABLES,
                move |seed, _sub: &Subproblem| {
                    Box::new(QaoaSolver::new(QaoaParams {
                        p: p.qaoa_layers.max(1),
                        shots: p.qaoa_shots.max(1),
                        seed,
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

/// The exhaustive back-end (up to [`MAX_EXACT_VARIABLES`]).
pub fn exact_backend() -> Arc<dyn BatchSolver> {
    Arc::new(PerSubproblem::new(
        "exact",
        MAX_EXACT_VARIABLES,
        |_seed, _sub: &Subproblem| Box::new(ExactSolver::default()) as Box<dyn Solver>,
    ))
}

/// Solves one subproblem with `backend` (a convenience for tests and small jobs).
pub fn solve_one(backend: &dyn BatchSolver, sub: &Subproblem, seed: u64) -> Result<Vec<i8>, SolveError> {
    let mut out = backend.solve_batch(std::slice::from_ref(sub), seed, &SolveContext::default())?;
    Ok(out.pop().unwrap_or_default())
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
            vars: vec![5, 9],
            model: m,
            constant: 0.0,
            current: vec![1, 1],
        };
        let s = solve_one(&*exact_backend(), &sub, 0).unwrap();
        assert_eq!(s[0], -s[1]);
    }
}
