//! `qam orchestrate`: plan a scenario (or re-plan it from a previous plan) and write the
//! plan as JSON, with a summary against the greedy baseline on stderr/stdout.

use super::output::OutputKind;
use super::solvers::named;
use anyhow::{Result, bail};
use clap::Args;
use qam::orchestrate::PenaltySettings;
use qam::orchestrate::{
    BatchSolver, CpuBackend, GpuBatcher, Orchestrator, OrchestratorConfig, Plan, Scenario, SubSolver, validate,
};
use std::path::PathBuf;
use std::process::ExitCode;

/// Options shared by `orchestrate` and `scale-test`.
#[derive(Args, Clone, Debug)]
pub struct PlanOptions {
    /// Subproblem solver (was `--backend`); the names are `qam::orchestrate::SubSolver`'s.
    #[arg(long = "sub-solver", value_name = "SOLVER", value_parser = named::<SubSolver>(), alias = "backend", default_value_t = SubSolver::Auto)]
    pub backend: SubSolver,
    /// Reads per subproblem (was `--reads`).
    #[arg(long = "sub-reads", alias = "reads", default_value_t = 4)]
    pub reads: usize,
    /// Sweeps per subproblem read (was `--sweeps`).
    #[arg(long = "sub-sweeps", alias = "sweeps", default_value_t = 400)]
    pub sweeps: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Agents per cluster (default: agents / (2 pools), clamped to 4..32).
    #[arg(long)]
    pub cluster_size: Option<usize>,
    /// Most candidate pools per subproblem.
    #[arg(long, default_value_t = 8)]
    pub max_pools: usize,
    /// Improvement rounds.
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// Multiplier on the automatic penalty weights.
    #[arg(long, default_value_t = 1.0)]
    pub penalty_scale: f64,
    /// Cost per moved agent when re-planning (default: automatic, moves only when forced or
    /// when a group move pays).
    #[arg(long)]
    pub move_cost: Option<f64>,
    /// Wall-time budget in seconds: the constrained assignment stage (cqm-sa) keeps
    /// improving the plan until it is spent. Default: a fixed amount of work (same answer
    /// on any machine), typically well under a second for 1,000 agents.
    #[arg(long)]
    pub time_limit: Option<f64>,
}

impl PlanOptions {
    /// The orchestrator these options describe.
    pub fn orchestrator(&self) -> Result<Orchestrator> {
        if self.reads == 0 {
            bail!("--sub-reads must be at least 1");
        }
        let cpu = |kind| -> Box<dyn BatchSolver> {
            Box::new(CpuBackend {
                kind,
                reads: self.reads,
                sweeps: self.sweeps,
                ..Default::default()
            })
        };
        let backend = match self.backend.cpu() {
            Some(kind) => cpu(kind),
            None => Box::new(GpuBatcher::polished(self.reads, self.sweeps)),
        };
        let config = OrchestratorConfig {
            seed: self.seed,
            cluster_size: self.cluster_size,
            max_pools: self.max_pools,
            rounds: self.rounds,
            penalties: PenaltySettings {
                scale: self.penalty_scale,
                ..Default::default()
            },
            move_cost: self.move_cost,
            time_limit: self.time_limit,
            ..Default::default()
        };
        Ok(Orchestrator::with_backend(config, backend))
    }
}

