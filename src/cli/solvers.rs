//! Solver choice and parameters shared by `solve` and `bench`.

use super::decompose::{PartitionerArg, StrategyArg, SubSolverArg, SubStartArg};
use super::qaoa::{DeviceChoice as QaoaBackendChoice, OptimizerChoice, PrecisionChoice};
use anyhow::Result;
use clap::{Args, ValueEnum};
use qam::model::Model;
use qam::solvers::registry::{self, GpuPolicy, SolverKind};
use qam::solvers::{ScheduleKind, SolveContext, Solver};

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
    /// Constrained annealer for constrained models (.lp, qam-cqm JSON); `auto` picks it
    /// for them. `--reads` chains, `--sweeps` per cycle, cycles until `--time-limit`.
    CqmSa,
    /// The constrained annealer on the GPU for constrained models, many chains at once
    /// (reassign / flip moves, adaptive multipliers); same flags and output as `cqm-sa`.
    GpuCqmSa,
}

impl SolverChoice {
    /// True for the solvers that run on the GPU (CPU thread counts do not apply).
    pub fn is_gpu(self) -> bool {
        self.kind().is_gpu()
    }
}

/// Parameters of the stochastic solvers (neal's names, kebab-case).
#[derive(Args, Clone, Debug)]
pub struct SolverParams {
    /// Independent reads (anneals / random starts; `cqm-sa`: chains). Solvers that take
    /// no reads (pt: --chains, pa: --population, exact, hierarchical, qaoa) refuse it.
    #[arg(long, default_value_t = 10)]
    pub reads: usize,
    /// Sweeps per read [default: 1000]. With --time-limit: without --sweeps the anneal
    /// lengths are planned to fill the time (doubling restarts); with it, complete anneals
    /// of this length repeat until the time is up.
    #[arg(long)]
    pub sweeps: Option<usize>,
    /// Sweeps at each β of the schedule [default: 1; pa: 10, one resampling per β].
    #[arg(long)]
    pub sweeps_per_beta: Option<usize>,
    /// β range `HOT,COLD` in 1/energy units [default: derived from the problem, like neal].
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
    /// GPU solvers: kernel variant to sweep with (was `--backend`).
    #[arg(long, value_enum, alias = "backend", default_value_t = KernelChoice::Auto)]
    pub kernel: KernelChoice,
    /// `gpu-sa`: `all` splits the reads over every GPU adapter (one share each, run at
    /// once) [default: the one adapter chosen by --device / QAM_ADAPTER].
    #[arg(long, value_parser = ["all"])]
    pub devices: Option<String>,
    /// Stop once this value is reached, in the file's metric (cut for G-set, objective for
    /// bqp, energy otherwise); solvers that can check it stop early, and `bench` reports
    /// the time to reach it [default: none, run to the end].
    #[arg(long, allow_negative_numbers = true)]
    pub target: Option<f64>,
    /// Wall-time limit in seconds (reading excluded): annealing solvers repeat complete
    /// anneals until it is up and never return a half-annealed state (see --sweeps)
    /// [default: none, a fixed amount of work].
    #[arg(long)]
    pub time_limit: Option<f64>,
    /// Start from these states: a dimod SampleSet JSON, a JSON array of rows, or text rows
    /// of 0/1 or -1/+1 (sa, gpu-sa, greedy: reads reuse them cyclically; hierarchical: the
    /// first state) [default: random states].
    #[arg(long)]
    pub initial_states: Option<std::path::PathBuf>,
    /// Custom β per sweep, `B1,B2,...` or a file of β values (sa, gpu-sa; pt, gpu-pt: the
    /// temperature ladder, increasing) [default: --schedule over --beta-range].
    #[arg(long, value_parser = super::samples::parse_beta_schedule)]
    pub beta_schedule: Option<super::samples::BetaList>,
    #[command(flatten)]
    pub hierarchical: super::decompose::HierarchicalArgs,
    #[command(flatten)]
    pub qaoa: super::qaoa::QaoaFlags,
}

