//! Every integration test in one binary (it links wgpu and the library once): one module
//! per area, sharing `common`. Run one area with `cargo test --release --test it AREA::`.

mod common;

mod anytime;
mod anytime_colour;
mod batch;
mod budget_mean;
mod checkpoint;
mod cli;
mod cli_gpu;
mod coloring;
mod cqm;
mod cqm_cli;
mod cqm_gpu;
mod decompose;
mod decompose_cli;
mod domain_walls;
mod flags;
mod formats;
mod frustrated;
mod fuzz;
mod gpu_anneal_kernels;
mod gpu_sa;
mod gpu_select;
mod gpu_shaders_validate;
mod hostile;
mod hostile_cli;
mod interrupt;
mod malformed;
#[cfg(feature = "mpi")]
mod mpi;
mod orchestrate_cli;
mod orchestrate_cluster;
mod orchestrate_cqm;
mod orchestrate_exact;
mod orchestrate_pool_loads;
mod orchestrate_replan;
mod orchestrate_validate;
mod planted;
mod qaoa_cli;
mod qaoa_cpu;
mod qaoa_gpu;
mod qaoa_tuning;
mod qasm_cli;
mod samples;
mod schedule;
mod serve;
mod solvers;
mod tempering;
