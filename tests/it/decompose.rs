//! Hierarchical decomposition: exactness of subproblems and merge levels, optimality on
//! planted instances, determinism across batching and thread counts.

use crate::common;

use qam::decompose::subproblem::{RegionMap, extract};
use qam::decompose::{
    BatchSolver, Clamp, HierarchicalParams, HierarchicalQubo, HierarchicalSolver, HierarchyParams, PartitionMethod,
    Router, Strategy, SubSolverKind, SubSolverParams, apply_flips, merge_model,
};
use qam::generate::{TileClasses, tile_planted_2d};
use qam::model::{Ising, Model, Qubo, binary_to_spin};
use qam::rng::Rng;
use qam::solvers::{SolveContext, SolveError, Solver};
use std::borrow::Cow;
use std::sync::Arc;

/// Random sparse Ising model with fields, offset and non-integer weights.
fn random_ising(n: usize, degree: f64, seed: u64) -> Ising {
    let mut rng = Rng::new(seed);
    let mut entries = Vec::new();
    for i in 0..n as u32 {
        entries.push((i, i, rng.next_f64() * 2.0 - 1.0));
    }
    let m = (n as f64 * degree / 2.0) as usize;
    for _ in 0..m {
        let a = rng.below(n as u64) as u32;
        let b = rng.below(n as u64) as u32;
        if a != b {
            entries.push((a, b, (rng.next_f64() * 4.0 - 2.0) * 0.37));
        }
    }
    Ising::from_entries(n, &entries, 1.25).unwrap()
}

fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + scale)
}

#[test]
fn subproblem_energy_plus_clamped_constant_is_global_energy() {
    for (seed, method) in [(1, PartitionMethod::Multilevel), (2, PartitionMethod::LabelPropagation)] {
        let model = random_ising(300, 5.0, seed);
        let scale: f64 =
            model.j().iter_upper().map(|t| t.2.abs()).sum::<f64>() + model.h().iter().map(|h| h.abs()).sum::<f64>();
        let hier = HierarchicalQubo::build(
            Cow::Borrowed(&model),
            &HierarchyParams {
                method,
                ..HierarchyParams::new(25)
            },
        )
        .unwrap();
        let p = hier.partition(0).unwrap();
        let mut rng = Rng::new(seed + 10);
        for _ in 0..5 {
            let s = rng.spins(300);
            let e = model.energy(&s);
            for c in 0..p.num_clusters() {
                let sub = extract(
                    &model,
                    &s,
                    e,
                    p.cluster(c),
                    |v| (p.cluster_of(v as usize) == c).then(|| p.local_index(v as usize) as u32),
                    c as u64,
                    Clamp::Outside,
                )
                .unwrap();
                assert!(close(sub.global_energy(sub.current()), e, scale));
                for _ in 0..4 {
                    let t = rng.spins(sub.len());
                    let mut full = s.clone();
                    for (&v, &x) in sub.vars.iter().zip(&t) {
                        full[v as usize] = x;
                    }
                    let (g, l) = (model.energy(&full), sub.energy(&t) + sub.constant);
                    assert!(close(g, l, scale), "cluster {c}: global {g} vs sub + constant {l}");
                }
            }
        }
    }
}

#[test]
fn region_subproblems_are_exact_too() {
    let model = random_ising(200, 6.0, 7);
    let mut rng = Rng::new(3);
    let s = rng.spins(200);
    let e = model.energy(&s);
    // Three disjoint arbitrary regions.
    let mut order: Vec<u32> = (0..200).collect();
    rng.shuffle(&mut order);
    let regions: Vec<Vec<u32>> = vec![order[0..30].to_vec(), order[30..31].to_vec(), order[50..120].to_vec()];
    let mut map = RegionMap::new(200);
    map.set(&regions);
    for (r, vars) in regions.iter().enumerate() {
        let sub = extract(&model, &s, e, vars, |v| map.local_in(r, v), r as u64, Clamp::Outside).unwrap();
        let t = rng.spins(sub.len());
        let mut full = s.clone();
        for (&v, &x) in vars.iter().zip(&t) {
            full[v as usize] = x;
        }
        assert!(close(model.energy(&full), sub.global_energy(&t), 100.0));
    }
    map.clear(&regions);
    assert!((0..200).all(|v| !map.is_taken(v)));
}

