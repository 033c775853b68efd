//! `qam serve`: the solver service (see `qam::serve` and README "qam serve").

use super::solvers::gpu_policy;
use anyhow::{Context, Result};
use clap::Args;
use qam::serve::{Limits, ServeConfig};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `qam serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: a free port; the address is printed on stdout).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Folder for the job journal (SQLite, WAL mode) and checkpoints; created if missing.
    #[arg(long)]
    data_dir: PathBuf,
    /// File holding the bearer token every API request must carry (first line; trailing
    /// whitespace ignored). Without it the API is open: keep --listen on loopback.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Jobs solved at once (each solver still uses all cores).
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Largest request body in bytes (413 above).
    #[arg(long, default_value_t = Limits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Most variables of a submitted model (422 above).
    #[arg(long, default_value_t = Limits::default().max_variables)]
    max_variables: usize,
    /// Longest time limit a job may ask for, in seconds; also the limit of jobs that give
    /// none (422 above).
    #[arg(long, default_value_t = Limits::default().max_time_limit_s)]
    max_time_limit: f64,
    /// Most jobs waiting in the queue (429 above).
    #[arg(long, default_value_t = Limits::default().max_queue)]
    max_queue: usize,
    /// CPU threads the jobs' solvers run on, all workers together (one rayon pool for the
    /// server; GPU solvers are unaffected) [default: all cores, or RAYON_NUM_THREADS; 0:
    /// all cores]. The same seed gives the same answer on any thread count.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Runs `qam serve` until killed.
pub fn run(a: ServeArgs) -> Result<ExitCode> {
    if let Some(t) = a.threads {
        qam::limits::check_threads("threads", t).map_err(|e| anyhow::anyhow!("--threads: {e}"))?;
        // The workers are plain OS threads, so a pool `install`ed around the server would
        // not reach them: `serve` is the whole process, so its pool is the global one.
        if t > 0 {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build_global()
                .map_err(|e| anyhow::anyhow!("--threads {t}: cannot start the thread pool: {e}"))?;
        }
    }
    let token = match &a.token_file {
        None => None,
        Some(f) => {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("cannot read --token-file {}", f.display()))?;
            let t = text.lines().next().unwrap_or("").trim().to_string();
            if t.is_empty() {
                anyhow::bail!("--token-file {}: the first line is empty", f.display());
            }
            Some(t)
        }
    };
    if !a.listen.ip().is_loopback() && token.is_none() {
        eprintln!(
            "qam serve: warning: listening on {} without --token-file: anyone who can reach it can submit jobs",
            a.listen
        );
    }
    let config = ServeConfig {
        listen: a.listen,
        data_dir: a.data_dir,
        token,
        workers: a.workers,
        limits: Limits {
            max_body_bytes: a.max_body_bytes,
            max_variables: a.max_variables,
            max_time_limit_s: a.max_time_limit,
            max_queue: a.max_queue,
        },
        gpu: gpu_policy(),
        qaoa_tuning: super::gpu_select::qaoa_tuning()?,
    };
    qam::serve::run(config, |addr| {
        println!("qam serve: listening on http://{addr}");
        let _ = std::io::stdout().flush();
    })?;
    Ok(ExitCode::SUCCESS)
}
