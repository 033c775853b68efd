//! The [`Orchestrator`]: its settings ([`OrchestratorConfig`]), the stop flag
//! ([`Interrupt`]) and the driver that runs the planner's stages in order. Each stage is
//! one file under `stages/` (see [`super::stages`] for what each does):
//!
//! 1. **cluster**: balanced clusters of the traffic graph and their groups.
//! 2. **place**: the first placement (or the previous plan, repaired, when re-planning).
//! 3. **improve**: rounds of agent-level QUBOs per cluster, pair of clusters, pair of pools.
//! 4. **refine**: border moves; then **constrained**: block moves (whole teams between
//!    pools), the whole assignment on `cqm-sa`, and the exact optimum on small scenarios.
//! 5. **schedule**: scheduling QUBOs over windows of tasks, then large-neighbourhood search.
//! 6. **report**: metrics from scratch, baselines, the [`Plan`].
//!
//! Every subproblem goes through one [`BatchSolver`]. The interrupt is checked between
//! stages, rounds and subproblem batches, between the levels of the clustering and inside
//! the constrained and scheduling stages. Incremental re-planning starts from a previous
//! plan and charges a cost per moved agent.

use super::OrchestrateError;
use super::assign::PenaltySettings;
use super::backend::CpuBackend;
use super::decode::Assignment;
use super::plan::Plan;
use super::scenario::Scenario;
use super::stages::{self, Ctx, Progress, State};
use super::validate::{Instance, validate};
use crate::batch::BatchSolver;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

pub use super::stages::report::greedy_metrics;

/// A stop flag shared with other threads (Ctrl-C, a cancelled request): set it and a
/// running [`Orchestrator`] skips its remaining improvement work, then returns the plan it
/// has, complete (every agent placed where it fits, every task scheduled by the list
/// scheduler) and marked [`StopReason::Interrupted`](crate::solvers::StopReason). Clones
/// share the flag; two `Interrupt`s are equal when they share it.
#[derive(Clone, Debug, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// A new flag, not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wraps an existing shared flag.
    pub fn from_flag(flag: Arc<AtomicBool>) -> Self {
        Interrupt(flag)
    }

    /// Sets the flag: the run stops at its next check.
    pub fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The flag itself (e.g. for [`SolveContext::interrupt`](crate::solvers::SolveContext)).
    pub fn flag(&self) -> &AtomicBool {
        &self.0
    }
}

impl PartialEq for Interrupt {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Settings of the [`Orchestrator`].
#[derive(Clone, Debug, PartialEq)]
pub struct OrchestratorConfig {
    /// Seed of every random stream.
    pub seed: u64,
    /// Agents per cluster; `None`: `clamp(agents / (2 pools), 4, 32)`.
    pub cluster_size: Option<usize>,
    /// Most children per split of the clustering hierarchy (default 8).
    pub max_k: usize,
    /// Most candidate pools per placement subproblem (default 8).
    pub max_pools: usize,
    /// Improvement rounds (default 2).
    pub rounds: usize,
    /// Most passes of border refinement (default 10).
    pub refine_passes: usize,
    /// Most subproblems per backend call (default 64; bounds memory).
    pub batch_size: usize,
    /// Penalty weights of every QUBO.
    pub penalties: PenaltySettings,
    /// Cost per moved agent when re-planning; `None`: the largest traffic-plus-cost scale
    /// of any agent, so an agent only moves when forced or when a group move pays.
    pub move_cost: Option<f64>,
    /// Tasks per scheduling window (default 16).
    pub schedule_chunk: usize,
    /// Candidate slots per task in a window (default 8).
    pub schedule_window: usize,
    /// Scenarios with at most this many agents (and at most `max_pools` pools) are solved
    /// as one QUBO (default 12).
    pub direct_max_agents: usize,
    /// Compare with the exact optimum when `pools^agents` is at most this (default 1e6).
    pub exact_max_leaves: f64,
    /// Compute the greedy baseline (default true).
    pub baseline: bool,
    /// Run the constrained assignment stage (`constrained`, `cqm-sa` from the
    /// current plan) when `agents * pools` is at most this (default 200,000; 0 turns it
    /// off).
    pub constrained_max_vars: usize,
    /// Wall-time budget in seconds for the whole plan: the constrained stage keeps
    /// improving until it is spent (half on block moves, half on `cqm-sa`). `None`
    /// (default): a fixed amount of work (20 block-move trials per agent; 2 chains, 2
    /// cycles of 200 sweeps), the same answer on any machine.
    pub time_limit: Option<f64>,
    /// Stop flag checked between stages, rounds and subproblem batches and inside the
    /// constrained stage (see [`Interrupt`]); `None` (default): runs to the end.
    pub interrupt: Option<Interrupt>,
}

impl Default for OrchestratorConfig {
    fn default() -> Self {
        OrchestratorConfig {
            seed: 0,
            cluster_size: None,
            max_k: 8,
            max_pools: 8,
            rounds: 2,
            refine_passes: 10,
            batch_size: 64,
            penalties: PenaltySettings::default(),
            move_cost: None,
            schedule_chunk: 16,
            schedule_window: 8,
            direct_max_agents: 12,
            exact_max_leaves: 1e6,
            baseline: true,
            constrained_max_vars: 200_000,
            time_limit: None,
            interrupt: None,
        }
    }
}

impl OrchestratorConfig {
    fn check(&self) -> Result<(), OrchestrateError> {
        let bad = |name: &'static str, reason: &str| {
            Err(OrchestrateError::InvalidParameter {
                name,
                reason: reason.into(),
            })
        };
        if self.cluster_size == Some(0) {
            return bad("cluster_size", "must be at least 1");
        }
        if self.max_k < 2 {
            return bad("max_k", "must be at least 2");
        }
        if self.max_pools == 0 {
            return bad("max_pools", "must be at least 1");
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1");
        }
        if self.schedule_chunk == 0 || self.schedule_window == 0 {
            return bad("schedule_window", "chunk and window must be at least 1");
        }
        if self.time_limit.is_some_and(|t| !t.is_finite() || t <= 0.0) {
            return bad("time_limit", "must be a positive number of seconds");
        }
        if self.move_cost.is_some_and(|m| !m.is_finite() || m < 0.0) {
            return bad("move_cost", "must be finite and non-negative");
        }
        self.penalties.check()
    }
}

