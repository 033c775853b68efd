//! Solver registry: every solver of `qam solve --solver` by name, with one serde
//! (de)serializable parameter set whose keys are the CLI's flag names (`reads`,
//! `sweeps-per-beta`, `sub-solver`, ...; snake_case spellings are accepted too).
//!
//! The CLI maps its flags onto [`SolverParams`]; `qam serve` deserializes the same
//! structure from a job's JSON. [`SolverParams::build`] makes the solver; for
//! [`SolverKind::Auto`] it returns which solver was chosen and why instead of printing it.

use super::{
    ExactSolver, GpuPaParams, GpuPaSolver, GpuPtParams, GpuPtSolver, GpuSaParams, GpuSaSolver, GreedySolver,
    MultiGpuSaSolver, PaParams, PaSolver, PortfolioParams, PortfolioSolver, PtParams, PtSolver, SaParams, SaSolver,
    ScheduleKind, SolveContext, SolveError, Solver, TimeBudget, invalid,
};
use crate::decompose::{HierarchicalParams, HierarchicalSolver, SubSolverParams};
use crate::decompose::{PartitionMethod, Strategy, SubSolverKind, SubStart};
use crate::gpu::GpuContext;
use crate::gpu::anneal::Kernel;
use crate::io::Problem;
use crate::model::{Model, SampleSet};
use crate::qaoa::{Device, Optimizer, Precision};
use crate::qaoa::{QaoaParams, QaoaSolver, Tuning};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Problems up to this many variables go to `exact` under [`SolverKind::Auto`].
pub const AUTO_EXACT_MAX: usize = 20;

/// [`SolverKind::Auto`] prefers `gpu-sa` from this many flip attempts per sweep
/// (variables x reads) on a real GPU.
pub const AUTO_GPU_MIN_WORK: usize = 100_000;

/// Which solver to run (names as on the command line, kebab-case; see
/// [`crate::names`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SolverKind {
    /// `exact` for n <= 20; with a time limit, a portfolio; otherwise `gpu-sa` on a real
    /// GPU for large work, else `sa`.
    Auto,
    /// Exhaustive search (n <= 30).
    Exact,
    /// Simulated annealing on all CPU cores (`cpu-sa` is the old name).
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
    /// Hierarchical decomposition: clusters solved by `sub-solver`, merged or refined.
    Hierarchical,
    /// QAOA on a state-vector simulator (n up to about 30).
    Qaoa,
    /// Constrained annealer for constrained models ([`crate::cqm`]: CPLEX LP, qam-cqm
    /// JSON); not a QUBO/Ising solver, so [`SolverParams::build`] refuses it for a
    /// [`Model`].
    CqmSa,
    /// The constrained annealer on the GPU, many chains at once ([`crate::gpu::cqm`]);
    /// constrained models only, like `cqm-sa`.
    GpuCqmSa,
}

crate::names::named_enum!(serde SolverKind, "solver" {
    Auto = "auto": "`exact` for n <= 20; with --time-limit, a portfolio (sa, pt and hierarchical raced on short runs, \
        the best gets the rest of the time, sharing its best state); otherwise `gpu-sa` on a real GPU for \
        large work, else `sa` (the choice is reported)",
    Exact = "exact": "Exhaustive search (n <= 30)",
    Sa = "sa" | "cpu-sa": "Simulated annealing on all CPU cores",
    Greedy = "greedy": "Steepest descent from random states",
    GpuSa = "gpu-sa": "Simulated annealing on the GPU (same parameters as `sa`)",
    Pt = "pt": "Parallel tempering (replica exchange) on the CPU",
    Pa = "pa": "Population annealing on the CPU",
    GpuPt = "gpu-pt": "Parallel tempering on the GPU",
    GpuPa = "gpu-pa": "Population annealing on the GPU",
    Hierarchical = "hierarchical": "Hierarchical decomposition: clusters solved by --sub-solver, merged or refined",
    Qaoa = "qaoa": "QAOA on a state-vector simulator: optimised angles, sampled bitstrings polished by steepest \
        descent (n up to about 30)",
    CqmSa = "cqm-sa": "Constrained annealer for constrained models (.lp, qam-cqm JSON); `auto` picks it for them. \
        --reads chains, --sweeps per cycle, cycles until --time-limit",
    GpuCqmSa = "gpu-cqm-sa": "The constrained annealer on the GPU for constrained models, many chains at once \
        (reassign / flip / swap moves, adaptive multipliers); same flags and output as `cqm-sa`",
});

impl SolverKind {
    /// True for the solvers that run on the GPU (CPU thread counts do not apply).
    pub fn is_gpu(self) -> bool {
        matches!(
            self,
            SolverKind::GpuSa | SolverKind::GpuPt | SolverKind::GpuPa | SolverKind::GpuCqmSa
        )
    }

