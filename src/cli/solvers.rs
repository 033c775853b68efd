//! Solver choice and parameters shared by `solve` and `bench`.

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use qam::model::Model;
use qam::solvers::{ExactSolver, GreedySolver, SaParams, SaSolver, ScheduleKind, Solver};

/// Problems up to this size go to `exact` under `--solver auto`.
const AUTO_EXACT_MAX: usize = 20;

/// Which solver to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SolverChoice {
    /// `exact` for n <= 20, otherwise `sa` (the choice is reported).
    Auto,
    /// Exhaustive search (n <= 30).
    Exact,
    /// Simulated annealing on all CPU cores.
    Sa,
    /// Steepest descent from random states.
    Greedy,
    /// QAOA on a state-vector simulator: optimised angles, sampled bitstrings polished by
    /// steepest descent (n up to about 30).
    Qaoa,
}

/// Parameters of the stochastic solvers (neal's names, kebab-case).
#[derive(Args, Clone, Debug)]
pub struct SolverParams {
    /// Independent reads (anneals / random starts).
    #[arg(long, default_value_t = 10)]
    pub reads: usize,
    /// Sweeps per read.
    #[arg(long, default_value_t = 1000)]
    pub sweeps: usize,
    /// Sweeps at each β of the schedule.
    #[arg(long, default_value_t = 1)]
    pub sweeps_per_beta: usize,
    /// β range `HOT,COLD` (default: derived from the problem, like neal).
    #[arg(long, value_parser = parse_pair)]
    pub beta_range: Option<(f64, f64)>,
    /// Shape of the β schedule.
    #[arg(long, value_enum, default_value_t = Schedule::Geometric)]
    pub schedule: Schedule,
    /// Seed; the same seed gives the same answer on any number of threads.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub qaoa: super::qaoa::QaoaFlags,
}

/// `--schedule` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Schedule {
    /// Geometric interpolation of β (neal's default).
    Geometric,
    /// Linear interpolation of β.
    Linear,
}

fn parse_pair(s: &str) -> std::result::Result<(f64, f64), String> {
    let parts: Vec<&str> = s.split(',').collect();
    let [a, b] = parts[..] else {
        return Err(format!("expected HOT,COLD, found `{s}`"));
    };
    let p = |t: &str| t.trim().parse::<f64>().map_err(|_| format!("`{t}` is not a number"));
    Ok((p(a)?, p(b)?))
}

impl SolverParams {
    /// The SA parameters these flags describe.
    pub fn sa(&self) -> SaParams {
        SaParams {
            num_reads: self.reads,
            num_sweeps: self.sweeps,
            num_sweeps_per_beta: self.sweeps_per_beta,
            beta_range: self.beta_range,
            beta_schedule_type: match self.schedule {
                Schedule::Geometric => ScheduleKind::Geometric,
                Schedule::Linear => ScheduleKind::Linear,
            },
            seed: self.seed,
            ..Default::default()
        }
    }
}

/// Builds the solver for `choice` on `model`; `auto` resolves by problem size.
/// Returns the solver and, for `auto`, why it was chosen.
pub fn build(choice: SolverChoice, params: &SolverParams, model: &Model) -> Result<(Box<dyn Solver>, Option<String>)> {
    let n = model.num_variables();
    let (choice, why) = match choice {
        SolverChoice::Auto if n <= AUTO_EXACT_MAX => (
            SolverChoice::Exact,
            Some(format!("auto: exact ({n} <= {AUTO_EXACT_MAX} variables)")),
        ),
        SolverChoice::Auto => (
            SolverChoice::Sa,
            Some(format!(
                "auto: sa on the CPU ({n} variables; no GPU solver in this build)"
            )),
        ),
        c => (c, None),
    };
    let solver: Box<dyn Solver> = match choice {
        SolverChoice::Exact => Box::new(ExactSolver::default()),
        SolverChoice::Sa => Box::new(SaSolver::new(params.sa())),
        SolverChoice::Greedy => Box::new(GreedySolver {
            num_reads: params.reads,
            seed: params.seed,
            initial_states: None,
        }),
        SolverChoice::Qaoa => Box::new(qam::qaoa::QaoaSolver::new(params.qaoa.params(params.seed))),
        SolverChoice::Auto => bail!("auto was resolved above"),
    };
    Ok((solver, why))
}
