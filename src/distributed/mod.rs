//! Running independent jobs (subproblems of a decomposition, whole instances of a batch)
//! in this process or across MPI ranks, with the same results either way.
//!
//! A [`Job`] is a kind (which handler runs it), an id and an encoded payload. A handler is
//! a pure function of `(kind, id, payload)`: everything random in it is seeded from the
//! job id, never from the rank or thread that runs it, so the [`LocalExecutor`] and the
//! MPI executor (feature `mpi`, module `mpi`) return identical results for the same jobs.
//!
//! With MPI, rank 0 hands jobs out dynamically (the next job goes to whichever rank
//! answered first) and works on jobs itself while it waits; every other rank serves jobs
//! until told to stop. A panic on any rank aborts the whole job (`MPI_Abort`) with a
//! message naming the rank; a job error comes back to rank 0 as an error naming the job
//! and the rank; rank 0 checks that every job came back exactly once.

pub(crate) mod codec;
#[cfg(feature = "mpi")]
pub mod mpi;
#[cfg(feature = "mpi")]
pub mod qaoa;
#[cfg(feature = "mpi")]
pub mod qaoa_gpu;
pub mod subsolve;

use rayon::prelude::*;

/// Errors of distributed execution.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DistError {
    /// A job's handler failed.
    #[error("job {id} failed on rank {rank}: {message}")]
    Job {
        /// Job id.
        id: u64,
        /// Rank that ran it (0 when local).
        rank: i32,
        /// The handler's error.
        message: String,
    },
    /// A job never came back, or came back twice.
    #[error("lost result: {0}")]
    Lost(String),
    /// MPI could not be started or used.
    #[error("MPI: {0}")]
    Mpi(String),
    /// The number of ranks does not suit the computation (e.g. not a power of two).
    #[error("{ranks} MPI ranks: {reason}")]
    WorldSize {
        /// Ranks in the world.
        ranks: usize,
        /// What is wrong.
        reason: String,
    },
    /// A QAOA simulator error on this rank.
    #[error("distributed QAOA: {0}")]
    Qaoa(String),
    /// A message could not be decoded.
    #[error("bad message from rank {rank}: {reason}")]
    Protocol {
        /// Sender.
        rank: i32,
        /// What was wrong.
        reason: String,
    },
}

/// A unit of independent work.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// Unique id; seeds inside the handler derive from it.
    pub id: u64,
    /// Which handler runs it.
    pub kind: u8,
    /// Encoded input.
    pub payload: Vec<u8>,
}

/// What a process does with a job: `(kind, id, payload) -> encoded result`.
pub type Handler<'a> = dyn Fn(u8, u64, &[u8]) -> Result<Vec<u8>, String> + Sync + 'a;

/// Runs jobs and returns their results in job order.
pub trait Executor {
    /// Runs every job once; the `k`-th entry is the outcome of `jobs[k]`. The outer error
    /// is a failure of the execution itself (lost result, broken message).
    fn run_each(&self, jobs: &[Job]) -> Result<Vec<Result<Vec<u8>, DistError>>, DistError>;

    /// Runs every job once; fails with the first job error.
    fn run(&self, jobs: &[Job]) -> Result<Vec<Vec<u8>>, DistError> {
        self.run_each(jobs)?.into_iter().collect()
    }

    /// Number of processes taking part (1 for local execution).
    fn processes(&self) -> usize;
}

/// Runs jobs in this process, in parallel on the rayon pool.
pub struct LocalExecutor<'h> {
    handler: &'h Handler<'h>,
}

impl<'h> LocalExecutor<'h> {
    /// An executor calling `handler` for each job.
    pub fn new(handler: &'h Handler<'h>) -> Self {
        LocalExecutor { handler }
    }
}

impl Executor for LocalExecutor<'_> {
    fn run_each(&self, jobs: &[Job]) -> Result<Vec<Result<Vec<u8>, DistError>>, DistError> {
        Ok(jobs
            .par_iter()
            .map(|j| {
                (self.handler)(j.kind, j.id, &j.payload).map_err(|message| DistError::Job {
                    id: j.id,
                    rank: 0,
                    message,
                })
            })
            .collect())
    }

    fn processes(&self) -> usize {
        1
    }
}

/// The payload of a job that carries a whole input file: its path (as text) and its bytes.
pub fn encode_file_job(path: &str, bytes: &[u8]) -> Vec<u8> {
    let mut w = codec::Writer::default();
    w.bytes(path.as_bytes()).bytes(bytes);
    w.buf
}

/// The inverse of [`encode_file_job`]: `(path, bytes)`, or what is malformed.
pub fn decode_file_job(payload: &[u8]) -> Result<(String, &[u8]), String> {
    let mut r = codec::Reader::new(payload);
    let path = r.bytes("path").map_err(|e| e.to_string())?;
    let bytes = r.bytes("file").map_err(|e| e.to_string())?;
    if !r.is_empty() {
        return Err("trailing bytes after the file".into());
    }
    Ok((String::from_utf8_lossy(path).into_owned(), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_executor_keeps_order_and_reports_errors() {
        let h = |kind: u8, id: u64, p: &[u8]| {
            if kind == 9 {
                Err(format!("bad job {id}"))
            } else {
                Ok(p.iter().map(|b| b.wrapping_add(id as u8)).collect())
            }
        };
        let ex = LocalExecutor::new(&h);
        let jobs: Vec<Job> = (0..50)
            .map(|id| Job {
                id,
                kind: 1,
                payload: vec![1, 2],
            })
            .collect();
        let out = ex.run(&jobs).unwrap();
        assert!(
            out.iter()
                .enumerate()
                .all(|(k, r)| r == &vec![1 + k as u8, 2 + k as u8])
        );
        let bad = vec![Job {
            id: 7,
            kind: 9,
            payload: vec![],
        }];
        assert!(matches!(ex.run(&bad), Err(DistError::Job { id: 7, .. })));
    }
}
