//! The plan an orchestration produces (`qam-plan` JSON): where each agent runs, when each
//! task runs and on which agent, every violation left, the metrics, and how it compares
//! with the baselines.

use super::OrchestrateError;
use super::metrics::Metrics;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A constraint the plan breaks. Plans report these instead of hiding them; a good plan has
/// none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Violation {
    /// An agent could not be placed: no pool has room left for it (capacities too tight to
    /// pack every agent, although total capacity suffices).
    AgentUnplaced {
        /// Agent id.
        agent: String,
    },
    /// An agent is placed in a pool its per-pool load does not list.
    PoolNotAllowed {
        /// Agent id.
        agent: String,
        /// Pool id.
        pool: String,
    },
    /// A pool is over capacity.
    CapacityExceeded {
        /// Pool id.
        pool: String,
        /// Resource kind.
        resource: String,
        /// Load placed there.
        used: f64,
        /// Its capacity.
        capacity: f64,
    },
    /// A task starts before a predecessor ends.
    PrecedenceViolated {
        /// Task id.
        task: String,
        /// The predecessor.
        after: String,
    },
    /// Two conflicting tasks overlap.
    ConflictViolated {
        /// Task id.
        task: String,
        /// The other task.
        with: String,
    },
    /// A task has no agent (or its agent runs two tasks at once, or lacks the capability).
    TaskUnassigned {
        /// Task id.
        task: String,
    },
    /// A task ends after the hard horizon.
    PastHorizon {
        /// Task id.
        task: String,
        /// Its end slot.
        end: usize,
        /// The horizon.
        horizon: usize,
    },
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Violation::AgentUnplaced { agent } => {
                write!(f, "agent `{agent}` is not placed (no pool has room left for it)")
            }
            Violation::PoolNotAllowed { agent, pool } => {
                write!(
                    f,
                    "agent `{agent}` is placed in pool `{pool}`, which its load does not list"
                )
            }
            Violation::CapacityExceeded {
                pool,
                resource,
                used,
                capacity,
            } => write!(f, "pool `{pool}` uses {used} {resource} of {capacity}"),
            Violation::PrecedenceViolated { task, after } => {
                write!(f, "task `{task}` starts before `{after}` ends")
            }
            Violation::ConflictViolated { task, with } => write!(f, "tasks `{task}` and `{with}` overlap"),
            Violation::TaskUnassigned { task } => write!(f, "task `{task}` has no free capable agent"),
            Violation::PastHorizon { task, end, horizon } => {
                write!(f, "task `{task}` ends at slot {end}, after the horizon {horizon}")
            }
        }
    }
}

/// Where one agent runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    /// Agent id.
    pub agent: String,
    /// Pool id (`null` when unplaced; then a violation says so).
    pub pool: Option<String>,
    /// Cluster the orchestrator put the agent in.
    pub cluster: u32,
}

/// When and where one task runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduledTask {
    /// Task id.
    pub task: String,
    /// First slot.
    pub start: usize,
    /// Slot after the last (`start + duration`).
    pub end: usize,
    /// Agent running it.
    pub agent: Option<String>,
}

/// How a re-plan relates to the previous plan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplanReport {
    /// Agents in both plans that stayed in their pool.
    pub kept: usize,
    /// Agents in both plans that changed pool.
    pub moved: usize,
    /// Agents in both plans whose previous pool no longer exists or no longer had room, so
    /// they had to move (counted in `moved` too).
    pub forced: usize,
    /// Agents new in this scenario.
    pub joined: usize,
    /// Agents of the previous plan absent now (left or failed).
    pub left: usize,
    /// Cost charged per voluntary move while planning.
    pub move_cost: f64,
    /// Ids of the moved agents (first 100).
    pub moved_agents: Vec<String>,
}

/// Time and work of one stage of the pipeline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StageReport {
    /// Stage name.
    pub stage: String,
    /// Wall time, seconds.
    pub seconds: f64,
    /// QUBO subproblems solved.
    pub subproblems: usize,
    /// Objective after the stage (placement stages).
    pub objective: Option<f64>,
}

/// The plan compared with the baselines.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Metrics of the greedy baseline (greedy placement, list schedule).
    pub greedy: Metrics,
    /// `100 * (greedy objective - plan objective) / greedy objective`.
    pub improvement_vs_greedy_pct: f64,
    /// Objective of the same greedy with agents in breadth-first traffic order (team mates
    /// together): a stronger, traffic-aware baseline.
    #[serde(default)]
    pub greedy_traffic_order_objective: f64,
    /// Optimal objective, when the scenario was small enough to enumerate.
    pub exact_objective: Option<f64>,
    /// `plan objective - exact objective` (0 when the plan is optimal).
    pub gap_to_exact: Option<f64>,
}

/// A plan (`qam-plan`, version 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Always `"qam-plan"`.
    pub format: String,
    /// Format version (1).
    pub version: u32,
    /// Backend that solved the subproblems.
    pub backend: String,
    /// Seed of the run.
    pub seed: u64,
    /// One entry per agent, scenario order.
    pub placements: Vec<Placement>,
    /// One entry per task, scenario order.
    pub schedule: Vec<ScheduledTask>,
    /// Violations left (empty for a valid plan).
    pub violations: Vec<Violation>,
    /// Metrics of this plan.
    pub metrics: Metrics,
    /// Comparison with the baselines.
    pub comparison: Comparison,
    /// Present for re-plans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replan: Option<ReplanReport>,
    /// Pipeline stages.
    pub stages: Vec<StageReport>,
}

impl Plan {
    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plans serialise")
    }

    /// Parses a plan; errors name the line.
    pub fn from_json(text: &str) -> Result<Plan, OrchestrateError> {
        let plan: Plan = serde_json::from_str(text).map_err(|e| OrchestrateError::Plan {
            field: format!("line {}, column {}", e.line(), e.column()),
            reason: e.to_string(),
        })?;
        if plan.format != "qam-plan" {
            return Err(OrchestrateError::Plan {
                field: "format".into(),
                reason: format!("expected `qam-plan`, found `{}`", plan.format),
            });
        }
        Ok(plan)
    }

    /// Reads a plan file.
    pub fn read(path: impl AsRef<Path>) -> Result<Plan, OrchestrateError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| OrchestrateError::Plan {
            field: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Plan::from_json(&text).map_err(|e| match e {
            OrchestrateError::Plan { field, reason } => OrchestrateError::Plan {
                field: format!("{}: {field}", path.display()),
                reason,
            },
            other => other,
        })
    }

    /// Writes the plan as JSON.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), OrchestrateError> {
        let path = path.as_ref();
        crate::io::write_atomic(path, |w| w.write_all(self.to_json().as_bytes())).map_err(|e| OrchestrateError::Plan {
            field: path.display().to_string(),
            reason: e.to_string(),
        })
    }
}
