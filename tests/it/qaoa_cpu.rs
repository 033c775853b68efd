//! CPU QAOA simulator against a dense reference, analytic values and published numbers.

use qam::io::Problem;
use qam::model::{Ising, Model, Qubo, Vartype};
use qam::qaoa::FIXED_3_REGULAR_CUT_FRACTION;
use qam::qaoa::closed_form;
use qam::qaoa::{
    Angles, Blocking, CostDiagonal, CostModel, CpuSimulator, Isa, OptimizeOptions, Optimizer, QaoaError, QaoaParams,
    QaoaSolver, Simulator, fixed_angles_3_regular, optimize,
};
use qam::rng::Rng;
use qam::solvers::Solver;
use std::f64::consts::PI;
use std::sync::Arc;

type C = (f64, f64);

fn state_of(model: &Model, k: usize) -> Vec<i8> {
    (0..model.num_variables())
        .map(|i| {
            let b = ((k >> i) & 1) as i8;
            match model.vartype() {
                Vartype::Binary => b,
                Vartype::Spin => 2 * b - 1,
            }
        })
        .collect()
}

/// Dense textbook simulation: phase by `e^{-iγ c_k}`, then a 2x2 RX(2β) per qubit.
fn reference(model: &Model, a: &Angles) -> Vec<C> {
    let n = model.num_variables();
    let len = 1usize << n;
    let cost: Vec<f64> = (0..len).map(|k| model.energy(&state_of(model, k))).collect();
    let amp = (len as f64).sqrt().recip();
    let mut psi: Vec<C> = vec![(amp, 0.0); len];
    for l in 0..a.p() {
        for k in 0..len {
            let (s, c) = (-a.gamma[l] * cost[k]).sin_cos();
            let (x, y) = psi[k];
            psi[k] = (x * c - y * s, x * s + y * c);
        }
        let (cb, sb) = (a.beta[l].cos(), a.beta[l].sin());
        for q in 0..n {
            for k in 0..len {
                if k >> q & 1 == 1 {
                    continue;
                }
                let (a0, a1) = (psi[k], psi[k | 1 << q]);
                // [c, -is; -is, c]
                psi[k] = (cb * a0.0 + sb * a1.1, cb * a0.1 - sb * a1.0);
                psi[k | 1 << q] = (cb * a1.0 + sb * a0.1, cb * a1.1 - sb * a0.0);
            }
        }
    }
    psi
}

fn expectation(model: &Model, psi: &[C]) -> f64 {
    psi.iter()
        .enumerate()
        .map(|(k, z)| (z.0 * z.0 + z.1 * z.1) * model.energy(&state_of(model, k)))
        .sum()
}

fn random_ising(rng: &mut Rng, n: usize, density: f64) -> Model {
    let mut e = Vec::new();
    for i in 0..n as u32 {
        e.push((i, i, rng.below(5) as f64 - 2.0));
        for j in i + 1..n as u32 {
            if rng.next_f64() < density {
                e.push((i, j, rng.below(7) as f64 - 3.0));
            }
        }
    }
    Model::Ising(Ising::from_entries(n, &e, 0.5).unwrap())
}

fn random_qubo(rng: &mut Rng, n: usize, real: bool) -> Model {
    let mut e = Vec::new();
    for i in 0..n as u32 {
        for j in i..n as u32 {
            if rng.next_f64() < 0.6 {
                let w = if real {
                    rng.next_f64() * 2.0 - 1.0
                } else {
                    (rng.below(41) as f64 - 20.0) * 0.25
                };
                e.push((i, j, w));
            }
        }
    }
    Model::Qubo(Qubo::from_entries(n, &e, -1.25).unwrap())
}

fn random_angles(rng: &mut Rng, p: usize, gscale: f64) -> Angles {
    let g = (0..p).map(|_| (rng.next_f64() - 0.5) * 2.0 * gscale).collect();
    let b = (0..p).map(|_| (rng.next_f64() - 0.5) * 2.0 * PI).collect();
    Angles::new(g, b).unwrap()
}

