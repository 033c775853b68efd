//! Hierarchical decomposition: solve QUBO / Ising models far larger than one solver (or
//! one GPU) can hold, by cutting them into clusters, solving the clusters as a batch of
//! small subproblems, and stitching the answers together.
//!
//! Pieces, one module each:
//!
//! - [`partition`](mod@partition): size-capped clustering that cuts little coupling weight (multilevel
//!   heavy-edge coarsening with boundary refinement, or label propagation).
//! - `hierarchy`: [`HierarchicalQubo`], the stack of levels: level 0 is the model, level
//!   `k + 1` has one spin per cluster of level `k` ("flip this cluster's solution or
//!   not"), until a level fits one subproblem. [`merge_model`] builds a level's Ising from
//!   the solutions of the level below.
//! - [`subproblem`]: a cluster's model with every outside variable clamped to the current
//!   state (outside couplings become linear terms) plus the constant that makes its
//!   energy the global energy ([`Clamped`], around a batch [`Subproblem`]); extracted in
//!   O(cluster couplings).
//! - `backend`: [`SubSolverKind`], the registry of sub-solvers (`exact`, `sa`, `greedy`
//!   per subproblem on the CPU, `gpu-sa` batched, `qaoa`), each a
//!   [`BatchSolver`] of the shared batch layer
//!   ([`crate::batch`]; seeds derive from subproblem ids, never from threads or ranks).
//! - `router`: sends each subproblem to the back-end that suits its size, extracting
//!   the next batch while a batched back-end works on the current one.
//! - `strategy`: the two ways of combining cluster solutions, `merge` (solve clusters
//!   independently, then solve the level above for which clusters to flip, recursively,
//!   then polish) and `refine` (large-neighbourhood search in the style of qbsolv).
//! - `solver`: [`HierarchicalSolver`], the whole thing behind the
//!   [`Solver`](crate::solvers::Solver) trait (`qam solve --solver hierarchical`).

pub(crate) mod backend;
mod hierarchy;
pub mod partition;
mod router;
mod solver;
mod strategy;
// Public only for tests/it/decompose.rs, which checks the energy identities of
// extraction on large random models; not part of the supported API.
#[doc(hidden)]
pub mod subproblem;

pub use crate::batch::{BatchSolver, PerSubproblem, Subproblem};
pub use backend::{QAOA_MAX_VARIABLES, SubSolverKind, SubSolverParams, SubStart, exact_backend};
pub use hierarchy::{HierarchicalQubo, HierarchyParams, Level, apply_flips, merge_model};
pub use partition::{Graph, Partition, PartitionMethod, PartitionParams, PartitionStats, partition};
pub use router::Router;
pub use solver::{HierarchicalParams, HierarchicalSolver, Strategy};
pub use subproblem::{Clamp, Clamped};

// Names of the strategy and partitioner choices (their `name()` is defined with them).
crate::names::named_enum!(serde Strategy, "strategy", name() {
    Merge: "Solve clusters, then which clusters to flip one level up, recursively (V-cycles)",
    Refine: "Large-neighbourhood search over clusters and energy-impact regions (qbsolv-like)",
});
crate::names::named_enum!(serde PartitionMethod, "partitioner", name() {
    Multilevel: "Multilevel heavy-edge coarsening with boundary refinement (METIS-like)",
    LabelPropagation: "Size-constrained label propagation with boundary refinement",
});

use crate::model::ModelError;
use crate::solvers::SolveError;

/// Errors of the decomposition layer.
#[derive(Debug, thiserror::Error)]
pub enum DecomposeError {
    /// A parameter is out of range; names it.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// Parameter name as users write it (e.g. `cluster_size`).
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A sub-solver back-end exists in the interface but not in this build.
    #[error("sub-solver `{name}` is not available in this build yet: {reason}")]
    Unavailable {
        /// Back-end name (`gpu-sa`, `qaoa`).
        name: &'static str,
        /// What to use instead.
        reason: String,
    },
    /// A subproblem is larger than every back-end of the router accepts.
    #[error("subproblem of {size} variables exceeds every sub-solver's limit (largest: {limit})")]
    NoRoute {
        /// Variables in the subproblem.
        size: usize,
        /// Largest size any route takes.
        limit: usize,
    },
    /// A sub-solver failed.
    #[error(transparent)]
    Solve(#[from] SolveError),
    /// A model could not be built.
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl From<DecomposeError> for SolveError {
    fn from(e: DecomposeError) -> Self {
        match e {
            DecomposeError::Solve(e) => e,
            DecomposeError::Model(e) => SolveError::Model(e),
            DecomposeError::InvalidParameter { name, reason } => SolveError::InvalidParameter { name, reason },
            e @ DecomposeError::Unavailable { .. } => SolveError::InvalidParameter {
                name: "sub_solver",
                reason: e.to_string(),
            },
            e @ DecomposeError::NoRoute { .. } => SolveError::TooLarge {
                solver: "hierarchical",
                reason: e.to_string(),
            },
        }
    }
}