/// Arguments of `qam orchestrate`.
#[derive(Args)]
pub struct OrchestrateArgs {
    /// Scenario file (JSON, `qam-scenario`).
    scenario: PathBuf,
    /// Where to write the plan (JSON, atomically) [default: none, the summary only].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Previous plan: re-plan incrementally from it (agents joined, left or failed)
    /// [default: none, plan from scratch].
    #[arg(long)]
    previous: Option<PathBuf>,
    /// Re-plan from a --previous plan even when it looks like a plan of another scenario
    /// (most of its agents or all of its pools unknown, agents without a pool).
    #[arg(long, requires = "previous")]
    allow_mismatch: bool,
    #[command(flatten)]
    opts: PlanOptions,
    /// Summary style on stdout.
    #[arg(long, value_enum, default_value_t = OutputKind::Text)]
    output: OutputKind,
    /// CPU threads for this command (a rayon pool of its own; GPU solvers are unaffected)
    /// [default: all cores, or RAYON_NUM_THREADS]. The same seed gives the same answer on
    /// any thread count.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Runs `qam orchestrate`.
pub fn run(a: OrchestrateArgs) -> Result<ExitCode> {
    if let Some(out) = &a.out {
        let mut inputs = vec![a.scenario.clone()];
        inputs.extend(a.previous.clone());
        qam::io::check_not_input(out, &inputs)?;
    }
    let scenario = Scenario::read(&a.scenario)?;
    let inst = validate(&scenario).map_err(|e| anyhow::anyhow!("{}: {e}", a.scenario.display()))?;
    let orch = a.opts.orchestrator()?;
    let previous = match &a.previous {
        Some(p) => {
            let plan = Plan::read(p)?;
            qam::orchestrate::check_previous(&plan, &inst, a.allow_mismatch)
                .map_err(|e| anyhow::Error::new(e).context(format!("--previous {}", p.display())))?;
            Some(plan)
        }
        None => None,
    };
    let plan = orch.plan_instance(&inst, previous.as_ref())?;
    if let Some(out) = &a.out {
        plan.write(out)?;
    }
    match a.output {
        OutputKind::Json => {
            let summary = serde_json::json!({
                "scenario": a.scenario.display().to_string(),
                "metrics": plan.metrics,
                "comparison": plan.comparison,
                "replan": plan.replan,
                "stages": plan.stages,
                "violations": plan.violations,
                "tight_constraints": plan.tight_constraints,
            });
            println!("{}", serde_json::to_string(&summary)?);
        }
        OutputKind::Text => print_summary(&a.scenario, &inst, &plan),
    }
    if let Some(out) = &a.out {
        eprintln!("wrote {}", out.display());
    }
    if !plan.tight_constraints.is_empty() {
        let unplaced = plan.placements.iter().filter(|p| p.pool.is_none()).count();
        eprintln!("{unplaced} agent(s) left unplaced; the tightest capacity constraints:");
        for t in &plan.tight_constraints {
            eprintln!("  {t}");
        }
    }
    Ok(if plan.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::exit::VIOLATIONS)
    })
}

fn print_summary(path: &std::path::Path, inst: &qam::orchestrate::Instance, plan: &Plan) {
    let m = &plan.metrics;
    let c = &plan.comparison;
    println!(
        "scenario {}: {} agents, {} pools, {} tasks, {} traffic pairs",
        path.display(),
        inst.num_agents(),
        inst.num_pools(),
        inst.tasks.len(),
        inst.traffic.num_interactions()
    );
    println!(
        "objective {:.2} (placement {:.2} + communication {:.2}), violations {}",
        m.objective, m.placement_cost, m.communication_cost, m.violations
    );
    println!(
        "greedy baseline {:.2}: plan is {:.1}% better",
        c.greedy.objective, c.improvement_vs_greedy_pct
    );
    println!(
        "greedy in traffic (BFS) order {:.2}: plan is {:.1}% better",
        c.greedy_traffic_order_objective,
        100.0 * (c.greedy_traffic_order_objective - m.objective) / c.greedy_traffic_order_objective.abs().max(1e-12)
    );
    if let (Some(opt), Some(gap)) = (c.exact_objective, c.gap_to_exact) {
        println!("exact optimum {opt:.2}: gap {gap:.2}");
    }
    println!(
        "pools: mean utilisation {:.1}%, max {:.1}%",
        100.0 * m.mean_utilisation,
        100.0 * m.max_utilisation
    );
    println!(
        "traffic crossing pools {:.1}% (greedy {:.1}%), crossing clusters {:.1}% ({} clusters)",
        100.0 * m.cross_pool_traffic_share,
        100.0 * c.greedy.cross_pool_traffic_share,
        100.0 * m.cross_cluster_traffic_share.unwrap_or(0.0),
        m.clusters
    );
    println!(
        "schedule: {}/{} tasks, makespan {} (greedy {}), total completion {} (greedy {})",
        m.tasks_scheduled,
        m.tasks,
        m.makespan,
        c.greedy.makespan,
        m.total_completion_time,
        c.greedy.total_completion_time
    );
    if let Some(r) = &plan.replan {
        println!(
            "re-plan: {} kept, {} moved ({} forced), {} joined, {} left",
            r.kept, r.moved, r.forced, r.joined, r.left
        );
    }
    let stages: Vec<String> = plan
        .stages
        .iter()
        .map(|s| format!("{} {:.2}s/{}", s.stage, s.seconds, s.subproblems))
        .collect();
    println!(
        "time {:.2} s [{}], backend {}",
        m.solve_time_s,
        stages.join(", "),
        plan.backend
    );
    for v in plan.violations.iter().take(20) {
        println!("violation: {v}");
    }
    for t in &plan.tight_constraints {
        println!("tight capacity: {t}");
    }
}