#[test]
fn merge_level_flips_change_energy_by_the_level_energy_change() {
    // A QUBO (converted to Ising) with three levels at cluster size 8.
    let mut rng = Rng::new(11);
    let n = 240;
    let mut entries = Vec::new();
    for i in 0..n as u32 {
        entries.push((i, i, (rng.below(21) as f64) - 10.0));
        for _ in 0..3 {
            let j = rng.below(n as u64) as u32;
            if j != i {
                entries.push((i, j, (rng.below(41) as f64) - 20.0));
            }
        }
    }
    let qubo = Qubo::from_entries(n, &entries, 3.0).unwrap();
    let base = qubo.to_ising();
    let hier = HierarchicalQubo::build(Cow::Borrowed(&base), &HierarchyParams::new(8)).unwrap();
    assert!(hier.depth() >= 3, "want at least three levels, got {}", hier.depth());
    let p0 = hier.partition(0).unwrap();
    let p1 = hier.partition(1).unwrap();
    for trial in 0..20 {
        let s0 = rng.spins(n);
        let e0 = base.energy(&s0);
        // Level 1 at s0 reproduces the level-0 energy at "no flips" and for any flips.
        let m1 = merge_model(&base, p0, &s0).unwrap();
        assert_eq!(m1.num_variables(), p0.num_clusters());
        assert!(close(m1.energy(&vec![1; m1.num_variables()]), e0, e0.abs()));
        let t1 = rng.spins(m1.num_variables());
        let mut s1 = s0.clone();
        apply_flips(p0, &mut s1, &t1);
        assert!(close(base.energy(&s1), m1.energy(&t1), e0.abs()), "trial {trial}");
        // Level 2 built at t1: flipping level-1 clusters per its solution u changes the
        // global energy by exactly the level-2 energy change.
        let m2 = merge_model(&m1, p1, &t1).unwrap();
        let ones2 = vec![1i8; m2.num_variables()];
        let u = rng.spins(m2.num_variables());
        let mut t1u = t1.clone();
        apply_flips(p1, &mut t1u, &u);
        let mut s2 = s0.clone();
        apply_flips(p0, &mut s2, &t1u);
        let global_change = base.energy(&s2) - base.energy(&s1);
        let level2_change = m2.energy(&u) - m2.energy(&ones2);
        assert!(
            close(global_change, level2_change, e0.abs()),
            "trial {trial}: global change {global_change} vs level-2 change {level2_change}"
        );
    }
    // The couplings that connect clusters are exactly the level-1 couplings, summed.
    let mut summed = std::collections::HashMap::new();
    for (_, _, w, a, b) in hier.cut_couplings(0) {
        *summed.entry((a.min(b), a.max(b))).or_insert(0.0) += w;
    }
    for (a, b, w) in hier.model(1).j().iter_upper() {
        assert!(close(summed.remove(&(a, b)).unwrap_or(0.0), w, 1e3));
    }
    assert!(summed.values().all(|&w| w == 0.0));
    // The stored reference model of level 1 is the merge model at the all-up state.
    let ones = vec![1i8; n];
    let m1 = merge_model(&base, p0, &ones).unwrap();
    let t = rng.spins(m1.num_variables());
    assert!(close(hier.model(1).energy(&t), m1.energy(&t), 1e3));
    // And the QUBO's energy agrees with the Ising's (so level energies are QUBO energies).
    let x: Vec<i8> = (0..n).map(|_| rng.below(2) as i8).collect();
    assert!(close(qubo.energy(&x), base.energy(&binary_to_spin(&x)), 1e4));
}

fn hierarchical(sub: SubSolverKind, cluster: usize, strategy: Strategy, seed: u64) -> HierarchicalSolver {
    HierarchicalSolver::new(HierarchicalParams {
        sub_solver: sub,
        cluster_size: Some(cluster),
        strategy,
        seed,
        ..Default::default()
    })
}

#[test]
fn exact_sub_solver_reaches_tile_planted_optimum() {
    // Tile planting: the planted energy is the proven ground energy. Clusters of 16 (an
    // exhaustive search of 65536 states each).
    for (rows, cols, seed) in [(16, 16, 1), (16, 20, 2), (18, 18, 3)] {
        let planted = tile_planted_2d(rows, cols, TileClasses::default(), seed).unwrap();
        let model = &planted.problem.model;
        assert_eq!(model.energy(&planted.ground_state), planted.ground_energy);
        for strategy in [Strategy::Refine, Strategy::Merge] {
            let set = hierarchical(SubSolverKind::Exact, 16, strategy, seed)
                .solve(model)
                .unwrap();
            let best = set.first().unwrap();
            assert_eq!(
                best.energy, planted.ground_energy,
                "{rows}x{cols} seed {seed} {strategy:?}: {} vs planted {}",
                best.energy, planted.ground_energy
            );
            assert_eq!(model.energy(&best.state), best.energy);
        }
    }
}

