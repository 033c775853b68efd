//! `qam solve FILE...`: solve problems, one result line per file.

use super::output::{OutputKind, Sink};
use super::progress::Bar;
use super::solvers::{SolverChoice, SolverParams, build};
use anyhow::{Context, Result};
use clap::Args;
use qam::io::{Format, Problem, ReadOptions, read_bytes};
use qam::solvers::registry::result_json;
use qam::solvers::{Solver, greedy};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `qam solve`.
#[derive(Args)]
pub struct SolveArgs {
    /// Problem files (qbsolv .qubo, G-set, OR-Library bqp, MatrixMarket, JSON; constrained
    /// models: CPLEX .lp, qam-cqm JSON).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Solver.
    #[arg(long, value_enum, default_value_t = SolverChoice::Auto)]
    pub solver: SolverChoice,
    #[command(flatten)]
    pub params: SolverParams,
    /// Instance of a multi-instance bqp file (1-based).
    #[arg(long)]
    instance: Option<usize>,
    /// Force the input format instead of detecting it (qubo, gset, bqp, mtx, json; `lp` or
    /// `cqm-json` for constrained models, which `cqm-sa` solves).
    #[arg(long, value_parser = parse_input_format)]
    format: Option<InputFormat>,
    /// Polish the returned states with steepest descent.
    #[arg(long)]
    polish: bool,
    /// Result format.
    #[arg(long, value_enum, default_value_t = OutputKind::Text)]
    pub output: OutputKind,
    /// Write results to this file instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write every read to this file as a dimod SampleSet JSON (aggregated, unpacked;
    /// `dimod.SampleSet.from_serializable(json.load(f))` loads it). One input file only.
    #[arg(long)]
    samples: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Spread the files over MPI ranks (run under `mpirun`; needs a build with
    /// `--features mpi`). Results are printed by rank 0 in input order.
    #[arg(long)]
    pub distributed: bool,
    /// Save the solver's state to this file every second (hierarchical, pt), written
    /// atomically, so that a killed run can go on with --resume.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Resume from a checkpoint file of the same solve (same file, solver and flags; the
    /// time limit may differ).
    #[arg(long)]
    pub resume: Option<PathBuf>,
}

/// `--format` of `qam solve`: a QUBO/Ising format or a constrained-model format.
#[derive(Clone, Copy, Debug)]
pub enum InputFormat {
    /// QUBO / Ising file formats.
    Model(Format),
    /// Constrained models.
    Constrained(super::cqm::CqmFormat),
}

fn parse_input_format(s: &str) -> std::result::Result<InputFormat, String> {
    match s.to_ascii_lowercase().as_str() {
        "lp" => Ok(InputFormat::Constrained(super::cqm::CqmFormat::Lp)),
        "cqm-json" => Ok(InputFormat::Constrained(super::cqm::CqmFormat::Json)),
        _ => super::parse_format(s).map(InputFormat::Model),
    }
}

/// Runs `qam solve`. Files that fail are reported (stderr, and a JSON line with `error`)
/// and the exit code is non-zero, but the other files are still solved.
pub fn run(args: SolveArgs) -> Result<ExitCode> {
    if let Some(out) = &args.out {
        qam::io::check_not_input(out, &args.files)?;
    }
    if args.samples.is_some() && args.files.len() > 1 {
        anyhow::bail!("--samples takes one input file, not {}", args.files.len());
    }
    if args.distributed {
        return super::distributed::run_batch(&args);
    }
    let results = args.files.iter().map(|file| {
        let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        solve_bytes(&args, file, &bytes)
    });
    report(&args, results)
}

/// Prints one line per file, in order; failures go to stderr too. Non-zero exit when any
/// file failed. An `--out` file is replaced (atomically) only when at least one file was
/// solved; otherwise its previous contents are kept.
pub fn report(args: &SolveArgs, results: impl Iterator<Item = Result<Value>>) -> Result<ExitCode> {
    let mut sink = Sink::open(args.out.as_ref())?;
    let mut failures = 0;
    let mut code = super::exit::INVALID_INPUT;
    let mut infeasible = 0;
    for (file, result) in args.files.iter().zip(results) {
        match result {
            Ok(v) => {
                infeasible += usize::from(v.get("feasible") == Some(&Value::Bool(false)));
                sink.line(&render(&v, args.output))?
            }
            Err(e) => {
                failures += 1;
                // Exit 2 when every failure was an input error, 1 when any solver failed.
                if super::exit::code_for(&e) != super::exit::INVALID_INPUT {
                    code = super::exit::FAILED;
                }
                eprintln!("error: {e:#}");
                if args.output == OutputKind::Json {
                    sink.line(&json!({"file": file.display().to_string(), "error": format!("{e:#}")}).to_string())?;
                }
            }
        }
    }
    if failures < args.files.len() {
        sink.finish()?;
    }
    Ok(if failures > 0 {
        ExitCode::from(code)
    } else if infeasible > 0 {
        // Constrained models: no feasible state found (the least-violated one was printed
        // with its violated constraints named).
        ExitCode::from(super::exit::INVALID_INPUT)
    } else {
        ExitCode::SUCCESS
    })
}

/// Builds the solver for a problem: the chosen solver and, for `auto`, why.
pub type MakeSolver<'a> = dyn Fn(&Problem) -> Result<(Box<dyn Solver>, Option<String>)> + 'a;

/// Solves the problem whose file content is `bytes` (`file` names it in messages and in
/// the output) with the solver the arguments choose, and returns the result line as JSON.
pub fn solve_bytes(args: &SolveArgs, file: &Path, bytes: &[u8]) -> Result<Value> {
    solve_bytes_with(args, file, bytes, &|p: &Problem| {
        build(args.solver, &args.params, &p.model)
    })
}

/// [`solve_bytes`] with the solver made by `make` (e.g. one whose subproblems go to MPI
/// ranks).
pub fn solve_bytes_with(args: &SolveArgs, file: &Path, bytes: &[u8], make: &MakeSolver) -> Result<Value> {
    let constrained = match args.format {
        Some(InputFormat::Constrained(k)) => Some(k),
        Some(InputFormat::Model(_)) => None,
        None => super::cqm::constrained_kind(file, bytes),
    };
    if let Some(kind) = constrained {
        return super::cqm::solve(args, file, bytes, kind);
    }
    let t0 = Instant::now();
    let opts = ReadOptions {
        format: match args.format {
            Some(InputFormat::Model(f)) => Some(f),
            _ => None,
        },
        instance: args.instance,
    };
    let problem = read_bytes(bytes, &file.display().to_string(), opts)?;
    let (solver, why) = make(&problem)?;
    if let Some(why) = &why
        && !args.quiet
    {
        eprintln!("{}: {why}", file.display());
    }
    let bar = Bar::new(&format!("{} {}", solver.name(), file.display()), args.quiet);
    let mut ctx = args.params.context(&problem)?;
    ctx.progress = Some(&bar);
    let cp = super::checkpoint::open(args, &problem, solver.name())?;
    ctx.checkpoint = cp.as_ref().map(|c| c as &dyn qam::solvers::Checkpoint);
    let mut set = solver.solve_with(&problem.model, &ctx)?;
    bar.finish();
    if args.polish {
        set = greedy::polish_set(&problem.model, &set);
    }
    if let Some(path) = &args.samples {
        super::samples::write_samples(path, &set, file, problem.labels.as_deref())?;
    }
    let mut v = result_json(
        &file.display().to_string(),
        &problem,
        solver.name(),
        &set,
        t0.elapsed().as_secs_f64(),
        args.instance,
        why.as_deref(),
    )?;
    if let Some(cp) = &cp {
        if let Some(round) = cp.resumed_round() {
            v["resumed_from_round"] = json!(round);
        }
        if let Some(e) = cp.error() {
            eprintln!("warning: {e}");
        }
    }
    Ok(v)
}

fn render(v: &Value, kind: OutputKind) -> String {
    match kind {
        OutputKind::Json => v.to_string(),
        OutputKind::Text => {
            let mut s = format!(
                "{}: {} n={} energy={}",
                v["file"].as_str().unwrap_or("?"),
                v["solver"].as_str().unwrap_or("?"),
                v["num_variables"],
                v["energy"]
            );
            if let Some(c) = v.get("cut") {
                s += &format!(" cut={c}");
            }
            if let Some(o) = v.get("objective") {
                s += &format!(" objective={o}");
            }
            if let Some(f) = v.get("feasible") {
                s += &format!(" feasible={f}");
                if let Some(vs) = v["violations"].as_array().filter(|vs| !vs.is_empty()) {
                    let names: Vec<&str> = vs.iter().filter_map(|x| x["constraint"].as_str()).collect();
                    s += &format!(" violated={}", names.join(","));
                }
            }
            s += &format!(" time={:.3}s", v["elapsed_s"].as_f64().unwrap_or(0.0));
            s
        }
    }
}