/// Plans fleets (see the module docs). Subproblems go through one backend: the CPU
/// solvers by default, or any [`BatchSolver`] (GPU batch, hierarchical).
pub struct Orchestrator {
    /// Settings.
    pub config: OrchestratorConfig,
    backend: Box<dyn BatchSolver>,
}

impl Orchestrator {
    /// An orchestrator on the CPU backend.
    pub fn new(config: OrchestratorConfig) -> Self {
        Orchestrator {
            config,
            backend: Box::new(CpuBackend::default()),
        }
    }

    /// An orchestrator routing every subproblem to `backend`.
    pub fn with_backend(config: OrchestratorConfig, backend: Box<dyn BatchSolver>) -> Self {
        Orchestrator { config, backend }
    }

    /// The backend's name.
    pub fn backend_name(&self) -> String {
        self.backend.name()
    }

    /// Validates `scenario` and plans it from scratch.
    pub fn plan(&self, scenario: &Scenario) -> Result<Plan, OrchestrateError> {
        let inst = validate(scenario)?;
        self.plan_instance(&inst, None)
    }

    /// Validates `scenario` and re-plans it from `previous`, moving as few agents as
    /// possible (see [`OrchestratorConfig::move_cost`]).
    pub fn replan(&self, scenario: &Scenario, previous: &Plan) -> Result<Plan, OrchestrateError> {
        let inst = validate(scenario)?;
        self.plan_instance(&inst, Some(previous))
    }

    /// Plans a validated instance, from `previous` when given: runs the stages in order.
    pub fn plan_instance(&self, inst: &Instance, previous: Option<&Plan>) -> Result<Plan, OrchestrateError> {
        self.config.check()?;
        let ctx = Ctx {
            cfg: &self.config,
            backend: self.backend.as_ref(),
            inst,
            t_start: Instant::now(),
        };
        let mut progress = Progress::default();
        let start = stages::place::Start::new(&ctx, previous);
        let (problem, adj) = stages::place::global_problem(&ctx, &start);
        let clustering = stages::cluster::run(&ctx, &mut progress)?;
        let mut st = State {
            inst,
            global: Assignment::with_adjacency(&problem, adj, vec![None; inst.num_agents()]),
        };
        let forced = stages::place::run(&ctx, &mut st, &clustering, &start, &mut progress)?;
        stages::improve::run(&ctx, &mut st, &clustering, &mut progress)?;
        stages::refine::run(&ctx, &mut st, &mut progress);
        let exact = stages::constrained::run(&ctx, &mut st, previous.is_none(), &mut progress)?;
        let sched = stages::schedule::run(&ctx, &mut progress)?;
        let outcome = stages::report::Outcome {
            placement: st.global.placement,
            clustering: &clustering,
            sched,
            exact,
            start,
            forced,
            backend: self.backend.name(),
        };
        Ok(stages::report::run(&ctx, outcome, progress))
    }
}
