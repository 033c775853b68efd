//! The shared batch layer (`qam::batch`): per-subproblem CPU solving and the GPU batcher
//! answer every subproblem of a batch in order, in its own vartype, with energies of its own
//! model, reproducibly; polished answers are 1-flip local minima.

use crate::common::{self, W, brute_force, random_model, random_state};
use qam::batch::{BatchSolver, GpuBatcher, PerSubproblem, Subproblem, best_spins};
use qam::model::{Model, SampleSet, Vartype, to_spins};
use qam::rng::{Rng, derive_seed};
use qam::solvers::{ExactSolver, SolveContext, Solver};

/// A batch of small random models of one vartype (sizes 3..=9), each with a warm start and
/// its own seed.
fn batch(vartype: Vartype, seed: u64) -> Vec<Subproblem> {
    let mut rng = Rng::new(seed);
    (0..6u64)
        .map(|id| {
            let n = 3 + (id as usize * 5) % 7;
            let model = random_model(&mut rng, n, vartype, 0.6, W::Int(3), 0.25);
            Subproblem {
                id,
                warm_start: Some(random_state(&mut rng, n, vartype)),
                model,
                seed: derive_seed(seed, id),
            }
        })
        .collect()
}

/// Every answer belongs to its subproblem: same vartype and length, energies recomputed on
/// the subproblem's model, lowest first.
fn check_answers(batch: &[Subproblem], answers: &[SampleSet]) {
    assert_eq!(answers.len(), batch.len());
    for (sub, set) in batch.iter().zip(answers) {
        assert_eq!(set.vartype, sub.model.vartype(), "subproblem {}", sub.id);
        assert!(!set.is_empty(), "subproblem {}", sub.id);
        let mut last = f64::NEG_INFINITY;
        for s in set.samples() {
            assert_eq!(s.state.len(), sub.len(), "subproblem {}", sub.id);
            assert!(common::close(s.energy, sub.model.energy(&s.state), 1e-9));
            assert!(s.energy >= last);
            last = s.energy;
        }
        assert_eq!(best_spins(set), to_spins(set.vartype, &set.first().unwrap().state));
    }
}

/// No single flip lowers the energy of `state`.
fn is_local_minimum(model: &Model, state: &[i8]) -> bool {
    let e = model.energy(state);
    (0..state.len()).all(|i| {
        let mut t = state.to_vec();
        t[i] = match model.vartype() {
            Vartype::Binary => 1 - t[i],
            Vartype::Spin => -t[i],
        };
        model.energy(&t) >= e - 1e-9
    })
}

#[test]
fn per_subproblem_exact_answers_every_subproblem_with_its_ground_state() {
    let exact = PerSubproblem::new("exact", 20, |_: &Subproblem| {
        Box::new(ExactSolver::default()) as Box<dyn Solver>
    });
    for vartype in [Vartype::Binary, Vartype::Spin] {
        let b = batch(vartype, 11);
        let answers = exact.solve_batch(&b, &SolveContext::default()).unwrap();
        check_answers(&b, &answers);
        for (sub, set) in b.iter().zip(&answers) {
            let (ground, _) = brute_force(&sub.model, 1e-9);
            assert!(
                common::close(set.first().unwrap().energy, ground, 1e-9),
                "subproblem {}",
                sub.id
            );
        }
    }
}

#[test]
fn gpu_batcher_answers_each_block_of_the_union() {
    if common::gpu().is_none() {
        return;
    }
    let ctx = SolveContext::default();
    for vartype in [Vartype::Binary, Vartype::Spin] {
        let b = batch(vartype, 5);
        // Polished (the orchestrator's setting): every sample is a local minimum, the
        // warm start's descent is among them, and on blocks this small the best read is
        // the ground state.
        let polished = GpuBatcher::polished(16, 200);
        let answers = polished.solve_batch(&b, &ctx).unwrap();
        check_answers(&b, &answers);
        for (sub, set) in b.iter().zip(&answers) {
            assert_eq!(set.num_reads(), 17, "16 reads + the warm start");
            assert!(set.samples().iter().all(|s| is_local_minimum(&sub.model, &s.state)));
            let (ground, _) = brute_force(&sub.model, 1e-9);
            assert!(
                common::close(set.first().unwrap().energy, ground, 1e-9),
                "subproblem {}",
                sub.id
            );
        }
        let again = polished.solve_batch(&b, &ctx).unwrap();
        for (x, y) in answers.iter().zip(&again) {
            assert_eq!(x.samples(), y.samples(), "same batch, same answer");
        }
        // Raw reads from the warm starts (decomposition's setting): one sample per read.
        let raw = GpuBatcher {
            reads: 4,
            sweeps: 50,
            beta_range: None,
            start_from_warm: true,
            polish: false,
        };
        let answers = raw.solve_batch(&b, &ctx).unwrap();
        check_answers(&b, &answers);
        assert!(answers.iter().all(|s| s.num_reads() == 4));
    }
}
