//! `qam solve --distributed`: batch solving spread over MPI ranks (feature `mpi`).
//!
//! Rank 0 reads every file and sends its bytes as a job (no shared file system needed);
//! whichever rank is free solves it with the same arguments and seed as a single-process
//! run, so each line is identical to `qam solve` without `--distributed`. Rank 0 prints
//! the lines in input order.

use super::solve::SolveArgs;
use anyhow::Result;
use std::process::ExitCode;

/// Job kind: solve one file (payload: path, file bytes; result: the JSON line).
#[cfg(feature = "mpi")]
const KIND_SOLVE_FILE: u8 = 1;

/// Runs the batch over MPI.
#[cfg(feature = "mpi")]
pub fn run_batch(args: &SolveArgs) -> Result<ExitCode> {
    use anyhow::Context;
    use qam::distributed::codec::{Reader, Writer};
    use qam::distributed::mpi::MpiSession;
    use qam::distributed::{Executor, Job};
    use std::path::Path;

    let session = MpiSession::init()?;
    let handler = |kind: u8, _id: u64, payload: &[u8]| -> std::result::Result<Vec<u8>, String> {
        if kind != KIND_SOLVE_FILE {
            return Err(format!("unknown job kind {kind}"));
        }
        let mut r = Reader::new(payload);
        let path = r.bytes("path").map_err(|e| e.to_string())?;
        let bytes = r.bytes("file").map_err(|e| e.to_string())?;
        let path = String::from_utf8_lossy(path).into_owned();
        let v = super::solve::solve_bytes(args, Path::new(&path), bytes).map_err(|e| format!("{e:#}"))?;
        Ok(v.to_string().into_bytes())
    };
    if !session.is_root() {
        session.serve(&handler)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut jobs = Vec::with_capacity(args.files.len());
    let mut unreadable = Vec::new();
    for (k, file) in args.files.iter().enumerate() {
        match std::fs::read(file).with_context(|| format!("cannot read {}", file.display())) {
            Ok(bytes) => {
                let mut w = Writer::default();
                w.bytes(file.display().to_string().as_bytes()).bytes(&bytes);
                jobs.push(Job {
                    id: k as u64,
                    kind: KIND_SOLVE_FILE,
                    payload: w.buf,
                });
            }
            Err(e) => unreadable.push((k, e)),
        }
    }
    let outcome = session.executor(&handler).run_each(&jobs);
    session.stop_workers();
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

/// Without the `mpi` feature: explain how to get it.
#[cfg(not(feature = "mpi"))]
pub fn run_batch(_args: &SolveArgs) -> Result<ExitCode> {
    anyhow::bail!(
        "--distributed needs a qam built with MPI: install OpenMPI (libopenmpi-dev openmpi-bin libclang-dev) \
         and build with `cargo build --release --features mpi`, then run under `mpirun`"
    )
}