fn diag(model: &Model) -> Arc<CostDiagonal> {
    Arc::new(CostDiagonal::new(&CostModel::new(model).unwrap()).unwrap())
}

#[test]
fn matches_dense_reference_for_every_blocking_and_isa() {
    let mut rng = Rng::new(1);
    let blockings = [
        None,
        Some(Blocking {
            low_bits: 3,
            tile_bytes: 1 << 10,
            min_row_bytes: 64,
        }),
        Some(Blocking {
            low_bits: 5,
            tile_bytes: 4 << 10,
            min_row_bytes: 256,
        }),
        // Rows of 2 KiB: high passes in place instead of through the scratch tile.
        Some(Blocking {
            low_bits: 7,
            tile_bytes: 64 << 10,
            min_row_bytes: 2048,
        }),
    ];
    for n in 1..=11usize {
        let models = [
            random_ising(&mut rng, n, 0.4),
            random_qubo(&mut rng, n, false),
            random_qubo(&mut rng, n, true),
        ];
        for model in &models {
            let d = diag(model);
            for p in [1usize, 3] {
                let a = random_angles(&mut rng, p, 0.4);
                let psi = reference(model, &a);
                let want = expectation(model, &psi);
                for b in &blockings {
                    let mut sim = match b {
                        None => CpuSimulator::<f64>::new(d.clone()).unwrap(),
                        Some(b) => CpuSimulator::<f64>::with_blocking(d.clone(), *b).unwrap(),
                    };
                    for isa in [Isa::Baseline, Isa::detect()] {
                        sim.set_isa(isa);
                        let e = sim.evaluate(&a).unwrap();
                        let probs = sim.probabilities();
                        for (k, z) in psi.iter().enumerate() {
                            let pk = z.0 * z.0 + z.1 * z.1;
                            assert!((probs[k] - pk).abs() < 1e-12, "n {n} k {k} {:?}", sim.plan());
                        }
                        assert!(
                            (e.expectation - want).abs() < 1e-10 * (1.0 + want.abs()),
                            "n {n} p {p} {:?}: {} vs {want}",
                            sim.plan(),
                            e.expectation
                        );
                        assert!((e.norm - 1.0).abs() < 1e-12);
                        let ground: f64 = (0..1usize << n).filter(|&k| d.is_ground(k)).map(|k| probs[k]).sum();
                        assert!((e.ground_state_probability - ground).abs() < 1e-12);
                    }
                }
            }
        }
    }
}

#[test]
fn complex64_agrees_with_complex128_for_n_4_to_16_and_p_1_to_4() {
    let mut rng = Rng::new(2);
    for n in 4..=16usize {
        let model = if n % 2 == 0 {
            qam::generate::regular(n, 3, qam::generate::Weights::PlusMinusOne, n as u64)
                .unwrap()
                .model
        } else {
            random_ising(&mut rng, n, 3.0 / n as f64)
        };
        let d = diag(&model);
        let spread = d.max() - d.min();
        let mut hi = CpuSimulator::<f64>::new(d.clone()).unwrap();
        // Small blocks so that the high passes run too.
        let mut lo = CpuSimulator::<f32>::with_blocking(
            d,
            Blocking {
                low_bits: 6,
                tile_bytes: 8 << 10,
                min_row_bytes: 256,
            },
        )
        .unwrap();
        for p in 1..=4 {
            let a = random_angles(&mut rng, p, 0.5);
            let (x, y) = (hi.evaluate(&a).unwrap(), lo.evaluate(&a).unwrap());
            // Relative to |<C>|, floored at 1% of the energy range (<C> can pass near 0).
            let scale = x.expectation.abs().max(0.01 * spread);
            assert!(
                (x.expectation - y.expectation).abs() < 1e-4 * scale,
                "n {n} p {p}: {x:?} vs {y:?}"
            );
            assert!(
                (x.ground_state_probability - y.ground_state_probability).abs() < 1e-5,
                "n {n} p {p}: {x:?} vs {y:?}"
            );
            assert!((y.norm - 1.0).abs() < 1e-6);
        }
    }
}

