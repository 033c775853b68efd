//! Simulated annealing, parallel tempering and population annealing kernels on the GPU
//! (WGSL in `shaders/anneal_*.wgsl`, `pt_exchange.wgsl`, `pa_resample.wgsl`).
//!
//! - `fixed`: the fixed-point model the kernels see (exact for integer weights).
//! - [`coloring`]: greedy colouring of the interaction graph, so one colour class is
//!   updated in parallel.
//! - `rng`: the counter-based generator (pcg4d of variable, sweep, replica, seed key).
//! - [`reference`](mod@reference): both, public, as CPU references for checks.
//! - [`Engine`]: uploads a problem, keeps replicas on the device and runs [`Op`]s.
//!
//! The solvers built on it are `gpu-sa`, `gpu-pt` and `gpu-pa` in [`crate::solvers`].

pub mod coloring;
mod engine;
pub(crate) mod fixed;
pub(crate) mod rng;

/// CPU references of what the kernels compute (the fixed-point model and the
/// counter-based random numbers), for checking a device against them.
pub mod reference {
    pub use super::fixed::{FIELD_LIMIT, FixedIsing, scale_for};
    pub use super::rng::{init_spin, pcg_hash, pcg4d, seed_key};
}

pub use engine::{Engine, EngineSpec, Kernel, Op, shader_sources};
