//! `qam qaoa FILE`: optimise (or evaluate) QAOA angles on a state-vector simulator and
//! report `⟨C⟩`, the ground-state probability and the approximation ratio; also the QAOA
//! flags of `qam solve --solver qaoa`.
//!
//! Angles are in qam's energy convention (`e^{-iγ E}` with `E` the model's energy); for
//! MaxCut inputs `--convention cut` reads the literature's `γ_cut = −2γ`, and the output
//! shows both.

use super::output::{OutputKind, Sink};
use super::progress::Bar;
use super::solvers::named;
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use qam::io::{Format, ProblemKind, ReadOptions};
use qam::qaoa::qasm::{Circuit, QasmVersion};
use qam::qaoa::{Angles, Device, Optimizer, Precision, QaoaParams, build_simulator, index_to_spins, run_qaoa};
use qam::solvers::SolveContext;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// `--convention` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Convention {
    /// `e^{-iγE}` with `E` the model's energy (qam's).
    Energy,
    /// MaxCut papers' `e^{-iγ_cut C}` with `C` the cut: `γ = −γ_cut / 2`.
    Cut,
}

/// QAOA flags of `qam solve --solver qaoa`.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "QAOA (--solver qaoa)")]
pub struct QaoaFlags {
    /// QAOA layers (also hierarchical's qaoa sub-solver).
    #[arg(long = "p", default_value_t = 1)]
    pub p: usize,
    /// Angle optimiser (`none`: evaluate the starting angles once).
    #[arg(long, value_parser = named::<Optimizer>(), default_value_t = Optimizer::NelderMead)]
    pub optimizer: Optimizer,
    /// Bitstrings sampled from the optimised state (each polished by steepest descent;
    /// also hierarchical's qaoa sub-solver).
    #[arg(long, default_value_t = 1000)]
    pub shots: usize,
    /// Extra optimiser runs from perturbed angles at the final depth.
    #[arg(long, default_value_t = 2)]
    pub restarts: usize,
    /// Evaluations per optimiser run (0: 100 + 120 p).
    #[arg(long, default_value_t = 0)]
    pub max_evals: usize,
    /// Where the QAOA state vector lives (was `--qaoa-backend`).
    #[arg(long, value_parser = named::<Device>(), alias = "qaoa-backend", default_value_t = Device::Auto)]
    pub qaoa_device: Device,
    /// Amplitude precision of the QAOA simulator [default: follows --qaoa-device: f32 on
    /// gpu, f64 otherwise].
    #[arg(long, value_parser = named::<Precision>())]
    pub qaoa_precision: Option<Precision>,
}

/// Arguments of `qam qaoa`.
#[derive(Args)]
pub struct QaoaArgs {
    /// Problem file (n up to about 30 on the CPU, depending on memory; `-`: standard
    /// input).
    file: PathBuf,
    /// Layers [default: 1; with --gamma/--beta, their length].
    #[arg(long = "p")]
    p: Option<usize>,
    /// γ_1,..,γ_p in radians (per unit of energy, or of cut with --convention cut):
    /// evaluate these angles once instead of optimising (with --beta) [default: none].
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    gamma: Option<Vec<f64>>,
    /// β_1,..,β_p in radians (with --gamma) [default: none].
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    beta: Option<Vec<f64>>,
    /// Convention of --gamma.
    #[arg(long, value_enum, default_value_t = Convention::Energy)]
    convention: Convention,
    /// Angle optimiser [default: nelder-mead; none when --gamma/--beta are given]. With
    /// --gamma/--beta and nelder-mead or cobyla, the given angles are the start; `none`
    /// evaluates them (or the fixed-angle table / a linear ramp) once.
    #[arg(long, value_parser = named::<Optimizer>())]
    optimizer: Option<Optimizer>,
    /// Extra optimiser runs from perturbed angles at the final depth.
    #[arg(long, default_value_t = 2)]
    restarts: usize,
    /// Evaluations per optimiser run (0: 100 + 120 p).
    #[arg(long, default_value_t = 0)]
    max_evals: usize,
    /// Where the state vector lives (was `--backend`).
    #[arg(long, value_parser = named::<Device>(), alias = "backend", default_value_t = Device::Auto)]
    qaoa_device: Device,
    /// Amplitude precision (was `--precision`) [default: follows --qaoa-device: f32 on gpu,
    /// f64 otherwise; gpu with f64 is refused].
    #[arg(long, value_parser = named::<Precision>(), alias = "precision")]
    qaoa_precision: Option<Precision>,
    /// Sample this many bitstrings from the final state and report the best (no polishing;
    /// 0: no sampling).
    #[arg(long, default_value_t = 1000)]
    shots: usize,
    /// Seed of the optimiser's restarts and of sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// With --gamma/--beta: evaluate this many times and report the fastest as
    /// `evaluation_s` (for benchmarks).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Instance of a multi-instance bqp file (1-based) [default: 1 when the file holds one].
    #[arg(long)]
    instance: Option<usize>,
    /// Input format [default: from the extension, else sniffed from the first line].
    #[arg(long, value_parser = super::parse_format)]
    format: Option<Format>,
    /// Result format.
    #[arg(long, value_enum, default_value_t = OutputKind::Text)]
    output: OutputKind,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Write the circuit of the final angles as OpenQASM 2.0 (qubit i = variable i)
    /// [default: none].
    #[arg(long, value_name = "OUT.qasm")]
    qasm: Option<PathBuf>,
    /// Write the circuit of the final angles as OpenQASM 3.0 [default: none].
    #[arg(long, value_name = "OUT.qasm")]
    qasm3: Option<PathBuf>,
    /// Split the state vector over the MPI ranks: run under `mpirun -n 2^k`; every rank
    /// reads FILE, rank 0 prints. complex128 on CPU ranks; with `--backend gpu --precision
    /// f32`, complex64 on each rank's GPU (adapter: local rank mod adapters). Needs a build
    /// with `--features mpi`.
    #[arg(long)]
    distributed: bool,
    /// CPU threads of the simulator [default: all cores, or RAYON_NUM_THREADS].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Flags given on the command line (kebab-case), filled in after parsing.
    #[arg(skip)]
    pub given: Vec<String>,
}