    /// The CPU solver with the same parameters as a GPU solver (`gpu-sa` -> `sa`, ...).
    pub fn cpu_twin(self) -> Option<SolverKind> {
        match self {
            SolverKind::GpuSa => Some(SolverKind::Sa),
            SolverKind::GpuPt => Some(SolverKind::Pt),
            SolverKind::GpuPa => Some(SolverKind::Pa),
            SolverKind::GpuCqmSa => Some(SolverKind::CqmSa),
            _ => None,
        }
    }
}

/// The precision a QAOA simulator on `device` runs at: `precision` when given, else the
/// device's natural one (f32 for `gpu`, f64 for `cpu`, and f64 for `auto`, which then runs
/// on the CPU unless `f32` is asked for). An explicit `f64` on `gpu` is refused, naming
/// both parameters.
pub fn qaoa_precision_for(device: Device, precision: Option<Precision>) -> Result<Precision, SolveError> {
    match (device, precision) {
        (Device::Gpu, Some(Precision::F64)) => Err(invalid(
            "qaoa-precision",
            "f64 cannot run on qaoa-device gpu (the GPU simulator is complex64): use --qaoa-precision f32 \
             or --qaoa-device cpu",
        )),
        (Device::Gpu, None) => Ok(Precision::F32),
        (_, Some(p)) => Ok(p),
        (_, None) => Ok(Precision::F64),
    }
}

/// Which GPU devices `gpu-sa` uses (`--devices`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Devices {
    /// The process's shared device ([`GpuContext::shared`]).
    #[default]
    One,
    /// Every adapter, one share of the reads each ([`MultiGpuSaSolver`]).
    All,
}

/// Parameters of every solver, keyed by the CLI's flag names (kebab-case; snake_case is
/// accepted). Unknown keys are an error that names them. Defaults are the CLI's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct SolverParams {
    /// Independent reads (anneals / random starts).
    pub reads: usize,
    /// Sweeps per read (default 1000). With a time limit: unset, anneal lengths are
    /// planned to fill the time (doubling restarts); set, complete anneals of this length
    /// repeat until the time is up.
    pub sweeps: Option<usize>,
    /// Sweeps at each β (default 1; `pa`: 10).
    #[serde(alias = "sweeps_per_beta")]
    pub sweeps_per_beta: Option<usize>,
    /// β range `[hot, cold]` (default: derived from the problem).
    #[serde(alias = "beta_range")]
    pub beta_range: Option<(f64, f64)>,
    /// Shape of the β schedule (`geometric` or `linear`).
    pub schedule: ScheduleKind,
    /// Seed; the same seed gives the same answer on any number of threads.
    pub seed: u64,
    /// `pt`, `gpu-pt`: temperatures per chain.
    pub replicas: usize,
    /// `pt`, `gpu-pt`: independent tempering chains.
    pub chains: usize,
    /// `pt`, `gpu-pt`: sweeps between replica-exchange rounds.
    #[serde(alias = "sweeps_per_swap")]
    pub sweeps_per_swap: usize,
    /// `pa`, `gpu-pa`: population size.
    pub population: usize,
    /// GPU solvers: kernels to sweep with (key `kernel`; `backend` is the old spelling).
    #[serde(rename = "kernel", alias = "backend")]
    pub backend: Kernel,
    /// `gpu-sa`: one device (the shared one) or the reads split over every adapter.
    pub devices: Devices,
    /// Stop once this value is reached, in the problem's metric (cut for G-set,
    /// objective for bqp, energy otherwise).
    pub target: Option<f64>,
    /// Wall-time limit in seconds (reading excluded).
    #[serde(alias = "time_limit")]
    pub time_limit: Option<f64>,
    /// `hierarchical`: sub-solver of the clusters.
    #[serde(alias = "sub_solver")]
    pub sub_solver: SubSolverKind,
    /// `hierarchical`: largest cluster (default by sub-solver).
    #[serde(alias = "cluster_size")]
    pub cluster_size: Option<usize>,
    /// `hierarchical`: how cluster solutions are combined.
    pub strategy: Strategy,
    /// `hierarchical`: partitioning algorithm.
    pub partitioner: PartitionMethod,
    /// `hierarchical`: subproblems up to this size go to exhaustive search (0: never).
    #[serde(alias = "exact_below")]
    pub exact_below: usize,
    /// `hierarchical`: reads per subproblem.
    #[serde(alias = "sub_reads")]
    pub sub_reads: usize,
    /// `hierarchical`: sweeps per subproblem anneal.
    #[serde(alias = "sub_sweeps")]
    pub sub_sweeps: usize,
    /// `hierarchical`: most rounds (default 1000, unlimited with a time limit).
    pub rounds: Option<u64>,
    /// `hierarchical`: rounds without gain before stopping (default 10, unlimited with a
    /// time limit).
    pub patience: Option<u64>,
    /// `hierarchical`: start sub-anneals from the current or random states.
    #[serde(alias = "sub_start")]
    pub sub_start: SubStart,
    /// `qaoa`: layers.
    pub p: usize,
    /// `qaoa`: angle optimiser.
    pub optimizer: Optimizer,
    /// `qaoa`: bitstrings sampled from the optimised state.
    pub shots: usize,
    /// `qaoa`: extra optimiser runs from perturbed angles.
    pub restarts: usize,
    /// `qaoa`: evaluations per optimiser run (0: 100 + 120 p).
    #[serde(alias = "max_evals")]
    pub max_evals: usize,
    /// Starting states (±1 or 0/1 in the model's vartype): `sa`, `gpu-sa`, `greedy` reuse
    /// them cyclically; `hierarchical` starts from the first.
    #[serde(alias = "initial_states")]
    pub initial_states: Option<Vec<Vec<i8>>>,
    /// Custom β per sweep (`sa`, `gpu-sa`) or the temperature ladder (`pt`, `gpu-pt`).
    #[serde(alias = "beta_schedule")]
    pub beta_schedule: Option<Vec<f64>>,
    /// `qaoa`: where the state vector lives (key `qaoa-device`; `qaoa-backend` is the old
    /// spelling).
    #[serde(
        rename = "qaoa-device",
        alias = "qaoa_device",
        alias = "qaoa-backend",
        alias = "qaoa_backend"
    )]
    pub qaoa_backend: Device,
    /// `qaoa`: amplitude precision; `None` follows the device (f32 on the GPU, f64 on the
    /// CPU; see [`SolverParams::qaoa_precision`]).
    #[serde(alias = "qaoa_precision")]
    pub qaoa_precision: Option<Precision>,
    /// `qaoa` and `hierarchical` with `sub-solver qaoa`: speed knobs of the CPU
    /// state-vector simulator (key `qaoa-tuning`, e.g. `{"low-bits": 12, "isa": "avx2"}`;
    /// see [`Tuning`]); they change speed, not results. Not serialized when unset.
    #[serde(alias = "qaoa_tuning", skip_serializing_if = "Tuning::is_default")]
    pub qaoa_tuning: Tuning,
}

