//! The job queue and the solver threads.
//!
//! Jobs wait in an in-memory FIFO mirrored by the journal's `queued` rows. Each of the
//! `workers` OS threads claims a job in the journal (`queued -> running`), solves it with a
//! [`Live`] progress record as the solver's [`Progress`] and interrupt flag, and ends it in
//! the journal exactly once. A panic in a solver fails that job, not the worker.

use super::journal::{Inserted, JobRow, Journal};
use super::metrics::{Gauges, Metrics};
use super::request::{PlanRequest, Rejection, SolveRequest};
use super::{ServeConfig, ServeError};
use crate::solvers::registry::{SolverKind, result_json};
use crate::solvers::{Checkpoint, Progress};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How often a running job's checkpoint is written to the journal at most.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Most best-energy points kept per running job (older points are thinned out).
const HISTORY_MAX: usize = 1000;

/// Progress of a running job, shared by its solver thread and the HTTP handlers.
pub struct Live {
    /// Set by `DELETE`: the solver stops and returns its best state so far.
    pub interrupt: AtomicBool,
    total: AtomicU64,
    done: AtomicU64,
    started: Instant,
    gpu: AtomicBool,
    inner: Mutex<LiveInner>,
}

#[derive(Default)]
struct LiveInner {
    best: Option<f64>,
    history: Vec<(f64, f64)>,
    message: String,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Live {
    fn new(gpu: bool) -> Self {
        Live {
            interrupt: AtomicBool::new(false),
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            started: Instant::now(),
            gpu: AtomicBool::new(gpu),
            inner: Mutex::new(LiveInner::default()),
        }
    }

    /// Whether the job runs on the GPU now.
    pub fn on_gpu(&self) -> bool {
        self.gpu.load(Ordering::Relaxed)
    }

    /// The job's progress as the API shows it: work done of total, best energy so far,
    /// the solver's last status line, seconds since start; with `history`, the best
    /// energy over time as `[seconds, energy]` pairs.
    pub fn snapshot(&self, history: bool) -> Value {
        let total = self.total.load(Ordering::Relaxed);
        let done = self.done.load(Ordering::Relaxed);
        let inner = lock(&self.inner);
        let mut v = json!({
            "done": done,
            "total": total,
            "fraction": if total > 0 { Some((done as f64 / total as f64).min(1.0)) } else { None },
            "best_energy": inner.best,
            "message": inner.message,
            "elapsed_s": self.started.elapsed().as_secs_f64(),
            "device": if self.on_gpu() { "gpu" } else { "cpu" },
        });
        if history {
            v["history"] = json!(inner.history);
        }
        v
    }
}

impl Progress for Live {
    fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
    }

    fn advance(&self, delta: u64) {
        self.done.fetch_add(delta, Ordering::Relaxed);
    }

    fn message(&self, msg: &str) {
        lock(&self.inner).message = msg.chars().take(200).collect();
    }

    fn best_energy(&self, energy: f64) {
        let t = self.started.elapsed().as_secs_f64();
        let mut inner = lock(&self.inner);
        if inner.best.is_none_or(|b| energy < b) {
            inner.best = Some(energy);
            if inner.history.len() >= HISTORY_MAX {
                // Keep every other point: the curve keeps its shape over any run length.
                let kept: Vec<_> = inner.history.iter().copied().step_by(2).collect();
                inner.history = kept;
            }
            inner.history.push((t, energy));
        }
    }
}

/// State shared by the HTTP handlers and the workers.
pub struct Shared {
    /// Settings.
    pub config: ServeConfig,
    /// The journal.
    pub journal: Mutex<Journal>,
    queue: Mutex<VecDeque<String>>,
    ready: Condvar,
    live: Mutex<HashMap<String, Arc<Live>>>,
    /// Counters.
    pub metrics: Metrics,
    gpu_name: String,
}

impl Shared {
    /// Opens the journal in the data folder and re-queues unfinished jobs.
    pub fn open(config: ServeConfig) -> Result<Arc<Shared>, ServeError> {
        let mut journal = Journal::open(&config.data_dir)?;
        let queued = journal.recover()?;
        let gpu_name = match crate::gpu::GpuContext::shared() {
            Ok(c) => c.summary().name,
            Err(_) => "none".into(),
        };
        Ok(Arc::new(Shared {
            config,
            journal: Mutex::new(journal),
            queue: Mutex::new(queued.into()),
            ready: Condvar::new(),
            live: Mutex::new(HashMap::new()),
            metrics: Metrics::default(),
            gpu_name,
        }))
    }