/// The MPI side of `--distributed`: this rank, the world size, and a builder of the
/// rank's part of the state.
struct Dist {
    rank: usize,
    ranks: usize,
    build: Box<BuildSimulator>,
}

/// Builds a rank's simulator from the cost terms.
type BuildSimulator = dyn Fn(&qam::qaoa::CostModel) -> Result<Box<dyn qam::qaoa::Simulator>>;

/// Runs `qam qaoa`.
pub fn run(args: QaoaArgs) -> Result<ExitCode> {
    if args.distributed {
        return run_distributed(args);
    }
    run_with(args, None)
}

/// `--distributed`: every rank runs the same optimisation on its part of the state (the
/// simulator's results are identical on every rank), rank 0 prints.
#[cfg(feature = "mpi")]
fn run_distributed(args: QaoaArgs) -> Result<ExitCode> {
    use qam::distributed::mpi::MpiSession;
    use qam::distributed::qaoa::DistributedQaoa;
    use qam::distributed::qaoa_gpu::DistributedGpuQaoa;
    // CPU ranks: complex128; GPU ranks (`--qaoa-device gpu`, f32): complex64 on each rank's
    // adapter (local rank mod adapters, see gpu_select).
    let gpu = match (args.qaoa_device, args.qaoa_precision) {
        (Device::Gpu, None | Some(Precision::F32)) => true,
        (Device::Gpu, Some(Precision::F64)) => {
            bail!("--distributed --qaoa-device gpu simulates complex64: drop --qaoa-precision f64")
        }
        (_, Some(Precision::F32)) => {
            bail!("--distributed on CPU ranks simulates complex128: drop --qaoa-precision f32 or add --qaoa-device gpu")
        }
        _ => false,
    };
    let session = MpiSession::init_static()?;
    if !session.size().is_power_of_two() {
        // Every rank knows the size: rank 0 reports and all finalise together, so no
        // rank is killed (and its output lost) by another one's early exit.
        if session.is_root() {
            let e = qam::distributed::qaoa::global_qubits(session.size(), usize::MAX).unwrap_err();
            eprintln!("error: {}: {e}", args.file.display());
        }
        session.finalize();
        return Ok(ExitCode::from(super::exit::INVALID_INPUT));
    }
    let dist = Dist {
        rank: session.rank() as usize,
        ranks: session.size(),
        build: Box::new(move |cost| {
            if gpu {
                let ctx = qam::gpu::GpuContext::shared()?;
                return Ok(Box::new(DistributedGpuQaoa::new(session, ctx, cost)?) as Box<dyn qam::qaoa::Simulator>);
            }
            Ok(Box::new(DistributedQaoa::new(session, cost)?) as Box<dyn qam::qaoa::Simulator>)
        }),
    };
    let outcome = run_with(args, Some(&dist));
    session.finalize();
    outcome
}

/// Without the `mpi` feature: explain how to get it.
#[cfg(not(feature = "mpi"))]
fn run_distributed(_args: QaoaArgs) -> Result<ExitCode> {
    bail!(
        "--distributed needs a qam built with MPI: install OpenMPI (libopenmpi-dev openmpi-bin libclang-dev) \
         and build with `cargo build --release --features mpi`, then run under `mpirun -n 2^k`"
    )
}