impl Default for SolverParams {
    fn default() -> Self {
        SolverParams {
            reads: 10,
            sweeps: None,
            sweeps_per_beta: None,
            beta_range: None,
            schedule: ScheduleKind::Geometric,
            seed: 0,
            replicas: 64,
            chains: 1,
            sweeps_per_swap: 1,
            population: 256,
            backend: Kernel::Auto,
            devices: Devices::One,
            target: None,
            time_limit: None,
            sub_solver: SubSolverKind::Sa,
            cluster_size: None,
            strategy: Strategy::Merge,
            partitioner: PartitionMethod::Multilevel,
            exact_below: 12,
            sub_reads: 1,
            sub_sweeps: 1000,
            rounds: None,
            patience: None,
            sub_start: SubStart::Current,
            p: 1,
            optimizer: Optimizer::NelderMead,
            shots: 1000,
            restarts: 2,
            max_evals: 0,
            qaoa_backend: Device::Auto,
            qaoa_precision: None,
            qaoa_tuning: Tuning::default(),
            initial_states: None,
            beta_schedule: None,
        }
    }
}

/// How [`SolverKind::Auto`] treats GPU adapters (the caller decides, e.g. from
/// `QAM_REQUIRE_GPU` / `QAM_ADAPTER`; the library reads no environment).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuPolicy {
    /// Fail instead of falling back to the CPU when there is no adapter.
    pub require_gpu: bool,
    /// Count a CPU implementation (lavapipe / llvmpipe) as a GPU.
    pub allow_cpu_adapter: bool,
}

/// A solver made by [`SolverParams::build`].
pub struct Built {
    /// The solver.
    pub solver: Box<dyn Solver>,
    /// The kind it is (`Auto` only for the portfolio `auto` runs under a time limit).
    pub kind: SolverKind,
    /// For `auto`: what was chosen and why (e.g. `auto: exact (12 <= 20 variables)`).
    pub auto: Option<String>,
}

