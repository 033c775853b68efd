//! Orchestration of agent fleets as hierarchical QUBOs.
//!
//! A [`Scenario`] (agents with loads, capabilities and per-pool costs; resource pools with
//! capacities; tasks with durations, precedence and conflicts; a communication graph) is
//! validated into an [`Instance`], then planned by the [`Orchestrator`]:
//!
//! 1. `cluster`: the traffic graph is split into balanced clusters by the crate's one
//!    partitioner (`qam::decompose::partition`'s balanced mode, recursively: clusters of
//!    clusters), with a balanced k-way partition QUBO as its split strategy.
//! 2. `assign`: clusters, then agents, are placed in pools by assignment QUBOs (one-hot
//!    placement, capacity by slack-encoded penalties, placement cost, communication cost
//!    between pools), one small subproblem per cluster or group of clusters.
//! 3. Every subproblem goes through one [`BatchSolver`] of the shared batch layer
//!    ([`crate::batch`]: the CPU solvers, the GPU batcher, any solver), is decoded and greedily repaired
//!    (`decode`), and the best of the decoded samples and the current plan is kept.
//! 4. `refine`: single-agent moves across cluster borders with exact objective deltas;
//!    then `constrained`: the whole assignment on the constrained annealer (`cqm-sa`,
//!    capacities as native constraints) from the current plan, kept when it is feasible and
//!    better (or the plan was infeasible); on scenarios small enough for the exhaustive
//!    search the exact optimum is returned.
//! 5. `schedule`: tasks go to time slots by scheduling QUBOs over windows of tasks
//!    (conflict, precedence and per-slot capacity penalties), then to agents; then
//!    `schedule_lns` improves the schedule by large-neighbourhood search.
//! 6. `metrics`: every plan is evaluated from scratch (violations, utilisation, traffic
//!    shares, makespan, objective) and compared with the greedy `baseline` (and the exact
//!    optimum on small scenarios).
//!
//! Incremental re-planning warm-starts from a previous [`Plan`] and charges a cost per moved
//! agent, so only agents whose move pays off (or is forced) move.

mod assign;
mod backend;
mod baseline;
mod cluster;
mod constrained;
mod decode;
mod generate;
mod metrics;
mod orchestrator;
mod plan;
mod refine;
mod scenario;
mod schedule;
mod schedule_lns;
mod stages;
mod validate;

pub use crate::batch::{BatchSolver, GpuBatcher, Subproblem};
pub use assign::PenaltySettings;
pub use backend::{CpuBackend, CpuSolverKind, SolverBackend, SubSolver};
pub use baseline::{exact_assignment, greedy_assignment};
pub use cluster::{Clustering, hierarchical};
pub use constrained::solve_assignment;
pub use generate::{GenParams, LoadModel, churn, generate};
pub use generate::{MAX_GEN_CONFLICTS, ScarcityParams, apply_scarcity, check_scarcity};
pub use metrics::Metrics;
pub use metrics::{PoolUse, evaluate};
pub use orchestrator::{Interrupt, greedy_metrics};
pub use orchestrator::{Orchestrator, OrchestratorConfig};
pub use plan::{Comparison, Placement, ReplanReport, ScheduledTask, StageReport};
pub use plan::{Plan, Violation};
pub use plan::{TightCapacity, TightReason};
pub use scenario::{Agent, Costs, Load, Pool, Scenario, Task, Traffic};
pub use schedule::{SlotState, list_schedule};
pub use schedule_lns::{LnsParams, LnsResult, improve_schedule, lower_bound};
pub use validate::TaskSpec;
pub use validate::{Instance, check_gen_params, check_previous, tight_capacities, validate};
pub use validate::{MAX_GEN_AGENTS, MAX_SCENARIO_VALUE, MAX_SLOTS, MAX_TOTAL_SLOTS};
// The stages' QUBO builders and problem types, public only for tests/it/orchestrate_exact.rs,
// orchestrate_pool_loads.rs and orchestrate_cqm.rs, which check them against brute force;
// internals of the planner, not the supported API.
#[doc(hidden)]
pub use assign::{AssignProblem, AssignQubo, build_assign_qubo};
#[doc(hidden)]
pub use cluster::{PartitionProblem, PartitionQubo, build_partition_qubo};
// Kept reachable (not used by the planner itself) so the stage files are unchanged here.
#[doc(hidden)]
pub use constrained::assign_model;
#[doc(hidden)]
pub use decode::Assignment;
#[doc(hidden)]
pub use schedule::{ScheduleQubo, build_schedule_qubo};

