//! Counters of the service, rendered in the Prometheus text format (version 0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds (seconds) of the job duration histogram's buckets.
pub const DURATION_BUCKETS_S: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0, 600.0];

#[derive(Default)]
struct Inner {
    accepted: u64,
    finished: BTreeMap<&'static str, u64>,
    rejected: BTreeMap<u16, u64>,
    buckets: [u64; DURATION_BUCKETS_S.len()],
    duration_sum: f64,
    duration_count: u64,
    flip_attempts: u64,
    fallbacks: u64,
}

/// Service counters since start.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// Gauges read at render time.
pub struct Gauges<'a> {
    /// Jobs waiting.
    pub queue_depth: usize,
    /// Running jobs on the CPU.
    pub running_cpu: usize,
    /// Running jobs on the GPU.
    pub running_gpu: usize,
    /// Solver threads.
    pub workers: usize,
    /// The GPU adapter's name, or `none`.
    pub gpu_name: &'a str,
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Metrics {
    /// A job was accepted (202).
    pub fn accepted(&self) {
        lock(&self.inner).accepted += 1;
    }

    /// A request was rejected with `status`.
    pub fn rejected(&self, status: u16) {
        *lock(&self.inner).rejected.entry(status).or_default() += 1;
    }

    /// A job ended with `status` after running `seconds` (None: never ran) having made
    /// `flips` flip attempts.
    pub fn finished(&self, status: &'static str, seconds: Option<f64>, flips: u64, fallback: bool) {
        let mut m = lock(&self.inner);
        *m.finished.entry(status).or_default() += 1;
        if let Some(s) = seconds {
            for (b, &le) in m.buckets.iter_mut().zip(&DURATION_BUCKETS_S) {
                if s <= le {
                    *b += 1;
                }
            }
            m.duration_sum += s;
            m.duration_count += 1;
        }
        m.flip_attempts += flips;
        m.fallbacks += u64::from(fallback);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, g: &Gauges) -> String {
        let m = lock(&self.inner);
        let mut s = String::new();
        let _ = writeln!(s, "# HELP qam_jobs_accepted_total Jobs accepted (202) since start.");
        let _ = writeln!(s, "# TYPE qam_jobs_accepted_total counter");
        let _ = writeln!(s, "qam_jobs_accepted_total {}", m.accepted);
        let _ = writeln!(s, "# HELP qam_jobs_total Jobs ended since start, by final status.");
        let _ = writeln!(s, "# TYPE qam_jobs_total counter");
        for st in ["done", "failed", "cancelled"] {
            let _ = writeln!(
                s,
                "qam_jobs_total{{status=\"{st}\"}} {}",
                m.finished.get(st).copied().unwrap_or(0)
            );
        }
        let _ = writeln!(
            s,
            "# HELP qam_requests_rejected_total Requests answered with a 4xx, by status."
        );
        let _ = writeln!(s, "# TYPE qam_requests_rejected_total counter");
        for (code, n) in &m.rejected {
            let _ = writeln!(s, "qam_requests_rejected_total{{code=\"{code}\"}} {n}");
        }
        let _ = writeln!(s, "# HELP qam_job_duration_seconds Run time of jobs that ran.");
        let _ = writeln!(s, "# TYPE qam_job_duration_seconds histogram");
        for (b, le) in m.buckets.iter().zip(DURATION_BUCKETS_S) {
            let _ = writeln!(s, "qam_job_duration_seconds_bucket{{le=\"{le}\"}} {b}");
        }
        let _ = writeln!(s, "qam_job_duration_seconds_bucket{{le=\"+Inf\"}} {}", m.duration_count);
        let _ = writeln!(s, "qam_job_duration_seconds_sum {}", m.duration_sum);
        let _ = writeln!(s, "qam_job_duration_seconds_count {}", m.duration_count);
        let _ = writeln!(s, "# HELP qam_queue_depth Jobs waiting for a worker.");
        let _ = writeln!(s, "# TYPE qam_queue_depth gauge");
        let _ = writeln!(s, "qam_queue_depth {}", g.queue_depth);
        let _ = writeln!(s, "# HELP qam_jobs_running Jobs running now, by device.");
        let _ = writeln!(s, "# TYPE qam_jobs_running gauge");
        let _ = writeln!(s, "qam_jobs_running{{device=\"cpu\"}} {}", g.running_cpu);
        let _ = writeln!(s, "qam_jobs_running{{device=\"gpu\"}} {}", g.running_gpu);
        let _ = writeln!(s, "# HELP qam_workers Solver threads.");
        let _ = writeln!(s, "# TYPE qam_workers gauge");
        let _ = writeln!(s, "qam_workers {}", g.workers);
        let _ = writeln!(
            s,
            "# HELP qam_flip_attempts_total Spin-flip attempts of finished jobs (where the solver counts them)."
        );
        let _ = writeln!(s, "# TYPE qam_flip_attempts_total counter");
        let _ = writeln!(s, "qam_flip_attempts_total {}", m.flip_attempts);
        let _ = writeln!(s, "# HELP qam_gpu_fallbacks_total GPU jobs re-run on the CPU twin.");
        let _ = writeln!(s, "# TYPE qam_gpu_fallbacks_total counter");
        let _ = writeln!(s, "qam_gpu_fallbacks_total {}", m.fallbacks);
        let _ = writeln!(s, "# HELP qam_device_info The GPU adapter jobs use (none: CPU only).");
        let _ = writeln!(s, "# TYPE qam_device_info gauge");
        let name = g.gpu_name.replace('\\', "\\\\").replace('"', "\\\"");
        let _ = writeln!(s, "qam_device_info{{gpu=\"{name}\"}} 1");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.finished("done", Some(0.02), 10, false);
        m.finished("done", Some(3.0), 5, true);
        m.finished("cancelled", None, 0, false);
        let text = m.render(&Gauges {
            queue_depth: 2,
            running_cpu: 1,
            running_gpu: 0,
            workers: 1,
            gpu_name: "none",
        });
        assert!(text.contains("qam_jobs_total{status=\"done\"} 2"));
        assert!(text.contains("qam_jobs_total{status=\"cancelled\"} 1"));
        assert!(text.contains("qam_job_duration_seconds_bucket{le=\"0.01\"} 0"));
        assert!(text.contains("qam_job_duration_seconds_bucket{le=\"0.025\"} 1"));
        assert!(text.contains("qam_job_duration_seconds_bucket{le=\"10\"} 2"));
        assert!(text.contains("qam_job_duration_seconds_count 2"));
        assert!(text.contains("qam_flip_attempts_total 15"));
        assert!(text.contains("qam_queue_depth 2"));
    }
}