/// `--kernel` values (GPU kernel variants).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KernelChoice {
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

impl SolverChoice {
    /// The library's solver kind.
    pub fn kind(self) -> SolverKind {
        match self {
            SolverChoice::Auto => SolverKind::Auto,
            SolverChoice::Exact => SolverKind::Exact,
            SolverChoice::Sa => SolverKind::Sa,
            SolverChoice::Greedy => SolverKind::Greedy,
            SolverChoice::GpuSa => SolverKind::GpuSa,
            SolverChoice::Pt => SolverKind::Pt,
            SolverChoice::Pa => SolverKind::Pa,
            SolverChoice::GpuPt => SolverKind::GpuPt,
            SolverChoice::GpuPa => SolverKind::GpuPa,
            SolverChoice::Hierarchical => SolverKind::Hierarchical,
            SolverChoice::Qaoa => SolverKind::Qaoa,
            SolverChoice::CqmSa => SolverKind::CqmSa,
            SolverChoice::GpuCqmSa => SolverKind::GpuCqmSa,
        }
    }
}

impl SolverParams {
    /// The library's parameter set these flags describe (same names).
    pub fn lib(&self) -> registry::SolverParams {
        let h = &self.hierarchical;
        let q = &self.qaoa;
        registry::SolverParams {
            reads: self.reads,
            sweeps: self.sweeps,
            sweeps_per_beta: self.sweeps_per_beta,
            beta_range: self.beta_range,
            schedule: match self.schedule {
                Schedule::Geometric => ScheduleKind::Geometric,
                Schedule::Linear => ScheduleKind::Linear,
            },
            seed: self.seed,
            replicas: self.replicas,
            chains: self.chains,
            sweeps_per_swap: self.sweeps_per_swap,
            population: self.population,
            backend: match self.kernel {
                KernelChoice::Auto => registry::GpuKernel::Auto,
                KernelChoice::Workgroup => registry::GpuKernel::Workgroup,
                KernelChoice::Dense => registry::GpuKernel::Dense,
                KernelChoice::Color => registry::GpuKernel::Color,
            },
            devices: match self.devices {
                Some(_) => registry::Devices::All,
                None => registry::Devices::One,
            },
            target: self.target,
            time_limit: self.time_limit,
            sub_solver: h.sub_solver.into(),
            cluster_size: h.cluster_size,
            strategy: h.strategy.into(),
            partitioner: h.partitioner.into(),
            exact_below: h.exact_below,
            sub_reads: h.sub_reads,
            sub_sweeps: h.sub_sweeps,
            rounds: h.rounds,
            patience: h.patience,
            sub_start: h.sub_start.into(),
            p: q.p,
            optimizer: q.optimizer.into(),
            shots: q.shots,
            restarts: q.restarts,
            max_evals: q.max_evals,
            qaoa_backend: q.qaoa_device.into(),
            qaoa_precision: q.qaoa_precision.map(Into::into),
            initial_states: None,
            beta_schedule: self.beta_schedule.as_ref().map(|b| b.0.clone()),
        }
    }

    /// Parameters of `--solver hierarchical` (its own flags plus the shared seed, β range,
    /// and `--p` / `--shots` for the `qaoa` sub-solver).
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    pub fn hierarchical_params(&self) -> Result<qam::decompose::HierarchicalParams> {
        Ok(self.lib().hierarchical())
    }

    /// Sweeps per read: `--sweeps`, default 1000.
    pub fn sweeps(&self) -> usize {
        self.sweeps.unwrap_or(1000)
    }

