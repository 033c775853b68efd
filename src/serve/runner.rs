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
use crate::orchestrate::Interrupt;
use crate::solvers::registry::{SolverKind, result_json};
use crate::solvers::{Checkpoint, Progress, SolveContext};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How often the running jobs are marked alive in the journal (their time spent, should the
/// server die, is counted up to the last mark).
const HEARTBEAT_EVERY: Duration = Duration::from_millis(500);

/// How often a running job's checkpoint is written to the journal at most.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Most best-energy points kept per running job (older points are thinned out).
const HISTORY_MAX: usize = 1000;

/// Progress of a running job, shared by its solver thread and the HTTP handlers.
pub struct Live {
    /// Set by `DELETE`: the solver (or planner) stops and returns its best state so far.
    pub interrupt: Interrupt,
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
            interrupt: Interrupt::new(),
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
                    live.interrupt.set();
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
    let s = shared.clone();
    std::thread::Builder::new()
        .name("qam-heartbeat".into())
        .spawn(move || {
            loop {
                std::thread::sleep(HEARTBEAT_EVERY);
                if !lock(&s.live).is_empty()
                    && let Err(e) = s.journal().heartbeat()
                {
                    eprintln!("qam serve: heartbeat: {e}");
                }
            }
        })
        .expect("spawn the heartbeat thread");
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
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| execute(s, &row, &live)))
        .unwrap_or_else(|p| Outcome::Failed(format!("the solver panicked: {}", panic_message(p.as_ref()))));
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

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|m| m.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
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