/// Which solver [`SolverKind::Auto`] picks for `n` variables and `reads` reads, and why.
pub fn auto_choice(n: usize, reads: usize, gpu: &GpuPolicy) -> Result<(SolverKind, String), SolveError> {
    if n <= AUTO_EXACT_MAX {
        return Ok((
            SolverKind::Exact,
            format!("auto: exact ({n} <= {AUTO_EXACT_MAX} variables)"),
        ));
    }
    let cpu = |why: String| (SolverKind::Sa, format!("auto: sa on the CPU ({n} variables; {why})"));
    // Decide on size first: a problem too small to ever use a GPU never opens a device
    // (opening one costs ~65 ms), unless the policy demands a GPU.
    let work = n.saturating_mul(reads);
    if work < AUTO_GPU_MIN_WORK && !gpu.require_gpu {
        return Ok(cpu(format!(
            "{n} variables x {reads} reads is below {AUTO_GPU_MIN_WORK} flip attempts per sweep, too little work for a GPU"
        )));
    }
    let ctx = match GpuContext::shared() {
        Ok(c) => c,
        Err(e) if gpu.require_gpu => {
            return Err(SolveError::Backend(format!(
                "--solver auto: QAM_REQUIRE_GPU is set but {e}"
            )));
        }
        Err(_) => return Ok(cpu("no GPU adapter".into())),
    };
    let summary = ctx.summary();
    if summary.device_type == "Cpu" && !gpu.allow_cpu_adapter {
        return Ok(cpu(format!(
            "the only adapter, {}, is a CPU implementation (name it with --device or QAM_ADAPTER to use it anyway)",
            summary.name
        )));
    }
    let work = n.saturating_mul(reads);
    if work < AUTO_GPU_MIN_WORK {
        return Ok(cpu(format!(
            "{n} variables x {reads} reads is below {AUTO_GPU_MIN_WORK} flip attempts per sweep, too little work for {}",
            summary.name
        )));
    }
    Ok((
        SolverKind::GpuSa,
        format!("auto: gpu-sa on {} ({n} variables x {reads} reads)", summary.name),
    ))
}

impl SolverParams {
    /// Checks what the solvers themselves cannot (the time limit and target); errors name
    /// the parameter.
    pub fn validate(&self) -> Result<(), SolveError> {
        if let Some(t) = self.time_limit {
            crate::limits::time_limit(t)?;
        }
        if let Some(t) = self.target
            && !t.is_finite()
        {
            return Err(invalid("target", format!("must be a finite number, not {t}")));
        }
        if let Some((a, b)) = self.beta_range
            && !(a.is_finite() && b.is_finite())
        {
            return Err(invalid("beta-range", format!("must be finite, not ({a}, {b})")));
        }
        qaoa_precision_for(self.qaoa_backend, self.qaoa_precision)?;
        self.qaoa_tuning.check()?;
        Ok(())
    }

