//! Bounds on the numbers that drive memory and time (issue 17): every user-given count
//! (reads, sweeps, shots, replicas, population, threads, time limits) is checked here
//! before anything is allocated, and memory estimates are compared with what the machine
//! (or the process's cgroup) can give, so a hostile number gets a clear error naming the
//! sizes instead of an abort, a swap storm or a hang.

use crate::solvers::{SolveError, invalid};
use std::time::Duration;

/// Longest accepted time limit, seconds (about 31.7 years): larger values are refused
/// rather than overflowing `Duration`.
pub const MAX_TIME_LIMIT_S: f64 = 1e9;

/// Most β values an annealing schedule may hold (`num_sweeps / sweeps_per_beta`); 32 MiB
/// of f64. Longer anneals use more sweeps per β.
pub const MAX_SCHEDULE_BETAS: usize = 1 << 22;

/// Hard upper bound on worker threads whatever the machine.
pub const MAX_THREADS: usize = 1024;

/// Most threads a pool may be asked for: 4 × the available parallelism, at most
/// [`MAX_THREADS`].
pub fn max_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    cores.saturating_mul(4).clamp(1, MAX_THREADS)
}

/// Checks a thread count (`0` = automatic); errors above [`max_threads`].
pub fn check_threads(name: &'static str, threads: usize) -> Result<(), SolveError> {
    let max = max_threads();
    if threads > max {
        return Err(invalid(
            name,
            format!(
                "{threads} threads exceed the limit of {max} (4 x the {} available cores, at most {MAX_THREADS})",
                max / 4
            ),
        ));
    }
    Ok(())
}

/// Converts a time limit in seconds to a [`Duration`]: positive, finite and at most
/// [`MAX_TIME_LIMIT_S`]; errors name `time_limit`.
pub fn time_limit(seconds: f64) -> Result<Duration, SolveError> {
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(invalid(
            "time_limit",
            format!("must be a positive number of seconds, not {seconds}"),
        ));
    }
    if seconds > MAX_TIME_LIMIT_S {
        return Err(invalid(
            "time_limit",
            format!("{seconds:e} s exceeds the limit of {MAX_TIME_LIMIT_S:e} s (omit it for no limit)"),
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Memory this process can still allocate, bytes: the smaller of the OS's
/// `MemAvailable` and the room left under a cgroup memory limit (v2 `memory.max` minus
/// `memory.current`, or v1 `memory.limit_in_bytes` minus `memory.usage_in_bytes`). `None`
/// when neither can be read (non-Linux).
pub fn available_memory() -> Option<u64> {
    let host = meminfo_available();
    match (host, cgroup_room()) {
        (Some(h), Some(c)) => Some(h.min(c)),
        (h, c) => h.or(c),
    }
}

/// What limits [`available_memory`], for messages: `"MemAvailable"` or `"cgroup limit"`.
fn memory_source() -> &'static str {
    match (meminfo_available(), cgroup_room()) {
        (Some(h), Some(c)) if c < h => "under the cgroup memory limit",
        (None, Some(_)) => "under the cgroup memory limit",
        _ => "available (MemAvailable)",
    }
}

fn meminfo_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.saturating_mul(1024))
}

