//! `qam bench FILE...`: throughput (flip attempts per second) and quality (against
//! best-known values) of solvers side by side, in one run, with ratios to the first row
//! (e.g. `--compare cpu-sa,gpu-sa` gives GPU/CPU), the device of GPU rows, and the time to
//! reach `--target` when one is given.

use super::best_known;
use super::output::{OutputKind, Sink};
use super::solvers::{SolverParams, build, named};
use anyhow::{Context, Result};
use clap::Args;
use qam::io::{Format, Problem, ProblemKind, ReadOptions};
use qam::model::SampleSet;
use qam::solvers::registry::SolverKind;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `qam bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// Problem files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Solvers to compare, comma-separated (sa or cpu-sa, gpu-sa, pt, gpu-pt, pa, gpu-pa,
    /// greedy, exact); every solver gets the same reads x sweeps.
    #[arg(long, value_parser = named::<SolverKind>(), value_delimiter = ',', default_value = "sa")]
    compare: Vec<SolverKind>,
    /// CPU thread counts to run each CPU solver with, comma-separated (0 = all cores);
    /// GPU solvers run once.
    #[arg(long, value_delimiter = ',', default_value = "1,0")]
    threads: Vec<usize>,
    #[command(flatten)]
    params: SolverParams,
    /// Instance of a multi-instance bqp file (1-based; required when it holds several)
    /// [default: 1].
    #[arg(long)]
    instance: Option<usize>,
    /// Input format [default: from the extension, else the first line].
    #[arg(long, value_parser = super::parse_format)]
    format: Option<Format>,
    /// Best-known value (cut, objective or energy) when it cannot be looked up [default:
    /// looked up in the shared data's best-known tables, else none].
    #[arg(long)]
    best_known: Option<f64>,
    /// Result format.
    #[arg(long, value_enum, default_value_t = OutputKind::Text)]
    output: OutputKind,
    /// Flags given on the command line (kebab-case), filled in after parsing.
    #[arg(skip)]
    pub given: Vec<String>,
}

/// The value users compare (cut, objective or energy) and whether higher is better.
fn value(problem: &Problem, energy: f64) -> (f64, bool) {
    (problem.metric_value(energy), problem.higher_is_better())
}

fn row(file: &Path, problem: &Problem, set: &SampleSet, threads: Option<usize>, best_known: Option<f64>) -> Value {
    let n = problem.model.num_variables();
    let attempts = set.info.extra.get("flip_attempts").and_then(Value::as_f64);
    let t = set.info.timing.sampling_s;
    let reads = set.num_reads();
    let mut vals: Vec<(f64, u64)> = Vec::new();
    let mut higher = false;
    for s in set.samples() {
        let (v, h) = value(problem, s.energy);
        higher = h;
        vals.push((v, s.num_occurrences));
    }
    let best = vals
        .iter()
        .map(|v| v.0)
        .fold(if higher { f64::MIN } else { f64::MAX }, |a, b| {
            if higher { a.max(b) } else { a.min(b) }
        });
    let mean = vals.iter().map(|v| v.0 * v.1 as f64).sum::<f64>() / reads.max(1) as f64;
    let mut r = json!({
        "file": file.display().to_string(),
        "solver": set.info.solver,
        "threads": threads,
        "num_variables": n,
        "num_interactions": problem.model.num_interactions(),
        "reads": reads,
        "sweeps": set.info.params.get("num_sweeps"),
        "time_s": t,
        "flips_per_s": attempts.map(|a| a / t),
        "best": best,
        "mean": mean,
        "metric": match problem.kind { ProblemKind::MaxCut { .. } => "cut", ProblemKind::Maximize => "objective", ProblemKind::Minimize => "energy" },
        "best_energy": set.first().map(|s| s.energy),
        "mean_energy": set.mean_energy(),
        "device": set.info.extra.get("device").cloned().unwrap_or(json!("cpu")),
        "time_to_target_s": set.info.time_to_target_s,
        "stop_reason": set.info.stop_reason,
    });
    if let Some(bk) = best_known {
        let gap = |v: f64| if higher { (bk - v) / bk.abs() } else { (v - bk) / bk.abs() } * 100.0;
        let hits: u64 = vals
            .iter()
            .filter(|v| (v.0 - bk).abs() <= 1e-9 * bk.abs().max(1.0) || (higher && v.0 > bk) || (!higher && v.0 < bk))
            .map(|v| v.1)
            .sum();
        r["best_known"] = json!(bk);
        r["best_gap_pct"] = json!(gap(best));
        r["mean_gap_pct"] = json!(gap(mean));
        r["hits"] = json!(hits);
    }
    r
}

/// Runs `qam bench`.
pub fn run(args: BenchArgs) -> Result<ExitCode> {
    for &t in &args.threads {
        qam::limits::check_threads("threads", t).map_err(|e| anyhow::anyhow!("--threads: {e}"))?;
    }
    super::input::check_one_stdin(&args.files)?;
    // A flag must be used by at least one of the compared solvers.
    qam::solvers::registry::check_applicable(&args.compare, &args.given, args.params.hierarchical.sub_solver)?;
    let mut sink = Sink::open(None)?;
    if args.output == OutputKind::Text {
        sink.line(&format!(
            "{:<14} {:<7} {:>3} {:>8} {:>12} {:>9} {:>9} {:>7} {:>10} {:>10} {:>12} {:>12} {:>8} {:>7} {:>7} {:>8}  {}",
            "file",
            "solver",
            "thr",
            "n",
            "reads×sweeps",
            "time s",
            "Mflips/s",
            "ratio",
            "best",
            "mean",
            "best E",
            "mean E",
            "known",
            "gap %",
            "hits",
            "ttt s",
            "device"
        ))?;
    }
    for file in &args.files {
        let problem = super::input::read_problem(
            file,
            ReadOptions {
                format: args.format,
                instance: args.instance,
            },
        )?;
        let bk = args.best_known.or_else(|| best_known::lookup(file, args.instance));
        let ctx = args.params.context(&problem)?;
        let mut first_rate: Option<f64> = None;
        for &choice in &args.compare {
            let thread_counts: Vec<Option<usize>> = if choice.is_gpu() {
                vec![None]
            } else {
                args.threads.iter().map(|&t| Some(t)).collect()
            };
            for threads in thread_counts {
                let (solver, _) = build(choice, &args.params, &problem.model)?;
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads.unwrap_or(0))
                    .build()
                    .context("thread pool")?;
                let actual = threads.map(|_| pool.current_num_threads());
                let set = pool
                    .install(|| solver.solve_with(&problem.model, &ctx))
                    .with_context(|| format!("{} on {}", solver.name(), file.display()))?;
                let mut r = row(file, &problem, &set, actual, bk);
                let rate = r["flips_per_s"].as_f64();
                if first_rate.is_none() {
                    first_rate = rate;
                }
                if let (Some(a), Some(b)) = (rate, first_rate) {
                    r["ratio"] = json!(a / b);
                }
                match args.output {
                    OutputKind::Json => sink.line(&r.to_string())?,
                    OutputKind::Text => sink.line(&text_row(&r))?,
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn text_row(r: &Value) -> String {
    let name = Path::new(r["file"].as_str().unwrap_or("?"))
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let f = |k: &str, p: usize| {
        r.get(k)
            .and_then(Value::as_f64)
            .map_or("-".to_string(), |v| format!("{v:.p$}"))
    };
    format!(
        "{:<14} {:<7} {:>3} {:>8} {:>12} {:>9} {:>9} {:>7} {:>10} {:>10} {:>12} {:>12} {:>8} {:>7} {:>7} {:>8}  {}",
        name,
        r["solver"].as_str().unwrap_or("?"),
        r["threads"].as_u64().map_or("-".to_string(), |t| t.to_string()),
        r["num_variables"],
        format!("{}×{}", r["reads"], r["sweeps"]),
        f("time_s", 3),
        r["flips_per_s"]
            .as_f64()
            .map_or("-".into(), |v| format!("{:.1}", v / 1e6)),
        f("ratio", 2),
        f("best", 1),
        f("mean", 1),
        f("best_energy", 1),
        f("mean_energy", 1),
        f("best_known", 0),
        f("best_gap_pct", 3),
        format!(
            "{}/{}",
            r.get("hits").map_or("-".to_string(), |h| h.to_string()),
            r["reads"]
        ),
        f("time_to_target_s", 2),
        r["device"].as_str().unwrap_or("cpu"),
    )
}
