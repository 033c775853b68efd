//! The `qam` command line: batch solving, instance generation, format conversion and
//! benchmarks. See `qam --help` and README.md.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
