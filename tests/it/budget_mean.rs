//! A ten times longer time budget gives a better or equal mean answer over 10 seeds, for
//! every CPU solver that takes a budget: the annealers and tempering (`pt`, `pa`), the
//! decomposition, the portfolio (`auto`), the constrained annealer (`cqm-sa`) and the
//! orchestrator (`sa` has its own check in `anytime`). No timing is asserted: only that
//! more time does not make the mean worse.

use qam::cqm::{CqmSaParams, CqmSaSolver, gap};
use qam::decompose::{HierarchicalParams, HierarchicalSolver};
use qam::generate::frustrated_loops;
use qam::model::Model;
use qam::orchestrate::{GenParams, LoadModel, Orchestrator, OrchestratorConfig, generate};
use qam::solvers::{
    PaParams, PaSolver, PortfolioParams, PortfolioSolver, PtParams, PtSolver, SaParams, SolveContext, Solver,
    TimeBudget,
};
use std::time::Duration;

/// Seeds per mean.
const SEEDS: u64 = 10;

fn mean(f: impl Fn(u64) -> f64) -> f64 {
    (0..SEEDS).map(f).sum::<f64>() / SEEDS as f64
}

/// Mean best energy of `solver(seed)` on `model` over [`SEEDS`] seeds with `limit` seconds.
fn mean_energy(model: &Model, limit: f64, solver: &dyn Fn(u64) -> Box<dyn Solver>) -> f64 {
    mean(|seed| {
        let ctx = SolveContext {
            time_limit: Some(Duration::from_secs_f64(limit)),
            budget: TimeBudget::Plan,
            ..Default::default()
        };
        solver(seed).solve_with(model, &ctx).unwrap().first().unwrap().energy
    })
}

fn check(name: &str, model: &Model, short: f64, solver: &dyn Fn(u64) -> Box<dyn Solver>) {
    let a = mean_energy(model, short, solver);
    let b = mean_energy(model, 10.0 * short, solver);
    assert!(
        b <= a + 1e-9,
        "{name}: mean {b} with {} s vs {a} with {short} s",
        10.0 * short
    );
}

#[test]
fn tempering_and_population_annealing() {
    // 3D frustrated loops, 1,000 spins (hard enough that 0.03 s does not reach the ground
    // state on every seed)
    let model = frustrated_loops(3, 1000, 0.2, 11).unwrap().problem.model;
    check("pt", &model, 0.03, &|seed| {
        Box::new(PtSolver::new(PtParams {
            num_replicas: 16,
            seed,
            ..Default::default()
        }))
    });
    check("pa", &model, 0.03, &|seed| {
        Box::new(PaSolver::new(PaParams {
            population: 64,
            seed,
            ..Default::default()
        }))
    });
}

#[test]
fn decomposition_and_portfolio() {
    // 3,375 spins: several clusters of the decomposition
    let model = frustrated_loops(3, 3375, 0.2, 12).unwrap().problem.model;
    check("hierarchical", &model, 0.05, &|seed| {
        Box::new(HierarchicalSolver::new(HierarchicalParams {
            seed,
            ..Default::default()
        }))
    });
    check("auto", &model, 0.05, &|seed| {
        Box::new(PortfolioSolver::new(PortfolioParams {
            sa: SaParams {
                seed,
                ..Default::default()
            },
            pt: PtParams {
                seed,
                ..Default::default()
            },
            hierarchical: HierarchicalParams {
                seed,
                ..Default::default()
            },
            ..Default::default()
        }))
    });
}

#[test]
fn constrained_annealer() {
    // GAP type D, 100 x 5 (tight capacities); infeasible answers count at their energy
    // (objective plus priced violation), which only makes a short budget look worse
    let model = gap::generate(gap::GapType::D, 100, 5, 3).unwrap().to_model();
    let run = |limit: f64| {
        mean(|seed| {
            let s = CqmSaSolver::new(CqmSaParams {
                seed,
                time_limit: Some(Duration::from_secs_f64(limit)),
                ..Default::default()
            })
            .solve(&model)
            .unwrap();
            assert!(s.feasible || limit < 0.1, "seed {seed}: infeasible after {limit} s");
            s.energy
        })
    };
    let (a, b) = (run(0.03), run(0.3));
    assert!(b <= a + 1e-9, "cqm-sa: mean {b} with 0.3 s vs {a} with 0.03 s");
}

#[test]
fn orchestrator() {
    let sc = generate(&GenParams {
        agents: 120,
        pools: 6,
        tasks: 0,
        utilisation: 1.0,
        load_model: LoadModel::PerPool,
        seed: 5,
        ..Default::default()
    });
    let run = |limit: f64| {
        mean(|seed| {
            let plan = Orchestrator::new(OrchestratorConfig {
                seed,
                time_limit: Some(limit),
                ..Default::default()
            })
            .plan(&sc)
            .unwrap();
            assert!(
                plan.violations.is_empty(),
                "seed {seed}, {limit} s: {:?}",
                plan.violations
            );
            plan.metrics.objective
        })
    };
    let (a, b) = (run(0.1), run(1.0));
    assert!(b <= a + 1e-9, "orchestrate: mean {b} with 1 s vs {a} with 0.1 s");
}
