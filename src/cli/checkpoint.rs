//! `qam solve --checkpoint FILE / --resume FILE`: the file form of the library's
//! [`Checkpoint`](qam::solvers::Checkpoint) (hierarchical and pt save their state).

use super::solve::SolveArgs;
use anyhow::{Result, bail};
use qam::io::Problem;
use qam::solvers::checkpoint::FileCheckpoint;
use serde_json::{Value, json};
use std::time::Duration;

/// How often a checkpoint file is rewritten at most.
const INTERVAL: Duration = Duration::from_secs(1);

/// What identifies a solve: solver, model (size and two probe energies) and parameters
/// (without the time limit and target, which may change between runs).
fn fingerprint(args: &SolveArgs, problem: &Problem, solver: &str) -> Value {
    let n = problem.model.num_variables();
    let low = match problem.model.vartype() {
        qam::model::Vartype::Binary => 0,
        qam::model::Vartype::Spin => -1,
    };
    let probe = |f: &dyn Fn(usize) -> bool| {
        let s: Vec<i8> = (0..n).map(|i| if f(i) { 1 } else { low }).collect();
        problem.model.energy(&s)
    };
    let mut params = serde_json::to_value(args.params.lib()).unwrap_or(Value::Null);
    if let Some(o) = params.as_object_mut() {
        o.remove("time-limit");
        o.remove("target");
    }
    json!({
        "solver": solver,
        "num_variables": n,
        "num_interactions": problem.model.num_interactions(),
        "probe_energies": [probe(&|_| true), probe(&|i| i % 3 == 0)],
        "params": params,
    })
}

/// The checkpoint the flags ask for, if any.
pub fn open(args: &SolveArgs, problem: &Problem, solver: &str) -> Result<Option<FileCheckpoint>> {
    if args.checkpoint.is_none() && args.resume.is_none() {
        return Ok(None);
    }
    if args.files.len() != 1 {
        bail!(
            "--checkpoint and --resume take one problem file, not {}",
            args.files.len()
        );
    }
    let fp = fingerprint(args, problem, solver);
    Ok(Some(FileCheckpoint::new(
        args.checkpoint.as_deref(),
        args.resume.as_deref(),
        fp,
        INTERVAL,
    )?))
}
