//! MPI execution (feature `mpi`, rsmpi over OpenMPI): rank 0 farms jobs out dynamically
//! and works on jobs itself; the other ranks serve jobs until told to stop.
//!
//! Messages: rank 0 → worker, tag [`TAG_JOB`]: `kind u8, id u64, payload`; tag [`TAG_STOP`]:
//! empty. Worker → rank 0, tag [`TAG_RESULT`]: `id u64, ok u8, bytes` (the result, or the
//! error text when `ok == 0`).
//!
//! Failure: [`MpiSession::init`] installs a panic hook that prints the rank and the cause
//! and calls `MPI_Abort`, so a panic anywhere ends every rank promptly (exit code
//! [`ABORT_CODE`]) instead of hanging. Builds with the test-only cargo feature
//! `fault-injection` (never a default build) have `MpiSession::plant_failure`, which
//! makes a rank panic on its first job (to test exactly that; the CLI of such a build
//! reads `QAM_MPI_FAIL_RANK=r`).

use super::codec::{Reader, Writer};
use super::subsolve::{KIND_SUBPROBLEM, decode_state, encode_subproblem, handle_subproblem};
use super::{DistError, Executor, Handler, Job};
use crate::decompose::{BatchSolver, SubSolverKind, SubSolverParams, Subproblem};
use crate::model::{SampleSet, SolveInfo, spins_as};
use crate::solvers::{SolveContext, SolveError};
use mpi::environment::Universe;
use mpi::point_to_point::{Destination, Source, Status};
use mpi::topology::{Communicator, SimpleCommunicator};
use std::collections::{HashMap, VecDeque};
use std::sync::mpsc;
use std::thread::ThreadId;
use std::time::Duration;

/// Tag of a job message (rank 0 → worker).
pub const TAG_JOB: i32 = 1;
/// Tag of the stop message (rank 0 → worker).
pub const TAG_STOP: i32 = 2;
/// Tag of a result message (worker → rank 0).
pub const TAG_RESULT: i32 = 3;
/// Exit code of every rank when one of them panics.
pub const ABORT_CODE: i32 = 70;

/// An initialised MPI world.
pub struct MpiSession {
    /// Dropping the universe finalises MPI; [`finalize`](Self::finalize) does it early.
    universe: std::cell::RefCell<Option<Universe>>,
    world: SimpleCommunicator,
    /// Bytes of job messages sent by rank 0 and of results it received (payloads).
    traffic: std::cell::Cell<(u64, u64)>,
    /// Test-only: the rank that panics on its first job.
    #[cfg(feature = "fault-injection")]
    fail_rank: std::cell::Cell<Option<i32>>,
}