    /// The run-time controls (time limit, target energy) these flags give for `problem`.
    pub fn context(&self, problem: &qam::io::Problem) -> Result<SolveContext<'static>> {
        self.check_time_limit()?;
        Ok(self.lib().context(problem)?)
    }

    /// `--time-limit` within its bounds (the message names the flag and the field).
    fn check_time_limit(&self) -> Result<()> {
        if let Some(t) = self.time_limit {
            qam::limits::time_limit(t).map_err(|e| anyhow::anyhow!("--time-limit: {e}"))?;
        }
        Ok(())
    }
}

/// How `--solver auto` treats adapters: QAM_REQUIRE_GPU makes a missing adapter an error
/// and the adapter there is (even a software one such as llvmpipe) the one to use; without
/// it a CPU adapter counts only when `--device` or QAM_ADAPTER names it.
pub fn gpu_policy() -> GpuPolicy {
    let require_gpu = super::gpu_select::required();
    GpuPolicy {
        require_gpu,
        allow_cpu_adapter: require_gpu || super::gpu_select::explicit(),
    }
}

/// Builds the solver for `choice` on `model`; `auto` resolves by problem size.
/// Returns the solver and, for `auto`, why it was chosen.
pub fn build(choice: SolverChoice, params: &SolverParams, model: &Model) -> Result<(Box<dyn Solver>, Option<String>)> {
    params.check_time_limit()?;
    let mut lib = params.lib();
    if let Some(path) = &params.initial_states {
        lib.initial_states = Some(super::samples::read_initial_states(path, model)?);
    }
    let built = lib.build(choice.kind(), model, &gpu_policy())?;
    Ok((built.solver, built.auto))
}

impl From<SubSolverArg> for registry::SubSolver {
    fn from(a: SubSolverArg) -> Self {
        match a {
            SubSolverArg::GpuSa => registry::SubSolver::GpuSa,
            SubSolverArg::Sa => registry::SubSolver::Sa,
            SubSolverArg::Exact => registry::SubSolver::Exact,
            SubSolverArg::Greedy => registry::SubSolver::Greedy,
            SubSolverArg::Qaoa => registry::SubSolver::Qaoa,
        }
    }
}

impl From<StrategyArg> for registry::StrategyName {
    fn from(a: StrategyArg) -> Self {
        match a {
            StrategyArg::Merge => registry::StrategyName::Merge,
            StrategyArg::Refine => registry::StrategyName::Refine,
        }
    }
}

impl From<PartitionerArg> for registry::Partitioner {
    fn from(a: PartitionerArg) -> Self {
        match a {
            PartitionerArg::Multilevel => registry::Partitioner::Multilevel,
            PartitionerArg::LabelProp => registry::Partitioner::LabelProp,
        }
    }
}

impl From<SubStartArg> for registry::SubStartName {
    fn from(a: SubStartArg) -> Self {
        match a {
            SubStartArg::Random => registry::SubStartName::Random,
            SubStartArg::Current => registry::SubStartName::Current,
        }
    }
}

impl From<OptimizerChoice> for registry::QaoaOptimizer {
    fn from(a: OptimizerChoice) -> Self {
        match a {
            OptimizerChoice::NelderMead => registry::QaoaOptimizer::NelderMead,
            OptimizerChoice::Cobyla => registry::QaoaOptimizer::Cobyla,
            OptimizerChoice::None => registry::QaoaOptimizer::None,
        }
    }
}

impl From<QaoaBackendChoice> for registry::QaoaBackend {
    fn from(a: QaoaBackendChoice) -> Self {
        match a {
            QaoaBackendChoice::Cpu => registry::QaoaBackend::Cpu,
            QaoaBackendChoice::Gpu => registry::QaoaBackend::Gpu,
            QaoaBackendChoice::Auto => registry::QaoaBackend::Auto,
        }
    }
}

impl From<PrecisionChoice> for registry::QaoaPrecision {
    fn from(a: PrecisionChoice) -> Self {
        match a {
            PrecisionChoice::F32 => registry::QaoaPrecision::F32,
            PrecisionChoice::F64 => registry::QaoaPrecision::F64,
        }
    }
}
