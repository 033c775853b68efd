//! Interrupts of the planner (`OrchestratorConfig::interrupt`) and of `cqm-sa`
//! (`SolveContext::interrupt`): a run with a long time limit, interrupted from another
//! thread, ends long before its limit with a complete answer and the stop reason
//! `interrupted`. The bounds (30 s against a 60 s limit) can only fail when the interrupt
//! is ignored; they are not timing benchmarks.

use qam::cqm::gap::{GapType, generate as gap};
use qam::cqm::{CqmSaParams, CqmSaSolver, StopReason as CqmStop};
use qam::orchestrate::{GenParams, Interrupt, Orchestrator, OrchestratorConfig, Plan, generate};
use qam::solvers::{SolveContext, StopReason};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Every agent placed, every task scheduled on an agent, no violation.
fn assert_complete(plan: &Plan, agents: usize, tasks: usize) {
    assert_eq!(plan.placements.len(), agents);
    assert!(plan.placements.iter().all(|p| p.pool.is_some()), "an agent is unplaced");
    assert_eq!(plan.schedule.len(), tasks);
    assert!(plan.schedule.iter().all(|t| t.agent.is_some()), "a task has no agent");
    assert!(plan.violations.is_empty(), "violations: {:?}", plan.violations);
}

fn scenario() -> qam::orchestrate::Scenario {
    generate(&GenParams {
        agents: 100,
        pools: 5,
        tasks: 20,
        seed: 3,
        ..Default::default()
    })
}

#[test]
fn a_plan_with_a_60_s_limit_interrupted_at_0_3_s_ends_promptly_with_a_complete_plan() {
    let sc = scenario();
    let stop = Interrupt::new();
    let orch = Orchestrator::new(OrchestratorConfig {
        time_limit: Some(60.0),
        interrupt: Some(stop.clone()),
        ..Default::default()
    });
    let t0 = Instant::now();
    let plan = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            stop.set();
        });
        orch.plan(&sc).unwrap()
    });
    let took = t0.elapsed().as_secs_f64();
    assert!(took < 30.0, "the interrupt was ignored: {took} s");
    assert_eq!(plan.stop_reason, Some(StopReason::Interrupted));
    assert_complete(&plan, 100, 20);
    // The plan's metrics are those of its placement and schedule.
    let json: serde_json::Value = serde_json::from_str(&plan.to_json()).unwrap();
    assert_eq!(json["stop_reason"], "interrupted");
}

#[test]
fn an_interrupt_set_before_the_run_skips_the_improvement_and_still_plans_everything() {
    let sc = scenario();
    let stop = Interrupt::new();
    stop.set();
    let plan = Orchestrator::new(OrchestratorConfig {
        interrupt: Some(stop),
        ..Default::default()
    })
    .plan(&sc)
    .unwrap();
    assert_eq!(plan.stop_reason, Some(StopReason::Interrupted));
    assert_complete(&plan, 100, 20);
    let improve = plan.stages.iter().find(|s| s.stage == "improve").unwrap();
    assert_eq!(improve.subproblems, 0, "improvement ran although interrupted");
    let sched = plan.stages.iter().find(|s| s.stage == "schedule").unwrap();
    assert_eq!(sched.subproblems, 0, "the QUBO scheduler ran although interrupted");
    // Without the flag the same scenario completes (and is at least as good).
    let full = Orchestrator::new(OrchestratorConfig::default()).plan(&sc).unwrap();
    assert_eq!(full.stop_reason, Some(StopReason::Completed));
    assert!(full.metrics.objective <= plan.metrics.objective + 1e-9);
}

#[test]
fn interrupt_compares_by_identity() {
    let a = Interrupt::new();
    assert_eq!(a, a.clone());
    assert_ne!(a, Interrupt::new());
    let flag = Arc::new(AtomicBool::new(false));
    let b = Interrupt::from_flag(flag.clone());
    flag.store(true, Ordering::Relaxed);
    assert!(b.is_set());
}

#[test]
fn cqm_sa_with_a_60_s_limit_interrupted_at_0_3_s_returns_its_best_state() {
    let m = gap(GapType::C, 20, 4, 1).unwrap().to_model();
    let solver = CqmSaSolver::new(CqmSaParams {
        chains: 2,
        time_limit: Some(Duration::from_secs(60)),
        ..Default::default()
    });
    let flag = AtomicBool::new(false);
    let ctx = SolveContext {
        interrupt: Some(&flag),
        ..Default::default()
    };
    let t0 = Instant::now();
    let sol = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            flag.store(true, Ordering::Relaxed);
        });
        solver.solve_with(&m, None, &ctx).unwrap()
    });
    let took = t0.elapsed().as_secs_f64();
    assert!(took < 30.0, "the interrupt was ignored: {took} s");
    assert_eq!(sol.stop, CqmStop::Interrupted);
    assert!(sol.feasible, "violations: {:?}", sol.violations);
    assert_eq!(sol.feasible, m.is_feasible(&sol.state));
    assert!((sol.energy - m.energy(&sol.state)).abs() <= 1e-9 * sol.energy.abs().max(1.0));
    // Without an interrupt the same parameters (no limit) complete their cycles.
    let done = CqmSaSolver::new(CqmSaParams {
        chains: 2,
        ..Default::default()
    })
    .solve_with(&m, None, &SolveContext::default())
    .unwrap();
    assert_eq!(done.stop, CqmStop::Completed);
}