    /// The run-time controls (time limit, target energy) for `problem`; the target is
    /// converted from the problem's metric to an energy.
    pub fn context(&self, problem: &Problem) -> Result<SolveContext<'static>, SolveError> {
        self.validate()?;
        Ok(SolveContext {
            time_limit: self.time_limit.map(crate::limits::time_limit).transpose()?,
            target_energy: self.target.map(|v| problem.energy_of_metric(v)),
            budget: if self.sweeps.is_some() {
                TimeBudget::Repeat
            } else {
                TimeBudget::Plan
            },
            ..Default::default()
        })
    }

    /// Sweeps per read: `sweeps`, default 1000.
    pub fn num_sweeps(&self) -> usize {
        self.sweeps.unwrap_or(1000)
    }

    /// The SA parameters.
    pub fn sa(&self) -> SaParams {
        SaParams {
            num_reads: self.reads,
            num_sweeps: self.num_sweeps(),
            beta_schedule: self.beta_schedule.clone(),
            initial_states: self.initial_states.clone(),
            num_sweeps_per_beta: self.sweeps_per_beta.unwrap_or(1),
            beta_range: self.beta_range,
            beta_schedule_type: self.schedule,
            seed: self.seed,
        }
    }

    /// The tempering parameters.
    pub fn pt(&self) -> PtParams {
        PtParams {
            num_chains: self.chains,
            num_replicas: self.replicas,
            num_sweeps: self.num_sweeps(),
            sweeps_per_swap: self.sweeps_per_swap,
            beta_range: self.beta_range,
            betas: self.beta_schedule.clone(),
            adapt_ladder: true,
            seed: self.seed,
        }
    }

    /// The population-annealing parameters.
    pub fn pa(&self) -> PaParams {
        PaParams {
            population: self.population,
            num_sweeps: self.num_sweeps(),
            sweeps_per_beta: self.sweeps_per_beta.unwrap_or(PaParams::default().sweeps_per_beta),
            beta_range: self.beta_range,
            beta_schedule_type: self.schedule,
            seed: self.seed,
        }
    }

    /// The GPU kernel choice.
    pub fn gpu_kernel(&self) -> Kernel {
        self.backend
    }

    /// The parameters of `hierarchical` (`patience` defaults to unlimited when a time
    /// limit is given, so that the time is used).
    pub fn hierarchical(&self) -> HierarchicalParams {
        HierarchicalParams {
            sub_solver: self.sub_solver,
            sub: SubSolverParams {
                num_reads: self.sub_reads,
                num_sweeps: self.sub_sweeps,
                beta_range: self.beta_range,
                start: self.sub_start,
                qaoa_layers: self.p,
                qaoa_shots: self.shots,
                qaoa_tuning: self.qaoa_tuning,
            },
            cluster_size: self.cluster_size,
            strategy: self.strategy,
            method: self.partitioner,
            seed: self.seed,
            max_rounds: self
                .rounds
                .unwrap_or(if self.time_limit.is_some() { u64::MAX } else { 1000 }),
            initial_state: self.initial_states.as_ref().and_then(|v| v.first().cloned()),
            exact_below: self.exact_below,
            patience: self
                .patience
                .unwrap_or(if self.time_limit.is_some() { u64::MAX } else { 10 }),
            ..Default::default()
        }
    }

    /// The QAOA amplitude precision: `qaoa-precision`, or the device's when not given
    /// ([`qaoa_precision_for`]; an impossible pair falls back to f32, and
    /// [`validate`](Self::validate) refuses it first).
    pub fn qaoa_precision(&self) -> Precision {
        qaoa_precision_for(self.qaoa_backend, self.qaoa_precision).unwrap_or(Precision::F32)
    }

    /// The QAOA parameters.
    pub fn qaoa(&self) -> QaoaParams {
        QaoaParams {
            p: self.p,
            optimizer: self.optimizer,
            shots: self.shots,
            device: self.qaoa_backend,
            precision: self.qaoa_precision(),
            seed: self.seed,
            restarts: self.restarts,
            max_evals: self.max_evals,
            angles: None,
            polish: true,
            tuning: self.qaoa_tuning,
        }
    }

    /// Builds the solver `kind` for `model`; `auto` resolves by problem size (and GPU
    /// adapter, under `gpu`) and says why in [`Built::auto`].
    pub fn build(&self, kind: SolverKind, model: &Model, gpu: &GpuPolicy) -> Result<Built, SolveError> {
        self.validate()?;
        let refuse = |param: &'static str, supported: &str| {
            Err(invalid(
                param,
                format!(
                    "--{param} does not apply to solver `{}` (supported: {supported})",
                    kind.name()
                ),
            ))
        };
        if self.initial_states.is_some()
            && !matches!(
                kind,
                SolverKind::Sa | SolverKind::GpuSa | SolverKind::Greedy | SolverKind::Hierarchical
            )
        {
            return refuse("initial-states", "sa, gpu-sa, greedy, hierarchical");
        }
        if self.beta_schedule.is_some()
            && !matches!(
                kind,
                SolverKind::Sa | SolverKind::GpuSa | SolverKind::Pt | SolverKind::GpuPt
            )
        {
            return refuse("beta-schedule", "sa, gpu-sa, pt, gpu-pt");
        }
        if kind == SolverKind::Auto && model.num_variables() > AUTO_EXACT_MAX && self.time_limit.is_some() {
            let portfolio = PortfolioSolver::new(PortfolioParams {
                sa: self.sa(),
                pt: self.pt(),
                hierarchical: self.hierarchical(),
                ..Default::default()
            });
            return Ok(Built {
                solver: Box::new(portfolio),
                kind: SolverKind::Auto,
                auto: Some(
                    "auto: portfolio of sa, pt and hierarchical under the time limit (raced on short runs, then the winner gets the rest)"
                        .into(),
                ),
            });
        }
        let (kind, auto) = match kind {
            SolverKind::Auto => {
                let (k, why) = auto_choice(model.num_variables(), self.reads, gpu)?;
                (k, Some(why))
            }
            k => (k, None),
        };
        let solver: Box<dyn Solver> = match kind {
            SolverKind::Exact => Box::new(ExactSolver::default()),
            SolverKind::Sa => Box::new(SaSolver::new(self.sa())),
            SolverKind::Greedy => Box::new(GreedySolver {
                num_reads: self.reads,
                seed: self.seed,
                initial_states: self.initial_states.clone(),
            }),
            SolverKind::GpuSa if self.devices == Devices::All => Box::new(MultiGpuSaSolver::new(
                GpuSaParams {
                    sa: self.sa(),
                    kernel: self.gpu_kernel(),
                },
                GpuContext::open_all().map_err(|e| SolveError::Backend(e.to_string()))?,
            )),
            SolverKind::GpuSa => Box::new(GpuSaSolver::new(GpuSaParams {
                sa: self.sa(),
                kernel: self.gpu_kernel(),
            })),
            SolverKind::Pt => Box::new(PtSolver::new(self.pt())),
            SolverKind::Pa => Box::new(PaSolver::new(self.pa())),
            SolverKind::GpuPt => Box::new(GpuPtSolver::new(GpuPtParams {
                pt: self.pt(),
                kernel: self.gpu_kernel(),
            })),
            SolverKind::GpuPa => Box::new(GpuPaSolver::new(GpuPaParams {
                pa: self.pa(),
                kernel: self.gpu_kernel(),
            })),
            SolverKind::Hierarchical => Box::new(HierarchicalSolver::new(self.hierarchical())),
            SolverKind::Qaoa => Box::new(QaoaSolver::new(self.qaoa())),
            SolverKind::CqmSa | SolverKind::GpuCqmSa => {
                return Err(invalid(
                    "solver",
                    format!(
                        "{} solves constrained models (.lp, qam-cqm JSON); use sa for QUBO/Ising files",
                        kind.name()
                    ),
                ));
            }
            SolverKind::Auto => unreachable!("auto is resolved above"),
        };
        Ok(Built { solver, kind, auto })
    }
}

