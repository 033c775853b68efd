//! `qam solve FILE...`: solve problems, one result line per file.

use super::input::{check_one_stdin, is_stdin, label, read_input};
use super::output::{OutputKind, Sink};
use super::progress::Bar;
use super::solvers::{SolverParams, build, named};
use anyhow::Result;
use clap::Args;
use qam::io::{Format, Problem, ReadOptions, read_bytes};
use qam::solvers::registry::{self, SolverKind, result_json};
use qam::solvers::{Solver, greedy};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `qam solve`.
#[derive(Args)]
pub struct SolveArgs {
    /// Problem files (qbsolv .qubo, G-set, OR-Library bqp, MatrixMarket, JSON; constrained
    /// models: CPLEX .lp, qam-cqm JSON); `-` reads standard input (format from --format or
    /// the first line). A multi-instance bqp file without --instance solves every instance
    /// (one result each).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Solver. Flags a solver does not use are refused (e.g. --reads with pt, whose reads
    /// are --chains).
    #[arg(long, value_parser = named::<SolverKind>(), default_value_t = SolverKind::Auto)]
    pub solver: SolverKind,
    #[command(flatten)]
    pub params: SolverParams,
    /// Instance of a multi-instance bqp file (1-based) [default: every instance, one result
    /// each].
    #[arg(long)]
    instance: Option<usize>,
    /// Input format (qubo, gset, bqp, mtx, json; `lp` or `cqm-json` for constrained models,
    /// which `cqm-sa` solves) [default: from the extension, else the first line].
    #[arg(long, value_parser = parse_input_format)]
    format: Option<InputFormat>,
    /// Polish the returned states with steepest descent.
    #[arg(long)]
    polish: bool,
    /// Result format.
    #[arg(long, value_enum, default_value_t = OutputKind::Text)]
    pub output: OutputKind,
    /// Write results to this file, atomically [default: stdout].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write every read to this file as a dimod SampleSet JSON (aggregated, unpacked;
    /// `dimod.SampleSet.from_serializable(json.load(f))` loads it). One input file and
    /// instance only [default: none].
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
    /// atomically, so that a killed run can go on with --resume [default: none].
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Resume from a checkpoint file of the same solve (same file, solver and flags; the
    /// time limit may differ) [default: none].
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// CPU threads for this command (a rayon pool of its own; GPU solvers are unaffected)
    /// [default: all cores, or RAYON_NUM_THREADS]. The same seed gives the same answer on
    /// any thread count.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Flags given on the command line (kebab-case), filled in after parsing.
    #[arg(skip)]
    pub given: Vec<String>,
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

/// Checks the flags of `qam solve` before anything runs (also for `--distributed`, which
/// `cli::mod` sends to `distributed::run_batch` after this check).
pub fn check(args: &SolveArgs) -> Result<()> {
    if let Some(out) = &args.out {
        let files: Vec<&PathBuf> = args.files.iter().filter(|f| !is_stdin(f)).collect();
        qam::io::check_not_input(out, &files)?;
    }
    check_one_stdin(&args.files)?;
    check_flags(args)?;
    if args.samples.is_some() && args.files.len() > 1 {
        anyhow::bail!("--samples takes one input file, not {}", args.files.len());
    }
    Ok(())
}

/// Runs `qam solve` in this process. Files that fail are reported (stderr, and a JSON line with `error`)
/// and the exit code is non-zero, but the other files are still solved.
pub fn run(args: SolveArgs) -> Result<ExitCode> {
    check(&args)?;
    let results = args.files.iter().flat_map(|file| solve_file(&args, file));
    report_labeled(&args, results)
}

/// Refuses flags that the chosen solver does not use (the library's table,
/// [`registry::check_applicable`]), naming the flag and the solver.
fn check_flags(args: &SolveArgs) -> Result<()> {
    registry::check_applicable(&[args.solver], &args.given, args.params.hierarchical.sub_solver)?;
    for flag in ["checkpoint", "resume"] {
        if args.given.iter().any(|g| g == flag)
            && !matches!(
                args.solver,
                SolverKind::Pt | SolverKind::Hierarchical | SolverKind::Auto
            )
        {
            anyhow::bail!(
                "--{flag} does not apply to solver `{}` (checkpoints are saved by pt and hierarchical)",
                args.solver.name()
            );
        }
    }
    Ok(())
}

/// The result lines of one input: one, or one per instance of a multi-instance bqp file
/// read without --instance.
fn solve_file(args: &SolveArgs, file: &Path) -> Vec<(String, Result<Value>)> {
    let name = label(file);
    let bytes = match read_input(file) {
        Ok(b) => b,
        Err(e) => return vec![(name, Err(e))],
    };
    let model_format = match args.format {
        Some(InputFormat::Model(f)) => Some(f),
        Some(InputFormat::Constrained(_)) => return vec![(name.clone(), solve_bytes(args, file, &bytes))],
        None if super::cqm::constrained_kind(file, &bytes).is_some() => {
            return vec![(name.clone(), solve_bytes(args, file, &bytes))];
        }
        None => None,
    };
    let count = match args.instance {
        Some(_) => 1,
        None => match qam::io::instance_count(&bytes, &name, model_format) {
            Ok(k) => k,
            Err(e) => return vec![(name, Err(e.into()))],
        },
    };
    if count <= 1 {
        return vec![(name.clone(), solve_bytes(args, file, &bytes))];
    }
    if args.samples.is_some() || args.checkpoint.is_some() || args.resume.is_some() {
        let e = anyhow::anyhow!(
            "{name}: holds {count} instances; --samples, --checkpoint and --resume take one: choose it with --instance"
        );
        return vec![(name, Err(e))];
    }
    (1..=count)
        .map(|k| {
            let make = |p: &Problem| build(args.solver, &args.params, &p.model);
            (name.clone(), solve_instance(args, file, &bytes, Some(k), &make))
        })
        .collect()
}

/// Prints one line per file, in order; failures go to stderr too. Non-zero exit when any
/// file failed. An `--out` file is replaced (atomically) only when at least one file was
/// solved; otherwise its previous contents are kept.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
pub fn report(args: &SolveArgs, results: impl Iterator<Item = Result<Value>>) -> Result<ExitCode> {
    report_labeled(args, args.files.iter().map(|f| label(f)).zip(results))
}

/// [`report`] of results named by their input (a file may give several, one per instance).
fn report_labeled(args: &SolveArgs, results: impl Iterator<Item = (String, Result<Value>)>) -> Result<ExitCode> {
    let mut sink = Sink::open(args.out.as_ref())?;
    let mut failures = 0;
    let mut solved = 0;
    let mut code = super::exit::INVALID_INPUT;
    let mut infeasible = 0;
    for (file, result) in results {
        match result {
            Ok(v) => {
                solved += 1;
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
                    sink.line(&json!({"file": file, "error": format!("{e:#}")}).to_string())?;
                }
            }
        }
    }
    if solved > 0 {
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
    solve_instance(args, file, bytes, args.instance, make)
}

/// [`solve_bytes_with`] for instance `instance` of a multi-instance bqp file.
fn solve_instance(
    args: &SolveArgs,
    file: &Path,
    bytes: &[u8],
    instance: Option<usize>,
    make: &MakeSolver,
) -> Result<Value> {
    let name = label(file);
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
        instance,
    };
    let problem = read_bytes(bytes, &name, opts)?;
    let (solver, why) = make(&problem)?;
    if let Some(why) = &why
        && !args.quiet
    {
        eprintln!("{name}: {why}");
    }
    let bar = Bar::new(&format!("{} {name}", solver.name()), args.quiet);
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
        &name,
        &problem,
        solver.name(),
        &set,
        t0.elapsed().as_secs_f64(),
        instance,
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
                "{}{}: {} n={} energy={}",
                v["file"].as_str().unwrap_or("?"),
                v.get("instance").map_or(String::new(), |k| format!(" (instance {k})")),
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