fn run_with(args: QaoaArgs, dist: Option<&Dist>) -> Result<ExitCode> {
    let t0 = Instant::now();
    let root = dist.is_none_or(|d| d.rank == 0);
    if dist.is_some() && super::input::is_stdin(&args.file) {
        bail!("--distributed reads FILE on every rank: `-` (standard input) cannot be used");
    }
    let problem = super::input::read_problem(
        &args.file,
        ReadOptions {
            format: args.format,
            instance: args.instance,
        },
    )?;
    let model = &problem.model;
    let maxcut = match problem.kind {
        ProblemKind::MaxCut { total_weight } => Some(total_weight),
        _ => None,
    };
    let angles = match (&args.gamma, &args.beta) {
        (None, None) => None,
        (Some(g), Some(b)) => {
            if g.len() != b.len() {
                bail!("--gamma has {} values but --beta has {}", g.len(), b.len());
            }
            let a = match args.convention {
                Convention::Energy => Angles::new(g.clone(), b.clone()),
                Convention::Cut if maxcut.is_some() => Angles::from_cut_convention(g, b),
                Convention::Cut => bail!(
                    "--convention cut applies to MaxCut (G-set) inputs; {} is not one",
                    args.file.display()
                ),
            };
            Some(a.context("--gamma/--beta")?)
        }
        _ => bail!("--gamma and --beta go together"),
    };
    let p = match (&angles, args.p) {
        (Some(a), Some(p)) if a.p() != p => {
            bail!("--p {p} contradicts --gamma/--beta, which give {} layer(s)", a.p())
        }
        (Some(a), _) => a.p(),
        (None, p) => p.unwrap_or(1),
    };
    if p == 0 {
        bail!("--p must be at least 1");
    }
    let optimizer = match (args.optimizer, &angles) {
        (Some(o), Some(_)) if o != Optimizer::None => bail!(
            "--optimizer {} does not apply with --gamma/--beta, which are evaluated as given (once); \
             drop --optimizer or the angles",
            o.name()
        ),
        (Some(o), _) => o,
        (None, Some(_)) => Optimizer::None,
        (None, None) => Optimizer::NelderMead,
    };
    if optimizer == Optimizer::None {
        for flag in ["restarts", "max-evals"] {
            if args.given.iter().any(|g| g == flag) {
                bail!("--{flag} does not apply with --optimizer none (one evaluation, no search)");
            }
        }
    }
    if args.given.iter().any(|g| g == "repeat") && angles.is_none() {
        bail!("--repeat applies with --gamma/--beta (timing one evaluation), not to an optimisation");
    }
    let precision = qam::solvers::registry::qaoa_precision_for(args.qaoa_device, args.qaoa_precision)?;
    let params = QaoaParams {
        p,
        optimizer,
        shots: args.shots,
        device: args.qaoa_device,
        precision,
        seed: args.seed,
        restarts: args.restarts,
        max_evals: args.max_evals,
        angles,
        polish: false,
        tuning: super::gpu_select::qaoa_tuning()?,
    };
    params.validate(model.num_variables())?;
    let t_setup = Instant::now();
    let (mut sim, cost) = match dist {
        Some(d) => {
            let cost = qam::qaoa::CostModel::new(model)?;
            let sim = (d.build)(&cost).with_context(|| format!("{}: cannot simulate", args.file.display()))?;
            (sim, cost)
        }
        None => build_simulator(model, &params).with_context(|| format!("{}: cannot simulate", args.file.display()))?,
    };
    let setup_s = t_setup.elapsed().as_secs_f64();
    let bar = Bar::new(&format!("qaoa p={p} {}", args.file.display()), args.quiet || !root);
    let t_run = Instant::now();
    let run = run_qaoa(sim.as_mut(), model, &params, &SolveContext::with_progress(&bar))?;
    bar.finish();
    let mut evaluation_s = t_run.elapsed().as_secs_f64() / run.evaluations.max(1) as f64;
    if let Some(a) = &params.angles {
        for _ in 1..args.repeat {
            let t = Instant::now();
            sim.evaluate(a)?;
            evaluation_s = evaluation_s.min(t.elapsed().as_secs_f64());
        }
    }
    let (emin, emax) = run.cost_range;
    let e = run.evaluation;
    let mut v = json!({
        "file": super::input::label(&args.file),
        "num_variables": model.num_variables(),
        "p": p,
        "gamma": run.angles.gamma,
        "beta": run.angles.beta,
        "expectation": e.expectation,
        "ground_state_probability": e.ground_state_probability,
        "ground_energy": emin,
        "max_energy": emax,
        "norm": e.norm,
        "evaluations": run.evaluations,
        "optimizer": params.optimizer.name(),
        "angles": if params.angles.is_some() { "given" } else if params.optimizer == Optimizer::None { "start" } else { "optimised" },
        "backend": run.backend,
        "setup_s": setup_s,
        "evaluation_s": evaluation_s,
        "seed": args.seed,
        "stopped_early": run.stopped,
    });
    match maxcut {
        Some(w) => {
            let expected_cut = (w - e.expectation) / 2.0;
            let max_cut = (w - emin) / 2.0;
            v["gamma_cut"] = json!(run.angles.to_cut_convention());
            v["expected_cut"] = json!(expected_cut);
            v["max_cut"] = json!(max_cut);
            v["approximation_ratio"] = json!(expected_cut / max_cut);
            v["approximation_ratio_definition"] = json!("expected_cut / max_cut");
        }
        None => {
            v["approximation_ratio"] = json!((emax - e.expectation) / (emax - emin));
            v["approximation_ratio_definition"] = json!("(max_energy - expectation) / (max_energy - ground_energy)");
        }
    }
    if run.by_depth.len() > 1 {
        v["expectation_by_depth"] = json!(run.by_depth.iter().map(|&(d, x)| json!([d, x])).collect::<Vec<_>>());
    }
    if args.shots > 0 {
        let picks = sim.sample(args.shots, args.seed)?;
        let n = model.num_variables();
        let (mut best, mut best_e) = (None, f64::INFINITY);
        let mut hits = 0usize;
        for &k in &picks {
            let st = qam::model::spins_as(model.vartype(), &index_to_spins(k, n));
            let en = model.energy(&st);
            if en <= emin + 1e-9 * (1.0 + emin.abs()) {
                hits += 1;
            }
            if en < best_e {
                best_e = en;
                best = Some(st);
            }
        }
        v["shots"] = json!(args.shots);
        v["best_sampled_energy"] = json!(best_e);
        v["best_sampled_state"] = json!(best);
        v["sampled_ground_fraction"] = json!(hits as f64 / args.shots as f64);
        if let (Some(w), Some(st)) = (maxcut, &best) {
            v["best_sampled_cut"] = json!(problem.cut(st).unwrap_or((w - best_e) / 2.0));
        }
    }
    if let Some(d) = dist {
        v["ranks"] = json!(d.ranks);
        if !root {
            return Ok(ExitCode::SUCCESS);
        }
    }
    if args.qasm.is_some() || args.qasm3.is_some() {
        let circuit = Circuit::new(&cost, &run.angles)?;
        for (path, version, key) in [
            (&args.qasm, QasmVersion::V2, "qasm"),
            (&args.qasm3, QasmVersion::V3, "qasm3"),
        ] {
            if let Some(path) = path {
                qam::io::write_atomic(path, |w| w.write_all(circuit.to_qasm(version).as_bytes()))?;
                v[key] = json!(path.display().to_string());
            }
        }
    }
    v["elapsed_s"] = json!(t0.elapsed().as_secs_f64());
    let mut sink = Sink::open(None)?;
    sink.line(&render(&v, args.output))?;
    Ok(ExitCode::SUCCESS)
}

