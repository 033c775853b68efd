//! Command-line interface: one file per subcommand.

mod bench;
mod best_known;
mod checkpoint;
mod convert;
mod cqm;
mod cqm_gpu;
mod decompose;
mod devices;
mod distributed;
pub mod exit;
mod flags;
mod gen_scenario;
mod generate;
mod gpu_select;
mod info;
mod input;
mod orchestrate;
mod output;
mod plot;
mod progress;
mod qaoa;
mod samples;
mod scale_test;
mod serve;
mod solve;
mod solvers;

use anyhow::Result;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

/// qam: fast QUBO / Ising solvers on CPUs and GPUs.
#[derive(Parser)]
#[command(name = "qam", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// GPU adapter for every GPU solver: an index from `qam devices` or a name substring
    /// (default: `QAM_ADAPTER`; under mpirun, adapter `local rank mod count`; else wgpu's
    /// high-performance choice).
    #[arg(long, global = true)]
    device: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Solve one or more problem files (one JSON line per file with --output json).
    Solve(solve::SolveArgs),
    /// Print size, density, weight range and degree statistics of a problem file.
    Info(info::InfoArgs),
    /// Generate a random instance and write it (format from the extension).
    Gen(generate::GenArgs),
    /// Convert a problem file to another format.
    Convert(convert::ConvertArgs),
    /// Measure solver throughput (flip attempts per second) and quality side by side.
    Bench(bench::BenchArgs),
    /// List GPU adapters with backend, type and the limits that matter.
    Devices(devices::DevicesArgs),
    /// Plan a fleet: place agents in pools and schedule tasks (hierarchical QUBOs).
    Orchestrate(orchestrate::OrchestrateArgs),
    /// Generate a random orchestration scenario (or churn an existing one).
    GenScenario(gen_scenario::GenScenarioArgs),
    /// Orchestrate generated scenarios of growing size; table and SVG plot.
    ScaleTest(scale_test::ScaleTestArgs),
    /// Print the levels of a hierarchical decomposition: sizes, cut weight, balance.
    Decompose(decompose::DecomposeArgs),
    /// Optimise or evaluate QAOA angles on a state-vector simulator (CPU or GPU).
    Qaoa(qaoa::QaoaArgs),
    /// Run the solver service: HTTP/JSON API, durable job journal, metrics, dashboard.
    Serve(serve::ServeArgs),
}

/// Parses the command line and runs it.
pub fn run() -> Result<ExitCode> {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    flags::warn_deprecated();
    let given = matches.subcommand().map(|(_, m)| flags::given(m)).unwrap_or_default();
    match &mut cli.command {
        Command::Solve(a) => a.given = given,
        Command::Bench(a) => a.given = given,
        Command::Qaoa(a) => a.given = given,
        _ => {}
    }
    gpu_select::configure(cli.device.as_deref())?;
    use flags::with_threads;
    match cli.command {
        Command::Solve(a) if a.distributed => with_threads(a.threads, || {
            solve::check(&a)?;
            distributed::run_batch(&a)
        }),
        Command::Solve(a) => with_threads(a.threads, || solve::run(a)),
        Command::Info(a) => with_threads(a.threads, || info::run(a)),
        Command::Gen(a) => with_threads(a.threads, || generate::run(a)),
        Command::Convert(a) => with_threads(a.threads, || convert::run(a)),
        Command::Bench(a) => bench::run(a),
        Command::Devices(a) => devices::run(a),
        Command::Orchestrate(a) => with_threads(a.threads, || orchestrate::run(a)),
        Command::GenScenario(a) => with_threads(a.threads, || gen_scenario::run(a)),
        Command::ScaleTest(a) => with_threads(a.threads, || scale_test::run(a)),
        Command::Decompose(a) => with_threads(a.threads, || decompose::run(a)),
        Command::Qaoa(a) => with_threads(a.threads, || qaoa::run(a)),
        Command::Serve(a) => serve::run(a),
    }
}

/// Parses `--format` values.
fn parse_format(s: &str) -> std::result::Result<qam::io::Format, String> {
    qam::io::Format::from_name(s).ok_or_else(|| format!("unknown format `{s}` (qubo, gset, bqp, mtx, json)"))
}
