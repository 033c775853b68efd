//! `qam scale-test`: orchestrate generated scenarios of growing size and report time and
//! quality against the greedy baseline; writes an SVG plot of both against agent count.

use super::orchestrate::PlanOptions;
use super::output::OutputKind;
use super::plot::{Panel, Series, render};
use anyhow::{Context, Result, bail};
use clap::Args;
use qam::orchestrate::{GenParams, generate, validate};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `qam scale-test`.
#[derive(Args)]
pub struct ScaleTestArgs {
    /// Agent counts, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    agents: Vec<usize>,
    /// Pools per scenario.
    #[arg(long, default_value_t = 50)]
    pools: usize,
    /// Tasks per scenario.
    #[arg(long, default_value_t = 200)]
    tasks: usize,
    /// Mean team size of the generated scenarios.
    #[arg(long, default_value_t = 16)]
    team_size: usize,
    /// Seed of the generated scenarios.
    #[arg(long, default_value_t = 1)]
    scenario_seed: u64,
    /// SVG plot of time and quality against agent count.
    #[arg(long, default_value = "scale-test.svg")]
    svg: PathBuf,
    #[command(flatten)]
    opts: PlanOptions,
    /// Table style.
    #[arg(long, value_enum, default_value_t = OutputKind::Text)]
    output: OutputKind,
    /// CPU threads for this command (a rayon pool of its own; GPU solvers are unaffected)
    /// [default: all cores, or RAYON_NUM_THREADS]. The same seed gives the same answer on
    /// any thread count.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Peak resident memory of this process so far (Linux `VmHWM`), MiB.
fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The generator parameters for `n` agents.
fn gen_params(a: &ScaleTestArgs, n: usize) -> GenParams {
    GenParams {
        agents: n,
        pools: a.pools,
        tasks: a.tasks,
        team_size: a.team_size,
        seed: a.scenario_seed,
        ..Default::default()
    }
}

/// Runs `qam scale-test`.
pub fn run(a: ScaleTestArgs) -> Result<ExitCode> {
    if a.agents.is_empty() || a.agents.contains(&0) {
        bail!("--agents needs positive counts");
    }
    for &n in &a.agents {
        qam::orchestrate::check_gen_params(&gen_params(&a, n))?;
    }
    let orch = a.opts.orchestrator()?;
    let mut rows = Vec::new();
    if a.output == OutputKind::Text {
        println!(
            "{:>8} {:>6} {:>6} {:>9} {:>9} {:>14} {:>14} {:>8} {:>5} {:>6} {:>7} {:>7} {:>9} {:>9}",
            "agents",
            "pools",
            "tasks",
            "time_s",
            "greedy_s",
            "objective",
            "greedy_obj",
            "better%",
            "viol",
            "util%",
            "xpool%",
            "gxpool%",
            "makespan",
            "peak_MiB"
        );
    }
    for &n in &a.agents {
        let t0 = Instant::now();
        let scenario = generate(&gen_params(&a, n));
        let inst = validate(&scenario).context("generated scenario")?;
        drop(scenario);
        let gen_s = t0.elapsed().as_secs_f64();
        let plan = orch.plan_instance(&inst, None)?;
        let m = &plan.metrics;
        let g = &plan.comparison.greedy;
        let row = serde_json::json!({
            "agents": n,
            "pools": a.pools,
            "tasks": a.tasks,
            "generate_s": gen_s,
            "time_s": m.solve_time_s,
            "greedy_time_s": g.solve_time_s,
            "objective": m.objective,
            "greedy_objective": g.objective,
            "greedy_traffic_order_objective": plan.comparison.greedy_traffic_order_objective,
            "improvement_pct": plan.comparison.improvement_vs_greedy_pct,
            "violations": m.violations,
            "greedy_violations": g.violations,
            "mean_utilisation": m.mean_utilisation,
            "max_utilisation": m.max_utilisation,
            "cross_pool_traffic_share": m.cross_pool_traffic_share,
            "greedy_cross_pool_traffic_share": g.cross_pool_traffic_share,
            "cross_cluster_traffic_share": m.cross_cluster_traffic_share,
            "clusters": m.clusters,
            "makespan": m.makespan,
            "greedy_makespan": g.makespan,
            "tasks_scheduled": m.tasks_scheduled,
            "peak_rss_mib": peak_rss_mib(),
            "stages": plan.stages,
        });
        match a.output {
            OutputKind::Json => println!("{row}"),
            OutputKind::Text => println!(
                "{:>8} {:>6} {:>6} {:>9.2} {:>9.3} {:>14.1} {:>14.1} {:>8.1} {:>5} {:>6.1} {:>7.2} {:>7.2} {:>9} {:>9.0}",
                n,
                a.pools,
                a.tasks,
                m.solve_time_s,
                g.solve_time_s,
                m.objective,
                g.objective,
                plan.comparison.improvement_vs_greedy_pct,
                m.violations,
                100.0 * m.mean_utilisation,
                100.0 * m.cross_pool_traffic_share,
                100.0 * g.cross_pool_traffic_share,
                m.makespan,
                peak_rss_mib().unwrap_or(f64::NAN)
            ),
        }
        rows.push((
            n as f64,
            m.solve_time_s,
            g.solve_time_s,
            m.objective / g.objective,
            m.cross_pool_traffic_share,
            g.cross_pool_traffic_share,
        ));
    }
    let panels = vec![
        Panel {
            title: "solve time".into(),
            x_label: "agents".into(),
            y_label: "seconds".into(),
            x_log: true,
            y_log: true,
            series: vec![
                Series {
                    label: "orchestrator (QUBO)".into(),
                    points: rows.iter().map(|r| (r.0, r.1)).collect(),
                    color: "#1f77b4".into(),
                },
                Series {
                    label: "greedy baseline".into(),
                    points: rows.iter().map(|r| (r.0, r.2)).collect(),
                    color: "#ff7f0e".into(),
                },
            ],
        },
        Panel {
            title: "quality (lower is better)".into(),
            x_label: "agents".into(),
            y_label: "objective / greedy objective; traffic share".into(),
            x_log: true,
            y_log: false,
            series: vec![
                Series {
                    label: "objective / greedy".into(),
                    points: rows.iter().map(|r| (r.0, r.3)).collect(),
                    color: "#1f77b4".into(),
                },
                Series {
                    label: "traffic crossing pools (plan)".into(),
                    points: rows.iter().map(|r| (r.0, r.4)).collect(),
                    color: "#2ca02c".into(),
                },
                Series {
                    label: "traffic crossing pools (greedy)".into(),
                    points: rows.iter().map(|r| (r.0, r.5)).collect(),
                    color: "#ff7f0e".into(),
                },
            ],
        },
    ];
    let svg = render(
        &panels,
        &format!(
            "qam scale-test ({} pools, {} tasks, backend {})",
            a.pools,
            a.tasks,
            orch.backend_name()
        ),
    );
    qam::io::write_atomic(&a.svg, |w| w.write_all(svg.as_bytes()))?;
    eprintln!("wrote {}", a.svg.display());
    Ok(ExitCode::SUCCESS)
}