#[test]
fn answers_in_the_model_vartype_with_recomputed_energy() {
    let planted = tile_planted_2d(8, 8, TileClasses::default(), 5).unwrap();
    let ising = planted.problem.model.to_ising().into_owned();
    let qubo = Model::Qubo(ising.to_qubo());
    let set = hierarchical(SubSolverKind::Exact, 16, Strategy::Refine, 1)
        .solve(&qubo)
        .unwrap();
    let best = set.first().unwrap();
    assert!(best.state.iter().all(|&x| x == 0 || x == 1));
    assert_eq!(best.energy, qubo.energy(&best.state));
    assert_eq!(best.energy, planted.ground_energy);
    assert_eq!(set.info.solver, "hierarchical");
    assert!(set.info.extra.contains_key("levels"));
}

/// Delegates to a back-end but asks the router for batches of `.1` subproblems.
struct Batched(Arc<dyn BatchSolver>, usize);

impl BatchSolver for Batched {
    fn name(&self) -> String {
        self.0.name()
    }
    fn batch_size(&self) -> Option<usize> {
        Some(self.1)
    }
    fn solve_batch(
        &self,
        batch: &[qam::decompose::Subproblem],
        ctx: &SolveContext,
    ) -> Result<Vec<qam::model::SampleSet>, SolveError> {
        assert!(batch.len() <= self.1);
        self.0.solve_batch(batch, ctx)
    }
}

#[test]
fn same_seed_same_answer_across_batching_and_threads() {
    let model = Model::Ising(random_ising(600, 4.0, 21));
    let params = HierarchicalParams {
        sub_solver: SubSolverKind::Sa,
        sub: SubSolverParams {
            num_sweeps: 50,
            ..Default::default()
        },
        cluster_size: Some(40),
        strategy: Strategy::Refine,
        seed: 4,
        max_rounds: 3,
        ..Default::default()
    };
    let streaming = HierarchicalSolver::new(params.clone());
    // The same SA back-end, but asking the router for batches of 7 (the GPU path).
    let sa = SubSolverKind::Sa.backend(&params.sub).unwrap();
    let batched_backend = Batched(sa, 7);
    let router = Router::new()
        .with_route(usize::MAX, Arc::new(batched_backend))
        .with_route(12, qam::decompose::exact_backend());
    let batched = HierarchicalSolver::new(params.clone()).with_router(Arc::new(router));
    let run = |solver: &HierarchicalSolver, threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| solver.solve(&model).unwrap().first().unwrap().clone())
    };
    let a = run(&streaming, 1);
    let b = run(&streaming, 3);
    let c = run(&batched, 2);
    assert_eq!(a.state, b.state);
    assert_eq!(a.state, c.state);
    assert_eq!(a.energy, c.energy);
}

#[test]
fn merge_strategy_with_sa_improves_on_random_and_never_worsens() {
    let planted = tile_planted_2d(40, 40, TileClasses::default(), 8).unwrap();
    let model = &planted.problem.model;
    let solver = HierarchicalSolver::new(HierarchicalParams {
        sub_solver: SubSolverKind::Sa,
        sub: SubSolverParams {
            num_sweeps: 200,
            ..Default::default()
        },
        cluster_size: Some(100),
        strategy: Strategy::Merge,
        seed: 2,
        ..Default::default()
    });
    let set = solver.solve(model).unwrap();
    let e = set.first().unwrap().energy;
    assert!(e >= planted.ground_energy);
    // Within 5% of the ground energy (a random state has energy about 0).
    assert!(e <= 0.95 * planted.ground_energy, "{e} vs {}", planted.ground_energy);
    let trace = set.info.extra["energy_trace"].as_array().unwrap();
    let energies: Vec<f64> = trace.iter().map(|p| p[1].as_f64().unwrap()).collect();
    assert!(energies.windows(2).all(|w| w[1] <= w[0]), "{energies:?}");
}

#[test]
fn clear_errors_for_unavailable_back_ends_and_bad_sizes() {
    let model = Model::Ising(random_ising(50, 3.0, 1));
    let err = hierarchical(SubSolverKind::Qaoa, 30, Strategy::Merge, 0)
        .solve(&model)
        .unwrap_err();
    assert!(err.to_string().contains("cluster_size"), "{err}");
    let err = hierarchical(SubSolverKind::Exact, 40, Strategy::Merge, 0)
        .solve(&model)
        .unwrap_err();
    assert!(err.to_string().contains("cluster_size"), "{err}");
    let err = hierarchical(SubSolverKind::Sa, 1, Strategy::Merge, 0)
        .solve(&model)
        .unwrap_err();
    assert!(err.to_string().contains("cluster_size"), "{err}");
}