impl MpiSession {
    /// Initialises MPI (threading level "funneled": only the main thread calls MPI) and
    /// installs the abort-on-panic hook. Errors if MPI was already initialised.
    pub fn init() -> Result<Self, DistError> {
        let (universe, _level) = mpi::initialize_with_threading(mpi::Threading::Funneled)
            .ok_or_else(|| DistError::Mpi("MPI is already initialised in this process".into()))?;
        let world = universe.world();
        let rank = world.rank();
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            eprintln!("qam: rank {rank} panicked; aborting every rank");
            default_hook(info);
            // SAFETY: MPI_Abort may be called at any time after MPI_Init; it does not return.
            unsafe {
                mpi::ffi::MPI_Abort(mpi::ffi::RSMPI_COMM_WORLD, ABORT_CODE);
            }
        }));
        Ok(MpiSession {
            universe: std::cell::RefCell::new(Some(universe)),
            world,
            traffic: std::cell::Cell::new((0, 0)),
            #[cfg(feature = "fault-injection")]
            fail_rank: std::cell::Cell::new(None),
        })
    }

    /// [`init`](Self::init), kept for the rest of the process (MPI can be initialised only
    /// once per process anyway); needed by back-ends that live in `'static` routers. Call
    /// [`finalize`](Self::finalize) before the process ends.
    pub fn init_static() -> Result<&'static MpiSession, DistError> {
        Ok(Box::leak(Box::new(MpiSession::init()?)))
    }

    /// Finalises MPI (every rank must, before exiting); no MPI call may follow.
    pub fn finalize(&self) {
        drop(self.universe.borrow_mut().take());
    }

    /// Rank 0: `(bytes sent in job messages, bytes received in result messages)` so far.
    pub fn traffic(&self) -> (u64, u64) {
        self.traffic.get()
    }

    fn count(&self, sent: usize, received: usize) {
        let (a, b) = self.traffic.get();
        self.traffic.set((a + sent as u64, b + received as u64));
    }

    /// Test-only (feature `fault-injection`): rank `rank` panics when it receives its
    /// first job, to test that a failing rank aborts the whole job promptly.
    #[cfg(feature = "fault-injection")]
    pub fn plant_failure(&self, rank: Option<i32>) {
        self.fail_rank.set(rank);
    }

    /// This process's rank.
    pub fn rank(&self) -> i32 {
        self.world.rank()
    }

    /// Number of ranks.
    pub fn size(&self) -> usize {
        self.world.size() as usize
    }

    /// The world communicator (for collective computations such as
    /// [`DistributedQaoa`](super::qaoa::DistributedQaoa)); call it from the thread that
    /// initialised MPI only.
    pub(crate) fn world(&self) -> &SimpleCommunicator {
        &self.world
    }

    /// True on rank 0, the rank that drives the computation.
    pub fn is_root(&self) -> bool {
        self.rank() == 0
    }

    /// Worker ranks: serve jobs with `handler` until rank 0 says stop.
    pub fn serve(&self, handler: &Handler<'_>) -> Result<(), DistError> {
        let rank = self.rank();
        #[cfg(feature = "fault-injection")]
        let fail = self.fail_rank.get() == Some(rank);
        #[cfg(not(feature = "fault-injection"))]
        let fail = false;
        let root = self.world.process_at_rank(0);
        loop {
            let (msg, status): (Vec<u8>, Status) = root.receive_vec::<u8>();
            match status.tag() {
                TAG_STOP => return Ok(()),
                TAG_JOB => {}
                t => {
                    return Err(DistError::Protocol {
                        rank: 0,
                        reason: format!("unexpected tag {t}"),
                    });
                }
            }
            if fail {
                panic!("planted failure on rank {rank} (fault-injection)");
            }
            let job = decode_job(&msg).map_err(|reason| DistError::Protocol { rank: 0, reason })?;
            let mut w = Writer::default();
            w.u64(job.id);
            match handler(job.kind, job.id, &job.payload) {
                Ok(bytes) => w.u8(1).bytes(&bytes),
                Err(e) => w.u8(0).bytes(e.as_bytes()),
            };
            root.send_with_tag(&w.buf[..], TAG_RESULT);
        }
    }

    /// Rank 0: tells every worker to stop serving.
    pub fn stop_workers(&self) {
        for r in 1..self.world.size() {
            self.world.process_at_rank(r).send_with_tag(&[0u8][..], TAG_STOP);
        }
    }

    /// Rank 0: an executor that spreads jobs over all ranks, rank 0 included.
    pub fn executor<'a>(&'a self, handler: &'a Handler<'a>) -> MpiExecutor<'a> {
        MpiExecutor { session: self, handler }
    }
}

fn encode_job(job: &Job) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(job.kind).u64(job.id).bytes(&job.payload);
    w.buf
}

fn decode_job(msg: &[u8]) -> Result<Job, String> {
    let mut r = Reader::new(msg);
    let kind = r.u8("job kind").map_err(|e| e.to_string())?;
    let id = r.u64("job id").map_err(|e| e.to_string())?;
    let payload = r.bytes("job payload").map_err(|e| e.to_string())?.to_vec();
    Ok(Job { id, kind, payload })
}

