//! Stage 6, **report**: the plan evaluated from scratch ([`crate::orchestrate::metrics`]:
//! violations, utilisation, traffic shares, makespan, objective), compared with the greedy
//! baselines (and the exact optimum on small scenarios), the re-plan report, the stop
//! reason, and the [`Plan`] itself.

use super::place::Start;
use super::{Ctx, Progress};
use crate::orchestrate::Violation;
use crate::orchestrate::baseline::{assignment_objective, greedy_assignment, greedy_assignment_in, traffic_order};
use crate::orchestrate::cluster::Clustering;
use crate::orchestrate::metrics::{Metrics, evaluate};
use crate::orchestrate::plan::{Comparison, Placement, Plan, ScheduledTask};
use crate::orchestrate::schedule::{ScheduleResult, list_schedule};
use crate::orchestrate::validate::Instance;
use crate::solvers::StopReason;
use std::time::Instant;

/// Metrics of the greedy baseline alone (greedy placement, list schedule), with its time.
pub fn greedy_metrics(inst: &Instance) -> (Metrics, Vec<Violation>) {
    let t0 = Instant::now();
    let g = greedy_assignment(inst);
    let ls = list_schedule(inst);
    let gs: Vec<usize> = ls.start.iter().map(|s| s.unwrap_or(0)).collect();
    let (mut m, v) = evaluate(inst, &g, None, &gs, &ls.agent);
    m.solve_time_s = t0.elapsed().as_secs_f64();
    (m, v)
}

/// What the earlier stages produced.
pub(in crate::orchestrate) struct Outcome<'a> {
    /// Pool of each agent.
    pub placement: Vec<Option<usize>>,
    /// The clusters (each placement names its cluster).
    pub clustering: &'a Clustering,
    /// Start slot and agent of each task.
    pub sched: ScheduleResult,
    /// The exact optimum (placement, objective) when it was computed.
    pub exact: Option<(Vec<usize>, f64)>,
    /// Where a re-plan started.
    pub start: Start,
    /// Agents the previous plan had to give up.
    pub forced: usize,
    /// The backend's name.
    pub backend: String,
}

/// Builds the plan (runs right after the schedule stage: the solve time ends here).
pub(in crate::orchestrate) fn run(ctx: &Ctx, out: Outcome, progress: Progress) -> Plan {
    let (cfg, inst) = (ctx.cfg, ctx.inst);
    let aa = inst.num_agents();
    let solve_time = ctx.elapsed_s();
    let stop_reason = if ctx.interrupted() {
        StopReason::Interrupted
    } else if cfg.time_limit.is_some_and(|t| solve_time >= t) {
        StopReason::TimeLimit
    } else {
        StopReason::Completed
    };
    let Outcome {
        placement,
        clustering,
        sched,
        exact,
        start,
        forced,
        backend,
    } = out;
    let Progress {
        stages,
        mut time_to_feasible,
    } = progress;
    let (mut metrics, violations) = evaluate(
        inst,
        &placement,
        Some(&clustering.cluster_of),
        &sched.start,
        &sched.agent,
    );
    metrics.solve_time_s = solve_time;
    if time_to_feasible.is_none()
        && violations.iter().all(|v| {
            !matches!(
                v,
                Violation::AgentUnplaced { .. } | Violation::CapacityExceeded { .. } | Violation::PoolNotAllowed { .. }
            )
        })
    {
        time_to_feasible = Some(solve_time);
    }
    metrics.time_to_feasible_s = time_to_feasible;
    let mut comparison = Comparison::default();
    if cfg.baseline {
        let (gm, _) = greedy_metrics(inst);
        comparison.improvement_vs_greedy_pct = if gm.objective.abs() > 0.0 {
            100.0 * (gm.objective - metrics.objective) / gm.objective.abs()
        } else {
            0.0
        };
        comparison.greedy = gm;
        let gb = greedy_assignment_in(inst, &traffic_order(inst));
        let (place, comm) = assignment_objective(inst, &gb);
        comparison.greedy_traffic_order_objective = place + comm;
    }
    if let Some((_, opt)) = exact {
        comparison.exact_objective = Some(opt);
        comparison.gap_to_exact = Some(metrics.objective - opt);
    }
    let Start {
        prev,
        was_present,
        mut replan,
        move_cost,
    } = start;
    if let (Some(report), Some(prev)) = (replan.as_mut(), &prev) {
        let moved: Vec<usize> = (0..aa).filter(|&a| was_present[a] && prev[a] != placement[a]).collect();
        report.moved = moved.len();
        report.kept = (0..aa).filter(|&a| was_present[a]).count() - moved.len();
        report.forced = forced;
        report.move_cost = move_cost;
        report.moved_agents = moved.iter().take(100).map(|&a| inst.agent_ids[a].clone()).collect();
    }
    Plan {
        format: "qam-plan".into(),
        version: 1,
        backend,
        seed: cfg.seed,
        placements: (0..aa)
            .map(|a| Placement {
                agent: inst.agent_ids[a].clone(),
                pool: placement[a].map(|p| inst.pool_ids[p].clone()),
                cluster: clustering.cluster_of[a],
            })
            .collect(),
        schedule: (0..inst.tasks.len())
            .map(|t| ScheduledTask {
                task: inst.task_ids[t].clone(),
                start: sched.start[t],
                end: sched.start[t] + inst.tasks[t].duration,
                agent: sched.agent[t].map(|a| inst.agent_ids[a].clone()),
            })
            .collect(),
        violations,
        metrics,
        comparison,
        replan,
        stages,
        stop_reason: Some(stop_reason),
        tight_constraints: crate::orchestrate::validate::tight_capacities(inst, &placement, 10),
    }
}
