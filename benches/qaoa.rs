//! QAOA state-vector simulation: time per ⟨C⟩ evaluation at p = 1 and p = 4 (so per layer
//! = (t4 − t1)/3) and the cost-diagonal build, on networkx.random_regular_graph(3, n,
//! seed=1) (benches/peers/qaoa_graphs) with the fixed angles; CPU complex128 and complex64
//! for n = 16..=24 (26 with QAM_BENCH_QAOA_MAX_N=26), GPU (whatever adapter wgpu finds;
//! lavapipe here, which measures correctness, not speed) up to n = 20.
//!
//! `cargo bench --bench qaoa` (criterion, few samples: one n = 24 sample is ~0.4 s).
//! Peers (Qiskit Aer, QOKit's C simulator) side by side: benches/peers/qaoa_peers.py.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use qam::gpu::GpuContext;
use qam::io::{ReadOptions, read_file};
use qam::qaoa::{Angles, CostDiagonal, CostModel, CpuSimulator, GpuSimulator, Simulator, fixed_angles_3_regular};
use std::sync::Arc;
use std::time::Duration;

fn graph(n: usize) -> CostModel {
    let path = format!(
        "{}/benches/peers/qaoa_graphs/rr3_n{n}_s1.gset",
        env!("CARGO_MANIFEST_DIR")
    );
    let problem = read_file(&path, ReadOptions::default()).expect("benchmark graph (run benches/peers/qaoa_graphs.py)");
    CostModel::new(&problem.model).expect("cost model")
}

fn angles(p: usize) -> Angles {
    let (g, b) = fixed_angles_3_regular(p).expect("p <= 4");
    Angles::from_cut_convention(&g, &b).expect("angles")
}

fn max_n() -> usize {
    std::env::var("QAM_BENCH_QAOA_MAX_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

fn bench_cpu(c: &mut Criterion) {
    let mut g = c.benchmark_group("qaoa_cpu");
    g.sample_size(10).warm_up_time(Duration::from_millis(500));
    for n in (16..=max_n()).step_by(2) {
        let cost = graph(n);
        g.bench_with_input(BenchmarkId::new("cost_diagonal", n), &cost, |b, cost| {
            b.iter(|| CostDiagonal::new(cost).expect("diagonal"))
        });
        let diag = Arc::new(CostDiagonal::new(&cost).expect("diagonal"));
        let mut c128 = CpuSimulator::<f64>::new(diag.clone()).expect("state");
        let mut c64 = CpuSimulator::<f32>::new(diag).expect("state");
        for p in [1, 4] {
            let a = angles(p);
            g.bench_with_input(BenchmarkId::new(format!("c128_p{p}"), n), &a, |b, a| {
                b.iter(|| c128.evaluate(a).expect("evaluate"))
            });
            g.bench_with_input(BenchmarkId::new(format!("c64_p{p}"), n), &a, |b, a| {
                b.iter(|| c64.evaluate(a).expect("evaluate"))
            });
        }
    }
    g.finish();
}

fn bench_gpu(c: &mut Criterion) {
    let Ok(ctx) = GpuContext::shared() else {
        eprintln!("qaoa_gpu: no GPU adapter, skipped");
        return;
    };
    let mut g = c.benchmark_group(format!("qaoa_gpu ({})", ctx.name()));
    g.sample_size(10).warm_up_time(Duration::from_millis(200));
    for n in (16..=max_n().min(20)).step_by(2) {
        let mut sim = GpuSimulator::new(ctx.clone(), &graph(n)).expect("gpu simulator");
        for p in [1, 4] {
            let a = angles(p);
            g.bench_with_input(BenchmarkId::new(format!("c64_p{p}"), n), &a, |b, a| {
                b.iter(|| sim.evaluate(a).expect("evaluate"))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_cpu, bench_gpu);
criterion_main!(benches);
