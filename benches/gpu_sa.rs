//! Flip attempts per second of `gpu-sa`, `sa`, `pt` and `pa` on the same random MaxCut
//! graph (G-set style, n = 800, p = 0.01), side by side. GPU rows run on whatever adapter
//! wgpu finds (lavapipe on machines without a GPU: correctness, not speed); they are
//! skipped when there is none.
//!
//! `cargo bench --bench gpu_sa`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qam::generate::{Weights, erdos_renyi};
use qam::gpu::GpuContext;
use qam::solvers::{GpuSaParams, GpuSaSolver, PaParams, PaSolver, PtParams, PtSolver, SaParams, SaSolver, Solver};

fn bench(c: &mut Criterion) {
    let problem = erdos_renyi(800, 0.01, Weights::PlusMinusOne, 1).expect("valid parameters");
    let model = problem.model;
    let n = model.num_variables() as u64;
    let (reads, sweeps) = (32usize, 50usize);
    let sa = SaParams {
        num_reads: reads,
        num_sweeps: sweeps,
        seed: 1,
        ..Default::default()
    };
    let mut g = c.benchmark_group("anneal_er800");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n * (reads * sweeps) as u64));
    g.bench_function("cpu-sa", |b| {
        let s = SaSolver::new(sa.clone());
        b.iter(|| s.solve(&model).expect("solves"))
    });
    g.bench_function("pt", |b| {
        let s = PtSolver::new(PtParams {
            num_replicas: reads,
            num_sweeps: sweeps,
            seed: 1,
            ..Default::default()
        });
        b.iter(|| s.solve(&model).expect("solves"))
    });
    g.bench_function("pa", |b| {
        let s = PaSolver::new(PaParams {
            population: reads,
            num_sweeps: sweeps,
            sweeps_per_beta: 5,
            seed: 1,
            ..Default::default()
        });
        b.iter(|| s.solve(&model).expect("solves"))
    });
    match GpuContext::shared() {
        Ok(ctx) => {
            let name = format!("gpu-sa ({})", ctx.name());
            let s = GpuSaSolver::with_context(
                GpuSaParams {
                    sa: sa.clone(),
                    ..Default::default()
                },
                ctx,
            );
            g.bench_function(&name, |b| b.iter(|| s.solve(&model).expect("solves")));
        }
        Err(e) => eprintln!("gpu-sa skipped: {e}"),
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
