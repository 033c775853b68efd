//! Solver parameters shared by `solve` and `bench`, and the clap value parser of the
//! library's named enums ([`named`]): `--solver` parses straight into
//! [`SolverKind`](qam::solvers::registry::SolverKind), `--kernel` into
//! [`Kernel`](qam::gpu::anneal::Kernel), ...; the names live in the library
//! ([`qam::names`]).

use anyhow::Result;
use clap::Args;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use qam::gpu::anneal::Kernel;
use qam::model::Model;
use qam::names::Named;
use qam::solvers::registry::{self, GpuPolicy, SolverKind};
use qam::solvers::{ScheduleKind, SolveContext, Solver};
use std::marker::PhantomData;

/// The clap value parser of a library enum `T`: `--help` lists `T::ALL` with their
/// descriptions, older spellings are accepted, and a bad value is clap's error naming the
/// flag and the possible values.
pub fn named<T: Named>() -> NamedParser<T> {
    NamedParser(PhantomData)
}

/// See [`named`].
#[derive(Clone, Copy)]
pub struct NamedParser<T>(PhantomData<fn() -> T>);

impl<T: Named> NamedParser<T> {
    fn values() -> impl Iterator<Item = PossibleValue> {
        T::ALL.iter().map(|v| {
            PossibleValue::new(v.name())
                .help(v.help())
                .aliases(v.aliases().iter().copied())
        })
    }
}

impl<T: Named> TypedValueParser for NamedParser<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> std::result::Result<T, clap::Error> {
        let name = PossibleValuesParser::new(Self::values()).parse_ref(cmd, arg, value)?;
        T::from_name(&name).ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidValue).with_cmd(cmd))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(Self::values()))
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
    #[arg(long, value_parser = named::<ScheduleKind>(), default_value_t = ScheduleKind::Geometric)]
    pub schedule: ScheduleKind,
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
    #[arg(long, value_parser = named::<Kernel>(), alias = "backend", default_value_t = Kernel::Auto)]
    pub kernel: Kernel,
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

fn parse_pair(s: &str) -> std::result::Result<(f64, f64), String> {
    let parts: Vec<&str> = s.split(',').collect();
    let [a, b] = parts[..] else {
        return Err(format!("expected HOT,COLD, found `{s}`"));
    };
    let p = |t: &str| t.trim().parse::<f64>().map_err(|_| format!("`{t}` is not a number"));
    Ok((p(a)?, p(b)?))
}

impl SolverParams {
    /// The library's parameter set these flags describe (same names; the QAOA tuning,
    /// which is not a flag, left at its default: see [`params`](Self::params)).
    pub fn lib(&self) -> registry::SolverParams {
        let h = &self.hierarchical;
        let q = &self.qaoa;
        registry::SolverParams {
            reads: self.reads,
            sweeps: self.sweeps,
            sweeps_per_beta: self.sweeps_per_beta,
            beta_range: self.beta_range,
            schedule: self.schedule,
            seed: self.seed,
            replicas: self.replicas,
            chains: self.chains,
            sweeps_per_swap: self.sweeps_per_swap,
            population: self.population,
            backend: self.kernel,
            devices: match self.devices {
                Some(_) => registry::Devices::All,
                None => registry::Devices::One,
            },
            target: self.target,
            time_limit: self.time_limit,
            sub_solver: h.sub_solver,
            cluster_size: h.cluster_size,
            strategy: h.strategy,
            partitioner: h.partitioner,
            exact_below: h.exact_below,
            sub_reads: h.sub_reads,
            sub_sweeps: h.sub_sweeps,
            rounds: h.rounds,
            patience: h.patience,
            sub_start: h.sub_start,
            p: q.p,
            optimizer: q.optimizer,
            shots: q.shots,
            restarts: q.restarts,
            max_evals: q.max_evals,
            qaoa_backend: q.qaoa_device,
            qaoa_precision: q.qaoa_precision,
            qaoa_tuning: Default::default(),
            initial_states: None,
            beta_schedule: self.beta_schedule.as_ref().map(|b| b.0.clone()),
        }
    }

    /// The parameters a run uses: the flags ([`lib`](Self::lib)) and the QAOA tuning knobs
    /// from the environment ([`qaoa_tuning`](super::gpu_select::qaoa_tuning)).
    pub fn params(&self) -> Result<registry::SolverParams> {
        Ok(registry::SolverParams {
            qaoa_tuning: super::gpu_select::qaoa_tuning()?,
            ..self.lib()
        })
    }

    /// Parameters of `--solver hierarchical` (its own flags plus the shared seed, β range,
    /// and `--p` / `--shots` for the `qaoa` sub-solver).
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    pub fn hierarchical_params(&self) -> Result<qam::decompose::HierarchicalParams> {
        Ok(self.params()?.hierarchical())
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

/// Builds the solver `kind` on `model`; `auto` resolves by problem size.
/// Returns the solver and, for `auto`, why it was chosen.
pub fn build(kind: SolverKind, params: &SolverParams, model: &Model) -> Result<(Box<dyn Solver>, Option<String>)> {
    params.check_time_limit()?;
    let mut lib = params.params()?;
    if let Some(path) = &params.initial_states {
        lib.initial_states = Some(super::samples::read_initial_states(path, model)?);
    }
    let built = lib.build(kind, model, &gpu_policy())?;
    Ok((built.solver, built.auto))
}
