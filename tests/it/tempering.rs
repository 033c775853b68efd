//! Parallel tempering and population annealing, CPU (`pt`, `pa`) and GPU (`gpu-pt`,
//! `gpu-pa`): exact ground states on small random problems, reproducibility, and
//! independence of the CPU thread count.

use crate::common;

use common::{ground, seeded_qubo as random_qubo};
use qam::gpu::anneal::Kernel;
use qam::model::SampleSet;
use qam::solvers::{
    GpuPaParams, GpuPaSolver, GpuPtParams, GpuPtSolver, PaParams, PaSolver, PtParams, PtSolver, SolveContext, Solver,
};

fn pt(seed: u64) -> PtParams {
    PtParams {
        num_chains: 2,
        num_replicas: 8,
        num_sweeps: 200,
        seed,
        ..Default::default()
    }
}

fn pa(seed: u64) -> PaParams {
    PaParams {
        population: 64,
        num_sweeps: 200,
        sweeps_per_beta: 5,
        seed,
        ..Default::default()
    }
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

fn assert_ground(set: &SampleSet, exact: f64, what: &str) {
    let best = set.first().unwrap().energy;
    assert!((best - exact).abs() < 1e-9, "{what}: {best} vs exact {exact}");
}

#[test]
fn cpu_pt_and_pa_find_exact_ground_states() {
    for seed in 0..6 {
        let denom = if seed % 2 == 0 { 1.0 } else { 7.0 };
        let model = random_qubo(16, 0.5, denom, 300 + seed);
        let exact = ground(&model);
        let a = PtSolver::new(pt(seed)).solve(&model).unwrap();
        assert_ground(&a, exact, &format!("pt seed {seed}"));
        assert_eq!(a.num_reads(), 2);
        let b = PaSolver::new(pa(seed)).solve(&model).unwrap();
        assert_ground(&b, exact, &format!("pa seed {seed}"));
        assert_eq!(b.num_reads(), 64);
        for s in a.samples().iter().chain(b.samples()) {
            assert_eq!(s.energy, model.energy(&s.state));
        }
    }
}

#[test]
fn cpu_pt_and_pa_do_not_depend_on_thread_count() {
    let model = random_qubo(60, 0.1, 1.0, 17);
    let run_pt = || PtSolver::new(pt(5)).solve(&model).unwrap();
    let run_pa = || PaSolver::new(pa(5)).solve(&model).unwrap();
    let (pt1, pa1) = in_pool(1, || (run_pt(), run_pa()));
    let (pt3, pa3) = in_pool(3, || (run_pt(), run_pa()));
    assert_eq!(pt1.samples(), pt3.samples());
    assert_eq!(pa1.samples(), pa3.samples());
    assert_eq!(pt1.info.extra["swap_acceptance"], pt3.info.extra["swap_acceptance"]);
    // And a different seed gives a different run.
    let other = PaSolver::new(pa(6)).solve(&model).unwrap();
    assert_ne!(pa1.samples(), other.samples());
}

#[test]
fn cpu_pt_stops_at_target_and_reports_time() {
    let model = random_qubo(16, 0.5, 1.0, 44);
    let exact = ground(&model);
    let ctx = SolveContext {
        target_energy: Some(exact),
        ..Default::default()
    };
    let p = PtParams {
        num_sweeps: 1_000_000,
        ..pt(1)
    };
    let set = PtSolver::new(p).solve_with(&model, &ctx).unwrap();
    assert_ground(&set, exact, "pt with target");
    assert!(set.info.time_to_target_s.is_some());
    assert_eq!(set.info.stop_reason, Some(qam::model::StopReason::Target));
    assert!(set.info.params["num_sweeps"].as_u64().unwrap() < 1_000_000);
}

#[test]
fn invalid_parameters_are_named() {
    let model = random_qubo(4, 0.5, 1.0, 1);
    let bad = PtParams {
        num_sweeps: 10,
        sweeps_per_swap: 3,
        ..Default::default()
    };
    let e = PtSolver::new(bad).solve(&model).unwrap_err().to_string();
    assert!(e.contains("num_sweeps"), "{e}");
    let bad = PaParams {
        population: 0,
        ..Default::default()
    };
    let e = PaSolver::new(bad).solve(&model).unwrap_err().to_string();
    assert!(e.contains("population"), "{e}");
    let bad = PtParams {
        beta_range: Some((0.0, 1.0)),
        ..Default::default()
    };
    let e = PtSolver::new(bad).solve(&model).unwrap_err().to_string();
    assert!(e.contains("beta_range"), "{e}");
}

#[test]
fn gpu_pt_and_pa_find_exact_ground_states_reproducibly() {
    let Some(ctx) = common::gpu() else { return };
    for seed in 0..3 {
        let model = random_qubo(16, 0.5, 1.0, 400 + seed);
        let exact = ground(&model);
        for kernel in [Kernel::Workgroup, Kernel::Dense, Kernel::Color] {
            let gpt = || {
                GpuPtSolver::with_context(GpuPtParams { pt: pt(seed), kernel }, ctx.clone())
                    .solve(&model)
                    .unwrap()
            };
            let a = gpt();
            assert_ground(&a, exact, &format!("gpu-pt {kernel:?} seed {seed}"));
            assert_eq!(a.samples(), gpt().samples(), "gpu-pt {kernel:?} reproducible");
            let gpa = || {
                GpuPaSolver::with_context(GpuPaParams { pa: pa(seed), kernel }, ctx.clone())
                    .solve(&model)
                    .unwrap()
            };
            let b = gpa();
            assert_ground(&b, exact, &format!("gpu-pa {kernel:?} seed {seed}"));
            assert_eq!(b.num_reads(), 64);
            assert_eq!(b.samples(), gpa().samples(), "gpu-pa {kernel:?} reproducible");
            for s in a.samples().iter().chain(b.samples()) {
                assert_eq!(s.energy, model.energy(&s.state));
            }
        }
    }
}

#[test]
fn gpu_pt_stops_at_target() {
    let Some(ctx) = common::gpu() else { return };
    let model = random_qubo(16, 0.5, 1.0, 45);
    let exact = ground(&model);
    let p = PtParams {
        num_sweeps: 1_000_000,
        ..pt(2)
    };
    let sctx = SolveContext {
        target_energy: Some(exact),
        ..Default::default()
    };
    let set = GpuPtSolver::with_context(
        GpuPtParams {
            pt: p,
            kernel: Kernel::Auto,
        },
        ctx,
    )
    .solve_with(&model, &sctx)
    .unwrap();
    assert_ground(&set, exact, "gpu-pt with target");
    assert!(set.info.time_to_target_s.is_some());
    assert_eq!(set.info.stop_reason, Some(qam::model::StopReason::Target));
}

#[test]
fn adaptive_ladders_find_ground_states_on_cpu_and_gpu() {
    let model = random_qubo(16, 0.5, 1.0, 77);
    let exact = ground(&model);
    let p = PtParams {
        num_chains: 1,
        num_replicas: 8,
        num_sweeps: 800,
        seed: 3,
        ..Default::default()
    };
    let a = PtSolver::new(p.clone()).solve(&model).unwrap();
    assert_ground(&a, exact, "pt adaptive");
    assert_eq!(a.info.params["adapt_rounds"], 200);
    let geometric = PtSolver::new(p.clone()).ladder(&model.to_ising()).unwrap();
    let adapted: Vec<f64> = serde_json::from_value(a.info.extra["betas"].clone()).unwrap();
    assert_eq!(adapted.len(), 8);
    assert_eq!(adapted[0], geometric[0]);
    assert_ne!(adapted, geometric);
    let Some(ctx) = common::gpu() else { return };
    let g = || {
        GpuPtSolver::with_context(
            GpuPtParams {
                pt: p.clone(),
                kernel: Kernel::Auto,
            },
            ctx.clone(),
        )
        .solve(&model)
        .unwrap()
    };
    let b = g();
    assert_ground(&b, exact, "gpu-pt adaptive");
    let adapted: Vec<f64> = serde_json::from_value(b.info.extra["betas"].clone()).unwrap();
    assert_ne!(adapted, geometric);
    assert_eq!(b.samples(), g().samples());
}
