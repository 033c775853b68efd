//! Plan a generated fleet with the `Orchestrator`, then re-plan it after churn.
//!
//! `cargo run --release --example orchestrate [-- AGENTS POOLS TASKS]`

use qam::orchestrate::{GenParams, Orchestrator, OrchestratorConfig, Scenario, churn, generate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (agents, pools, tasks) = (
        args.first().copied().unwrap_or(500),
        args.get(1).copied().unwrap_or(20),
        args.get(2).copied().unwrap_or(60),
    );
    // A scenario: from a file (`Scenario::read("examples/scenario_small.json")?`) or generated.
    let scenario: Scenario = generate(&GenParams {
        agents,
        pools,
        tasks,
        seed: 42,
        ..Default::default()
    });
    let orch = Orchestrator::new(OrchestratorConfig {
        seed: 1,
        ..Default::default()
    });
    let plan = orch.plan(&scenario)?;
    let m = &plan.metrics;
    println!(
        "{agents} agents / {pools} pools / {tasks} tasks: objective {:.1} vs greedy {:.1} ({:.1}% better), \
         {} violations, traffic across pools {:.1}%, makespan {}, {:.2} s",
        m.objective,
        plan.comparison.greedy.objective,
        plan.comparison.improvement_vs_greedy_pct,
        m.violations,
        100.0 * m.cross_pool_traffic_share,
        m.makespan,
        m.solve_time_s
    );
    for v in &plan.violations {
        println!("  violation: {v}");
    }

    // 5% of the agents leave or fail, as many join: re-plan from the previous plan.
    let changed = churn(&scenario, 0.05, 7, "new")?;
    let replan = orch.replan(&changed, &plan)?;
    let r = replan.replan.as_ref().expect("re-plans carry a report");
    println!(
        "re-plan after churn: {} left, {} joined, {} moved ({} forced), {} kept; objective {:.1}, {} violations",
        r.left, r.joined, r.moved, r.forced, r.kept, replan.metrics.objective, replan.metrics.violations
    );
    Ok(())
}
