//! Solver choice and parameters shared by `solve` and `bench`.

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use qam::decompose::HierarchicalSolver;
use qam::gpu::anneal::Backend;
use qam::gpu::{GpuContext, gpu_required};
use qam::model::Model;
use qam::solvers::{
    ExactSolver, GpuPaParams, GpuPaSolver, GpuPtParams, GpuPtSolver, GpuSaParams, GpuSaSolver, GreedySolver, PaParams,
    PaSolver, PtParams, PtSolver, SaParams, SaSolver, ScheduleKind, SolveContext, Solver, TimeBudget,
};

/// Problems up to this size go to `exact` under `--solver auto`.
const AUTO_EXACT_MAX: usize = 20;

/// `--solver auto` prefers `gpu-sa` from this many flip attempts per sweep
/// (variables x reads) on a real GPU.
const AUTO_GPU_MIN_WORK: usize = 100_000;

/// Which solver to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SolverChoice {
    /// `exact` for n <= 20; with --time-limit, a portfolio (sa, pt and hierarchical probed,
    /// the best gets the rest of the time, sharing its best state); otherwise `gpu-sa` on a
    /// real GPU for large work, else `sa` (the choice is reported).
    Auto,
    /// Exhaustive search (n <= 30).
    Exact,
    /// Simulated annealing on all CPU cores.
    #[value(alias = "cpu-sa")]
    Sa,
    /// Steepest descent from random states.
    Greedy,
    /// Simulated annealing on the GPU (same parameters as `sa`).
    GpuSa,
    /// Parallel tempering (replica exchange) on the CPU.
    Pt,
    /// Population annealing on the CPU.
    Pa,
    /// Parallel tempering on the GPU.
    GpuPt,
    /// Population annealing on the GPU.
    GpuPa,
    /// Hierarchical decomposition: clusters solved by --sub-solver, merged or refined.
    Hierarchical,
    /// QAOA on a state-vector simulator: optimised angles, sampled bitstrings polished by
    /// steepest descent (n up to about 30).
    Qaoa,
}

impl SolverChoice {
    /// True for the solvers that run on the GPU (CPU thread counts do not apply).
    pub fn is_gpu(self) -> bool {
        matches!(self, SolverChoice::GpuSa | SolverChoice::GpuPt | SolverChoice::GpuPa)
    }
}

/// Parameters of the stochastic solvers (neal's names, kebab-case).
#[derive(Args, Clone, Debug)]
pub struct SolverParams {
    /// Independent reads (anneals / random starts).
    #[arg(long, default_value_t = 10)]
    pub reads: usize,
    /// Sweeps per read (default 1000). With --time-limit: without --sweeps the anneal
    /// lengths are planned to fill the time (doubling restarts); with it, complete anneals
    /// of this length repeat until the time is up.
    #[arg(long)]
    pub sweeps: Option<usize>,
    /// Sweeps at each β of the schedule (default 1; `pa`: 10, one resampling per β).
    #[arg(long)]
    pub sweeps_per_beta: Option<usize>,
    /// β range `HOT,COLD` (default: derived from the problem, like neal).
    #[arg(long, value_parser = parse_pair)]
    pub beta_range: Option<(f64, f64)>,
    /// Shape of the β schedule.
    #[arg(long, value_enum, default_value_t = Schedule::Geometric)]
    pub schedule: Schedule,
    /// Seed; the same seed gives the same answer on any number of threads.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// `pt`, `gpu-pt`: temperatures (replicas) per chain.
    #[arg(long, default_value_t = 64)]
    pub replicas: usize,
    /// `pt`, `gpu-pt`: independent tempering chains (each returns its best state).
    #[arg(long, default_value_t = 1)]
    pub chains: usize,
    /// `pt`, `gpu-pt`: sweeps between replica-exchange rounds.
    #[arg(long, default_value_t = 1)]
    pub sweeps_per_swap: usize,
    /// `pa`, `gpu-pa`: population size.
    #[arg(long, default_value_t = 256)]
    pub population: usize,
    /// GPU solvers: kernels to sweep with.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Stop once this value is reached, in the file's metric (cut for G-set, objective for
    /// bqp, energy otherwise); solvers that can check it stop early, and `bench` reports
    /// the time to reach it.
    #[arg(long, allow_negative_numbers = true)]
    pub target: Option<f64>,
    /// Wall-time limit in seconds (reading excluded): annealing solvers repeat complete
    /// anneals until it is up and never return a half-annealed state (see --sweeps).
    #[arg(long)]
    pub time_limit: Option<f64>,
    /// Start from these states: a dimod SampleSet JSON, a JSON array of rows, or text rows
    /// of 0/1 or -1/+1 (sa, gpu-sa, greedy: reads reuse them cyclically; hierarchical: the
    /// first state).
    #[arg(long)]
    pub initial_states: Option<std::path::PathBuf>,
    /// Custom β per sweep, `B1,B2,...` or a file of β values (sa, gpu-sa; pt, gpu-pt: the
    /// temperature ladder, increasing).
    #[arg(long, value_parser = super::samples::parse_beta_schedule)]
    pub beta_schedule: Option<super::samples::BetaList>,
    #[command(flatten)]
    pub hierarchical: super::decompose::HierarchicalArgs,
    #[command(flatten)]
    pub qaoa: super::qaoa::QaoaFlags,
}