use crate::model::ModelError;
use crate::solvers::SolveError;

/// One resource kind whose total demand exceeds the total capacity.
#[derive(Clone, Debug, PartialEq)]
pub struct Shortfall {
    /// Resource kind.
    pub kind: String,
    /// Sum of all agents' loads of this kind (per-pool loads count with their smallest
    /// value over the pools the agent may use).
    pub demand: f64,
    /// Sum of all pools' capacities of this kind.
    pub capacity: f64,
}

fn format_shortfalls(s: &[Shortfall]) -> String {
    s.iter()
        .map(|s| {
            format!(
                "{} short by {} (demand {} > capacity {})",
                s.kind,
                s.demand - s.capacity,
                s.demand,
                s.capacity
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What is wrong with a scenario; every variant names the field (as a JSON path).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// File path.
        path: String,
        /// OS error.
        message: String,
    },
    /// Malformed JSON or a field of the wrong type.
    #[error("{source_name}: line {line}, column {column}: {message}")]
    Json {
        /// File name (or `scenario` for text).
        source_name: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde's message (names the field or the expected type).
        message: String,
    },
    /// An id that refers to no agent.
    #[error("{field}: unknown agent id `{id}`")]
    UnknownAgent {
        /// JSON path, e.g. `traffic[3].to`.
        field: String,
        /// The id as written.
        id: String,
    },
    /// An id that refers to no pool.
    #[error("{field}: unknown pool id `{id}`")]
    UnknownPool {
        /// JSON path.
        field: String,
        /// The id as written.
        id: String,
    },
    /// An id that refers to no task.
    #[error("{field}: unknown task id `{id}`")]
    UnknownTask {
        /// JSON path.
        field: String,
        /// The id as written.
        id: String,
    },
    /// A resource kind not in `resource_kinds`.
    #[error("{field}: unknown resource kind `{kind}` (resource_kinds: {known})")]
    UnknownResource {
        /// JSON path.
        field: String,
        /// The kind as written.
        kind: String,
        /// The declared kinds, comma separated.
        known: String,
    },
    /// An id used twice.
    #[error("{field}: duplicate id `{id}`")]
    Duplicate {
        /// JSON path.
        field: String,
        /// The repeated id.
        id: String,
    },
    /// A pool capacity below zero.
    #[error("{field}: negative capacity {value}")]
    NegativeCapacity {
        /// JSON path, e.g. `pools[2].capacity.cpu`.
        field: String,
        /// The value.
        value: f64,
    },
    /// Any other invalid value (NaN, negative load or rate, zero duration, ...).
    #[error("{field}: {reason}")]
    Invalid {
        /// JSON path.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// Total demand above total capacity for one or more resource kinds.
    #[error("total demand exceeds total capacity: {}", format_shortfalls(.0))]
    OverCapacity(Vec<Shortfall>),
    /// The precedence graph has a cycle; the ids along it, first repeated at the end.
    #[error("tasks[].after: cyclic precedence {}", .0.join(" -> "))]
    CyclicPrecedence(Vec<String>),
}

/// Errors of the orchestration pipeline.
#[derive(Debug, thiserror::Error)]
pub enum OrchestrateError {
    /// The scenario is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A subproblem solve failed.
    #[error(transparent)]
    Solve(#[from] SolveError),
    /// A QUBO could not be built.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A previous plan is malformed or does not fit the scenario.
    #[error("{field}: {reason}")]
    Plan {
        /// JSON path in the plan.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A configuration parameter is out of range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
}
