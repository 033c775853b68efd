//! `qam serve`: a durable solver service over HTTP/JSON.
//!
//! - `journal`: every accepted job is written to SQLite (WAL mode) in the data folder
//!   before `202 Accepted` is answered; a restart on the same folder re-queues what was
//!   queued or running, so each accepted job ends exactly once.
//! - `runner`: `workers` plain OS threads take jobs from the queue and run the solver
//!   (never on the async runtime), report progress, honour cancellation through the
//!   solver's interrupt flag, and fall back from a GPU solver to its CPU twin.
//! - `http`: the versioned JSON API (axum on tokio), bearer-token auth, limits, server-sent
//!   events, Prometheus metrics and the dashboard page.
//!
//! The library reads no environment: everything comes in [`ServeConfig`].

mod http;
mod journal;
mod metrics;
mod request;
mod runner;

use crate::solvers::registry::GpuPolicy;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Errors of the service (start-up and journal).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The journal database failed.
    #[error("journal {path}: {source}")]
    Journal {
        /// The database file.
        path: String,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A file or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A configuration value is out of range; names it.
    #[error("invalid setting `{name}`: {reason}")]
    Config {
        /// The flag name.
        name: &'static str,
        /// Why.
        reason: String,
    },
}

/// Caps on what a client may ask (each answered with a 4xx that names the limit).
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Largest request body in bytes (`413`, `max-body-bytes`).
    pub max_body_bytes: usize,
    /// Most variables of a submitted model (`422`, `max-variables`).
    pub max_variables: usize,
    /// Longest time limit in seconds a job may ask for; jobs that give none stop after it
    /// (`422`, `max-time-limit`).
    pub max_time_limit_s: f64,
    /// Most jobs waiting in the queue (`429`, `max-queue`).
    pub max_queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 << 20,
            max_variables: 1_000_000,
            max_time_limit_s: 3600.0,
            max_queue: 10_000,
        }
    }
}

/// Everything `qam serve` needs.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Address to listen on (port 0: any free port, printed on start).
    pub listen: SocketAddr,
    /// Folder of the journal (`jobs.sqlite3`) and checkpoints; created if missing.
    pub data_dir: PathBuf,
    /// Bearer token every API request must carry; `None`: no authentication.
    pub token: Option<String>,
    /// Solver threads (jobs run at once).
    pub workers: usize,
    /// Request caps.
    pub limits: Limits,
    /// How `auto` treats GPU adapters.
    pub gpu: GpuPolicy,
    /// QAOA tuning knobs of jobs whose `params.qaoa-tuning` leaves them unset (`qam serve`
    /// fills them from `QAM_QAOA_*`); speed only.
    pub qaoa_tuning: crate::qaoa::Tuning,
}

impl ServeConfig {
    /// Checks the settings; errors name the flag.
    pub fn validate(&self) -> Result<(), ServeError> {
        let bad = |name, reason: String| Err(ServeError::Config { name, reason });
        if self.workers == 0 {
            return bad("workers", "must be at least 1".into());
        }
        if self.limits.max_body_bytes < 1024 {
            return bad("max-body-bytes", "must be at least 1024".into());
        }
        if !(self.limits.max_time_limit_s.is_finite() && self.limits.max_time_limit_s > 0.0) {
            return bad(
                "max-time-limit",
                format!(
                    "must be a positive number of seconds, not {}",
                    self.limits.max_time_limit_s
                ),
            );
        }
        if self.limits.max_queue == 0 {
            return bad("max-queue", "must be at least 1".into());
        }
        if let Err(e) = self.qaoa_tuning.validate() {
            return bad("qaoa-tuning", e.to_string());
        }
        if let Some(t) = &self.token
            && t.is_empty()
        {
            return bad("token-file", "the token is empty".into());
        }
        Ok(())
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Runs the service until the process is killed: opens the journal, re-queues unfinished
/// jobs, starts the workers and serves HTTP. `on_listen` gets the bound address (e.g. to
/// print it when port 0 was asked for).
pub fn run(config: ServeConfig, on_listen: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    config.validate()?;
    let shared = runner::Shared::open(config)?;
    runner::start_workers(&shared);
    http::serve(shared, on_listen)
}
