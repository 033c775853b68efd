//! Simulated-annealing throughput in flip attempts per second (`reads × sweeps × n` per
//! solve, criterion's `Throughput::Elements`), on one thread and on all threads, for:
//!
//! - G-set G1 (800 vertices, 19,176 ±1 edges; MaxCut as Ising `J = w`),
//! - OR-Library bqp1000.1 (1000 variables, ~10 % dense QUBO),
//! - a generated sparse instance: random 3-regular graph, 100,000 vertices (seed 1), the
//!   same graph as `qam gen --kind regular3 --n 100000 --seed 1`.
//!
//! Data comes from `QAM_DATA` (default `../shared/data` from the repository root); missing
//! files are skipped with a note. Run: `cargo bench --bench sa` (filter: `-- G1`).
//! The peer numbers (dwave-samplers on the same files) come from
//! `benches/peers/neal_sa.py`; `scripts/bench_vs_neal.sh` runs both side by side.

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use qam::generate::{self, Weights};
use qam::io::{ReadOptions, read_file};
use qam::model::Model;
use qam::solvers::{SaParams, SaSolver, Solver};
use std::hint::black_box;
use std::path::PathBuf;

/// One benchmark input: a name, the model, and the reads × sweeps to run on it.
struct Input {
    name: &'static str,
    model: Model,
    reads: usize,
    sweeps: usize,
}

fn data_root() -> PathBuf {
    std::env::var_os("QAM_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
}

fn load(name: &'static str, rel: &str, instance: Option<usize>, reads: usize, sweeps: usize) -> Option<Input> {
    let path = data_root().join(rel);
    if !path.exists() {
        eprintln!(
            "note: {} not found, skipping {name} (set QAM_DATA to the benchmark data folder)",
            path.display()
        );
        return None;
    }
    let opts = ReadOptions { format: None, instance };
    match read_file(&path, opts) {
        Ok(p) => Some(Input {
            name,
            model: p.model,
            reads,
            sweeps,
        }),
        Err(e) => {
            eprintln!("note: skipping {name}: {e}");
            None
        }
    }
}

fn inputs() -> Vec<Input> {
    let mut out: Vec<Input> = [
        load("G1", "gset/G1.txt", None, 10, 1000),
        load("bqp1000.1", "bqp/bqp1000.txt", Some(1), 10, 1000),
    ]
    .into_iter()
    .flatten()
    .collect();
    let sparse = generate::regular(100_000, 3, Weights::One, 1).expect("3-regular graph on 100000 vertices");
    out.push(Input {
        name: "regular3-100k",
        model: sparse.model,
        reads: 10,
        sweeps: 100,
    });
    out
}

fn sa_throughput(c: &mut Criterion) {
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pools: Vec<(String, rayon::ThreadPool)> = [1, all]
        .into_iter()
        .enumerate()
        .filter(|&(k, t)| k == 0 || t > 1)
        .map(|(_, t)| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .expect("thread pool");
            (format!("{t}thr"), pool)
        })
        .collect();
    let mut group = c.benchmark_group("sa_flip_attempts");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    for input in inputs() {
        let n = input.model.num_variables();
        let solver = SaSolver::new(SaParams {
            num_reads: input.reads,
            num_sweeps: input.sweeps,
            seed: 1,
            ..Default::default()
        });
        group.throughput(Throughput::Elements((input.reads * input.sweeps * n) as u64));
        for (label, pool) in &pools {
            group.bench_with_input(BenchmarkId::new(input.name, label), &input.model, |b, model| {
                b.iter(|| pool.install(|| black_box(solver.solve(model).expect("sa runs"))))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, sa_throughput);
criterion_main!(benches);