/// Solver parameters and the solvers that use them, by parameter name (the CLI's flag
/// names, kebab-case). `seed`, `target` and `time-limit` apply to every solver and are not
/// listed. `p` and `shots` also apply to `hierarchical` with `sub-solver qaoa` (see
/// [`check_applicable`]).
pub const PARAM_SOLVERS: &[(&str, &[SolverKind])] = {
    use SolverKind::*;
    const HIER: &[SolverKind] = &[Auto, Hierarchical];
    const QAOA: &[SolverKind] = &[Qaoa];
    const PT: &[SolverKind] = &[Auto, Pt, GpuPt];
    &[
        ("reads", &[Auto, Sa, GpuSa, Greedy, CqmSa, GpuCqmSa]),
        ("sweeps", &[Auto, Sa, GpuSa, Pt, GpuPt, Pa, GpuPa, CqmSa, GpuCqmSa]),
        ("sweeps-per-beta", &[Auto, Sa, GpuSa, Pa, GpuPa]),
        ("beta-range", &[Auto, Sa, GpuSa, Pt, GpuPt, Pa, GpuPa, Hierarchical]),
        ("schedule", &[Auto, Sa, GpuSa, Pa, GpuPa]),
        ("replicas", PT),
        ("chains", PT),
        ("sweeps-per-swap", PT),
        ("population", &[Pa, GpuPa]),
        ("kernel", &[Auto, GpuSa, GpuPt, GpuPa]),
        ("devices", &[Auto, GpuSa]),
        ("initial-states", &[Sa, GpuSa, Greedy, Hierarchical]),
        ("beta-schedule", &[Sa, GpuSa, Pt, GpuPt]),
        ("sub-solver", HIER),
        ("cluster-size", HIER),
        ("strategy", HIER),
        ("partitioner", HIER),
        ("exact-below", HIER),
        ("sub-reads", HIER),
        ("sub-sweeps", HIER),
        ("rounds", HIER),
        ("patience", HIER),
        ("sub-start", HIER),
        ("p", QAOA),
        ("shots", QAOA),
        ("optimizer", QAOA),
        ("restarts", QAOA),
        ("max-evals", QAOA),
        ("qaoa-device", QAOA),
        ("qaoa-precision", QAOA),
    ]
};

/// The solvers that use parameter `param` (a [`PARAM_SOLVERS`] name), or `None` for a
/// name that every solver accepts or that is not a solver parameter.
pub fn solvers_using(param: &str) -> Option<(&'static str, &'static [SolverKind])> {
    PARAM_SOLVERS.iter().find(|(name, _)| *name == param).copied()
}

