//! Time to target of the tempering / population solvers on one file, over several seeds.
//!
//! `cargo run --release --example time_to_target -- FILE TARGET_CUT pt|pa SEEDS LIMIT_S [replicas] [hot] [cold] [sweeps_per_swap]`
use qam::io::{ProblemKind, ReadOptions, read_file};
use qam::solvers::{PtParams, PtSolver, SolveContext, Solver};
use std::time::{Duration, Instant};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let problem = read_file(&a[1], ReadOptions::default()).unwrap();
    let target_cut: f64 = a[2].parse().unwrap();
    let w = match problem.kind {
        ProblemKind::MaxCut { total_weight } => total_weight,
        _ => panic!("maxcut only"),
    };
    let target_e = w - 2.0 * target_cut;
    let seeds: u64 = a[4].parse().unwrap();
    let limit: f64 = a[5].parse().unwrap();
    let m: usize = a.get(6).map_or(32, |s| s.parse().unwrap());
    let range = match (a.get(7), a.get(8)) {
        (Some(h), Some(c)) => Some((h.parse().unwrap(), c.parse().unwrap())),
        _ => None,
    };
    let sps: usize = a.get(9).map_or(1, |s| s.parse().unwrap());
    if a[3] == "pa" {
        let sweeps: usize = a.get(10).map_or(1000, |s| s.parse().unwrap());
        for seed in 0..seeds {
            let t = Instant::now();
            let mut attempt = 0u64;
            loop {
                let left = limit - t.elapsed().as_secs_f64();
                if left <= 0.0 {
                    println!("seed {seed}: not reached in {attempt} runs");
                    break;
                }
                let solver = qam::solvers::PaSolver::new(qam::solvers::PaParams {
                    population: m,
                    num_sweeps: sweeps,
                    sweeps_per_beta: sps,
                    beta_range: range,
                    seed: seed * 1000 + attempt,
                    ..Default::default()
                });
                let ctx = SolveContext {
                    time_limit: Some(Duration::from_secs_f64(left)),
                    target_energy: Some(target_e),
                    ..Default::default()
                };
                let set = solver.solve_with(&problem.model, &ctx).unwrap();
                let best = set.first().unwrap();
                println!(
                    "  run {attempt}: cut {} mean {:.1} fam {} {:.2}s",
                    problem.cut(&best.state).unwrap(),
                    (w - set.mean_energy()) / 2.0,
                    set.info.extra["surviving_families"],
                    t.elapsed().as_secs_f64()
                );
                if set.info.extra.contains_key("time_to_target_s") {
                    println!("seed {seed}: reached at {:.2}s", t.elapsed().as_secs_f64());
                    break;
                }
                attempt += 1;
            }
        }
        return;
    }
    for seed in 0..seeds {
        let solver = PtSolver::new(PtParams {
            num_replicas: m,
            num_sweeps: 100_000_000 / sps * sps,
            sweeps_per_swap: sps,
            beta_range: range,
            seed,
            ..Default::default()
        });
        let ctx = SolveContext {
            time_limit: Some(Duration::from_secs_f64(limit)),
            target_energy: Some(target_e),
            ..Default::default()
        };
        let t = Instant::now();
        let set = solver.solve_with(&problem.model, &ctx).unwrap();
        let best = set.first().unwrap();
        println!(
            "seed {seed}: cut {} time {:.2}s ttt {:?} sweeps {} beta {:?} acc {}",
            problem.cut(&best.state).unwrap(),
            t.elapsed().as_secs_f64(),
            set.info.extra.get("time_to_target_s"),
            set.info.params["num_sweeps"],
            set.info.params["beta_range"],
            set.info.extra["swap_acceptance"]
        );
    }
}