fn read_u64(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn cgroup_room() -> Option<u64> {
    // cgroup v2: the process's own group from /proc/self/cgroup ("0::/path").
    if let Ok(text) = std::fs::read_to_string("/proc/self/cgroup")
        && let Some(rel) = text.lines().find_map(|l| l.strip_prefix("0::"))
    {
        let dir = format!("/sys/fs/cgroup{}", rel.trim_end_matches('/'));
        for d in [dir.as_str(), "/sys/fs/cgroup"] {
            if let Some(max) = read_u64(&format!("{d}/memory.max")) {
                let cur = read_u64(&format!("{d}/memory.current")).unwrap_or(0);
                return Some(max.saturating_sub(cur));
            }
        }
    }
    // cgroup v1 (an unlimited group reports a huge number, which min() ignores).
    let max = read_u64("/sys/fs/cgroup/memory/memory.limit_in_bytes")?;
    let cur = read_u64("/sys/fs/cgroup/memory/memory.usage_in_bytes").unwrap_or(0);
    Some(max.saturating_sub(cur))
}

/// Formats a byte count as GiB with the exact bytes.
pub fn fmt_bytes(b: u64) -> String {
    if b >= 1 << 30 {
        format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
    }
}

/// Errors (`TooLarge` for `solver`) when `bytes` exceed [`available_memory`]; the message
/// names what was to be allocated, the bytes needed and the bytes available.
pub fn check_memory(solver: &'static str, what: &str, bytes: u64) -> Result<(), SolveError> {
    if let Some(avail) = available_memory()
        && bytes > avail
    {
        return Err(SolveError::TooLarge {
            solver,
            reason: format!(
                "{what} needs {} but only {} is {}",
                fmt_bytes(bytes),
                fmt_bytes(avail),
                memory_source()
            ),
        });
    }
    Ok(())
}

/// `a * b * c` in u64, saturating (memory estimates never wrap).
pub fn bytes3(a: usize, b: usize, c: usize) -> u64 {
    (a as u64).saturating_mul(b as u64).saturating_mul(c as u64)
}

use crate::qaoa::QaoaParams;
use crate::solvers::{GreedySolver, PaParams, PtParams, SaParams};

/// Checks a `(hot, cold)` β range: finite, non-negative, hot end not above the cold end.
pub fn check_beta_range(range: Option<(f64, f64)>) -> Result<(), SolveError> {
    if let Some((hot, cold)) = range {
        if !(hot.is_finite() && cold.is_finite()) || hot < 0.0 || cold < 0.0 {
            return Err(invalid(
                "beta_range",
                format!("[{hot}, {cold}] must be finite and non-negative"),
            ));
        }
        if hot > cold {
            return Err(invalid(
                "beta_range",
                format!("HOT,COLD = {hot},{cold}: the hot end (small β) must not exceed the cold end"),
            ));
        }
    }
    Ok(())
}

fn check_count(name: &'static str, value: usize, max: usize, unit: &str) -> Result<(), SolveError> {
    if value == 0 {
        return Err(invalid(name, "must be at least 1"));
    }
    if value > max {
        return Err(invalid(name, format!("{value} exceeds the limit of {max} {unit}")));
    }
    Ok(())
}

/// Most reads, replicas (all chains together) or population members of one solve
/// (2^20 = 1,048,576): each read costs its state plus about 256 bytes of bookkeeping and
/// its own set-up, so far more reads would take gigabytes and ignore a time limit.
pub const MAX_READS: usize = 1 << 20;

/// Most QAOA layers `p` (each optimised in turn by INTERP).
pub const MAX_QAOA_LAYERS: usize = 1000;

/// Most QAOA shots (2^22 = 4,194,304): each is stored and polished.
pub const MAX_SHOTS: usize = 1 << 22;

impl SaParams {
    /// Checks the parameters for a model of `n` variables before anything is allocated:
    /// reads in `1..=MAX_READS`, at most [`MAX_SCHEDULE_BETAS`] sweeps (the schedule holds
    /// one β per sweep), a valid β range, and the states (`reads × n` bytes, twice) plus
    /// the schedule within [`available_memory`].
    pub fn validate(&self, n: usize) -> Result<(), SolveError> {
        check_count("num_reads", self.num_reads, MAX_READS, "reads")?;
        let sweeps = self.beta_schedule.as_ref().map_or(self.num_sweeps, |b| b.len());
        if sweeps > MAX_SCHEDULE_BETAS {
            return Err(invalid(
                "num_sweeps",
                format!(
                    "{sweeps} sweeps exceed the limit of {MAX_SCHEDULE_BETAS} per read (the schedule holds one β per \
                     sweep); use more reads, or pt/hierarchical with a time limit for long runs"
                ),
            ));
        }
        check_beta_range(self.beta_range)?;
        let bytes = bytes3(self.num_reads, 2 * n + 256, 1).saturating_add(bytes3(sweeps, 8, 1));
        check_memory("sa", &format!("{} reads x {n} variables", self.num_reads), bytes)
    }
}

impl PtParams {
    /// Checks the parameters for a model of `n` variables: chains and replicas at least 1
    /// with `chains × replicas <= MAX_READS`, a valid β range, and the replicas (state and
    /// local fields, `9 n` bytes each) within [`available_memory`].
    pub fn validate(&self, n: usize) -> Result<(), SolveError> {
        check_count("num_chains", self.num_chains, MAX_READS, "chains")?;
        let replicas = self.betas.as_ref().map_or(self.num_replicas, |b| b.len());
        check_count("num_replicas", replicas, MAX_READS, "replicas")?;
        let walkers = self.num_chains.saturating_mul(replicas);
        check_count("num_chains x num_replicas", walkers, MAX_READS, "replicas in all")?;
        check_beta_range(self.beta_range)?;
        check_memory(
            "pt",
            &format!("{} chains x {replicas} replicas x {n} variables", self.num_chains),
            bytes3(walkers, n.max(1), 9),
        )
    }
}

impl PaParams {
    /// Checks the parameters for a model of `n` variables: population in
    /// `1..=MAX_READS`, at most [`MAX_SCHEDULE_BETAS`] β steps, a valid β range, and the
    /// population (`9 n` bytes per member, twice during resampling) within
    /// [`available_memory`].
    pub fn validate(&self, n: usize) -> Result<(), SolveError> {
        check_count("population", self.population, MAX_READS, "members")?;
        if self.sweeps_per_beta > MAX_SCHEDULE_BETAS {
            return Err(invalid(
                "sweeps_per_beta",
                format!(
                    "{} sweeps per β exceed the limit of {MAX_SCHEDULE_BETAS} (the same bound as sweeps per read)",
                    self.sweeps_per_beta
                ),
            ));
        }
        let steps = self.num_sweeps / self.sweeps_per_beta.max(1);
        if steps > MAX_SCHEDULE_BETAS {
            return Err(invalid(
                "num_sweeps",
                format!(
                    "{} sweeps / {} per β = {steps} β steps exceed the limit of {MAX_SCHEDULE_BETAS}; raise \
                     sweeps_per_beta",
                    self.num_sweeps, self.sweeps_per_beta
                ),
            ));
        }
        check_beta_range(self.beta_range)?;
        check_memory(
            "pa",
            &format!("a population of {} x {n} variables", self.population),
            bytes3(self.population, n.max(1), 18),
        )
    }
}

impl GreedySolver {
    /// Checks the reads for a model of `n` variables (`1..=MAX_READS`, states within
    /// [`available_memory`]).
    pub fn validate(&self, n: usize) -> Result<(), SolveError> {
        let reads = self.initial_states.as_ref().map_or(self.num_reads, |s| s.len());
        check_count("num_reads", reads, MAX_READS, "reads")?;
        check_memory(
            "greedy",
            &format!("{reads} reads x {n} variables"),
            bytes3(reads, 2 * n + 256, 1),
        )
    }
}

impl QaoaParams {
    /// Checks the counts for a model of `n` variables: `1 <= p <= MAX_QAOA_LAYERS`, shots at most
    /// [`MAX_SHOTS`], and the sampled states (`shots × (n + 16)` bytes) within
    /// [`available_memory`]. (The state vector is checked by the simulators.)
    pub fn validate(&self, n: usize) -> Result<(), SolveError> {
        if self.p == 0 && self.angles.is_none() {
            return Err(invalid("p", "must be at least 1"));
        }
        if self.p > MAX_QAOA_LAYERS {
            return Err(invalid(
                "p",
                format!("{} layers exceed the limit of {MAX_QAOA_LAYERS}", self.p),
            ));
        }
        if self.shots > MAX_SHOTS {
            return Err(invalid(
                "shots",
                format!("{} exceeds the limit of {MAX_SHOTS} shots", self.shots),
            ));
        }
        self.tuning.check()?;
        check_memory(
            "qaoa",
            &format!("{} shots x {n} variables", self.shots),
            bytes3(self.shots, n + 16, 1),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_limits() {
        assert_eq!(time_limit(1.5).unwrap(), Duration::from_millis(1500));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e300, 2e9] {
            let e = time_limit(bad).unwrap_err().to_string();
            assert!(e.contains("time_limit"), "{e}");
        }
    }

    #[test]
    fn memory_refusal_names_the_sizes() {
        let e = check_memory("sa", "the states", u64::MAX).unwrap_err().to_string();
        if available_memory().is_some() {
            assert!(e.contains("the states needs") && e.contains("GiB"), "{e}");
        }
        assert!(check_memory("sa", "x", 1).is_ok());
    }

    #[test]
    fn thread_caps() {
        assert!(check_threads("threads", 1).is_ok());
        assert!(check_threads("threads", 100_000).is_err());
        assert!(max_threads() <= MAX_THREADS);
    }
}