/// Rank 0's executor over MPI (see the module docs).
pub struct MpiExecutor<'a> {
    session: &'a MpiSession,
    handler: &'a Handler<'a>,
}

impl Executor for MpiExecutor<'_> {
    fn processes(&self) -> usize {
        self.session.size()
    }

    fn run_each(&self, jobs: &[Job]) -> Result<Vec<Result<Vec<u8>, DistError>>, DistError> {
        let world = &self.session.world;
        let index: HashMap<u64, usize> = jobs.iter().enumerate().map(|(k, j)| (j.id, k)).collect();
        if index.len() != jobs.len() {
            return Err(DistError::Lost("two jobs share an id".into()));
        }
        let mut results: Vec<Option<Result<Vec<u8>, DistError>>> = (0..jobs.len()).map(|_| None).collect();
        let mut queue: VecDeque<usize> = (0..jobs.len()).collect();
        let mut in_flight: HashMap<i32, u64> = HashMap::new();
        let mut done = 0usize;
        let (to_local, local_rx) = mpsc::channel::<(u64, Result<Vec<u8>, String>)>();
        let mut local_busy = false;
        std::thread::scope(|scope| -> Result<(), DistError> {
            let (job_tx, job_rx) = mpsc::channel::<Job>();
            // Rank 0's own worker thread (MPI calls stay on the main thread).
            let handler = self.handler;
            scope.spawn(move || {
                for job in job_rx {
                    let r = handler(job.kind, job.id, &job.payload);
                    if to_local.send((job.id, r)).is_err() {
                        break;
                    }
                }
            });
            let store = |id: u64,
                         rank: i32,
                         r: Result<Vec<u8>, String>,
                         results: &mut Vec<Option<Result<Vec<u8>, DistError>>>| {
                let k = *index
                    .get(&id)
                    .ok_or_else(|| DistError::Lost(format!("rank {rank} returned unknown job {id}")))?;
                if results[k].is_some() {
                    return Err(DistError::Lost(format!("job {id} came back twice (rank {rank})")));
                }
                results[k] = Some(r.map_err(|message| DistError::Job { id, rank, message }));
                Ok(())
            };
            while done < jobs.len() {
                let mut progressed = false;
                for r in 1..world.size() {
                    if !in_flight.contains_key(&r)
                        && let Some(k) = queue.pop_front()
                    {
                        let msg = encode_job(&jobs[k]);
                        self.session.count(msg.len(), 0);
                        world.process_at_rank(r).send_with_tag(&msg[..], TAG_JOB);
                        in_flight.insert(r, jobs[k].id);
                        progressed = true;
                    }
                }
                if !local_busy && let Some(k) = queue.pop_front() {
                    job_tx
                        .send(jobs[k].clone())
                        .map_err(|_| DistError::Mpi("rank 0's worker thread stopped".into()))?;
                    local_busy = true;
                    progressed = true;
                }
                if let Ok((id, r)) = local_rx.try_recv() {
                    local_busy = false;
                    store(id, 0, r, &mut results)?;
                    done += 1;
                    progressed = true;
                }
                if let Some(status) = world.any_process().immediate_probe_with_tag(TAG_RESULT) {
                    let src = status.source_rank();
                    let (msg, _) = world.process_at_rank(src).receive_vec_with_tag::<u8>(TAG_RESULT);
                    self.session.count(0, msg.len());
                    let mut rd = Reader::new(&msg);
                    let bad = |e: super::codec::CodecError| DistError::Protocol {
                        rank: src,
                        reason: e.to_string(),
                    };
                    let id = rd.u64("result id").map_err(bad)?;
                    let ok = rd.u8("result status").map_err(bad)?;
                    let body = rd.bytes("result body").map_err(bad)?.to_vec();
                    if in_flight.remove(&src) != Some(id) {
                        return Err(DistError::Lost(format!(
                            "rank {src} answered job {id} it was not given"
                        )));
                    }
                    let r = if ok == 1 {
                        Ok(body)
                    } else {
                        Err(String::from_utf8_lossy(&body).into_owned())
                    };
                    store(id, src, r, &mut results)?;
                    done += 1;
                    progressed = true;
                }
                if !progressed {
                    std::thread::sleep(Duration::from_micros(100));
                }
            }
            drop(job_tx);
            Ok(())
        })?;
        results
            .into_iter()
            .enumerate()
            .map(|(k, r)| r.ok_or_else(|| DistError::Lost(format!("job {} never came back", jobs[k].id))))
            .collect()
    }
}

