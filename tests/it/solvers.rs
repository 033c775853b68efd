//! CPU solvers against exact answers: `exact` against naive enumeration, `sa` finding the
//! exact ground state, reproducibility across thread counts, parameter validation, and
//! `greedy` returning 1-flip local minima.

use crate::common;

use common::{W, brute_force, random_model, random_state};
use qam::model::{Ising, Model, SampleSet, Vartype, spins_as, to_spins};
use qam::rng::Rng;
use qam::solvers::{ExactSolver, GreedySolver, SaParams, SaSolver, SolveError, Solver};

/// Every sample's energy is the model's energy of its state, states are valid, and the
/// set is sorted.
fn consistent(model: &Model, set: &SampleSet) {
    assert_eq!(set.vartype, model.vartype());
    assert_eq!(set.num_variables, model.num_variables());
    for s in set.samples() {
        model.check_state(&s.state).unwrap();
        assert_eq!(s.energy, model.energy(&s.state));
    }
    assert!(set.samples().windows(2).all(|w| w[0].energy <= w[1].energy));
}

fn ground_energy(model: &Model) -> f64 {
    ExactSolver::default().solve(model).unwrap().first().unwrap().energy
}

#[test]
fn exact_matches_brute_force() {
    let mut rng = Rng::new(21);
    for n in 1..=14 {
        for vt in [Vartype::Binary, Vartype::Spin] {
            // Integer weights in [-1, 1] make many ties; floats make unique ground states.
            for (k, w) in [W::Int(1), W::Int(3), W::Float].into_iter().enumerate() {
                let off = [0.0, 2.0, -0.75][k];
                let m = random_model(&mut rng, n, vt, [0.3, 0.7, 1.0][k], w, off);
                let (min, ground) = brute_force(&m, 1e-9);
                let set = ExactSolver { max_states: 1 << 14 }.solve(&m).unwrap();
                consistent(&m, &set);
                assert_eq!(
                    set.info.extra["num_ground_states"],
                    ground.len() as u64,
                    "n={n} {vt:?} {w:?}"
                );
                assert_eq!(set.len(), ground.len());
                let mut got: Vec<Vec<i8>> = set.samples().iter().map(|s| s.state.clone()).collect();
                got.sort();
                let mut want = ground.clone();
                want.sort();
                assert_eq!(got, want, "n={n} {vt:?} {w:?}");
                for s in set.samples() {
                    assert!((s.energy - min).abs() <= 1e-9 * (1.0 + min.abs()));
                }
                // The default returns one ground state.
                let one = ExactSolver::default().solve(&m).unwrap();
                assert_eq!(one.len(), 1);
                assert!(ground.contains(&one.first().unwrap().state));
            }
        }
    }
}

#[test]
fn exact_counts_fully_degenerate_problems() {
    for n in [1, 5, 12] {
        for vt in [Vartype::Binary, Vartype::Spin] {
            // No terms at all: every state is a ground state.
            let m = random_model(&mut Rng::new(0), n, vt, 0.0, W::Int(0), 1.5);
            let set = ExactSolver::default().solve(&m).unwrap();
            assert_eq!(set.info.extra["num_ground_states"], 1u64 << n);
            assert_eq!(set.first().unwrap().energy, 1.5);
        }
        // Ferromagnetic ring: exactly two ground states (all up, all down).
        let edges: Vec<(u32, u32, f64)> = (0..n as u32).map(|i| (i, (i + 1) % n as u32, -1.0)).collect();
        if n >= 3 {
            let m = Model::Ising(Ising::from_entries(n, &edges, 0.0).unwrap());
            let set = ExactSolver { max_states: 4 }.solve(&m).unwrap();
            assert_eq!(set.info.extra["num_ground_states"], 2u64);
            assert_eq!(set.first().unwrap().energy, -(n as f64));
        }
    }
}

