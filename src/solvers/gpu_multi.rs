//! `gpu-sa` over several devices: the reads are split into one contiguous share per
//! device, each share annealed by a [`GpuSaSolver`] on its own device (all devices at
//! once, one host thread each), and the samples pooled into one [`SampleSet`].
//!
//! Share `k` of `d` gets `num_reads / d` reads (the first `num_reads % d` shares one
//! more) and the seed [`derive_seed`]`(seed, k)` (share 0 keeps `seed`, so one device
//! gives exactly the single-device answer). The answer is a function of the seed and the
//! list of devices: the same seed on the same devices gives the same samples.

use super::gpu_sa::{GpuSaParams, GpuSaSolver};
use super::{SolveContext, SolveError, Solver, invalid};
use crate::gpu::GpuContext;
use crate::model::{Model, SampleSet, SolveInfo, Timing};
use crate::rng::derive_seed;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

/// [`GpuSaSolver`] with its reads spread over several devices (`--devices all`).
#[derive(Clone, Debug)]
pub struct MultiGpuSaSolver {
    /// Parameters, as for one device; `num_reads` is the total over all devices.
    pub params: GpuSaParams,
    /// The devices, in the order shares are assigned (at least one).
    pub devices: Vec<Arc<GpuContext>>,
}

impl MultiGpuSaSolver {
    /// A solver over `devices` (e.g. [`GpuContext::open_all`]).
    pub fn new(params: GpuSaParams, devices: Vec<Arc<GpuContext>>) -> Self {
        MultiGpuSaSolver { params, devices }
    }

    /// `(first read, reads)` of each device's share; devices with no read get none.
    pub fn shares(num_reads: usize, devices: usize) -> Vec<(usize, usize)> {
        let d = devices.max(1);
        let mut out = Vec::with_capacity(d);
        let mut first = 0;
        for k in 0..d {
            let len = num_reads / d + usize::from(k < num_reads % d);
            if len > 0 {
                out.push((first, len));
            }
            first += len;
        }
        out
    }
}

impl Solver for MultiGpuSaSolver {
    fn name(&self) -> &'static str {
        "gpu-sa"
    }

    fn solve_with(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        let t0 = Instant::now();
        if self.devices.is_empty() {
            return Err(invalid("devices", "needs at least one GPU device"));
        }
        let p = &self.params;
        if p.sa.num_reads == 0 {
            return Err(invalid("num_reads", "must be at least 1"));
        }
        let shares = Self::shares(p.sa.num_reads, self.devices.len());
        let results: Vec<Result<SampleSet, SolveError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = shares
                .iter()
                .enumerate()
                .map(|(k, &(first, len))| {
                    let mut params = p.clone();
                    params.sa.num_reads = len;
                    params.sa.seed = if k == 0 {
                        p.sa.seed
                    } else {
                        derive_seed(p.sa.seed, k as u64)
                    };
                    if let Some(init) = &p.sa.initial_states {
                        // Reads tile the given states cyclically; keep each read's own state.
                        let tiled: Vec<Vec<i8>> = (first..first + len).map(|r| init[r % init.len()].clone()).collect();
                        params.sa.initial_states = Some(tiled);
                    }
                    let solver = GpuSaSolver::with_context(params, self.devices[k].clone());
                    scope.spawn(move || solver.solve_with(model, ctx))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(SolveError::Backend("gpu-sa: a device thread panicked".into())))
                })
                .collect()
        });
        let mut samples = Vec::new();
        let mut attempts = 0.0;
        let mut devices = Vec::new();
        let mut first_info: Option<SolveInfo> = None;
        for (k, r) in results.into_iter().enumerate() {
            let set = r?;
            attempts += set
                .info
                .extra
                .get("flip_attempts")
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0);
            devices.push(json!({
                "index": self.devices[k].index(),
                "name": self.devices[k].name(),
                "reads": shares[k].1,
                "sampling_s": set.info.timing.sampling_s,
            }));
            samples.extend(set.samples().iter().cloned());
            first_info.get_or_insert(set.info);
        }
        let mut info = first_info.unwrap_or_default();
        info.seed = Some(p.sa.seed);
        info.params.insert("num_reads".into(), json!(p.sa.num_reads));
        info.params.insert("devices".into(), json!(self.devices.len()));
        info.extra.insert("flip_attempts".into(), json!(attempts));
        info.extra.insert("devices".into(), json!(devices));
        let t2 = Instant::now();
        let mut set = SampleSet::new(model.vartype(), model.num_variables(), samples, info);
        set.info.timing = Timing {
            preprocessing_s: 0.0,
            sampling_s: (t2 - t0).as_secs_f64(),
            postprocessing_s: 0.0,
        };
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::MultiGpuSaSolver;

    #[test]
    fn shares_cover_every_read_once() {
        for reads in 0..40 {
            for d in 1..6 {
                let s = MultiGpuSaSolver::shares(reads, d);
                assert_eq!(s.iter().map(|x| x.1).sum::<usize>(), reads);
                let mut next = 0;
                for &(first, len) in &s {
                    assert_eq!(first, next);
                    assert!(len >= reads / d && len <= reads / d + 1);
                    next += len;
                }
            }
        }
    }
}
