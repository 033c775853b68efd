//! Simulated annealing, parallel tempering and population annealing kernels on the GPU
//! (WGSL in `shaders/anneal_*.wgsl`, `pt_exchange.wgsl`, `pa_resample.wgsl`).
//!
//! - [`fixed`]: the fixed-point model the kernels see (exact for integer weights).
//! - [`coloring`]: greedy colouring of the interaction graph, so one colour class is
//!   updated in parallel.
//! - [`rng`]: the counter-based generator (pcg4d of variable, sweep, replica, seed key).
//! - [`Engine`]: uploads a problem, keeps replicas on the device and runs [`Op`]s.
//!
//! The solvers built on it are `gpu-sa`, `gpu-pt` and `gpu-pa` in [`crate::solvers`].

pub mod coloring;
mod engine;
pub mod fixed;
pub mod rng;

pub use engine::{Engine, Kernel, EngineSpec, Op, shader_sources};