#[test]
fn target_energy_stops_early() {
    let planted = tile_planted_2d(20, 20, TileClasses::default(), 4).unwrap();
    let mut params = HierarchicalParams {
        sub_solver: SubSolverKind::Exact,
        cluster_size: Some(16),
        strategy: Strategy::Refine,
        target_energy: Some(0.5 * planted.ground_energy),
        ..Default::default()
    };
    let set = HierarchicalSolver::new(params.clone())
        .solve(&planted.problem.model)
        .unwrap();
    assert_eq!(set.info.stop_reason, Some(qam::model::StopReason::Target));
    assert!(set.info.time_to_target_s.is_some());
    assert!(set.first().unwrap().energy <= 0.5 * planted.ground_energy);
    params.target_energy = Some(f64::NAN);
    assert!(HierarchicalSolver::new(params).solve(&planted.problem.model).is_err());
}

#[test]
fn sa_sub_solver_finds_the_planted_ferromagnet_ground_state() {
    let planted = qam::generate::planted_ferro(3000, 3, 2).unwrap();
    let model = &planted.problem.model;
    for strategy in [Strategy::Merge, Strategy::Refine] {
        let solver = HierarchicalSolver::new(HierarchicalParams {
            cluster_size: Some(500),
            sub: SubSolverParams {
                num_sweeps: 300,
                ..Default::default()
            },
            strategy,
            seed: 1,
            ..Default::default()
        });
        let set = solver.solve(model).unwrap();
        assert_eq!(set.first().unwrap().energy, planted.ground_energy, "{strategy:?}");
    }
    // Greedy sub-solver on small clusters: never below the ground energy, far below random.
    let set = hierarchical(SubSolverKind::Greedy, 50, Strategy::Refine, 1)
        .solve(model)
        .unwrap();
    let e = set.first().unwrap().energy;
    assert!(e >= planted.ground_energy && e <= 0.9 * planted.ground_energy, "{e}");
}

/// The GPU back-end anneals each batch of clusters as one block-diagonal model on the
/// device (lavapipe in CI): it must reach the planted ground state, reproducibly.
#[test]
fn gpu_sub_solver_finds_the_planted_ferromagnet_ground_state() {
    if common::gpu().is_none() {
        return;
    }
    let planted = qam::generate::planted_ferro(600, 3, 5).unwrap();
    let model = &planted.problem.model;
    let solver = HierarchicalSolver::new(HierarchicalParams {
        sub_solver: SubSolverKind::GpuSa,
        cluster_size: Some(100),
        sub: SubSolverParams {
            num_reads: 4,
            num_sweeps: 200,
            ..Default::default()
        },
        strategy: Strategy::Refine,
        seed: 3,
        ..Default::default()
    });
    let a = solver.solve(model).unwrap();
    assert_eq!(a.first().unwrap().energy, planted.ground_energy);
    assert!(a.info.extra["subproblems"]["gpu-sa"].as_u64().unwrap() > 0);
    let b = solver.solve(model).unwrap();
    assert_eq!(a.first().unwrap().state, b.first().unwrap().state);
}

/// QAOA-in-QAOA: every level solved by the state-vector QAOA sub-solver (clusters of 12
/// qubits) reaches the planted ground state of an easy instance, reproducibly.
#[test]
fn qaoa_sub_solver_finds_the_planted_ferromagnet_ground_state() {
    let planted = qam::generate::planted_ferro(96, 3, 4).unwrap();
    let model = &planted.problem.model;
    let solver = HierarchicalSolver::new(HierarchicalParams {
        sub_solver: SubSolverKind::Qaoa,
        cluster_size: Some(12),
        sub: SubSolverParams {
            qaoa_shots: 50,
            ..Default::default()
        },
        exact_below: 0,
        strategy: Strategy::Merge,
        seed: 2,
        ..Default::default()
    });
    let a = solver.solve(model).unwrap();
    assert_eq!(a.first().unwrap().energy, planted.ground_energy);
    assert!(a.info.extra["subproblems"]["qaoa"].as_u64().unwrap() > 0);
    let b = solver.solve(model).unwrap();
    assert_eq!(a.first().unwrap().state, b.first().unwrap().state);
}

#[test]
fn tiny_models_solve_exactly() {
    for n in [0usize, 1, 2, 5] {
        let entries: Vec<(u32, u32, f64)> = (0..n as u32)
            .map(|i| (i, i, 1.0))
            .chain((1..n as u32).map(|i| (i - 1, i, -2.0)))
            .collect();
        let model = Model::Ising(Ising::from_entries(n, &entries, 0.5).unwrap());
        let brute = qam::solvers::ExactSolver::default()
            .solve(&model)
            .unwrap()
            .first()
            .unwrap()
            .energy;
        for strategy in [Strategy::Merge, Strategy::Refine] {
            for sub in [SubSolverKind::Sa, SubSolverKind::Exact] {
                let set = hierarchical(sub, 2, strategy, 0).solve(&model).unwrap();
                assert_eq!(set.first().unwrap().energy, brute, "n {n} {strategy:?} {sub:?}");
            }
        }
    }
}