fn list(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| format!("{:.6}", x.as_f64().unwrap_or(f64::NAN)))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn render(v: &Value, kind: OutputKind) -> String {
    if kind == OutputKind::Json {
        return v.to_string();
    }
    let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let mut s = format!(
        "{}: n={} p={} [{}]\n  gamma={} beta={}",
        v["file"].as_str().unwrap_or("?"),
        v["num_variables"],
        v["p"],
        v["backend"].as_str().unwrap_or("?"),
        list(&v["gamma"]),
        list(&v["beta"]),
    );
    if v.get("gamma_cut").is_some() {
        s += &format!(" (gamma_cut={})", list(&v["gamma_cut"]));
    }
    s += &format!(
        "\n  <C>={:.8} ground_energy={} P(ground)={:.6} approximation_ratio={:.6}",
        f("expectation"),
        v["ground_energy"],
        f("ground_state_probability"),
        f("approximation_ratio")
    );
    if v.get("expected_cut").is_some() {
        s += &format!(" expected_cut={:.6} max_cut={}", f("expected_cut"), v["max_cut"]);
    }
    if v.get("best_sampled_energy").is_some() {
        s += &format!(
            "\n  best of {} shots: energy={} ground fraction={:.4}",
            v["shots"],
            v["best_sampled_energy"],
            f("sampled_ground_fraction")
        );
    }
    for key in ["qasm", "qasm3"] {
        if let Some(path) = v.get(key).and_then(Value::as_str) {
            s += &format!("\n  circuit ({key}): {path}");
        }
    }
    s += &format!("\n  evaluations={} time={:.3}s", v["evaluations"], f("elapsed_s"));
    s
}