    /// The journal, locked.
    pub fn journal(&self) -> MutexGuard<'_, Journal> {
        lock(&self.journal)
    }

    /// Progress of a running job.
    pub fn live(&self, id: &str) -> Option<Arc<Live>> {
        lock(&self.live).get(id).cloned()
    }

    /// Jobs waiting.
    pub fn queue_depth(&self) -> usize {
        lock(&self.queue).len()
    }

    /// Accepts a checked request: journals it (committed) and queues it, or returns the
    /// job an earlier request with the same idempotency key made. `(status, body)`.
    pub fn admit(&self, kind: &str, request: &str, idem_key: Option<&str>) -> Result<(u16, Value), Rejection> {
        let mut queue = lock(&self.queue);
        if let Some(key) = idem_key
            && let Some(row) = self.journal().find_key(key).map_err(internal)?
        {
            return replay(row, request);
        }
        if queue.len() >= self.config.limits.max_queue {
            return Err(Rejection::limit(
                429,
                "max-queue",
                format!(
                    "the queue is full (max-queue = {} jobs waiting); retry later",
                    self.config.limits.max_queue
                ),
            ));
        }
        match self.journal().insert(kind, request, idem_key).map_err(internal)? {
            Inserted::New(id) => {
                queue.push_back(id.clone());
                self.ready.notify_one();
                self.metrics.accepted();
                Ok((202, json!({"id": id, "status": "queued"})))
            }
            Inserted::Existing { id, same_request } => {
                let row = self.journal().get(&id).map_err(internal)?;
                match row {
                    Some(row) if same_request => replay(row, request),
                    _ => Err(key_reused()),
                }
            }
        }
    }

    /// Cancels a job: a queued one ends now; a running one is interrupted and ends with its
    /// best state so far. `(status, body)`, or `None` when there is no such job.
    pub fn cancel(&self, id: &str) -> Result<Option<(u16, Value)>, Rejection> {
        let mut queue = lock(&self.queue);
        let mut journal = self.journal();
        let Some(row) = journal.get(id).map_err(internal)? else {
            return Ok(None);
        };
        match row.status.as_str() {
            "queued" => {
                if journal.cancel_queued(id).map_err(internal)? {
                    queue.retain(|q| q != id);
                    self.metrics.finished("cancelled", None, 0, false);
                }
                Ok(Some((200, json!({"id": id, "status": "cancelled"}))))
            }
            "running" => {
                journal.request_cancel(id).map_err(internal)?;
                if let Some(live) = self.live(id) {
                    live.interrupt.store(true, Ordering::Relaxed);
                }
                Ok(Some((202, json!({"id": id, "status": "cancelling"}))))
            }
            s => Err(Rejection::new(409, format!("job {id} has already ended ({s})"))),
        }
    }

    /// The metrics page.
    pub fn render_metrics(&self) -> String {
        let live: Vec<Arc<Live>> = lock(&self.live).values().cloned().collect();
        let gpu = live.iter().filter(|l| l.on_gpu()).count();
        self.metrics.render(&Gauges {
            queue_depth: self.queue_depth(),
            running_cpu: live.len() - gpu,
            running_gpu: gpu,
            workers: self.config.workers,
            gpu_name: &self.gpu_name,
        })
    }

    fn next_job(&self) -> String {
        let mut q = lock(&self.queue);
        loop {
            if let Some(id) = q.pop_front() {
                return id;
            }
            q = self.ready.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }
}

fn replay(row: JobRow, request: &str) -> Result<(u16, Value), Rejection> {
    if row.request != request {
        return Err(key_reused());
    }
    Ok((202, json!({"id": row.id, "status": row.status, "replayed": true})))
}

fn key_reused() -> Rejection {
    Rejection::new(
        422,
        "Idempotency-Key was already used for a different request; use a new key",
    )
}

pub(crate) fn internal(e: ServeError) -> Rejection {
    Rejection::new(500, format!("internal error: {e}"))
}

/// Starts the solver threads.
pub fn start_workers(shared: &Arc<Shared>) {
    for k in 0..shared.config.workers {
        let s = shared.clone();
        std::thread::Builder::new()
            .name(format!("qam-worker-{k}"))
            .spawn(move || {
                loop {
                    let id = s.next_job();
                    run_one(&s, &id);
                }
            })
            .expect("spawn a worker thread");
    }
}