fn graph_model(n: usize, edges: &[(u32, u32)]) -> Model {
    let e: Vec<(u32, u32, f64)> = edges.iter().map(|&(u, v)| (u, v, 1.0)).collect();
    Problem::maxcut(n, &e).unwrap().model
}

fn ring(n: usize) -> Vec<(u32, u32)> {
    (0..n as u32).map(|i| (i, (i + 1) % n as u32)).collect()
}

/// Generalised Petersen graph GP(m, k): 2m vertices, 3-regular.
fn petersen(m: usize, k: usize) -> Vec<(u32, u32)> {
    let m32 = m as u32;
    (0..m32)
        .flat_map(|i| [(i, (i + 1) % m32), (i, m32 + i), (m32 + i, m32 + (i + k as u32) % m32)])
        .collect()
}

#[test]
fn p1_equals_the_closed_form_on_graphs() {
    let mut rng = Rng::new(3);
    let k4 = vec![(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)];
    let prism = vec![(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (0, 3), (1, 4), (2, 5)];
    let mut er = Vec::new();
    for u in 0..10u32 {
        for v in u + 1..10 {
            if rng.next_f64() < 0.5 {
                er.push((u, v));
            }
        }
    }
    let graphs: Vec<(usize, Vec<(u32, u32)>)> = vec![
        (4, k4),
        (6, prism),
        (10, er),
        (9, ring(9)),
        (10, petersen(5, 2)),
        (12, petersen(6, 1)),
    ];
    for (n, edges) in graphs {
        let model = graph_model(n, &edges);
        let mut sim = CpuSimulator::<f64>::new(diag(&model)).unwrap();
        for _ in 0..5 {
            let gamma_cut = (rng.next_f64() - 0.5) * 2.0 * PI;
            let beta = (rng.next_f64() - 0.5) * PI;
            let a = Angles::from_cut_convention(&[gamma_cut], &[beta]).unwrap();
            let e = sim.evaluate(&a).unwrap();
            let cut = closed_form::expected_cut(n, &edges, gamma_cut, beta);
            // E = sum s_u s_v = |E| - 2 cut
            let want = edges.len() as f64 - 2.0 * cut;
            assert!(
                (e.expectation - want).abs() < 1e-9,
                "n {n}: {} vs {want}",
                e.expectation
            );
        }
    }
}

#[test]
fn optimised_p1_on_rings_cuts_three_quarters() {
    for (n, optimizer) in [
        (8usize, Optimizer::NelderMead),
        (10, Optimizer::NelderMead),
        (8, Optimizer::Cobyla),
    ] {
        let model = graph_model(n, &ring(n));
        let mut sim = CpuSimulator::<f64>::new(diag(&model)).unwrap();
        let opts = OptimizeOptions {
            optimizer,
            ftol: 1e-13,
            gamma_scale: qam::qaoa::gamma_scale(&model),
            ..Default::default()
        };
        let r = optimize(&mut sim, 1, None, &opts, &mut |_| true).unwrap();
        let cut = (n as f64 - r.evaluation.expectation) / 2.0;
        assert!((cut / n as f64 - 0.75).abs() < 1e-6, "{optimizer:?} n {n}: {r:?}");
    }
}

fn cut_fraction(n: usize, edges: &[(u32, u32)], p: usize) -> f64 {
    let model = graph_model(n, edges);
    let mut sim = CpuSimulator::<f64>::new(diag(&model)).unwrap();
    let (g, b) = fixed_angles_3_regular(p).unwrap();
    let e = sim.evaluate(&Angles::from_cut_convention(&g, &b).unwrap()).unwrap();
    (edges.len() as f64 - e.expectation) / 2.0 / edges.len() as f64
}

/// The published fixed-angle values are per-edge cut fractions on graphs whose radius-p
/// neighbourhoods are trees (girth > 2p + 1). The Möbius–Kantor graph GP(8, 3) is a
/// 16-vertex 3-regular graph of girth 6: tree-like for p = 1, 2, so it must give the
/// published values; no 16-vertex cubic graph has girth 8 (the smallest is the 30-vertex
/// Tutte–Coxeter graph), so at p = 3 its 6-cycles change the value and only the fixed-angle
/// conjecture's lower bound applies.
#[test]
fn fixed_angles_on_a_16_vertex_girth_6_graph() {
    let mk = petersen(8, 3);
    for p in 1..=2 {
        let f = cut_fraction(16, &mk, p);
        assert!((f - FIXED_3_REGULAR_CUT_FRACTION[p - 1]).abs() < 1e-4, "p {p}: {f}");
    }
    let f3 = cut_fraction(16, &mk, 3);
    assert!(f3 > FIXED_3_REGULAR_CUT_FRACTION[2] - 0.005, "p 3: {f3}");
}

/// The same random graph as the notes (networkx.random_regular_graph(3, 16, seed=1)):
/// p = 1 and 4 with the fixed angles give the per-edge fractions measured there.
#[test]
fn fixed_angles_on_the_notes_random_graph() {
    let problem = qam::io::read_file(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rr3_n16_s1.gset"),
        Default::default(),
    )
    .unwrap();
    let Model::Ising(ising) = &problem.model else {
        panic!("G-set reads as Ising")
    };
    let edges: Vec<(u32, u32)> = ising.j().iter_upper().map(|(i, j, _)| (i as u32, j as u32)).collect();
    assert_eq!(edges.len(), 24);
    let f1 = cut_fraction(16, &edges, 1);
    let f4 = cut_fraction(16, &edges, 4);
    assert!((f1 - 0.6855).abs() < 6e-5, "{f1}");
    assert!((f4 - 0.8158).abs() < 6e-5, "{f4}");
}

#[test]
fn complex64_norm_stays_within_1e6_after_ten_layers() {
    let mut rng = Rng::new(4);
    for n in [12usize, 16] {
        let model = qam::generate::regular(n, 3, qam::generate::Weights::One, 7)
            .unwrap()
            .model;
        let d = diag(&model);
        let b = Blocking {
            low_bits: 7,
            tile_bytes: 16 << 10,
            min_row_bytes: 512,
        };
        let mut sim = CpuSimulator::<f32>::with_blocking(d, b).unwrap();
        for _ in 0..3 {
            let a = random_angles(&mut rng, 10, 0.6);
            let e = sim.evaluate(&a).unwrap();
            assert!((e.norm - 1.0).abs() < 1e-6, "n {n}: {e:?}");
            let total: f64 = sim.probabilities().iter().sum();
            assert!((total - 1.0).abs() < 1e-6);
        }
    }
}

#[test]
fn samples_follow_the_distribution_and_ignore_thread_count() {
    let mut rng = Rng::new(5);
    let model = random_ising(&mut rng, 5, 0.5);
    let mut sim = CpuSimulator::<f64>::new(diag(&model)).unwrap();
    assert!(matches!(sim.sample(10, 1), Err(QaoaError::NotEvaluated)));
    sim.evaluate(&random_angles(&mut rng, 2, 0.5)).unwrap();
    let probs = sim.probabilities();
    let shots = 100_000;
    let picks = sim.sample(shots, 9).unwrap();
    let mut hist = vec![0usize; 32];
    for &k in &picks {
        hist[k as usize] += 1;
    }
    for k in 0..32 {
        let f = hist[k] as f64 / shots as f64;
        let sigma = (probs[k] * (1.0 - probs[k]) / shots as f64).sqrt();
        assert!((f - probs[k]).abs() < 5.0 * sigma + 1e-9, "k {k}: {f} vs {}", probs[k]);
    }
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    assert_eq!(one.install(|| sim.sample(500, 3).unwrap()), sim.sample(500, 3).unwrap());
    assert_ne!(sim.sample(500, 3).unwrap(), sim.sample(500, 4).unwrap());
}

#[test]
fn too_large_problems_are_errors() {
    let chain = |n: usize| {
        let e: Vec<(u32, u32, f64)> = (0..n as u32 - 1).map(|i| (i, i + 1, 1.0)).collect();
        Model::Ising(Ising::from_entries(n, &e, 0.0).unwrap())
    };
    assert!(matches!(
        CostModel::new(&chain(41)),
        Err(QaoaError::TooManyQubits { n: 41, .. })
    ));
    // 2^38 states: the diagonal alone needs 256 GiB.
    let cm = CostModel::new(&chain(38)).unwrap();
    let err = CostDiagonal::new(&cm).unwrap_err();
    assert!(matches!(err, QaoaError::HostMemory { .. }), "{err}");
    assert!(err.to_string().contains("cost diagonal"), "{err}");
}

#[test]
fn solver_samples_are_polished_and_reproducible() {
    let model = qam::generate::regular(12, 3, qam::generate::Weights::PlusMinusOne, 3)
        .unwrap()
        .model;
    let solver = QaoaSolver::new(QaoaParams {
        p: 2,
        shots: 64,
        seed: 5,
        device: qam::qaoa::Device::Cpu,
        ..Default::default()
    });
    let a = solver.solve(&model).unwrap();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let b = one.install(|| solver.solve(&model).unwrap());
    assert_eq!(a.samples(), b.samples());
    assert_eq!(a.num_reads(), 64);
    let ground = diag(&model).min();
    assert!(a.first().unwrap().energy >= ground - 1e-9);
    for s in a.samples() {
        assert_eq!(s.energy, model.energy(&s.state));
        for i in 0..12 {
            assert!(model.flip_delta(&s.state, i) >= -1e-9, "not a local minimum");
        }
    }
    let ex = &a.info.extra;
    assert!(ex["expectation"].as_f64().unwrap() < 0.0);
    assert_eq!(ex["gamma"].as_array().unwrap().len(), 2);
}

/// p = 3 needs girth > 7 for the published value; the smallest cubic graph of girth 8 is
/// the 30-vertex Tutte–Coxeter graph (LCF [−13, −9, 7, −7, 9, 13]^5). Its complex64 state
/// takes 8 GiB and a minute, so this runs only on request:
/// `cargo test --release --test qaoa_cpu -- --ignored tutte_coxeter`.
#[test]
#[ignore = "needs 9.5 GiB of memory and about a minute"]
fn fixed_angles_on_the_girth_8_tutte_coxeter_graph() {
    let lcf = [-13i32, -9, 7, -7, 9, 13];
    let mut edges: Vec<(u32, u32)> = (0..30u32).map(|i| (i, (i + 1) % 30)).collect();
    for i in 0..30i32 {
        let j = (i + lcf[i as usize % 6]).rem_euclid(30);
        if i < j {
            edges.push((i as u32, j as u32));
        }
    }
    assert_eq!(edges.len(), 45);
    let model = graph_model(30, &edges);
    let mut sim = CpuSimulator::<f32>::new(diag(&model)).unwrap();
    for p in 1..=3 {
        let (g, b) = fixed_angles_3_regular(p).unwrap();
        let e = sim.evaluate(&Angles::from_cut_convention(&g, &b).unwrap()).unwrap();
        let f = (45.0 - e.expectation) / 2.0 / 45.0;
        assert!((f - FIXED_3_REGULAR_CUT_FRACTION[p - 1]).abs() < 1e-4, "p {p}: {f}");
    }
}