/// `--backend` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// Chosen from the problem (dense, workgroup or color).
    Auto,
    /// One workgroup per replica, state in workgroup memory, colour classes in parallel.
    Workgroup,
    /// One workgroup per replica, dense couplings, sequential order.
    Dense,
    /// State in global memory, one dispatch per colour class (any size).
    Color,
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
    /// Parameters of `--solver hierarchical` (its own flags plus the shared seed, β range,
    /// and `--p` / `--shots` for the `qaoa` sub-solver).
    pub fn hierarchical_params(&self) -> Result<qam::decompose::HierarchicalParams> {
        self.hierarchical.params(
            self.seed,
            self.beta_range,
            self.qaoa.p,
            self.qaoa.shots,
            self.time_limit.is_some(),
        )
    }

    /// The run-time controls (time limit, target energy) these flags give for `problem`.
    pub fn context(&self, problem: &qam::io::Problem) -> Result<SolveContext<'static>> {
        let time_limit = match self.time_limit {
            None => None,
            Some(t) if t.is_finite() && t > 0.0 => Some(std::time::Duration::from_secs_f64(t)),
            Some(t) => bail!("--time-limit must be a positive number of seconds, not {t}"),
        };
        Ok(SolveContext {
            time_limit,
            target_energy: self.target.map(|v| problem.energy_of_metric(v)),
            budget: if self.sweeps.is_some() {
                TimeBudget::Repeat
            } else {
                TimeBudget::Plan
            },
            ..Default::default()
        })
    }

    /// Sweeps per read: `--sweeps`, default 1000.
    pub fn sweeps(&self) -> usize {
        self.sweeps.unwrap_or(1000)
    }

    /// The SA parameters these flags describe.
    pub fn sa(&self) -> SaParams {
        SaParams {
            num_reads: self.reads,
            num_sweeps: self.sweeps(),
            num_sweeps_per_beta: self.sweeps_per_beta.unwrap_or(1),
            beta_range: self.beta_range,
            beta_schedule_type: self.schedule_kind(),
            beta_schedule: self.beta_schedule.as_ref().map(|b| b.0.clone()),
            seed: self.seed,
            ..Default::default()
        }
    }

    fn schedule_kind(&self) -> ScheduleKind {
        match self.schedule {
            Schedule::Geometric => ScheduleKind::Geometric,
            Schedule::Linear => ScheduleKind::Linear,
        }
    }

    /// The tempering parameters these flags describe.
    pub fn pt(&self) -> PtParams {
        PtParams {
            num_chains: self.chains,
            num_replicas: self.replicas,
            num_sweeps: self.sweeps(),
            sweeps_per_swap: self.sweeps_per_swap,
            beta_range: self.beta_range,
            betas: self.beta_schedule.as_ref().map(|b| b.0.clone()),
            adapt_ladder: true,
            seed: self.seed,
        }
    }

    /// The population-annealing parameters these flags describe.
    pub fn pa(&self) -> PaParams {
        PaParams {
            population: self.population,
            num_sweeps: self.sweeps(),
            sweeps_per_beta: self.sweeps_per_beta.unwrap_or(PaParams::default().sweeps_per_beta),
            beta_range: self.beta_range,
            beta_schedule_type: self.schedule_kind(),
            seed: self.seed,
        }
    }

    /// The GPU kernel choice.
    pub fn backend(&self) -> Backend {
        match self.backend {
            BackendChoice::Auto => Backend::Auto,
            BackendChoice::Workgroup => Backend::Workgroup,
            BackendChoice::Dense => Backend::Dense,
            BackendChoice::Color => Backend::Color,
        }
    }
}

