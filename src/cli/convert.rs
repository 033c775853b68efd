//! `qam convert IN OUT`: rewrite a problem in another format.

use anyhow::Result;
use clap::Args;
use qam::io::{Format, ReadOptions, read_file, write_file};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `qam convert`.
#[derive(Args)]
pub struct ConvertArgs {
    /// Input file.
    input: PathBuf,
    /// Output file (format from the extension unless --to).
    output: PathBuf,
    /// Force the input format.
    #[arg(long, value_parser = super::parse_format)]
    from: Option<Format>,
    /// Force the output format.
    #[arg(long, value_parser = super::parse_format)]
    to: Option<Format>,
    /// Instance of a multi-instance bqp input (1-based).
    #[arg(long)]
    instance: Option<usize>,
}

/// Runs `qam convert`.
pub fn run(args: ConvertArgs) -> Result<ExitCode> {
    qam::io::check_not_input(&args.output, &[&args.input])?;
    let p = read_file(
        &args.input,
        ReadOptions {
            format: args.from,
            instance: args.instance,
        },
    )?;
    write_file(&args.output, &p, args.to)?;
    Ok(ExitCode::SUCCESS)
}
