//! `qam solve --distributed`: work spread over MPI ranks (feature `mpi`).
//!
//! - With `--solver hierarchical`, rank 0 reads each problem, decomposes it and farms the
//!   subproblems of every round out to all ranks (itself included); the other ranks solve
//!   them with their local back-end. The answer is the single-process answer: every
//!   subproblem's seed derives from its id.
//! - With any other solver (batch mode), rank 0 reads every file and sends its bytes as a
//!   job (no shared file system needed); whichever rank is free solves it with the same
//!   arguments and seed as a single-process run.
//!
//! Either way rank 0 prints the lines in input order, exactly as `qam solve` would.

use super::solve::SolveArgs;
use anyhow::Result;
#[cfg(feature = "mpi")]
use qam::solvers::registry::SolverKind;
use std::process::ExitCode;

/// Job kind: solve one file (payload: path, file bytes; result: the JSON line).
#[cfg(feature = "mpi")]
const KIND_SOLVE_FILE: u8 = 1;

/// Runs the batch over MPI.
#[cfg(feature = "mpi")]
pub fn run_batch(args: &SolveArgs) -> Result<ExitCode> {
    use anyhow::Context;
    use qam::distributed::mpi::MpiSession;
    use qam::distributed::subsolve::{KIND_SUBPROBLEM, handle_subproblem};
    use qam::distributed::{Executor, Job};
    use std::path::Path;

    let session = MpiSession::init_static()?;
    // Test builds only (feature `fault-injection`, scripts/test-mpi.sh): a rank that fails.
    #[cfg(feature = "fault-injection")]
    session.plant_failure(
        std::env::var("QAM_MPI_FAIL_RANK")
            .ok()
            .and_then(|v| v.trim().parse().ok()),
    );
    let handler = |kind: u8, _id: u64, payload: &[u8]| -> std::result::Result<Vec<u8>, String> {
        if kind == KIND_SUBPROBLEM {
            return handle_subproblem(payload);
        }
        if kind != KIND_SOLVE_FILE {
            return Err(format!("unknown job kind {kind}"));
        }
        let (path, bytes) = qam::distributed::decode_file_job(payload)?;
        let v = super::solve::solve_bytes(args, Path::new(&path), bytes).map_err(|e| format!("{e:#}"))?;
        Ok(v.to_string().into_bytes())
    };
    if !session.is_root() {
        let served = session.serve(&handler);
        session.finalize();
        served?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.solver == SolverKind::Hierarchical {
        let outcome = hierarchical(args, session);
        session.stop_workers();
        session.finalize();
        return outcome;
    }
    let mut jobs = Vec::with_capacity(args.files.len());
    let mut unreadable = Vec::new();
    for (k, file) in args.files.iter().enumerate() {
        match std::fs::read(file).with_context(|| format!("cannot read {}", file.display())) {
            Ok(bytes) => {
                jobs.push(Job {
                    id: k as u64,
                    kind: KIND_SOLVE_FILE,
                    payload: qam::distributed::encode_file_job(&file.display().to_string(), &bytes),
                });
            }
            Err(e) => unreadable.push((k, e)),
        }
    }
    let outcome = session.executor(&handler).run_each(&jobs);
    session.stop_workers();
    session.finalize();
    // Line k: the job's result, its error, or the read error.
    let mut by_index: Vec<Option<Result<serde_json::Value>>> = (0..args.files.len()).map(|_| None).collect();
    for (k, e) in unreadable {
        by_index[k] = Some(Err(e));
    }
    for (job, r) in jobs.iter().zip(outcome?) {
        by_index[job.id as usize] = Some(match r {
            Ok(bytes) => serde_json::from_slice(&bytes).context("rank returned a malformed result line"),
            Err(e) => Err(anyhow::Error::new(e)),
        });
    }
    let results = by_index
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(anyhow::anyhow!("result lost"))));
    super::solve::report(args, results)
}

/// Rank 0 of a distributed hierarchical solve: each file in turn, subproblems over MPI.
#[cfg(feature = "mpi")]
fn hierarchical(args: &SolveArgs, session: &'static qam::distributed::mpi::MpiSession) -> Result<ExitCode> {
    use anyhow::Context;
    use qam::decompose::{HierarchicalSolver, Router, exact_backend};
    use qam::distributed::mpi::MpiSubSolver;
    use std::sync::Arc;

    let p = &args.params;
    let hp = p.hierarchical_params()?;
    let make = |_: &qam::io::Problem| -> Result<(Box<dyn qam::solvers::Solver>, Option<String>)> {
        let remote = MpiSubSolver::new(session, hp.sub_solver, hp.sub.clone())?;
        let mut router = Router::new().with_route(usize::MAX, Arc::new(remote));
        if hp.sub_solver != qam::decompose::SubSolverKind::Exact && hp.exact_below > 0 {
            router = router.with_route(hp.exact_below, exact_backend());
        }
        let solver = HierarchicalSolver::new(hp.clone()).with_router(Arc::new(router));
        Ok((Box::new(solver), None))
    };
    let results = args.files.iter().map(|file| {
        let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let mut v = super::solve::solve_bytes_with(args, file, &bytes, &make)?;
        v["ranks"] = serde_json::json!(session.size());
        let (sent, received) = session.traffic();
        v["mpi_bytes_sent"] = serde_json::json!(sent);
        v["mpi_bytes_received"] = serde_json::json!(received);
        Ok(v)
    });
    super::solve::report(args, results)
}

/// Without the `mpi` feature: explain how to get it.
#[cfg(not(feature = "mpi"))]
pub fn run_batch(_args: &SolveArgs) -> Result<ExitCode> {
    anyhow::bail!(
        "--distributed needs a qam built with MPI: install OpenMPI (libopenmpi-dev openmpi-bin libclang-dev) \
         and build with `cargo build --release --features mpi`, then run under `mpirun`"
    )
}