/// Whether `--solver auto` should use the GPU for `n` variables and `reads` reads:
/// `Ok(Ok(why))` to use it, `Ok(Err(why))` to stay on the CPU, or an error when
/// QAM_REQUIRE_GPU is set and there is no adapter. A CPU adapter (llvmpipe) counts only
/// when QAM_ADAPTER names it.
fn auto_gpu(n: usize, reads: usize) -> Result<std::result::Result<String, String>> {
    let ctx = match GpuContext::shared() {
        Ok(c) => c,
        Err(e) if gpu_required() => bail!("--solver auto: QAM_REQUIRE_GPU is set but {e}"),
        Err(_) => return Ok(Err("no GPU adapter".into())),
    };
    let summary = ctx.summary();
    let named = std::env::var("QAM_ADAPTER").is_ok_and(|v| !v.is_empty());
    if summary.device_type == "Cpu" && !named {
        return Ok(Err(format!(
            "the only adapter, {}, is a CPU implementation (set QAM_ADAPTER to use it anyway)",
            summary.name
        )));
    }
    let work = n.saturating_mul(reads);
    if work < AUTO_GPU_MIN_WORK {
        return Ok(Err(format!(
            "{n} variables x {reads} reads is below {AUTO_GPU_MIN_WORK} flip attempts per sweep, too little work for {}",
            summary.name
        )));
    }
    Ok(Ok(format!(
        "auto: gpu-sa on {} ({n} variables x {reads} reads)",
        summary.name
    )))
}

/// Builds the solver for `choice` on `model`; `auto` resolves by problem size.
/// Returns the solver and, for `auto`, why it was chosen.
pub fn build(choice: SolverChoice, params: &SolverParams, model: &Model) -> Result<(Box<dyn Solver>, Option<String>)> {
    let n = model.num_variables();
    let init = match &params.initial_states {
        Some(path) => Some(super::samples::read_initial_states(path, model)?),
        None => None,
    };
    {
        use SolverChoice::*;
        let name = choice
            .to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default();
        if init.is_some() && !matches!(choice, Sa | GpuSa | Greedy | Hierarchical) {
            super::samples::refuse("--initial-states", &name, "sa, gpu-sa, greedy, hierarchical")?;
        }
        if params.beta_schedule.is_some() && !matches!(choice, Sa | GpuSa | Pt | GpuPt) {
            super::samples::refuse("--beta-schedule", &name, "sa, gpu-sa, pt, gpu-pt")?;
        }
    }
    let (choice, why) = match choice {
        SolverChoice::Auto if n > AUTO_EXACT_MAX && params.time_limit.is_some() => {
            let portfolio = qam::solvers::PortfolioSolver::new(qam::solvers::PortfolioParams {
                sa: params.sa(),
                pt: params.pt(),
                hierarchical: params.hierarchical_params()?,
                ..Default::default()
            });
            let why = "auto: portfolio of sa, pt and hierarchical under the time limit (probe each, then the best gets the rest)";
            return Ok((Box::new(portfolio), Some(why.into())));
        }
        SolverChoice::Auto if n <= AUTO_EXACT_MAX => (
            SolverChoice::Exact,
            Some(format!("auto: exact ({n} <= {AUTO_EXACT_MAX} variables)")),
        ),
        SolverChoice::Auto => match auto_gpu(n, params.reads)? {
            Ok(why) => (SolverChoice::GpuSa, Some(why)),
            Err(why) => (
                SolverChoice::Sa,
                Some(format!("auto: sa on the CPU ({n} variables; {why})")),
            ),
        },
        c => (c, None),
    };
    let solver: Box<dyn Solver> = match choice {
        SolverChoice::Exact => Box::new(ExactSolver::default()),
        SolverChoice::Sa => Box::new(SaSolver::new(SaParams {
            initial_states: init,
            ..params.sa()
        })),
        SolverChoice::Greedy => Box::new(GreedySolver {
            num_reads: params.reads,
            seed: params.seed,
            initial_states: init,
        }),
        SolverChoice::GpuSa => Box::new(GpuSaSolver::new(GpuSaParams {
            sa: SaParams {
                initial_states: init,
                ..params.sa()
            },
            backend: params.backend(),
        })),
        SolverChoice::Pt => Box::new(PtSolver::new(params.pt())),
        SolverChoice::Pa => Box::new(PaSolver::new(params.pa())),
        SolverChoice::GpuPt => Box::new(GpuPtSolver::new(GpuPtParams {
            pt: params.pt(),
            backend: params.backend(),
        })),
        SolverChoice::GpuPa => Box::new(GpuPaSolver::new(GpuPaParams {
            pa: params.pa(),
            backend: params.backend(),
        })),
        SolverChoice::Hierarchical => Box::new(HierarchicalSolver::new(qam::decompose::HierarchicalParams {
            initial_state: init.and_then(|v| v.into_iter().next()),
            ..params.hierarchical_params()?
        })),
        SolverChoice::Qaoa => Box::new(qam::qaoa::QaoaSolver::new(params.qaoa.params(params.seed))),
        SolverChoice::Auto => bail!("auto was resolved above"),
    };
    Ok((solver, why))
}
