//! Anneal a random G-set-style MaxCut graph with `gpu-sa` (when a GPU adapter exists),
//! the CPU `sa`, and parallel tempering, and print the cuts.
//!
//! `cargo run --release --example gpu_anneal`

use qam::generate::{Weights, erdos_renyi};
use qam::solvers::{GpuSaParams, GpuSaSolver, PtParams, PtSolver, SaParams, SaSolver, Solver};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let problem = erdos_renyi(800, 0.02, Weights::One, 7)?;
    let sa = SaParams {
        num_reads: 32,
        num_sweeps: 500,
        seed: 1,
        ..Default::default()
    };
    let report = |name: &str, set: &qam::model::SampleSet| {
        let best = set.first().expect("at least one read");
        println!(
            "{name:>7}: best cut {} (energy {}), {:.2} s, device {}",
            problem.cut(&best.state).unwrap_or(f64::NAN),
            best.energy,
            set.info.timing.sampling_s,
            set.info.extra.get("device").and_then(|d| d.as_str()).unwrap_or("cpu")
        );
    };
    report("sa", &SaSolver::new(sa.clone()).solve(&problem.model)?);
    match GpuSaSolver::new(GpuSaParams {
        sa,
        ..Default::default()
    })
    .solve(&problem.model)
    {
        Ok(set) => report("gpu-sa", &set),
        Err(e) => println!(" gpu-sa: skipped ({e})"),
    }
    let pt = PtSolver::new(PtParams {
        num_replicas: 32,
        num_sweeps: 2000,
        seed: 1,
        ..Default::default()
    });
    report("pt", &pt.solve(&problem.model)?);
    Ok(())
}