/// How a job ended.
enum Outcome {
    Done(Value),
    Cancelled(Option<Value>),
    Failed(String),
}

fn run_one(s: &Shared, id: &str) {
    let row = match s.journal().claim(id) {
        Ok(Some(row)) => row,
        Ok(None) => return, // cancelled while queued
        Err(e) => {
            eprintln!("qam serve: job {id}: {e}");
            return;
        }
    };
    let gpu = wants_gpu(&row);
    let live = Arc::new(Live::new(gpu));
    lock(&s.live).insert(id.to_string(), live.clone());
    let t0 = Instant::now();
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| execute(s, &row, &live))).unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<&str>()
                .map(|m| m.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Outcome::Failed(format!("the solver panicked: {msg}"))
        });
    let seconds = t0.elapsed().as_secs_f64();
    let (status, result, error) = match outcome {
        Outcome::Done(v) => ("done", Some(v), None),
        Outcome::Cancelled(v) => ("cancelled", v, None),
        Outcome::Failed(e) => ("failed", None, Some(e)),
    };
    let flips = result.as_ref().map_or(0, flip_attempts);
    let fallback = result.as_ref().is_some_and(|v| v.get("fallback").is_some());
    let text = result.as_ref().map(Value::to_string);
    match s.journal().finish(id, status, text.as_deref(), error.as_deref()) {
        Ok(true) => s.metrics.finished(status, Some(seconds), flips, fallback),
        Ok(false) => {}
        Err(e) => eprintln!("qam serve: job {id}: {e}"),
    }
    lock(&s.live).remove(id);
}

fn wants_gpu(row: &JobRow) -> bool {
    row.kind == "solve" && serde_json::from_str::<SolveRequest>(&row.request).is_ok_and(|r| r.solver.is_gpu())
}

/// Flip attempts a result reports (`flip_attempts`), else reads x sweeps x variables for
/// the annealers that record both, else 0.
fn flip_attempts(v: &Value) -> u64 {
    if let Some(f) = v.get("flip_attempts").and_then(Value::as_u64) {
        return f;
    }
    let p = &v["params"];
    match (
        p.get("num_reads").and_then(Value::as_u64),
        p.get("num_sweeps").and_then(Value::as_u64),
        v.get("num_variables").and_then(Value::as_u64),
    ) {
        (Some(r), Some(w), Some(n)) => r.saturating_mul(w).saturating_mul(n),
        _ => 0,
    }
}

fn execute(s: &Shared, row: &JobRow, live: &Live) -> Outcome {
    match row.kind.as_str() {
        "solve" => match serde_json::from_str::<SolveRequest>(&row.request) {
            Ok(req) => solve(s, &row.id, &req, live),
            Err(e) => Outcome::Failed(format!("stored request: {e}")),
        },
        "plan" => match serde_json::from_str::<PlanRequest>(&row.request) {
            Ok(req) => plan(&req, live),
            Err(e) => Outcome::Failed(format!("stored request: {e}")),
        },
        k => Outcome::Failed(format!("unknown job kind `{k}`")),
    }
}

/// Checkpoints of a running job, kept in its journal row (at most one write a second).
struct JobCheckpoint<'a> {
    shared: &'a Shared,
    id: &'a str,
    resume: Option<Value>,
    last: Mutex<Option<Instant>>,
}

impl Checkpoint for JobCheckpoint<'_> {
    fn resume(&self) -> Option<Value> {
        self.resume.clone()
    }

    fn due(&self) -> bool {
        lock(&self.last).is_none_or(|t| t.elapsed() >= CHECKPOINT_EVERY)
    }

    fn save(&self, state: Value) {
        *lock(&self.last) = Some(Instant::now());
        if let Err(e) = self.shared.journal().save_checkpoint(self.id, &state.to_string()) {
            eprintln!("qam serve: job {}: {e}", self.id);
        }
    }
}

