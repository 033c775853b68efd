//! `qam convert IN OUT`: rewrite a problem in another format.

use anyhow::Result;
use clap::Args;
use qam::io::{Format, ReadOptions, write_file};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `qam convert`.
#[derive(Args)]
pub struct ConvertArgs {
    /// Input file (`-`: standard input).
    input: PathBuf,
    /// Output file, written atomically.
    output: PathBuf,
    /// Input format (also `--format`, as in the other commands) [default: from the
    /// extension, else the first line].
    #[arg(long, alias = "format", value_parser = super::parse_format)]
    from: Option<Format>,
    /// Output format [default: from the extension of OUTPUT].
    #[arg(long, value_parser = super::parse_format)]
    to: Option<Format>,
    /// Instance of a multi-instance bqp input (1-based; required when it holds several)
    /// [default: 1].
    #[arg(long)]
    instance: Option<usize>,
    /// CPU threads for this command (a rayon pool of its own) [default: all cores, or
    /// RAYON_NUM_THREADS]. Accepted by every command for one meaning across them; the
    /// result does not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Runs `qam convert`.
pub fn run(args: ConvertArgs) -> Result<ExitCode> {
    if !super::input::is_stdin(&args.input) {
        qam::io::check_not_input(&args.output, &[&args.input])?;
    }
    let p = super::input::read_problem(
        &args.input,
        ReadOptions {
            format: args.from,
            instance: args.instance,
        },
    )?;
    write_file(&args.output, &p, args.to)?;
    Ok(ExitCode::SUCCESS)
}
