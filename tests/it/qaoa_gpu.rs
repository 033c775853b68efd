//! GPU QAOA kernels against the CPU complex128 reference (runs on lavapipe in CI; fails,
//! not skips, without an adapter when QAM_REQUIRE_GPU=1).

use crate::common::gpu_required;
use qam::gpu::GpuContext;
use qam::model::{Model, Qubo};
use qam::qaoa::{Angles, CostDiagonal, CostModel, CpuSimulator, GpuSimulator, Simulator};
use qam::rng::Rng;
use std::sync::Arc;

fn gpu() -> Option<Arc<GpuContext>> {
    match GpuContext::shared() {
        Ok(c) => Some(c),
        Err(e) if gpu_required() => panic!("QAM_REQUIRE_GPU is set but no GPU: {e}"),
        Err(e) => {
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

fn random_angles(rng: &mut Rng, p: usize, gscale: f64) -> Angles {
    let g = (0..p).map(|_| (rng.next_f64() - 0.5) * 2.0 * gscale).collect();
    let b = (0..p).map(|_| (rng.next_f64() - 0.5) * 3.0).collect();
    Angles::new(g, b).unwrap()
}

#[test]
fn gpu_matches_cpu_on_graphs() {
    let Some(ctx) = gpu() else { return };
    let mut rng = Rng::new(11);
    for n in [4usize, 8, 12, 16] {
        let problem = qam::generate::regular(n, 3, qam::generate::Weights::One, n as u64).unwrap();
        let cm = CostModel::new(&problem.model).unwrap();
        let diag = Arc::new(CostDiagonal::new(&cm).unwrap());
        let mut cpu = CpuSimulator::<f64>::new(diag).unwrap();
        // Default tiles (one or two passes) and 2^5-amplitude tiles (up to 5 passes, so
        // every index field of a high pass is exercised); phase fused and separate.
        let mut gpus = vec![
            GpuSimulator::new(ctx.clone(), &cm).unwrap(),
            GpuSimulator::with_tile_bits(ctx.clone(), &cm, Some(5)).unwrap(),
        ];
        gpus[1].set_fused_phase(false);
        assert!(
            gpus[1].mixer_passes().len() >= n.div_ceil(5).min(3),
            "{:?}",
            gpus[1].mixer_passes()
        );
        for gpu in &mut gpus {
            assert_eq!(gpu.cost_range(), cpu.cost_range());
            for p in 1..=4 {
                let a = random_angles(&mut rng, p, 0.8);
                let c = cpu.evaluate(&a).unwrap();
                let g = gpu.evaluate(&a).unwrap();
                let rel = (c.expectation - g.expectation).abs() / c.expectation.abs().max(1.0);
                assert!(rel < 1e-4, "n {n} p {p} {:?}: cpu {c:?} gpu {g:?}", gpu.mixer_passes());
                assert!((g.norm - 1.0).abs() < 1e-5, "{g:?}");
                assert!((c.ground_state_probability - g.ground_state_probability).abs() < 1e-5);
            }
        }
    }
}

fn random_qubo(rng: &mut Rng, n: usize, real: bool) -> Model {
    let mut e = Vec::new();
    for i in 0..n as u32 {
        for j in i..n as u32 {
            if rng.next_f64() < 0.5 {
                let w = if real {
                    rng.next_f64() * 2.0 - 1.0
                } else {
                    rng.below(21) as f64 - 10.0
                };
                e.push((i, j, w));
            }
        }
    }
    Model::Qubo(Qubo::from_entries(n, &e, 0.75).unwrap())
}

/// QUBO variables (0/1) on the grid (table phases) and with real weights (angle phases).
#[test]
fn gpu_matches_cpu_on_qubos() {
    let Some(ctx) = gpu() else { return };
    let mut rng = Rng::new(12);
    for (n, real) in [(5usize, false), (11, false), (6, true), (13, true)] {
        let model = random_qubo(&mut rng, n, real);
        let cm = CostModel::new(&model).unwrap();
        let diag = Arc::new(CostDiagonal::new(&cm).unwrap());
        let mut gpu = GpuSimulator::new(ctx.clone(), &cm).unwrap();
        assert_eq!(gpu.num_levels().is_some(), !real);
        // The GPU's diagonal equals the CPU's.
        let (v, offset, step) = gpu.read_cost().unwrap();
        for (k, &x) in v.iter().enumerate() {
            let c = offset + step * x as f64;
            assert!((c - diag.value(k)).abs() < 1e-5 * (1.0 + c.abs()), "k {k}");
        }
        let (lo, hi) = gpu.cost_range();
        assert!((lo - diag.min()).abs() < 1e-5 * (1.0 + lo.abs()) && (hi - diag.max()).abs() < 1e-5 * (1.0 + hi.abs()));
        let mut cpu = CpuSimulator::<f64>::new(diag).unwrap();
        for p in 1..=3 {
            let a = random_angles(&mut rng, p, 0.3);
            let c = cpu.evaluate(&a).unwrap();
            let g = gpu.evaluate(&a).unwrap();
            let scale = c.expectation.abs().max(0.01 * (hi - lo));
            assert!(
                (c.expectation - g.expectation).abs() < 1e-4 * scale,
                "n {n} p {p}: {c:?} {g:?}"
            );
            assert!((c.ground_state_probability - g.ground_state_probability).abs() < 1e-5);
        }
    }
}

#[test]
fn gpu_norm_stays_within_1e6_after_ten_layers() {
    let Some(ctx) = gpu() else { return };
    let mut rng = Rng::new(13);
    for n in [10usize, 16] {
        let problem = qam::generate::regular(n, 3, qam::generate::Weights::One, 1).unwrap();
        let cm = CostModel::new(&problem.model).unwrap();
        let mut gpu = GpuSimulator::new(ctx.clone(), &cm).unwrap();
        for _ in 0..2 {
            let e = gpu.evaluate(&random_angles(&mut rng, 10, 0.6)).unwrap();
            assert!((e.norm - 1.0).abs() < 1e-6, "n {n}: {e:?}");
            let state = gpu.read_state().unwrap();
            let total: f64 = state
                .iter()
                .map(|z| (z[0] as f64).powi(2) + (z[1] as f64).powi(2))
                .sum();
            assert!((total - 1.0).abs() < 1e-6, "{total}");
        }
    }
}

#[test]
fn gpu_samples_follow_the_distribution() {
    let Some(ctx) = gpu() else { return };
    let mut rng = Rng::new(14);
    let model = random_qubo(&mut rng, 5, false);
    let cm = CostModel::new(&model).unwrap();
    let mut cpu = CpuSimulator::<f64>::new(Arc::new(CostDiagonal::new(&cm).unwrap())).unwrap();
    let mut gpu = GpuSimulator::new(ctx, &cm).unwrap();
    let a = random_angles(&mut rng, 2, 0.3);
    cpu.evaluate(&a).unwrap();
    gpu.evaluate(&a).unwrap();
    let probs = cpu.probabilities();
    let shots = 50_000;
    let picks = gpu.sample(shots, 21).unwrap();
    assert_eq!(picks, gpu.sample(shots, 21).unwrap());
    let mut hist = vec![0usize; 32];
    for &k in &picks {
        hist[k as usize] += 1;
    }
    for k in 0..32 {
        let f = hist[k] as f64 / shots as f64;
        let sigma = (probs[k] * (1.0 - probs[k]) / shots as f64).sqrt();
        assert!((f - probs[k]).abs() < 5.0 * sigma + 1e-5, "k {k}: {f} vs {}", probs[k]);
    }
}

/// A device whose storage bindings hold `bytes`.
fn small_binding_ctx(bytes: u64) -> Arc<GpuContext> {
    Arc::new(
        GpuContext::new(&qam::gpu::GpuOptions {
            max_storage_binding: Some(bytes),
            ..Default::default()
        })
        .unwrap(),
    )
}

/// A state larger than one storage binding is split into chunks (here 2^9 states of 4 KiB
/// each, so n = 12 has 8 chunks and 3 chunk-selecting qubits): expectation, norm, ground
/// probability, the state itself and the cost diagonal equal the one-buffer simulator's
/// and the CPU's; sampling follows the distribution.
#[test]
fn gpu_splits_states_beyond_the_binding_limit() {
    let Some(ctx) = gpu() else { return };
    let small = small_binding_ctx(4096);
    let mut rng = Rng::new(15);
    for (n, real) in [(12usize, false), (13, true)] {
        let model = random_qubo(&mut rng, n, real);
        let cm = CostModel::new(&model).unwrap();
        let diag = Arc::new(CostDiagonal::new(&cm).unwrap());
        let mut cpu = CpuSimulator::<f64>::new(diag).unwrap();
        let mut whole = GpuSimulator::new(ctx.clone(), &cm).unwrap();
        let mut split = GpuSimulator::new(small.clone(), &cm).unwrap();
        assert_eq!(whole.num_chunks(), 1);
        assert_eq!(split.chunk_bits(), 9);
        assert_eq!(split.num_chunks(), 1 << (n - 9));
        assert_eq!(split.cost_range(), whole.cost_range());
        assert_eq!(split.read_cost().unwrap(), whole.read_cost().unwrap());
        for fused in [true, false] {
            split.set_fused_phase(fused);
            for p in 1..=3 {
                let a = random_angles(&mut rng, p, 0.3);
                let c = cpu.evaluate(&a).unwrap();
                let w = whole.evaluate(&a).unwrap();
                let s = split.evaluate(&a).unwrap();
                let (lo, hi) = cpu.cost_range();
                let scale = c.expectation.abs().max(0.01 * (hi - lo));
                assert!(
                    (c.expectation - s.expectation).abs() < 1e-4 * scale,
                    "n {n} p {p}: {c:?} {s:?}"
                );
                assert!((s.norm - 1.0).abs() < 1e-5, "{s:?}");
                assert!((c.ground_state_probability - s.ground_state_probability).abs() < 1e-5);
                let (sw, ss) = (whole.read_state().unwrap(), split.read_state().unwrap());
                assert_eq!(sw.len(), ss.len());
                let worst = sw
                    .iter()
                    .zip(&ss)
                    .map(|(a, b)| (a[0] - b[0]).abs().max((a[1] - b[1]).abs()))
                    .fold(0f32, f32::max);
                assert!(
                    worst < 1e-5,
                    "n {n} p {p}: amplitudes differ by {worst} ({w:?} vs {s:?})"
                );
            }
        }
        // Sampling across chunks: every pick has positive probability and the most likely
        // state's frequency is within 5 sigma.
        let probs = cpu.probabilities();
        let shots = 20_000;
        let picks = split.sample(shots, 3).unwrap();
        assert_eq!(picks, split.sample(shots, 3).unwrap());
        let mut hist = vec![0usize; 1 << n];
        for &k in &picks {
            assert!(probs[k as usize] > 0.0, "picked an impossible state {k}");
            hist[k as usize] += 1;
        }
        let top = (0..1 << n).max_by(|&a, &b| probs[a].total_cmp(&probs[b])).unwrap();
        let f = hist[top] as f64 / shots as f64;
        let sigma = (probs[top] * (1.0 - probs[top]) / shots as f64).sqrt();
        assert!(
            (f - probs[top]).abs() < 5.0 * sigma + 1e-4,
            "state {top}: {f} vs {}",
            probs[top]
        );
    }
}

/// n = 25 on the device's real limits: a 256 MiB complex64 state, over lavapipe's
/// 128 MiB binding limit, is split and equals the CPU to 1e-4.
#[test]
fn gpu_qaoa_n25_split_over_bindings_matches_cpu() {
    let Some(ctx) = gpu() else { return };
    let n = 25;
    let model = qam::generate::regular(n, 4, qam::generate::Weights::One, 25)
        .unwrap()
        .model;
    let cm = CostModel::new(&model).unwrap();
    let mut gpu = GpuSimulator::new(ctx.clone(), &cm).unwrap();
    let binding = ctx.limits().max_storage_buffer_binding_size;
    if 8u64 << n <= binding.min(ctx.limits().max_buffer_size) {
        eprintln!("this adapter holds 2^{n} amplitudes in one binding; the split is tested above");
    } else {
        assert!(gpu.num_chunks() >= 2, "{gpu:?}");
    }
    let mut cpu = CpuSimulator::<f32>::new(Arc::new(CostDiagonal::new(&cm).unwrap())).unwrap();
    let a = Angles::new(vec![0.31], vec![0.47]).unwrap();
    let c = cpu.evaluate(&a).unwrap();
    let g = gpu.evaluate(&a).unwrap();
    assert!(
        (c.expectation - g.expectation).abs() < 1e-4 * c.expectation.abs().max(1.0),
        "{c:?} vs {g:?}"
    );
    assert!((g.norm - 1.0).abs() < 1e-4, "{g:?}");
}
