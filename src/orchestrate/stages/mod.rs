//! The planner's stages, one file each, run in this order by
//! [`Orchestrator::plan_instance`](super::Orchestrator::plan_instance):
//!
//! 1. [`cluster`]: balanced clusters of the traffic graph (and their groups).
//! 2. [`place`]: the first placement (clusters whole, group by group; one QUBO for tiny
//!    scenarios; the previous plan, repaired, when re-planning).
//! 3. [`improve`]: rounds of agent-level QUBOs per cluster, per pair of clusters, per pair of
//!    pools.
//! 4. [`refine`]: single-agent moves across borders; then [`constrained`]: block moves
//!    (whole teams moved, swapped and chained between pools), the whole assignment on the
//!    constrained annealer, and the exact optimum on small scenarios.
//! 5. [`schedule`]: scheduling QUBOs over windows of tasks, then large-neighbourhood search.
//! 6. [`report`]: metrics from scratch, baselines, the re-plan report, the [`Plan`](super::Plan).
//!
//! Every stage reads the shared [`Ctx`] (configuration, batch solver, instance, clock,
//! interrupt) and records its [`StageReport`] in a [`Progress`]; the placement stages
//! share one [`State`].

pub(super) mod cluster;
pub(super) mod constrained;
pub(super) mod improve;
pub(super) mod place;
pub(super) mod refine;
pub(super) mod report;
pub(super) mod schedule;

use super::decode::Assignment;
use super::orchestrator::{Interrupt, OrchestratorConfig};
use super::plan::StageReport;
use super::validate::Instance;
use crate::batch::BatchSolver;
use std::time::Instant;

/// What every stage reads: the settings, the batch solver, the instance and the clock.
pub(super) struct Ctx<'a> {
    /// Settings of the run.
    pub cfg: &'a OrchestratorConfig,
    /// Where every QUBO subproblem goes.
    pub backend: &'a dyn BatchSolver,
    /// The validated scenario.
    pub inst: &'a Instance,
    /// When the run started (time budget, time to the first feasible plan).
    pub t_start: Instant,
}

impl Ctx<'_> {
    /// Whether the run was asked to stop ([`OrchestratorConfig::interrupt`]).
    pub fn interrupted(&self) -> bool {
        self.cfg.interrupt.as_ref().is_some_and(Interrupt::is_set)
    }

    /// Seconds since the run started.
    pub fn elapsed_s(&self) -> f64 {
        self.t_start.elapsed().as_secs_f64()
    }
}

/// Search state of the placement stages: the global assignment (costs include move
/// penalties when re-planning).
pub(super) struct State<'a> {
    /// The validated scenario.
    pub inst: &'a Instance,
    /// The current placement of every agent, with usage and exact objective deltas.
    pub global: Assignment<'a>,
}

/// The stage reports so far and when the plan first became feasible.
#[derive(Default)]
pub(super) struct Progress {
    /// One report per stage run, in order.
    pub stages: Vec<StageReport>,
    /// Seconds from the start to the first feasible placement.
    pub time_to_feasible: Option<f64>,
}

impl Progress {
    /// Records a finished stage that started at `t0`.
    pub fn record(&mut self, stage: &str, t0: Instant, subproblems: usize, objective: Option<f64>) {
        self.stages.push(StageReport {
            stage: stage.into(),
            seconds: t0.elapsed().as_secs_f64(),
            subproblems,
            objective,
        });
    }

    /// Notes the time now if the placement of `st` is the first feasible one.
    pub fn note_feasible(&mut self, ctx: &Ctx, st: &State) {
        if self.time_to_feasible.is_none() && st.global.problem.is_feasible(&st.global.placement) {
            self.time_to_feasible = Some(ctx.elapsed_s());
        }
    }
}
