//! QAOA on a small MaxCut instance with the library API: build the cost diagonal, optimise
//! p = 2 angles from the 3-regular fixed-angle table, then sample and polish.
//!
//! `cargo run --release --example qaoa_maxcut [N]` (N even, default 16).

use qam::qaoa::{
    Angles, CostDiagonal, CostModel, CpuSimulator, OptimizeOptions, Simulator, fixed_angle_start, gamma_scale,
    index_to_spins, optimize,
};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map_or(Ok(16), |s| s.parse())?;
    let problem = qam::generate::regular(n, 3, qam::generate::Weights::One, 1)?;
    let model = &problem.model;
    let cost = CostModel::new(model)?;
    let diag = Arc::new(CostDiagonal::new(&cost)?);
    let mut sim = CpuSimulator::<f64>::new(diag.clone())?;

    // Fixed angles (cut convention in the literature, converted to qam's energy one).
    let start = fixed_angle_start(model, 2).expect("unweighted 3-regular MaxCut");
    let fixed = sim.evaluate(&start)?;
    let opts = OptimizeOptions {
        gamma_scale: gamma_scale(model),
        ..Default::default()
    };
    let best = optimize(&mut sim, 2, Some(&start), &opts, &mut |_| true)?;

    let edges = model.num_interactions() as f64;
    let cut = |e: f64| (edges - e) / 2.0;
    let max_cut = cut(diag.min());
    println!("n = {n}, {edges} edges, max cut {max_cut}");
    report("fixed angles", &start, fixed.expectation, cut, max_cut);
    report("optimised", &best.angles, best.evaluation.expectation, cut, max_cut);
    println!(
        "P(ground) = {:.4}, {} evaluations",
        best.evaluation.ground_state_probability, best.evaluations
    );

    let shots = sim.sample(1000, 7)?;
    let ising = model.to_ising();
    let top = shots
        .iter()
        .map(|&k| cut(ising.energy(&index_to_spins(k, n))))
        .fold(0.0f64, f64::max);
    println!("best of 1000 shots: cut {top}");
    Ok(())
}

fn report(label: &str, a: &Angles, expectation: f64, cut: impl Fn(f64) -> f64, max_cut: f64) {
    println!(
        "{label}: gamma_cut {:?} beta {:?} -> expected cut {:.4} (ratio {:.4})",
        a.to_cut_convention(),
        a.beta,
        cut(expectation),
        cut(expectation) / max_cut
    );
}