fn solve(s: &Shared, id: &str, req: &SolveRequest, live: &Live) -> Outcome {
    let t0 = Instant::now();
    match req.constrained() {
        Ok(Some(m)) => return solve_constrained(s, req, &m, live, t0),
        Ok(None) => {}
        Err(e) => return Outcome::Failed(e.message),
    }
    let resume = s
        .journal()
        .checkpoint(id)
        .ok()
        .flatten()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok());
    let resumed_round = resume.as_ref().and_then(|v| v["round"].as_u64());
    let cp = JobCheckpoint {
        shared: s,
        id,
        resume,
        last: Mutex::new(None),
    };
    let problem = match req.problem() {
        Ok(p) => p,
        Err(e) => return Outcome::Failed(e.message),
    };
    let params = req.solver_params();
    let mut ctx = match params.context(&problem) {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    // A job's own time limit is a budget the solver fills (anytime); without one, the
    // server's cap only cuts a run short.
    let cap = Duration::from_secs_f64(s.config.limits.max_time_limit_s);
    if ctx.time_limit.is_none() {
        ctx.budget = crate::solvers::TimeBudget::Single;
    }
    ctx.time_limit = Some(ctx.time_limit.map_or(cap, |t| t.min(cap)));
    ctx.progress = Some(live);
    ctx.interrupt = Some(&live.interrupt);
    ctx.checkpoint = Some(&cp);
    let model = &problem.model;
    let attempt = |kind: SolverKind| {
        let built = params.build(kind, model, &s.config.gpu).map_err(|e| (e, kind))?;
        let resolved = built.kind;
        let set = built.solver.solve_with(model, &ctx).map_err(|e| (e, resolved))?;
        Ok::<_, (crate::solvers::SolveError, SolverKind)>((set, built.solver.name(), built.auto))
    };
    let (run, fallback) = match attempt(req.solver) {
        Ok(r) => (r, None),
        // A GPU solver that lacks or loses its device re-runs on its CPU twin.
        Err((e, kind)) => match kind.cpu_twin() {
            Some(twin) if !live.interrupt.load(Ordering::Relaxed) => {
                live.gpu.store(false, Ordering::Relaxed);
                live.set_total(0);
                match attempt(twin) {
                    Ok(r) => (r, Some(e.to_string())),
                    Err((e2, _)) => {
                        return Outcome::Failed(format!("{e}; the CPU fallback failed too: {e2}"));
                    }
                }
            }
            _ => return Outcome::Failed(e.to_string()),
        },
    };
    let (set, name, auto) = run;
    if let Some(b) = set.first() {
        live.best_energy(b.energy);
    }
    let mut v = match result_json(
        req.label(),
        &problem,
        name,
        &set,
        t0.elapsed().as_secs_f64(),
        req.instance,
        auto.as_deref(),
    ) {
        Ok(v) => v,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    if let Some(round) = resumed_round {
        v["resumed_from_round"] = json!(round);
    }
    if let Some(reason) = fallback {
        v["fallback"] = json!("cpu");
        v["fallback_reason"] = json!(reason);
    }
    if live.interrupt.load(Ordering::Relaxed) {
        Outcome::Cancelled(Some(v))
    } else {
        Outcome::Done(v)
    }
}

/// A constrained model (LP, qam-cqm JSON) with `cqm-sa`; the result is what `qam solve
/// FILE.lp --output json` prints. The run is bounded by the job's time limit (at most the
/// server's cap); a cancel takes effect when it ends.
fn solve_constrained(
    s: &Shared,
    req: &SolveRequest,
    m: &crate::cqm::ConstrainedModel,
    live: &Live,
    t0: Instant,
) -> Outcome {
    let cap = Duration::from_secs_f64(s.config.limits.max_time_limit_s);
    let params = req.cqm_params(m, cap);
    live.message("cqm-sa");
    match crate::cqm::CqmSaSolver::new(params.clone()).solve(m) {
        Ok(sol) => {
            live.best_energy(sol.energy);
            let auto = (req.solver == SolverKind::Auto).then_some("auto: cqm-sa (constrained model)");
            let v = crate::cqm::result_json(req.label(), m, &params, &sol, t0.elapsed().as_secs_f64(), auto);
            if live.interrupt.load(Ordering::Relaxed) {
                Outcome::Cancelled(Some(v))
            } else {
                Outcome::Done(v)
            }
        }
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

fn plan(req: &PlanRequest, live: &Live) -> Outcome {
    let inst = match req.scenario() {
        Ok(i) => i,
        Err(e) => return Outcome::Failed(e.message),
    };
    let orch = match req.params.orchestrator() {
        Ok(o) => o,
        Err(e) => return Outcome::Failed(e.message),
    };
    live.message("planning");
    match orch.plan_instance(&inst, None) {
        Ok(plan) => {
            live.best_energy(plan.metrics.objective);
            match serde_json::to_value(&plan) {
                Ok(v) => Outcome::Done(v),
                Err(e) => Outcome::Failed(e.to_string()),
            }
        }
        Err(e) => Outcome::Failed(e.to_string()),
    }
}
