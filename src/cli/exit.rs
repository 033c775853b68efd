//! Exit codes of `qam` (documented in README.md, "Exit codes and output files"):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | a solver or device failed, an output could not be written, or another run-time error |
//! | 2 | invalid input: command line (clap's usage errors are 2 too), unreadable or malformed file, invalid scenario or parameter, a problem too large for the solver or the machine; `qam solve` on a constrained model: no feasible state found (the least-violated state is still printed, violated constraints named) |
//! | 3 | `qam orchestrate`: a plan was written but still has violations |
//!
//! A closed stdout pipe ends the process like any Unix filter (SIGPIPE), not with a panic.

use qam::cqm::CqmError;
use qam::decompose::DecomposeError;
use qam::generate::GenError;
use qam::io::{IoError, WriteError};
use qam::model::ModelError;
use qam::orchestrate::{OrchestrateError, ScenarioError};
use qam::qaoa::QaoaError;
use qam::solvers::SolveError;
use std::process::ExitCode;

/// Solver, device, output or other run-time failure.
pub const FAILED: u8 = 1;
/// Invalid input (usage, parse, validation, too large).
pub const INVALID_INPUT: u8 = 2;
/// A plan with violations (`qam orchestrate`).
pub const VIOLATIONS: u8 = 3;

/// An input error raised by the command line itself (flag combinations, values).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// Returns early with a [`Usage`] error (exit code 2).
#[macro_export]
macro_rules! usage {
    ($($t:tt)*) => {
        return Err($crate::cli::exit::Usage(format!($($t)*)).into())
    };
}

fn solve_code(e: &SolveError) -> u8 {
    match e {
        SolveError::InvalidParameter { .. } | SolveError::TooLarge { .. } | SolveError::Model(_) => INVALID_INPUT,
        SolveError::Backend(_) => FAILED,
    }
}

/// The exit code for an error: the first typed error in its chain decides; an untyped
/// message (a command-line check made with `bail!`) is an input error.
pub fn code_for(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if cause.is::<Usage>() || cause.is::<IoError>() || cause.is::<ScenarioError>() || cause.is::<ModelError>() {
            return match cause.downcast_ref::<IoError>() {
                Some(IoError::Write(w)) => write_code(w),
                _ => INVALID_INPUT,
            };
        }
        if let Some(w) = cause.downcast_ref::<WriteError>() {
            return write_code(w);
        }
        if let Some(s) = cause.downcast_ref::<SolveError>() {
            return solve_code(s);
        }
        if let Some(d) = cause.downcast_ref::<DecomposeError>() {
            return match d {
                DecomposeError::Solve(s) => solve_code(s),
                _ => INVALID_INPUT,
            };
        }
        if let Some(o) = cause.downcast_ref::<OrchestrateError>() {
            return match o {
                OrchestrateError::Solve(s) => solve_code(s),
                _ => INVALID_INPUT,
            };
        }
        if let Some(q) = cause.downcast_ref::<QaoaError>() {
            return match q {
                QaoaError::Gpu(_) | QaoaError::NotEvaluated => FAILED,
                _ => INVALID_INPUT,
            };
        }
        if let Some(c) = cause.downcast_ref::<CqmError>() {
            return match c {
                CqmError::Io(io) => io_code(io),
                _ => INVALID_INPUT,
            };
        }
        if cause.is::<GenError>() {
            return INVALID_INPUT;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io_code(io);
        }
    }
    if e.downcast_ref::<String>().is_some() || e.downcast_ref::<&str>().is_some() {
        INVALID_INPUT
    } else {
        FAILED
    }
}

/// Inputs that are missing or unreadable are input errors; other OS errors are run-time
/// failures.
fn io_code(io: &std::io::Error) -> u8 {
    match io.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => INVALID_INPUT,
        _ => FAILED,
    }
}

fn write_code(w: &WriteError) -> u8 {
    match w {
        WriteError::Io { .. } => FAILED,
        WriteError::SameAsInput { .. } | WriteError::Exists(_) => INVALID_INPUT,
    }
}

/// [`code_for`] as an [`ExitCode`].
pub fn exit_code(e: &anyhow::Error) -> ExitCode {
    ExitCode::from(code_for(e))
}
