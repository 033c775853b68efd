//! The **constrained** step after refine: first, when the plan is feasible, block moves
//! ([`crate::orchestrate::refine::block_anneal`]: whole teams moved, swapped and chained
//! between pools under capacity, annealed on the exact objective; half of the stage's time
//! budget, or [`BLOCK_TRIALS_PER_AGENT`] trials per agent without one); then the whole
//! assignment on the constrained annealer ([`crate::orchestrate::constrained`], `cqm-sa`
//! with capacities as native constraints) from the current plan, kept when it is feasible
//! and better (or the plan was infeasible); then the exact optimum when `pools^agents` is
//! small enough (from scratch only), kept when better.
//!
//! Why block moves first: where traffic between teams is a large part of the objective,
//! the best plans keep each team in one pool, and getting there means moving a team into
//! a full pool whose own team moves on. `cqm-sa` moves one agent (or an agent and a few
//! teammates) at a time, so it must cross states that split teams; the block moves make
//! the whole exchange one step (per-pool reduced set at 10 s: see docs/benchmarks.md).

use super::{Ctx, Progress, State};
use crate::orchestrate::OrchestrateError;
use crate::orchestrate::baseline::exact_assignment;
use crate::orchestrate::orchestrator::Interrupt;
use crate::orchestrate::refine::{BlockParams, block_anneal};
use crate::rng::derive_seed;
use std::time::{Duration, Instant};

/// Block-move trials per agent when there is no time limit (a fixed amount of work).
pub(in crate::orchestrate) const BLOCK_TRIALS_PER_AGENT: usize = 20;
/// Share of the constrained step's time budget spent on block moves.
const BLOCK_SHARE: f64 = 0.5;

/// Runs the step on `st`; returns the exact optimum (placement, objective) when it was
/// computed, for the report.
pub(in crate::orchestrate) fn run(
    ctx: &Ctx,
    st: &mut State,
    from_scratch: bool,
    progress: &mut Progress,
) -> Result<Option<(Vec<usize>, f64)>, OrchestrateError> {
    let (cfg, inst) = (ctx.cfg, ctx.inst);
    let (aa, pp) = (inst.num_agents(), inst.num_pools());
    let problem = st.global.problem;
    let t0 = Instant::now();
    if cfg.constrained_max_vars > 0 && aa > 0 && aa * pp <= cfg.constrained_max_vars && !ctx.interrupted() {
        let left = cfg
            .time_limit
            .map(|t| (t * (1.0 - crate::orchestrate::schedule_lns::schedule_share(inst)) - ctx.elapsed_s()).max(0.05));
        let end = left.map(|l| Instant::now() + Duration::from_secs_f64(l));
        let blocks = |st: &mut State, deadline: Option<Instant>| {
            let params = BlockParams {
                trials: if deadline.is_some() {
                    usize::MAX
                } else {
                    BLOCK_TRIALS_PER_AGENT * aa
                },
                deadline,
                seed: derive_seed(cfg.seed, 21),
            };
            block_anneal(&mut st.global, &params, cfg.interrupt.as_ref().map(Interrupt::flag));
        };
        // Block moves need a feasible plan: before cqm-sa when there is one, else after it.
        let blocks_first = problem.is_feasible(&st.global.placement);
        if blocks_first {
            blocks(
                st,
                left.map(|l| Instant::now() + Duration::from_secs_f64(l * BLOCK_SHARE)),
            );
        }
        let time_limit = match (blocks_first, left, end) {
            (false, Some(l), _) => Some(Duration::from_secs_f64(l * (1.0 - BLOCK_SHARE))),
            (_, _, e) => e.map(|e| {
                e.saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(50))
            }),
        };
        let params = crate::cqm::CqmSaParams {
            chains: 2,
            sweeps: 200,
            cycles: 2,
            seed: derive_seed(cfg.seed, 20),
            time_limit,
            target_energy: None,
        };
        let current = st.global.placement.clone();
        let interrupt = cfg.interrupt.as_ref().map(Interrupt::flag);
        let (found, first) = crate::orchestrate::constrained::solve_assignment_timed(
            problem, &current, params, interrupt,
        )
        .map_err(|e| OrchestrateError::InvalidParameter {
            name: "constrained",
            reason: e.to_string(),
        })?;
        if progress.time_to_feasible.is_none()
            && let Some(first) = first
        {
            progress.time_to_feasible = Some((t0.duration_since(ctx.t_start) + first).as_secs_f64());
        }
        if let Some(found) = found {
            let found: Vec<Option<usize>> = found.into_iter().map(Some).collect();
            let old_feasible = problem.is_feasible(&current);
            if !old_feasible || problem.objective(&found) < problem.objective(&current) - 1e-9 {
                for (a, &p) in found.iter().enumerate() {
                    if st.global.placement[a] != p {
                        st.global.apply(a, p);
                    }
                }
            }
        }
        if !blocks_first && problem.is_feasible(&st.global.placement) && !ctx.interrupted() {
            blocks(st, end);
        }
    }
    let exact = if from_scratch && !ctx.interrupted() {
        exact_assignment(inst, cfg.exact_max_leaves)
    } else {
        None
    };
    if let Some((ex, _)) = &exact {
        let ex: Vec<Option<usize>> = ex.iter().map(|&p| Some(p)).collect();
        if problem.objective(&ex) < problem.objective(&st.global.placement) - 1e-9
            || !problem.is_feasible(&st.global.placement)
        {
            for (a, &p) in ex.iter().enumerate() {
                if st.global.placement[a] != p {
                    st.global.apply(a, p);
                }
            }
        }
    }
    progress.record("constrained", t0, 0, Some(problem.objective(&st.global.placement)));
    Ok(exact)
}
