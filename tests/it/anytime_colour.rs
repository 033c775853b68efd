//! Colour-class parallel sweeps (`qam::solvers::colour`): few reads of a large sparse
//! model use every core, with the same answer on any thread count; the kernel reaches
//! the ground state of small models (exhaustive search as the oracle); a full or cut
//! anneal ends cold; under a time limit `sa` anneals one long read at a time on large
//! sparse models.

use qam::generate::frustrated_loops;
use qam::model::{Ising, Model, StopReason};
use qam::solvers::kernels::{COLOUR_ANYTIME_MIN_VARIABLES, ColourAnnealer, colour_pays};
use qam::solvers::{ExactSolver, SaParams, SaSolver, SolveContext, Solver, TimeBudget};
use std::time::{Duration, Instant};

fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// 22^3 = 10,648 spins: large and sparse enough for the colour kernel.
#[test]
fn few_reads_take_the_colour_kernel_and_ignore_the_thread_count() {
    let p = frustrated_loops(3, 10_648, 0.2, 3).unwrap();
    let model = p.problem.model;
    assert!(colour_pays(&model.to_ising(), 2));
    assert!(!colour_pays(&model.to_ising(), 4), "4 reads fill SIMD lanes");
    let solve = || {
        SaSolver::new(SaParams {
            num_reads: 2,
            num_sweeps: 300,
            seed: 5,
            ..Default::default()
        })
        .solve(&model)
        .unwrap()
    };
    let one = on_threads(1, solve);
    for t in [2, 3] {
        let other = on_threads(t, solve);
        assert_eq!(one.samples().len(), other.samples().len());
        for (a, b) in one.samples().iter().zip(other.samples()) {
            assert_eq!(a.state, b.state, "{t} threads");
            assert_eq!(a.energy, b.energy);
        }
    }
    // Complete anneals end cold: within 3% of the planted ground energy (a random state
    // has energy about 0).
    let best = one.first().unwrap().energy;
    assert!(
        best >= p.ground_energy - 1e-9,
        "{best} below the ground {}",
        p.ground_energy
    );
    assert!(best <= 0.97 * p.ground_energy, "{best} vs ground {}", p.ground_energy);
}

/// Small random models (integer and float weights, with fields): the best of 4 colour
/// anneals equals the exhaustive ground energy.
#[test]
fn colour_kernel_reaches_the_ground_state_of_small_models() {
    for seed in 0..6u64 {
        for integer in [true, false] {
            let n = 14;
            let mut x = seed * 2 + integer as u64 + 1;
            let mut next = || {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (x >> 33) as f64 / (1u64 << 31) as f64
            };
            let mut e = Vec::new();
            for i in 0..n as u32 {
                for j in i + 1..n as u32 {
                    if next() < 0.3 {
                        let w = if integer {
                            (next() * 5.0).floor() - 2.0
                        } else {
                            next() - 0.5
                        };
                        e.push((i, j, w));
                    }
                }
                let h = if integer {
                    (next() * 3.0).floor() - 1.0
                } else {
                    next() - 0.5
                };
                e.push((i, i, h));
            }
            let ising = Ising::from_entries(n, &e, 0.0).unwrap();
            let ground = ExactSolver::default()
                .solve(&Model::Ising(ising.clone()))
                .unwrap()
                .first()
                .unwrap()
                .energy;
            let a = ColourAnnealer::new(&ising);
            assert_eq!(a.is_integer(), integer);
            let betas: Vec<f64> = (0..2000).map(|k| 0.05 * 400f64.powf(k as f64 / 1999.0)).collect();
            let best = (0..4u64)
                .map(|key| {
                    let mut s: Vec<i8> = (0..n)
                        .map(|i| if (i as u64 + key).is_multiple_of(3) { 1 } else { -1 })
                        .collect();
                    a.anneal(&betas, &mut s, key, &SolveContext::default(), Instant::now());
                    ising.energy(&s)
                })
                .fold(f64::INFINITY, f64::min);
            assert!(
                (best - ground).abs() < 1e-9,
                "seed {seed} integer {integer}: {best} vs {ground}"
            );
        }
    }
}

/// An anneal cut by the time limit is finished cold (the coldest sweeps of its schedule),
/// never returned hot.
#[test]
fn a_cut_colour_anneal_ends_cold() {
    let p = frustrated_loops(3, 10_648, 0.2, 4).unwrap();
    let ising = p.problem.model.to_ising();
    let a = ColourAnnealer::new(&ising);
    let betas: Vec<f64> = (0..2_000_000).map(|k| 0.1 + 5.0 * k as f64 / 2e6).collect();
    let ctx = SolveContext {
        time_limit: Some(Duration::from_millis(200)),
        budget: TimeBudget::Single,
        ..Default::default()
    };
    let mut s = vec![1i8; ising.num_variables()];
    let done = a.anneal(&betas, &mut s, 1, &ctx, Instant::now());
    assert!(done < betas.len());
    // Hot (β about 0.1) the energy is near 0; the cold finish quenches it.
    let e = ising.energy(&s);
    assert!(e <= 0.8 * p.ground_energy, "{e} vs ground {}", p.ground_energy);
}

/// Under a time limit, a large sparse model anneals one read per run (on every core),
/// each run complete or, the last one, cut late and finished cold.
#[test]
fn sa_under_a_time_limit_anneals_one_long_read_on_large_sparse_models() {
    let p = frustrated_loops(3, 27_000, 0.2, 1).unwrap();
    const { assert!(27_000 >= COLOUR_ANYTIME_MIN_VARIABLES) };
    let ctx = SolveContext {
        time_limit: Some(Duration::from_secs_f64(1.0)),
        budget: TimeBudget::Plan,
        ..Default::default()
    };
    let set = SaSolver::default().solve_with(&p.problem.model, &ctx).unwrap();
    assert_eq!(set.info.extra["reads_annealed"], 1);
    assert_eq!(set.info.stop_reason, Some(StopReason::TimeLimit));
    let runs = set.info.extra["anneals"].as_u64().unwrap() as usize;
    assert!(runs >= 1);
    // A last run cut late (finished cold) is kept too.
    let cut_kept = usize::from(set.info.extra.contains_key("anneal_cut_and_kept"));
    assert_eq!(
        set.samples().len(),
        (runs + cut_kept).min(10),
        "one row per complete run (and a late-cut one), at most num_reads"
    );
    let best = set.first().unwrap().energy;
    assert!(best <= 0.95 * p.ground_energy, "{best} vs ground {}", p.ground_energy);
}
