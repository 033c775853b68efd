//! Hostile inputs (issue 17): numbers and files chosen to break qam. Each family here
//! reproduces a reported failure (wrong answer, data loss, panic, memory blow-up, silently
//! accepted nonsense) and checks the fix: the right answer or a clear error.

mod common;

use common::{W, random_model};
use qam::decompose::{HierarchicalParams, HierarchicalSolver, SubSolverKind};
use qam::model::{Ising, Model, Qubo, Vartype};
use qam::rng::Rng;
use qam::solvers::{ExactSolver, GreedySolver, PaParams, PaSolver, PtParams, PtSolver, SaParams, SaSolver, Solver};

/// `model` with `offset` added to its constant term.
fn with_offset(model: &Model, offset: f64) -> Model {
    match model {
        Model::Qubo(q) => {
            Model::Qubo(Qubo::new(q.linear().to_vec(), q.quadratic().clone(), q.offset() + offset).unwrap())
        }
        Model::Ising(i) => Model::Ising(Ising::new(i.h().to_vec(), i.j().clone(), i.offset() + offset).unwrap()),
    }
}

fn solvers() -> Vec<Box<dyn Solver>> {
    vec![
        Box::new(ExactSolver { max_states: 4 }),
        Box::new(SaSolver::new(SaParams {
            num_reads: 8,
            num_sweeps: 200,
            seed: 5,
            ..Default::default()
        })),
        Box::new(PtSolver::new(PtParams {
            num_replicas: 8,
            num_sweeps: 200,
            seed: 5,
            ..Default::default()
        })),
        Box::new(PaSolver::new(PaParams {
            population: 16,
            num_sweeps: 100,
            seed: 5,
            ..Default::default()
        })),
        Box::new(GreedySolver {
            num_reads: 8,
            seed: 5,
            initial_states: None,
        }),
        Box::new(HierarchicalSolver::new(HierarchicalParams {
            sub_solver: SubSolverKind::Exact,
            cluster_size: Some(6),
            seed: 5,
            max_rounds: 4,
            ..Default::default()
        })),
    ]
}

/// Wrong answers: a constant added to the energy cannot change which states a solver
/// returns or their order (offsets up to 1e15, float and integer weights), and the
/// reported energies are the offset-free ones plus the offset.
#[test]
fn offsets_never_change_the_returned_states() {
    let mut rng = Rng::new(17);
    for case in 0..6 {
        let vt = if case % 2 == 0 { Vartype::Binary } else { Vartype::Spin };
        let w = if case < 3 { W::Float } else { W::Int(3) };
        let base = random_model(&mut rng, 14, vt, 0.3, w, 0.0);
        for solver in solvers() {
            let want = solver.solve(&base).unwrap();
            for offset in [1.0, -7.5, 1e6, 1e9, 1e10, 1e12, -1e12, 1e15] {
                let m = with_offset(&base, offset);
                let got = solver.solve(&m).unwrap();
                let a: Vec<&Vec<i8>> = want.samples().iter().map(|s| &s.state).collect();
                let b: Vec<&Vec<i8>> = got.samples().iter().map(|s| &s.state).collect();
                assert_eq!(a, b, "solver {} case {case} offset {offset}", solver.name());
                let e = got.first().unwrap().energy;
                assert_eq!(
                    e,
                    offset + want.first().unwrap().energy,
                    "{} offset {offset}",
                    solver.name()
                );
            }
        }
    }
}

/// The reproduction: `c offset 1e9` plus three `-1` diagonal terms. Before the fix
/// `exact` returned [0,0,0] at energy 1e9 with 8 "ground states".
#[test]
fn exact_with_a_large_offset_finds_the_unique_optimum() {
    let q = Qubo::from_entries(3, &[(0, 0, -1.0), (1, 1, -1.0), (2, 2, -1.0)], 1e9).unwrap();
    let set = ExactSolver::default().solve(&Model::Qubo(q)).unwrap();
    assert_eq!(set.first().unwrap().state, vec![1, 1, 1]);
    assert_eq!(set.first().unwrap().energy, 1e9 - 3.0);
    assert_eq!(set.info.extra["num_ground_states"], 1);
}

/// `exact` gives the same ground states (and count) on 1, 2, 3 and 8 threads, on a model
/// with many exact ties and a large offset.
#[test]
fn exact_is_thread_count_independent() {
    let mut rng = Rng::new(3);
    let base = random_model(&mut rng, 16, Vartype::Binary, 0.4, W::Int(1), 0.0);
    let m = with_offset(&base, 1e12);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| ExactSolver { max_states: 1000 }.solve(&m).unwrap())
    };
    let one = run(1);
    let (e, ground) = common::brute_force(&base, 1e-9);
    assert_eq!(one.first().unwrap().energy, e + 1e12);
    assert_eq!(one.info.extra["num_ground_states"], ground.len());
    for t in [2, 3, 8] {
        let r = run(t);
        assert_eq!(r, one_without_timing(&one, &r), "{t} threads");
    }
}

/// `a` with `b`'s timing (timings differ run to run; everything else must not).
fn one_without_timing(a: &qam::model::SampleSet, b: &qam::model::SampleSet) -> qam::model::SampleSet {
    let mut a = a.clone();
    a.info.timing = b.info.timing.clone();
    a
}
