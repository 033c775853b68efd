//! Helpers shared by the integration tests.
#![allow(dead_code)]

use qam::gpu::{GpuContext, gpu_required};
use qam::model::{Model, Qubo};
use qam::rng::Rng;
use qam::solvers::{ExactSolver, Solver};
use std::sync::Arc;

/// The shared device, or `None` (skip) when there is none and QAM_REQUIRE_GPU is unset.
pub fn gpu() -> Option<Arc<GpuContext>> {
    match GpuContext::shared() {
        Ok(c) => Some(c),
        Err(e) if gpu_required() => panic!("QAM_REQUIRE_GPU is set but: {e}"),
        Err(e) => {
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

/// A random QUBO over `n` variables: each pair coupled with probability `p`, integer
/// weights in [-5, 5] (divided by `denom`, so `denom = 7` gives non-dyadic weights).
pub fn random_qubo(n: usize, p: f64, denom: f64, seed: u64) -> Model {
    let mut rng = Rng::new(seed);
    let mut e = Vec::new();
    for i in 0..n as u32 {
        e.push((i, i, (rng.below(11) as f64 - 5.0) / denom));
        for j in i + 1..n as u32 {
            if rng.next_f64() < p {
                e.push((i, j, (rng.below(11) as f64 - 5.0) / denom));
            }
        }
    }
    Model::Qubo(Qubo::from_entries(n, &e, 1.5).unwrap())
}

/// Exact ground-state energy.
pub fn ground(model: &Model) -> f64 {
    ExactSolver::default().solve(model).unwrap().first().unwrap().energy
}
