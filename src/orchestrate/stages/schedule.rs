//! Stage 5, **schedule**: tasks go to time slots by scheduling QUBOs over windows of tasks
//! ([`crate::orchestrate::schedule`]), then large-neighbourhood search improves the
//! schedule with the rest of the budget ([`crate::orchestrate::schedule_lns`]). When the
//! run was interrupted, the list schedule (greedy, fast) keeps the plan complete.

use super::{Ctx, Progress};
use crate::orchestrate::OrchestrateError;
use crate::orchestrate::schedule::{ScheduleResult, list_schedule, schedule};
use crate::orchestrate::schedule_lns::polish_schedule;
use crate::rng::derive_seed;
use std::time::{Duration, Instant};

/// Runs the stage.
pub(in crate::orchestrate) fn run(ctx: &Ctx, progress: &mut Progress) -> Result<ScheduleResult, OrchestrateError> {
    let (cfg, inst) = (ctx.cfg, ctx.inst);
    let t0 = Instant::now();
    let sched = if ctx.interrupted() {
        let ls = list_schedule(inst);
        ScheduleResult {
            start: ls.start.iter().map(|s| s.unwrap_or(0)).collect(),
            agent: ls.agent,
            subproblems: 0,
            qubo_wins: 0,
        }
    } else {
        let sched = schedule(
            inst,
            ctx.backend,
            cfg.schedule_chunk,
            cfg.schedule_window,
            &cfg.penalties,
            derive_seed(cfg.seed, 3),
        )?;
        let left = cfg
            .time_limit
            .map(|t| Duration::from_secs_f64((t - ctx.elapsed_s()).max(0.05)));
        polish_schedule(inst, sched, left, derive_seed(cfg.seed, 4), cfg.interrupt.as_ref())?
    };
    progress.record("schedule", t0, sched.subproblems, None);
    Ok(sched)
}
