//! Times gpu-sa per backend on a small problem (development probe).
use qam::gpu::anneal::Backend;
use qam::model::{Model, Qubo};
use qam::rng::Rng;
use qam::solvers::{GpuSaParams, GpuSaSolver, SaParams, Solver};
use std::time::Instant;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let n: usize = a[1].parse().unwrap();
    let reads: usize = a[2].parse().unwrap();
    let sweeps: usize = a[3].parse().unwrap();
    let mut rng = Rng::new(5);
    let mut e = Vec::new();
    for i in 0..n as u32 {
        e.push((i, i, rng.below(11) as f64 - 5.0));
        for j in i + 1..n as u32 {
            if rng.next_f64() < 0.6 {
                e.push((i, j, rng.below(11) as f64 - 5.0));
            }
        }
    }
    let model = Model::Qubo(Qubo::from_entries(n, &e, 0.0).unwrap());
    for b in [Backend::Workgroup, Backend::Dense, Backend::Color] {
        let t = Instant::now();
        let sa = SaParams {
            num_reads: reads,
            beta_schedule: Some(vec![0.4; sweeps]),
            ..Default::default()
        };
        let set = GpuSaSolver::new(GpuSaParams { sa, backend: b }).solve(&model).unwrap();
        println!("{b:?}: {:.3}s mean {}", t.elapsed().as_secs_f64(), set.mean_energy());
    }
}