/// A decomposition back-end ([`BatchSolver`]) that spreads each batch of subproblems over
/// all ranks (rank 0 included) and solves them there with the local back-end `kind`.
/// Results are identical to solving them locally: each subproblem's seed derives from
/// the job seed and its id. Worker ranks must be serving ([`MpiSession::serve`]) with a
/// handler that passes [`KIND_SUBPROBLEM`] jobs to [`handle_subproblem`].
pub struct MpiSubSolver {
    session: &'static MpiSession,
    owner: ThreadId,
    kind: SubSolverKind,
    params: SubSolverParams,
    max_variables: usize,
}

// SAFETY: the only MPI calls happen in `solve_batch`, which first checks that it runs on
// `owner`, the thread that created this value (rank 0's main thread, the one that
// initialised MPI at the "funneled" level); from any other thread it returns an error.
unsafe impl Send for MpiSubSolver {}
// SAFETY: as above.
unsafe impl Sync for MpiSubSolver {}

impl MpiSubSolver {
    /// Rank 0: a back-end farming `kind` subproblems out over `session`. Must be created
    /// on the thread that initialised MPI.
    pub fn new(session: &'static MpiSession, kind: SubSolverKind, params: SubSolverParams) -> Result<Self, DistError> {
        let local = kind.backend(&params).map_err(|e| DistError::Mpi(e.to_string()))?;
        Ok(MpiSubSolver {
            session,
            owner: std::thread::current().id(),
            kind,
            params,
            max_variables: local.max_variables(),
        })
    }
}

impl BatchSolver for MpiSubSolver {
    fn name(&self) -> String {
        "mpi".into()
    }

    fn max_variables(&self) -> usize {
        self.max_variables
    }

    fn batch_size(&self) -> Option<usize> {
        Some(4096)
    }

    fn solve_batch(&self, batch: &[Subproblem], _ctx: &SolveContext) -> Result<Vec<SampleSet>, SolveError> {
        if std::thread::current().id() != self.owner {
            return Err(SolveError::Backend(
                "MPI sub-solver called from a thread other than the one that initialised MPI".into(),
            ));
        }
        let jobs: Vec<Job> = batch
            .iter()
            .enumerate()
            .map(|(k, sub)| Job {
                id: k as u64,
                kind: KIND_SUBPROBLEM,
                payload: encode_subproblem(sub, self.kind, &self.params),
            })
            .collect();
        let handler = |kind: u8, _id: u64, payload: &[u8]| {
            if kind == KIND_SUBPROBLEM {
                handle_subproblem(payload)
            } else {
                Err(format!("unexpected job kind {kind}"))
            }
        };
        let results = self
            .session
            .executor(&handler)
            .run(&jobs)
            .map_err(|e| SolveError::Backend(e.to_string()))?;
        results
            .iter()
            .zip(batch)
            .map(|(r, sub)| {
                let state = decode_state(r).map_err(|e| SolveError::Backend(e.to_string()))?;
                let info = SolveInfo {
                    solver: "mpi".into(),
                    ..Default::default()
                };
                let state = spins_as(sub.model.vartype(), &state);
                Ok(SampleSet::from_model_states(&sub.model, vec![state], info))
            })
            .collect()
    }
}
