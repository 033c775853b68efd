//! The plan an orchestration produces (`qam-plan` JSON): where each agent runs, when each
//! task runs and on which agent, every violation left, the metrics, and how it compares
//! with the baselines.

use super::OrchestrateError;
use super::metrics::Metrics;
use serde::{Deserialize, Serialize};
use std::path::Path;

// `Violation` lives in `metrics` (which computes violations); re-exported here, where
// plans hold them, so `metrics` does not import `plan`.
pub use super::metrics::Violation;

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
    /// Why planning stopped: `completed`, `time_limit` (the budget was spent) or
    /// `interrupted` ([`OrchestratorConfig::interrupt`](super::OrchestratorConfig): the
    /// plan is complete but skipped the improvement work left). Absent in older plans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<crate::solvers::StopReason>,
    /// When agents are left unplaced: the capacity constraints that keep them out, tightest
    /// first ([`TightCapacity`]); empty (and absent from the JSON) otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tight_constraints: Vec<TightCapacity>,
}

/// Why a capacity constraint is named in [`Plan::tight_constraints`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TightReason {
    /// Proven: the agents listed may use only `pools`, and even at their smallest loads
    /// they need `required` of the resource there, more than the pools' total `capacity`.
    /// No plan places all of them.
    Demand,
    /// Proven: the agents listed may use only `pools`, and filling each pool with the
    /// smallest loads of the resource it can take, at most `capacity` of them fit there in
    /// total, fewer than their number `required`. No plan places all of them.
    Count,
    /// Proven: each agent listed needs more than half of `resource` in every pool of
    /// `pools` it may use, so no two of them share a pool; `required` is their number and
    /// `capacity` the number of pools. No plan places all of them.
    Exclusive,
    /// In this plan: placing the smallest of the listed unplaced agents in the pool would
    /// take its use of the resource to `required`, above its `capacity` (the search found no
    /// packing that leaves room; other plans might).
    Blocking,
}

/// A capacity constraint (pool or set of pools, resource kind) that keeps agents unplaced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TightCapacity {
    /// `demand`, `count`, `exclusive` or `blocking` (see [`TightReason`]).
    pub reason: TightReason,
    /// Pool ids (one pool for `blocking`).
    pub pools: Vec<String>,
    /// Resource kind.
    pub resource: String,
    /// What the agents need (resource units; a number of agents for `count` and
    /// `exclusive`).
    pub required: f64,
    /// What the pools offer (resource units; a number of agents for `count`, of pools for
    /// `exclusive`).
    pub capacity: f64,
    /// Agents involved (the first 20).
    pub agents: Vec<String>,
    /// How many agents are involved.
    pub num_agents: usize,
}

impl std::fmt::Display for TightCapacity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pools = self
            .pools
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut agents = self.agents.join(", ");
        if self.num_agents > self.agents.len() {
            agents.push_str(&format!(" and {} more", self.num_agents - self.agents.len()));
        }
        match self.reason {
            TightReason::Demand => write!(
                f,
                "pool{} {pools}, {}: required {} > capacity {} (agents that may use only these pools: {agents})",
                if self.pools.len() > 1 { "s" } else { "" },
                self.resource,
                self.required,
                self.capacity
            ),
            TightReason::Count => write!(
                f,
                "pool{} {pools}, {}: {} agents may use only these pools, at most {} fit by their smallest loads (agents: {agents})",
                if self.pools.len() > 1 { "s" } else { "" },
                self.resource,
                self.required,
                self.capacity
            ),
            TightReason::Exclusive => write!(
                f,
                "pool{} {pools}, {}: {} agents each need more than half of any of these pools, {} pool{} (agents: {agents})",
                if self.pools.len() > 1 { "s" } else { "" },
                self.resource,
                self.required,
                self.capacity,
                if self.capacity == 1.0 { "" } else { "s" }
            ),
            TightReason::Blocking => write!(
                f,
                "pool {pools}, {}: required {} > capacity {} to place one more of the unplaced agents {agents}",
                self.resource, self.required, self.capacity
            ),
        }
    }
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
