//! The batch-solving layer: one [`Subproblem`] type and one [`BatchSolver`] trait through
//! which both the hierarchical decomposition ([`decompose`](crate::decompose)) and the
//! fleet orchestration ([`orchestrate`](crate::orchestrate)) send their many small models.
//!
//! - A [`Subproblem`] is a small model plus an optional warm start and its own seed. Its
//!   `id` is stable (level, round, cluster, ...), and the seed is derived from it by the
//!   caller ([`derive_seed`](crate::rng::derive_seed)`(job_seed, id)`), never from the
//!   thread, batch or MPI rank that solves it, so answers do not depend on batching or
//!   thread counts.
//! - A [`BatchSolver`] solves a batch of independent subproblems and returns one
//!   [`SampleSet`] per subproblem (states in the subproblem model's vartype).
//! - [`PerSubproblem`] runs any [`Solver`] on each subproblem of a batch (rayon-parallel
//!   over subproblems); [`GpuBatcher`] anneals a whole batch at once on the GPU as one
//!   block-diagonal model.
//!
//! Polishing (steepest descent to a 1-flip local minimum) is
//! [`greedy::polish`](crate::solvers::greedy::polish), shared with the solvers.
//!
//! Layering: this module depends on [`model`](crate::model), [`solvers`](crate::solvers)
//! and [`rng`](crate::rng) only; `decompose` and `orchestrate` sit on it.

mod gpu;

pub use gpu::{GPU_BATCH, GpuBatcher};

use crate::model::{Model, SampleSet, SolveInfo, to_spins};
use crate::solvers::{SolveContext, SolveError, Solver};
use rayon::prelude::*;

/// One small model of a batch.
#[derive(Clone, Debug)]
pub struct Subproblem {
    /// Stable id (level, round, cluster, ...; `0` when the caller has no use for one).
    pub id: u64,
    /// The model (QUBO or Ising; states are in its vartype).
    pub model: Model,
    /// A good known state (the current solution), in the model's vartype, if any.
    pub warm_start: Option<Vec<i8>>,
    /// Seed of this subproblem's random streams.
    pub seed: u64,
}

impl Subproblem {
    /// Number of variables.
    pub fn len(&self) -> usize {
        self.model.num_variables()
    }

    /// True when the subproblem has no variable.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Energy of `state` (in the model's vartype) on the subproblem's model.
    pub fn energy(&self, state: &[i8]) -> f64 {
        self.model.energy(state)
    }

    /// The warm start if it is a full state of the model.
    pub fn warm_state(&self) -> Option<&[i8]> {
        self.warm_start.as_deref().filter(|w| w.len() == self.len())
    }

    /// The answer set of a subproblem without variables: one empty state.
    fn empty_answer(&self, solver: &str) -> SampleSet {
        let info = SolveInfo {
            solver: solver.into(),
            ..Default::default()
        };
        SampleSet::from_model_states(&self.model, vec![Vec::new()], info)
    }
}

/// Solves batches of independent subproblems.
///
/// Implementations give subproblem `j` the seed `batch[j].seed` and must be deterministic
/// for it: the answer may not depend on thread counts. (A batched GPU run seeds the whole
/// batch from its first subproblem, so its answers depend on how subproblems are grouped;
/// callers that need batching-independent answers group them in fixed chunks.)
pub trait BatchSolver: Send + Sync {
    /// Name shown in solve info, plans and reports (`exact`, `sa`, `cpu-sa(4x400)`, ...).
    fn name(&self) -> String;

    /// Largest subproblem (variables) this solver accepts.
    fn max_variables(&self) -> usize {
        usize::MAX
    }

    /// `None`: subproblems may be handed over one at a time (CPU pools, which overlap
    /// extraction and solving by themselves). `Some(k)`: the solver wants batches of up
    /// to `k` subproblems (a GPU runs one batch per dispatch).
    fn batch_size(&self) -> Option<usize> {
        None
    }

    /// Solves every subproblem of `batch`; answer `j` belongs to `batch[j]` (states in its
    /// model's vartype, lowest energy first).
    fn solve_batch(&self, batch: &[Subproblem], ctx: &SolveContext) -> Result<Vec<SampleSet>, SolveError>;
}