/// Runs a claimed job. A job restarted after a crash runs with the time it had left
/// (its limit less `spent_s`); its result then says `time_spent_before_s` and
/// `time_limit_left_s`.
fn execute(s: &Shared, row: &JobRow, live: &Live) -> Outcome {
    let spent = row.spent_s;
    let (outcome, limit) = match row.kind.as_str() {
        "solve" => match serde_json::from_str::<SolveRequest>(&row.request) {
            Ok(req) => {
                let req = req.with_time_spent(spent);
                (solve(s, &row.id, &req, live), req.solver_params().time_limit)
            }
            Err(e) => (Outcome::Failed(format!("stored request: {e}")), None),
        },
        "plan" => match serde_json::from_str::<PlanRequest>(&row.request) {
            Ok(mut req) => {
                if spent > 0.0 {
                    req.time_limit = req.time_limit.map(|t| super::request::time_left(t, spent));
                }
                (plan(&req, live), req.time_limit)
            }
            Err(e) => (Outcome::Failed(format!("stored request: {e}")), None),
        },
        k => (Outcome::Failed(format!("unknown job kind `{k}`")), None),
    };
    match outcome {
        Outcome::Done(mut v) | Outcome::Cancelled(Some(mut v)) if spent > 0.0 && v.is_object() => {
            v["time_spent_before_s"] = json!(spent);
            v["time_limit_left_s"] = json!(limit);
            if live.interrupt.is_set() {
                Outcome::Cancelled(Some(v))
            } else {
                Outcome::Done(v)
            }
        }
        o => o,
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
    let mut params = req.solver_params();
    // The request's QAOA knobs, the server's where it leaves one unset.
    params.qaoa_tuning = params.qaoa_tuning.or(s.config.qaoa_tuning);
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
    ctx.interrupt = Some(live.interrupt.flag());
    ctx.checkpoint = Some(&cp);
    let model = &problem.model;
    let attempt = |kind: SolverKind| {
        let built = params.build(kind, model, &s.config.gpu).map_err(|e| (e, kind))?;
        let resolved = built.kind;
        #[cfg(test)]
        let built = fault::inject(req.name.as_deref(), built);
        // A GPU solver whose device fails mid-run may panic inside the driver stack: that
        // is a lost device too (its CPU twin takes over), not a failed job.
        let run = || built.solver.solve_with(model, &ctx);
        let set = if resolved.is_gpu() {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|p| {
                Err(crate::solvers::SolveError::Backend(format!(
                    "the GPU solver failed: {}",
                    panic_message(p.as_ref())
                )))
            })
        } else {
            run()
        }
        .map_err(|e| (e, resolved))?;
        Ok::<_, (crate::solvers::SolveError, SolverKind)>((set, built.solver.name(), built.auto))
    };
    let (run, fallback) = match attempt(req.solver) {
        Ok(r) => (r, None),
        // A GPU solver that lacks or loses its device re-runs on its CPU twin.
        Err((e, kind)) => match kind.cpu_twin() {
            Some(twin) if !live.interrupt.is_set() => {
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
    if live.interrupt.is_set() {
        Outcome::Cancelled(Some(v))
    } else {
        Outcome::Done(v)
    }
}

/// A constrained model (LP, qam-cqm JSON) with `cqm-sa`, or `gpu-cqm-sa` when the request
/// names it; the result is what `qam solve FILE.lp --output json` prints. The run is
/// bounded by the job's time limit (at most the server's cap); a cancel stops it within a
/// sweep (a dispatch on the GPU), with its best state so far. A GPU run that has no device,
/// or loses it, re-runs on `cqm-sa` with `"fallback": "cpu"` and the reason, as the QUBO
/// solvers do.
fn solve_constrained(
    s: &Shared,
    req: &SolveRequest,
    m: &crate::cqm::ConstrainedModel,
    live: &Live,
    t0: Instant,
) -> Outcome {
    let cap = Duration::from_secs_f64(s.config.limits.max_time_limit_s);
    let params = req.cqm_params(m, cap);
    let ctx = SolveContext {
        progress: Some(live),
        interrupt: Some(live.interrupt.flag()),
        ..Default::default()
    };
    let mut fallback = None;
    if req.solver == SolverKind::GpuCqmSa {
        live.message("gpu-cqm-sa");
        let run = || {
            let device = crate::gpu::GpuContext::shared()?;
            let name = device.name().to_string();
            crate::gpu::cqm::GpuCqmSaSolver::with_context(params.clone(), device)
                .solve_with(m, &ctx)
                .map(|sol| (sol, name))
        };
        // A lost device may panic inside the driver stack: that is a fallback too.
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|p| {
            Err(crate::gpu::cqm::GpuCqmError::from(crate::gpu::GpuError::Runtime(
                format!("the GPU solver failed: {}", panic_message(p.as_ref())),
            )))
        });
        match res {
            Ok((sol, device)) => {
                live.best_energy(sol.energy);
                let mut v = crate::cqm::result_json(req.label(), m, &params, &sol, t0.elapsed().as_secs_f64(), None);
                v["solver"] = json!("gpu-cqm-sa");
                v["device"] = json!(device);
                v["stop_reason"] = json!(sol.stop);
                return if live.interrupt.is_set() {
                    Outcome::Cancelled(Some(v))
                } else {
                    Outcome::Done(v)
                };
            }
            Err(e) if !live.interrupt.is_set() => {
                live.gpu.store(false, Ordering::Relaxed);
                fallback = Some(e.to_string());
            }
            Err(e) => return Outcome::Failed(e.to_string()),
        }
    }
    live.message("cqm-sa");
    match crate::cqm::CqmSaSolver::new(params.clone()).solve_with(m, None, &ctx) {
        Ok(sol) => {
            live.best_energy(sol.energy);
            let auto = (req.solver == SolverKind::Auto).then_some("auto: cqm-sa (constrained model)");
            let mut v = crate::cqm::result_json(req.label(), m, &params, &sol, t0.elapsed().as_secs_f64(), auto);
            if let Some(reason) = fallback {
                v["fallback"] = json!("cpu");
                v["fallback_reason"] = json!(reason);
            }
            if live.interrupt.is_set() {
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
    let mut orch = match req.params.orchestrator() {
        Ok(o) => o,
        Err(e) => return Outcome::Failed(e.message),
    };
    orch.config.time_limit = req.time_limit;
    orch.config.interrupt = Some(live.interrupt.clone());
    live.message("planning");
    match orch.plan_instance(&inst, None) {
        Ok(plan) => {
            live.best_energy(plan.metrics.objective);
            match serde_json::to_value(&plan) {
                Ok(v) if live.interrupt.is_set() => Outcome::Cancelled(Some(v)),
                Ok(v) => Outcome::Done(v),
                Err(e) => Outcome::Failed(e.to_string()),
            }
        }
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// Test-only fault injection: a GPU solve of a request whose `name` is registered here runs
/// on its device for a while, then its device is "lost" (an error, or a panic as a driver
/// may raise). Compiled into unit tests only; nothing in a shipped build can trigger it.
#[cfg(test)]
pub(crate) mod fault {
    use crate::model::{Model, SampleSet};
    use crate::solvers::registry::Built;
    use crate::solvers::{SolveContext, SolveError, Solver, TimeBudget};
    use std::sync::Mutex;
    use std::time::Duration;

    /// How the device fails.
    #[derive(Clone, Copy, Debug)]
    pub enum Loss {
        /// The solver returns a device error.
        Error,
        /// The solver panics (as wgpu does on some device losses).
        Panic,
    }

    /// Request names whose GPU solves lose their device after the given run time.
    pub static LOSE_DEVICE: Mutex<Vec<(String, Duration, Loss)>> = Mutex::new(Vec::new());

    struct LosesDevice {
        inner: Box<dyn Solver>,
        after: Duration,
        loss: Loss,
    }

    impl Solver for LosesDevice {
        fn name(&self) -> &'static str {
            self.inner.name()
        }

        fn solve_with(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
            // Really start on the device (progress, best energies), then lose it.
            let short = SolveContext {
                time_limit: Some(self.after),
                budget: TimeBudget::Single,
                start: None,
                ..*ctx
            };
            self.inner.solve_with(model, &short)?;
            match self.loss {
                Loss::Error => Err(SolveError::Backend("GPU device lost (injected fault)".into())),
                Loss::Panic => panic!("GPU device lost (injected panic)"),
            }
        }
    }

    /// Wraps `built` when its request is registered and it is a GPU solver.
    pub(crate) fn inject(name: Option<&str>, built: Built) -> Built {
        let hit = LOSE_DEVICE
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(n, _, _)| Some(n.as_str()) == name)
            .map(|&(_, after, loss)| (after, loss));
        match hit {
            Some((after, loss)) if built.kind.is_gpu() => Built {
                solver: Box::new(LosesDevice {
                    inner: built.solver,
                    after,
                    loss,
                }),
                ..built
            },
            _ => built,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::{Limits, ServeConfig};

    fn server(dir: &std::path::Path) -> Arc<Shared> {
        server_with(dir, Default::default())
    }

    fn server_with(dir: &std::path::Path, qaoa_tuning: crate::qaoa::Tuning) -> Arc<Shared> {
        let shared = Shared::open(ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.to_path_buf(),
            token: None,
            workers: 1,
            limits: Limits::default(),
            gpu: Default::default(),
            qaoa_tuning,
        })
        .unwrap();
        start_workers(&shared);
        shared
    }

    fn wait_end(s: &Shared, id: &str) -> JobRow {
        for _ in 0..1200 {
            let row = s.journal().get(id).unwrap().unwrap();
            if !matches!(row.status.as_str(), "queued" | "running") {
                return row;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("job {id} did not end within 60 s");
    }

    fn ring(n: usize) -> String {
        let mut s = format!("{n} {n}\n");
        for i in 0..n {
            s += &format!("{} {} 1\n", i + 1, (i + 1) % n + 1);
        }
        s
    }

    /// A `gpu-sa` job whose device is lost after it started ends `done` on the CPU twin,
    /// with `"fallback": "cpu"` and the reason; the answer is the ring's ground state.
    #[test]
    fn a_gpu_job_whose_device_is_lost_mid_run_falls_back_to_the_cpu_twin() {
        if crate::gpu::test_device(crate::gpu::GpuContext::shared()).is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let s = server(dir.path());
        for (name, loss) in [("lost-error", fault::Loss::Error), ("lost-panic", fault::Loss::Panic)] {
            fault::LOSE_DEVICE
                .lock()
                .unwrap()
                .push((name.into(), Duration::from_millis(200), loss));
            let req = json!({"format": "gset", "data": ring(12), "solver": "gpu-sa", "name": name,
                             "params": {"reads": 4, "sweeps": 200, "seed": 3}});
            let (code, v) = s.admit("solve", &req.to_string(), None).unwrap();
            assert_eq!(code, 202);
            let row = wait_end(&s, v["id"].as_str().unwrap());
            assert_eq!(row.status, "done", "{loss:?}: {:?}", row.error);
            let r: Value = serde_json::from_str(row.result.as_deref().unwrap()).unwrap();
            assert_eq!(r["fallback"], "cpu", "{r}");
            assert_eq!(r["solver"], "sa", "{r}");
            let reason = r["fallback_reason"].as_str().unwrap();
            assert!(reason.contains("GPU device lost"), "{loss:?}: {reason}");
            // The CPU twin's own answer with the same parameters and seed.
            let twin = json!({"format": "gset", "data": ring(12), "solver": "sa",
                              "params": {"reads": 4, "sweeps": 200, "seed": 3}});
            let (_, t) = s.admit("solve", &twin.to_string(), None).unwrap();
            let t: Value =
                serde_json::from_str(wait_end(&s, t["id"].as_str().unwrap()).result.as_deref().unwrap()).unwrap();
            assert_eq!((&r["energy"], &r["state"]), (&t["energy"], &t["state"]));
            assert!(r["energy"].as_f64().unwrap() >= -12.0);
        }
        assert!(
            s.render_metrics().contains("qam_gpu_fallbacks_total 2"),
            "{}",
            s.render_metrics()
        );
    }

    /// The same fallback without a fault is not taken: the GPU result stands.
    #[test]
    fn a_gpu_job_without_a_fault_runs_on_the_gpu() {
        if crate::gpu::test_device(crate::gpu::GpuContext::shared()).is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let s = server(dir.path());
        let req = json!({"format": "gset", "data": ring(12), "solver": "gpu-sa", "name": "healthy",
                         "params": {"reads": 4, "sweeps": 200, "seed": 3}});
        let (_, v) = s.admit("solve", &req.to_string(), None).unwrap();
        let row = wait_end(&s, v["id"].as_str().unwrap());
        assert_eq!(row.status, "done", "{:?}", row.error);
        let r: Value = serde_json::from_str(row.result.as_deref().unwrap()).unwrap();
        assert!(r.get("fallback").is_none(), "{r}");
        assert_eq!(r["solver"], "gpu-sa", "{r}");
    }

    /// QAOA jobs run with the server's tuning knobs unless the request's
    /// `params.qaoa-tuning` sets them (the simulator reports its low pass in `backend`);
    /// an out-of-range knob is refused at admission, naming it.
    #[test]
    fn qaoa_jobs_take_the_servers_tuning_unless_the_request_sets_it() {
        let dir = tempfile::tempdir().unwrap();
        let s = server_with(
            dir.path(),
            crate::qaoa::Tuning {
                low_bits: Some(4),
                ..Default::default()
            },
        );
        let run = |tuning: Value| {
            let req = json!({"format": "gset", "data": ring(10), "solver": "qaoa",
                             "params": {"seed": 1, "optimizer": "none", "shots": 20,
                                        "qaoa-device": "cpu", "qaoa-tuning": tuning}});
            let (code, v) = s.admit("solve", &req.to_string(), None).unwrap();
            assert_eq!(code, 202, "{v}");
            let row = wait_end(&s, v["id"].as_str().unwrap());
            assert_eq!(row.status, "done", "{:?}", row.error);
            let r: Value = serde_json::from_str(row.result.as_deref().unwrap()).unwrap();
            (r["backend"].as_str().unwrap().to_string(), r["energy"].clone())
        };
        let (server_default, e1) = run(json!({}));
        assert!(server_default.contains("low pass 4 qubits"), "{server_default}");
        let (requested, e2) = run(json!({"low-bits": 5}));
        assert!(requested.contains("low pass 5 qubits"), "{requested}");
        // Speed knobs: the same answer.
        assert_eq!(e1, e2);
        let bad = json!({"format": "gset", "data": ring(10), "solver": "qaoa",
                         "params": {"qaoa-tuning": {"low-bits": 99}}});
        let req: crate::serve::request::SolveRequest = serde_json::from_value(bad).unwrap();
        let e = req.check(&Limits::default()).unwrap_err();
        assert_eq!(e.status, 422);
        assert!(
            e.message.contains("qaoa-tuning") && e.message.contains("low-bits"),
            "{}",
            e.message
        );
    }
}