#[test]
fn exact_refuses_more_than_30_variables() {
    let m = Model::Ising(Ising::from_entries(31, &[(0, 30, 1.0)], 0.0).unwrap());
    match ExactSolver::default().solve(&m) {
        Err(SolveError::TooLarge { solver, reason }) => {
            assert_eq!(solver, "exact");
            assert!(reason.contains("31"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

/// Dense-ish random QUBO (integer weights) or random ±1 Ising (all pairs, no fields).
fn sa_problem(seed: u64, dense_qubo: bool) -> Model {
    let mut rng = Rng::new(1000 + seed);
    if dense_qubo {
        random_model(&mut rng, 20, Vartype::Binary, 0.6, W::Int(10), 0.0)
    } else {
        let mut e = Vec::new();
        for i in 0..20u32 {
            for j in i + 1..20 {
                e.push((i, j, if rng.bit() { 1.0 } else { -1.0 }));
            }
        }
        Model::Ising(Ising::from_entries(20, &e, 0.0).unwrap())
    }
}

#[test]
fn sa_finds_exact_ground_state_of_20_variable_problems() {
    for seed in 0..20 {
        for dense_qubo in [true, false] {
            let m = sa_problem(seed, dense_qubo);
            let exact = ground_energy(&m);
            let sa = SaSolver::new(SaParams {
                num_reads: 10,
                seed,
                ..Default::default()
            });
            let set = sa.solve(&m).unwrap();
            consistent(&m, &set);
            assert_eq!(set.num_reads(), 10);
            let best = set.first().unwrap().energy;
            assert!(
                (best - exact).abs() <= 1e-9 * (1.0 + exact.abs()),
                "seed {seed} dense_qubo={dense_qubo}: sa {best} vs exact {exact}"
            );
        }
    }
}

/// Everything in a sample set except wall-clock timings.
fn comparable(s: &SampleSet) -> impl PartialEq + std::fmt::Debug + use<> {
    (
        s.vartype,
        s.num_variables,
        s.samples().to_vec(),
        s.info.solver.clone(),
        s.info.params.clone(),
        s.info.seed,
        s.info.extra.clone(),
    )
}

#[test]
fn same_seed_same_answer_on_any_thread_count() {
    let mut rng = Rng::new(31);
    let models = [
        random_model(&mut rng, 60, Vartype::Spin, 0.1, W::Float, 0.0),
        random_model(&mut rng, 60, Vartype::Binary, 0.1, W::Int(5), 1.0),
    ];
    let pool = |t| rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap();
    let (p1, p4) = (pool(1), pool(4));
    for m in &models {
        let sa = SaSolver::new(SaParams {
            num_reads: 13,
            num_sweeps: 200,
            seed: 42,
            ..Default::default()
        });
        let a = p1.install(|| sa.solve(m).unwrap());
        let b = p4.install(|| sa.solve(m).unwrap());
        assert_eq!(comparable(&a), comparable(&b));
        let greedy = GreedySolver {
            num_reads: 13,
            seed: 42,
            initial_states: None,
        };
        let a = p1.install(|| greedy.solve(m).unwrap());
        let b = p4.install(|| greedy.solve(m).unwrap());
        assert_eq!(comparable(&a), comparable(&b));
        // A different seed gives different reads.
        let other = SaSolver::new(SaParams {
            seed: 43,
            ..sa.params.clone()
        });
        let c = p4.install(|| other.solve(m).unwrap());
        assert_ne!(comparable(&c), comparable(&p4.install(|| sa.solve(m).unwrap())));
    }
}

#[test]
fn sa_zero_sweeps_returns_initial_states() {
    let mut rng = Rng::new(41);
    for vt in [Vartype::Binary, Vartype::Spin] {
        let m = random_model(&mut rng, 15, vt, 0.3, W::Float, 0.5);
        let init: Vec<Vec<i8>> = (0..3).map(|_| random_state(&mut rng, 15, vt)).collect();
        for params in [
            SaParams {
                num_sweeps: 0,
                ..Default::default()
            },
            SaParams {
                beta_schedule: Some(Vec::new()),
                ..Default::default()
            },
        ] {
            let sa = SaSolver::new(SaParams {
                num_reads: 7,
                initial_states: Some(init.clone()),
                ..params
            });
            let set = sa.solve(&m).unwrap();
            consistent(&m, &set);
            assert_eq!(set.num_reads(), 7);
            // Reads beyond the number of initial states reuse them in turn (tile).
            let mut got: Vec<Vec<i8>> = set.samples().iter().map(|s| s.state.clone()).collect();
            let mut want: Vec<Vec<i8>> = (0..7).map(|r| init[r % 3].clone()).collect();
            got.sort();
            want.sort();
            assert_eq!(got, want);
        }
        // With sweeps, annealing from a ground state at a cold, fixed beta stays there.
        let exact = ExactSolver::default().solve(&m).unwrap();
        let g = exact.first().unwrap().state.clone();
        let set = SaSolver::new(SaParams {
            num_reads: 2,
            beta_schedule: Some(vec![1e3; 20]),
            initial_states: Some(vec![g.clone()]),
            ..Default::default()
        })
        .solve(&m)
        .unwrap();
        assert!(set.samples().iter().all(|s| s.state == g));
    }
}

fn param_error(params: SaParams, model: &Model) -> (&'static str, String) {
    match SaSolver::new(params).solve(model) {
        Err(SolveError::InvalidParameter { name, reason }) => (name, reason),
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
}

#[test]
fn sa_parameter_errors_name_the_parameter() {
    let mut rng = Rng::new(51);
    let m = random_model(&mut rng, 5, Vartype::Binary, 0.5, W::Int(3), 0.0);
    let spin = random_model(&mut rng, 5, Vartype::Spin, 0.5, W::Int(3), 0.0);
    let d = SaParams::default;
    let cases: Vec<(SaParams, &Model, &str, &str)> = vec![
        (SaParams { num_reads: 0, ..d() }, &m, "num_reads", "at least 1"),
        (
            SaParams {
                num_sweeps: 10,
                num_sweeps_per_beta: 3,
                ..d()
            },
            &m,
            "num_sweeps",
            "divisible",
        ),
        (
            SaParams {
                num_sweeps_per_beta: 0,
                ..d()
            },
            &m,
            "num_sweeps_per_beta",
            "at least 1",
        ),
        (
            SaParams {
                beta_range: Some((-1.0, 2.0)),
                ..d()
            },
            &m,
            "beta_range",
            "non-negative",
        ),
        (
            SaParams {
                beta_range: Some((0.1, f64::NAN)),
                ..d()
            },
            &m,
            "beta_range",
            "finite",
        ),
        (
            SaParams {
                beta_range: Some((0.0, 2.0)),
                ..d()
            },
            &m,
            "beta_range",
            "geometric",
        ),
        (
            SaParams {
                beta_schedule: Some(vec![0.1, -0.5]),
                ..d()
            },
            &m,
            "beta_schedule",
            "-0.5",
        ),
        (
            SaParams {
                initial_states: Some(vec![vec![0, 1, 0]]),
                ..d()
            },
            &m,
            "initial_states",
            "length 3",
        ),
        (
            SaParams {
                initial_states: Some(vec![vec![0, 1, 0, 1, 0], vec![0, 1, 2, 1, 0]]),
                ..d()
            },
            &m,
            "initial_states",
            "state 1",
        ),
        (
            SaParams {
                initial_states: Some(vec![vec![1, -1, 0, 1, 1]]),
                ..d()
            },
            &spin,
            "initial_states",
            "-1 or +1",
        ),
        (
            SaParams {
                initial_states: Some(vec![]),
                ..d()
            },
            &m,
            "initial_states",
            "empty",
        ),
    ];
    for (params, model, name, needle) in cases {
        let (got, reason) = param_error(params, model);
        assert_eq!(got, name, "{reason}");
        assert!(reason.contains(needle), "{name}: `{reason}` lacks `{needle}`");
    }
    // Greedy validates the same way.
    let e = GreedySolver {
        num_reads: 0,
        ..Default::default()
    }
    .solve(&m);
    assert!(
        matches!(e, Err(SolveError::InvalidParameter { name: "num_reads", .. })),
        "{e:?}"
    );
    let e = GreedySolver {
        initial_states: Some(vec![vec![0, 1]]),
        ..Default::default()
    }
    .solve(&m);
    assert!(
        matches!(
            e,
            Err(SolveError::InvalidParameter {
                name: "initial_states",
                ..
            })
        ),
        "{e:?}"
    );
}

#[test]
fn greedy_returns_one_flip_local_minima() {
    let mut rng = Rng::new(61);
    for k in 0..30 {
        let vt = if k % 2 == 0 { Vartype::Binary } else { Vartype::Spin };
        let n = [5, 40, 200][k % 3];
        let m = random_model(&mut rng, n, vt, 0.2, [W::Int(2), W::Float][k % 2], 0.0);
        let init: Vec<Vec<i8>> = (0..4).map(|_| random_state(&mut rng, n, vt)).collect();
        let set = GreedySolver {
            initial_states: Some(init.clone()),
            ..Default::default()
        }
        .solve(&m)
        .unwrap();
        consistent(&m, &set);
        assert_eq!(set.num_reads(), 4);
        let best_start = init.iter().map(|s| m.energy(s)).fold(f64::INFINITY, f64::min);
        assert!(set.first().unwrap().energy <= best_start);
        for s in set.samples() {
            for i in 0..n {
                let d = m.flip_delta(&s.state, i);
                assert!(d >= -1e-9, "flip {i} still lowers the energy by {d}");
                // flip_delta is the energy difference.
                let mut t = s.state.clone();
                t[i] = if vt == Vartype::Spin { -t[i] } else { 1 - t[i] };
                assert!((m.energy(&t) - s.energy - d).abs() <= 1e-9 * (1.0 + s.energy.abs()));
            }
        }
        // descend() works on the spin form and reaches the same kind of minimum.
        let ising = m.to_ising();
        let mut s = to_spins(vt, &init[0]);
        qam::solvers::greedy::descend(&ising, &mut s);
        let st = spins_as(vt, &s);
        assert!((0..n).all(|i| m.flip_delta(&st, i) >= -1e-9));
    }
}

#[test]
fn default_beta_range_matches_neal() {
    // dwave-samplers 1.8.0 `_default_ising_beta_range(bqm.spin.linear, bqm.spin.quadratic)`
    // on the committed test files (values printed by Python).
    for (file, hot, cold) in [
        ("small.qubo", 0.15403270679109896, 21.193269466192145),
        ("gset_pm1.txt", 0.11552453009332421, 3.1073040492110957),
        ("bqp_two.txt", 0.05331901388922656, 5.298317366548036),
        ("general_spin.mtx", 0.057762265046662105, 2.8518912373281005),
        // cold end = ln(1 / 0.01) / (2 * 1) = ln 10
        ("model.json", 0.049510512897138946, std::f64::consts::LN_10),
    ] {
        let p = qam::io::read_file(common::data(file), Default::default()).unwrap();
        let (h, c) = qam::solvers::default_beta_range(&p.model.to_ising());
        assert!(
            common::close(h, hot, 1e-12) && common::close(c, cold, 1e-12),
            "{file}: ({h}, {c})"
        );
    }
}