/// The lowest-energy state of an answer as spins (±1); empty when the set is empty.
pub fn best_spins(set: &SampleSet) -> Vec<i8> {
    set.first().map_or_else(Vec::new, |s| to_spins(set.vartype, &s.state))
}

/// Solves one subproblem with `solver` (a convenience for tests and small jobs).
pub fn solve_one(solver: &dyn BatchSolver, sub: &Subproblem, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
    let mut out = solver.solve_batch(std::slice::from_ref(sub), ctx)?;
    out.pop()
        .ok_or_else(|| SolveError::Backend(format!("{} returned no answer", solver.name())))
}

/// Runs a [`Solver`] on each subproblem of a batch, in parallel over subproblems
/// (rayon). `make(sub)` builds the solver for one subproblem (from its seed and, if it
/// wants, its warm start).
pub struct PerSubproblem<F> {
    name: &'static str,
    max_variables: usize,
    batch_size: Option<usize>,
    make: F,
}

impl<F> PerSubproblem<F>
where
    F: Fn(&Subproblem) -> Box<dyn Solver> + Send + Sync,
{
    /// A batch solver called `name` taking subproblems of up to `max_variables`.
    pub fn new(name: &'static str, max_variables: usize, make: F) -> Self {
        PerSubproblem {
            name,
            max_variables,
            batch_size: None,
            make,
        }
    }

    /// Asks for batches of up to `k` subproblems (as a GPU batcher would).
    pub fn with_batch_size(mut self, k: usize) -> Self {
        self.batch_size = Some(k.max(1));
        self
    }
}

impl<F> BatchSolver for PerSubproblem<F>
where
    F: Fn(&Subproblem) -> Box<dyn Solver> + Send + Sync,
{
    fn name(&self) -> String {
        self.name.into()
    }

    fn max_variables(&self) -> usize {
        self.max_variables
    }

    fn batch_size(&self) -> Option<usize> {
        self.batch_size
    }

    fn solve_batch(&self, batch: &[Subproblem], ctx: &SolveContext) -> Result<Vec<SampleSet>, SolveError> {
        batch
            .par_iter()
            .map(|sub| {
                if sub.is_empty() {
                    return Ok(sub.empty_answer(self.name));
                }
                let set = (self.make)(sub).solve_with(&sub.model, ctx)?;
                if set.is_empty() {
                    return Err(SolveError::Backend(format!("{} returned no sample", self.name)));
                }
                Ok(set)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Ising, Qubo};
    use crate::solvers::ExactSolver;

    fn exact() -> impl BatchSolver {
        PerSubproblem::new("exact", 20, |_: &Subproblem| {
            Box::new(ExactSolver::default()) as Box<dyn Solver>
        })
    }

    #[test]
    fn per_subproblem_answers_each_in_order_and_in_its_vartype() {
        let ising = Model::Ising(Ising::from_entries(2, &[(0, 1, 1.0)], 0.0).unwrap());
        let qubo = Model::Qubo(Qubo::from_entries(2, &[(0, 0, -1.0), (1, 1, -1.0), (0, 1, 3.0)], 0.5).unwrap());
        let batch = [
            Subproblem {
                id: 1,
                model: ising,
                warm_start: None,
                seed: 0,
            },
            Subproblem {
                id: 2,
                model: qubo,
                warm_start: None,
                seed: 0,
            },
            Subproblem {
                id: 3,
                model: Model::Ising(Ising::from_entries(0, &[], 0.0).unwrap()),
                warm_start: None,
                seed: 0,
            },
        ];
        let out = exact().solve_batch(&batch, &SolveContext::default()).unwrap();
        assert_eq!(out.len(), 3);
        let s = best_spins(&out[0]);
        assert_eq!(s[0], -s[1]);
        assert_eq!(out[0].first().unwrap().energy, -1.0);
        // QUBO: exactly one of the two bits set, energy -1 + 0.5.
        let x = &out[1].first().unwrap().state;
        assert_eq!(x.iter().map(|&b| b as i32).sum::<i32>(), 1);
        assert_eq!(out[1].first().unwrap().energy, -0.5);
        assert!(best_spins(&out[2]).is_empty());
        assert_eq!(
            solve_one(&exact(), &batch[1], &SolveContext::default())
                .unwrap()
                .first()
                .unwrap()
                .energy,
            -0.5
        );
    }
}