/// Refuses a parameter that none of `kinds` uses (e.g. `reads` for `pt`, whose reads are
/// its `chains`; `replicas` for `sa`). `given` are the parameters the caller set
/// explicitly (CLI flag names, kebab-case; snake_case is accepted), `sub_solver` is
/// `hierarchical`'s (it uses `p` and `shots` with `qaoa`). Several kinds (`qam bench
/// --compare`) accept a parameter any of them uses. The error is
/// [`SolveError::InvalidParameter`] naming the parameter and the solver(s).
pub fn check_applicable<S: AsRef<str>>(
    kinds: &[SolverKind],
    given: &[S],
    sub_solver: SubSolverKind,
) -> Result<(), SolveError> {
    for g in given {
        let key = g.as_ref().replace('_', "-");
        let Some((name, users)) = solvers_using(&key) else {
            continue;
        };
        let uses = |k: &SolverKind| {
            users.contains(k)
                || (*k == SolverKind::Hierarchical
                    && sub_solver == SubSolverKind::Qaoa
                    && matches!(name, "p" | "shots"))
        };
        if !kinds.iter().any(uses) {
            let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
            let mut supported: Vec<&str> = users.iter().map(|k| k.name()).collect();
            if matches!(name, "p" | "shots") {
                supported.push("hierarchical with sub-solver qaoa");
            }
            return Err(invalid(
                name,
                format!(
                    "--{name} does not apply to solver `{}` (it is used by: {})",
                    names.join(","),
                    supported.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The result record of one solved problem, exactly as `qam solve --output json` prints
/// it (one line per file) and `qam serve` returns it: `file`, `solver`, sizes, best
/// `energy` and `state`, `seed`, `elapsed_s`, read statistics, `params`, and where they
/// apply `instance`, `threads` (CPU solvers: the calling rayon pool's size), `cut`,
/// `objective`, `auto` and the solver's extra fields.
/// `set` must hold at least one sample.
pub fn result_json(
    file: &str,
    problem: &Problem,
    solver: &str,
    set: &SampleSet,
    elapsed_s: f64,
    instance: Option<usize>,
    auto: Option<&str>,
) -> Result<Value, SolveError> {
    let best = set
        .first()
        .ok_or_else(|| SolveError::Backend("solver returned no sample".into()))?;
    let mut v = json!({
        "file": file,
        "solver": solver,
        "num_variables": problem.model.num_variables(),
        "num_interactions": problem.model.num_interactions(),
        "energy": best.energy,
        "vartype": set.vartype.as_str(),
        "state": best.state,
        "seed": set.info.seed,
        "elapsed_s": elapsed_s,
        "num_reads": set.num_reads(),
        "mean_energy": set.mean_energy(),
        "params": set.info.params,
        "stop_reason": set.info.stop_reason,
        "time_to_target_s": set.info.time_to_target_s,
    });
    if let Some(k) = instance {
        v["instance"] = json!(k);
    }
    if !solver.starts_with("gpu") {
        // The CPU threads the solve ran on: the rayon pool of the caller (`qam solve
        // --threads N` builds one per command).
        v["threads"] = json!(rayon::current_num_threads());
    }
    if let Some(labels) = &problem.labels {
        // dimod inputs: `labels[i]` names `state[i]`; `sample` maps label -> value.
        v["labels"] = json!(labels);
        let sample: serde_json::Map<String, Value> = labels
            .iter()
            .zip(&best.state)
            .map(|(l, &x)| (l.as_str().map_or_else(|| l.to_string(), str::to_string), json!(x)))
            .collect();
        v["sample"] = Value::Object(sample);
    }
    if let Some(cut) = problem.cut(&best.state) {
        v["cut"] = json!(cut);
    }
    if let Some(obj) = problem.objective(best.energy) {
        v["objective"] = json!(obj);
    }
    if let Some(why) = auto {
        v["auto"] = json!(why);
    }
    for (k, x) in &set.info.extra {
        v[k] = x.clone();
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Qubo;

    #[test]
    fn names_round_trip_through_serde() {
        for &k in SolverKind::ALL {
            let s = serde_json::to_string(&k).unwrap();
            assert_eq!(s, format!("\"{}\"", k.name()));
            assert_eq!(serde_json::from_str::<SolverKind>(&s).unwrap(), k);
            assert_eq!(SolverKind::from_name(k.name()), Some(k));
        }
        assert_eq!(SolverKind::from_name("cpu-sa"), Some(SolverKind::Sa));
        assert_eq!(SolverKind::GpuPt.cpu_twin(), Some(SolverKind::Pt));
        assert_eq!(SolverKind::Exact.cpu_twin(), None);
    }

    #[test]
    fn params_use_cli_names_and_defaults() {
        let p: SolverParams = serde_json::from_str(
            r#"{"reads": 3, "sweeps-per-beta": 2, "sub_solver": "exact", "beta-range": [0.1, 3]}"#,
        )
        .unwrap();
        assert_eq!(p.reads, 3);
        assert_eq!(p.sweeps, None);
        assert_eq!(p.num_sweeps(), 1000);
        assert_eq!(p.sweeps_per_beta, Some(2));
        assert_eq!(p.sub_solver, SubSolverKind::Exact);
        assert_eq!(p.beta_range, Some((0.1, 3.0)));
        let back: SolverParams = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        // Renamed keys: `kernel` and `qaoa-device`; the old spellings still read.
        let old: SolverParams = serde_json::from_str(r#"{"backend": "dense", "qaoa-backend": "cpu"}"#).unwrap();
        let new: SolverParams = serde_json::from_str(r#"{"kernel": "dense", "qaoa-device": "cpu"}"#).unwrap();
        assert_eq!(old, new);
        assert_eq!(new.backend, Kernel::Dense);
        assert_eq!(new.qaoa_backend, Device::Cpu);
        let keys = serde_json::to_value(&new).unwrap();
        assert_eq!(keys["kernel"], "dense");
        assert_eq!(keys["qaoa-device"], "cpu");
        let err = serde_json::from_str::<SolverParams>(r#"{"sweepz": 3}"#).unwrap_err();
        assert!(err.to_string().contains("sweepz"), "{err}");
    }

    #[test]
    fn inapplicable_parameters_are_refused_by_name() {
        let e = check_applicable(&[SolverKind::Pt], &["reads"], SubSolverKind::Sa).unwrap_err();
        assert!(matches!(e, SolveError::InvalidParameter { name: "reads", .. }), "{e}");
        assert!(e.to_string().contains("pt"), "{e}");
        assert!(check_applicable(&[SolverKind::Sa], &["replicas"], SubSolverKind::Sa).is_err());
        assert!(check_applicable(&[SolverKind::Exact], &["sweeps"], SubSolverKind::Sa).is_err());
        // Accepted: used by the solver, by one of several, universal, or unknown names.
        assert!(
            check_applicable(
                &[SolverKind::Pt],
                &["replicas", "sweeps", "seed", "time_limit"],
                SubSolverKind::Sa
            )
            .is_ok()
        );
        assert!(
            check_applicable(
                &[SolverKind::Sa, SolverKind::Pt],
                &["reads", "replicas"],
                SubSolverKind::Sa
            )
            .is_ok()
        );
        // `p` and `shots` reach hierarchical's qaoa sub-solver only.
        assert!(check_applicable(&[SolverKind::Hierarchical], &["p"], SubSolverKind::Qaoa).is_ok());
        assert!(check_applicable(&[SolverKind::Hierarchical], &["p"], SubSolverKind::Sa).is_err());
        // Every listed name is a field of SolverParams (serde keys).
        let keys = serde_json::to_value(SolverParams::default()).unwrap();
        for (name, _) in PARAM_SOLVERS {
            assert!(keys.get(*name).is_some(), "{name} is not a SolverParams key");
        }
    }

    #[test]
    fn qaoa_precision_follows_the_device() {
        use Device::*;
        assert_eq!(qaoa_precision_for(Gpu, None).unwrap(), Precision::F32);
        assert_eq!(qaoa_precision_for(Cpu, None).unwrap(), Precision::F64);
        assert_eq!(qaoa_precision_for(Cpu, Some(Precision::F32)).unwrap(), Precision::F32);
        let e = qaoa_precision_for(Gpu, Some(Precision::F64)).unwrap_err().to_string();
        assert!(e.contains("qaoa-precision") && e.contains("qaoa-device"), "{e}");
    }

    #[test]
    fn qaoa_tuning_reaches_qaoa_and_the_qaoa_sub_solver_and_is_validated() {
        let p: SolverParams =
            serde_json::from_str(r#"{"qaoa-tuning": {"low-bits": 6, "isa": "baseline", "tile_kib": 8}}"#).unwrap();
        let t = Tuning {
            isa: Some(crate::qaoa::Isa::Baseline),
            low_bits: Some(6),
            tile_kib: Some(8),
            row_bytes: None,
        };
        assert_eq!(p.qaoa_tuning, t);
        assert_eq!(p.qaoa().tuning, t);
        assert_eq!(p.hierarchical().sub.qaoa_tuning, t);
        p.validate().unwrap();
        // Written back under its key; absent when unset (checkpoint fingerprints unchanged).
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v["qaoa-tuning"],
            serde_json::json!({"isa": "baseline", "low-bits": 6, "tile-kib": 8})
        );
        assert!(
            serde_json::to_value(SolverParams::default())
                .unwrap()
                .get("qaoa-tuning")
                .is_none()
        );
        // Out of range: refused naming the parameter and the knob; unknown knobs too.
        for (json, knob) in [
            (r#"{"qaoa-tuning": {"low-bits": 30}}"#, "low-bits"),
            (r#"{"qaoa-tuning": {"tile-kib": 0}}"#, "tile-kib"),
            (r#"{"qaoa-tuning": {"row-bytes": 0}}"#, "row-bytes"),
        ] {
            let p: SolverParams = serde_json::from_str(json).unwrap();
            let e = p.validate().unwrap_err();
            assert!(
                matches!(
                    e,
                    SolveError::InvalidParameter {
                        name: "qaoa-tuning",
                        ..
                    }
                ),
                "{e}"
            );
            assert!(e.to_string().contains(knob), "{e}");
        }
        let e = serde_json::from_str::<SolverParams>(r#"{"qaoa-tuning": {"lowbits": 3}}"#).unwrap_err();
        assert!(e.to_string().contains("lowbits"), "{e}");
        let e = serde_json::from_str::<SolverParams>(r#"{"qaoa-tuning": {"isa": "avx3"}}"#).unwrap_err();
        assert!(
            e.to_string().contains("avx3") && e.to_string().contains("baseline"),
            "{e}"
        );
    }

    #[test]
    fn validate_names_the_parameter() {
        let p = SolverParams {
            time_limit: Some(-1.0),
            ..Default::default()
        };
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("time_limit"), "{e}");
    }

    #[test]
    fn auto_returns_exact_for_small_models_and_it_is_optimal() {
        let q = Qubo::from_entries(4, &[(0, 1, 2.0), (0, 0, -1.0), (1, 1, -1.0), (2, 3, -1.0)], 0.0).unwrap();
        let m = Model::Qubo(q);
        let b = SolverParams::default()
            .build(SolverKind::Auto, &m, &GpuPolicy::default())
            .unwrap();
        assert_eq!(b.kind, SolverKind::Exact);
        assert!(b.auto.unwrap().contains("exact"));
        let best = b.solver.solve(&m).unwrap().first().unwrap().energy;
        // Brute force over 16 states.
        let brute = (0..16u32)
            .map(|k| m.energy(&(0..4).map(|i| ((k >> i) & 1) as i8).collect::<Vec<_>>()))
            .fold(f64::INFINITY, f64::min);
        assert_eq!(best, brute);
    }
}
