//! `qam solve FILE.lp --solver gpu-cqm-sa`: the constrained annealer on the GPU, with the
//! flags and the result line of `cqm-sa` (plus `device` and `stop_reason`).

use anyhow::Result;
use qam::cqm::{ConstrainedModel, CqmSaParams};
use qam::gpu::GpuContext;
use qam::gpu::cqm::GpuCqmSaSolver;
use qam::solvers::SolveError;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;

/// Solves `m` on the shared device (`--device` / `QAM_ADAPTER`) and returns the result
/// line. A device limit the model exceeds is an input error (exit 2) naming the limit.
pub fn solve(file: &Path, m: &ConstrainedModel, params: &CqmSaParams, t0: Instant) -> Result<Value> {
    let ctx = GpuContext::shared().map_err(|e| SolveError::Backend(format!("gpu-cqm-sa: {e}")))?;
    let sol = GpuCqmSaSolver::with_context(params.clone(), ctx.clone())
        .solve(m)
        .map_err(SolveError::from)?;
    let mut v = qam::cqm::result_json(
        &file.display().to_string(),
        m,
        params,
        &sol,
        t0.elapsed().as_secs_f64(),
        None,
    );
    v["solver"] = json!("gpu-cqm-sa");
    v["device"] = json!(ctx.name());
    v["stop_reason"] = json!(sol.stop);
    Ok(v)
}
