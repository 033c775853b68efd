//! `qam gen-scenario`: random, realistic orchestration scenarios (teams that talk mostly
//! inside the team), or a churned copy of an existing one (agents leave, fail and join).

use anyhow::{Context, Result};
use clap::Args;
use qam::orchestrate::{GenParams, LoadModel, Scenario, churn, generate};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `qam gen-scenario`.
#[derive(Args)]
pub struct GenScenarioArgs {
    /// Number of agents.
    #[arg(long, default_value_t = 1000)]
    agents: usize,
    /// Number of resource pools.
    #[arg(long, default_value_t = 50)]
    pools: usize,
    /// Number of tasks.
    #[arg(long, default_value_t = 200)]
    tasks: usize,
    /// Mean team size.
    #[arg(long, default_value_t = 16)]
    team_size: usize,
    /// Total demand / total capacity, in (0, 1]; with `--load-model per-pool`: the load when
    /// every agent is in its cheapest pool / total capacity, in (0, 1.2].
    #[arg(long, default_value_t = 0.85)]
    utilisation: f64,
    /// `uniform`: an agent's load is the same in every pool; `per-pool`: loads and costs
    /// depend on the pool (generalized-assignment type D: the cheapest pool needs most).
    #[arg(long, value_parser = super::solvers::named::<LoadModel>(), default_value_t = LoadModel::Uniform)]
    load_model: LoadModel,
    /// Cost per unit of message rate between pools.
    #[arg(long, default_value_t = 1.0)]
    comm_cost: f64,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Instead of generating: read this scenario and churn it (see --churn).
    #[arg(long)]
    from: Option<PathBuf>,
    /// With --from: share of agents that leave (and as many that join).
    #[arg(long, default_value_t = 0.05)]
    churn: f64,
    /// Scheduling under scarcity: add K scarce capabilities (each held by 1-3 agents);
    /// each task needs one of them with probability 1/2.
    #[arg(long, default_value_t = 0)]
    scarce_capabilities: usize,
    /// Scheduling under scarcity: probability in [0, 1] that two tasks conflict.
    #[arg(long, default_value_t = 0.0)]
    conflict_density: f64,
    /// Scheduling under scarcity: hard horizon = ceil((1 + F) x the greedy list schedule's
    /// makespan), F in [0, 100].
    #[arg(long)]
    horizon_slack: Option<f64>,
    /// Output file (JSON).
    #[arg(long)]
    out: PathBuf,
    /// CPU threads for this command (a rayon pool of its own) [default: all cores, or
    /// RAYON_NUM_THREADS]. The same seed gives the same scenario on any thread count.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Runs `qam gen-scenario`.
pub fn run(a: GenScenarioArgs) -> Result<ExitCode> {
    if !(0.0..=1.0).contains(&a.churn) {
        anyhow::bail!("--churn must be in [0, 1], got {}", a.churn);
    }
    let max_util = if a.load_model == LoadModel::PerPool { 1.2 } else { 1.0 };
    if a.utilisation <= 0.0 || a.utilisation > max_util || !a.utilisation.is_finite() {
        anyhow::bail!(
            "--utilisation must be in (0, {max_util}] with --load-model {}, got {}",
            a.load_model,
            a.utilisation
        );
    }
    if a.from.is_none() && (a.agents == 0 || a.pools == 0) {
        anyhow::bail!(
            "--agents and --pools must be at least 1 (got {} agents, {} pools)",
            a.agents,
            a.pools
        );
    }
    let scarcity = qam::orchestrate::ScarcityParams {
        scarce_capabilities: a.scarce_capabilities,
        conflict_density: a.conflict_density,
        horizon_slack: a.horizon_slack,
        seed: a.seed,
    };
    let scarce = scarcity
        != qam::orchestrate::ScarcityParams {
            seed: a.seed,
            ..Default::default()
        };
    if scarce && a.from.is_some() {
        anyhow::bail!(
            "--scarce-capabilities, --conflict-density and --horizon-slack apply to generated scenarios, not to --from"
        );
    }
    match qam::orchestrate::check_scarcity(&scarcity, a.tasks) {
        Err(qam::orchestrate::ScenarioError::Invalid { field, reason }) => {
            anyhow::bail!("--{}: {reason}", field.replace('_', "-"))
        }
        Err(e) => return Err(e.into()),
        Ok(()) => {}
    }
    let mut s = match &a.from {
        Some(path) => {
            let base = Scenario::read(path)?;
            churn(&base, a.churn, a.seed, "j").with_context(|| format!("{}: cannot churn it", path.display()))?
        }
        None => {
            let params = GenParams {
                agents: a.agents,
                pools: a.pools,
                tasks: a.tasks,
                team_size: a.team_size,
                utilisation: a.utilisation,
                comm_cost: a.comm_cost,
                seed: a.seed,
                load_model: a.load_model,
            };
            qam::orchestrate::check_gen_params(&params)?;
            generate(&params)
        }
    };
    if scarce {
        qam::orchestrate::apply_scarcity(&mut s, &scarcity)?;
    }
    qam::orchestrate::validate(&s).context("generated scenario is invalid")?;
    s.write(&a.out)?;
    eprintln!(
        "wrote {} ({} agents, {} pools, {} tasks, {} traffic edges)",
        a.out.display(),
        s.agents.len(),
        s.pools.len(),
        s.tasks.len(),
        s.traffic.len()
    );
    Ok(ExitCode::SUCCESS)
}
