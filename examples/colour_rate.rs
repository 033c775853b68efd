//! Flip attempts per second of one read on the colour-class parallel kernel against the
//! scalar kernel (one read, one core) and `sa` with R reads (SIMD lanes from 4 reads), on
//! the current rayon pool (RAYON_NUM_THREADS). The crossover behind `sa`'s choice of
//! kernel (docs/benchmarks.md "Few reads: colour-class parallel sweeps").
//!
//! `cargo run --release --example colour_rate -- FILE [SWEEPS] [READS,READS,..|none]`

use qam::solvers::kernels::{Annealer, ColourAnnealer};
use qam::solvers::{SaParams, SaSolver, SolveContext, Solver};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let file = args.get(1).ok_or("usage: colour_rate FILE [SWEEPS]")?;
    let sweeps: usize = args.get(2).map_or(Ok(200), |s| s.parse())?;
    let model = qam::io::read_file(file, Default::default())?.model;
    let ising = model.to_ising();
    let n = ising.num_variables();
    let betas: Vec<f64> = (0..sweeps)
        .map(|k| 0.1 * (30.0f64).powf(k as f64 / (sweeps.max(2) - 1) as f64))
        .collect();
    let ctx = SolveContext::default();
    let threads = rayon::current_num_threads();
    let t = Instant::now();
    let ca = ColourAnnealer::new(&ising);
    println!(
        "{file}: n {n}, {} colours (prepared in {:.3} s), {threads} threads, {sweeps} sweeps",
        ca.num_colors(),
        t.elapsed().as_secs_f64()
    );
    let mut x = 1u64;
    let start: Vec<i8> = (0..n)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            if x >> 63 == 1 { 1 } else { -1 }
        })
        .collect();
    let mut s = start.clone();
    let t = Instant::now();
    ca.anneal(&betas, &mut s, 9, &ctx, t);
    let dt = t.elapsed().as_secs_f64();
    println!(
        "colour 1 read: {:8.1} M attempts/s (per read {:6.1} sweeps/s) energy {}",
        (sweeps * n) as f64 / dt / 1e6,
        sweeps as f64 / dt,
        ising.energy(&s)
    );
    let a = Annealer::new(&ising);
    let mut s = start.clone();
    let t = Instant::now();
    a.anneal_seeded(&betas, &mut s, 9, &ctx, t);
    let dt = t.elapsed().as_secs_f64();
    println!(
        "scalar 1 read: {:8.1} M attempts/s (per read {:6.1} sweeps/s) energy {}",
        (sweeps * n) as f64 / dt / 1e6,
        sweeps as f64 / dt,
        ising.energy(&s)
    );
    // A third argument gives the read counts of the `sa` rows (comma-separated; default
    // 4,8,16,32; "none": no `sa` rows).
    let reads_list: Vec<usize> = match args.get(3).map(String::as_str) {
        None => vec![4, 8, 16, 32],
        Some("none") => Vec::new(),
        Some(s) => s.split(',').map(|r| r.parse()).collect::<Result<_, _>>()?,
    };
    for reads in reads_list {
        let solver = SaSolver::new(SaParams {
            num_reads: reads,
            num_sweeps: sweeps,
            beta_schedule: Some(betas.clone()),
            seed: 1,
            ..Default::default()
        });
        let t = Instant::now();
        let set = solver.solve_with(&model, &ctx)?;
        let dt = t.elapsed().as_secs_f64();
        println!(
            "sa {reads:2} reads:  {:8.1} M attempts/s (per read {:6.1} sweeps/s) best {}",
            (reads * sweeps * n) as f64 / dt / 1e6,
            sweeps as f64 / dt,
            set.first().map_or(f64::NAN, |s| s.energy)
        );
    }
    Ok(())
}
