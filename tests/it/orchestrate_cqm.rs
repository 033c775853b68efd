//! The constrained assignment stage: small scenarios reach the exact optimum for every
//! seed; a capacity-tight scenario ends feasible and equal to the exhaustive optimum.

use qam::orchestrate::{Orchestrator, OrchestratorConfig, Scenario, validate};
use qam::orchestrate::{assign_model, solve_assignment};

#[test]
fn scenario_small_reaches_the_exact_optimum_for_seeds_0_to_9() {
    let sc = Scenario::read(std::path::Path::new("examples/scenario_small.json")).unwrap();
    for seed in 0..10 {
        let plan = Orchestrator::new(OrchestratorConfig {
            seed,
            ..Default::default()
        })
        .plan(&sc)
        .unwrap();
        let opt = plan
            .comparison
            .exact_objective
            .expect("small enough for the exact search");
        assert!(
            (plan.metrics.objective - opt).abs() <= 1e-9 * opt.abs().max(1.0),
            "seed {seed}: {} vs exact {opt}",
            plan.metrics.objective
        );
        assert!(plan.violations.is_empty());
    }
}

/// 9 agents, 3 pools whose capacities add up to exactly the total load (a tight packing),
/// pool-dependent costs, some traffic.
fn tight_scenario() -> Scenario {
    let loads = [5, 4, 4, 3, 3, 3, 2, 2, 1];
    let caps = [9, 9, 9];
    let agents: Vec<String> = loads
        .iter()
        .enumerate()
        .map(|(i, l)| {
            format!(
                r#"{{"id":"a{i}","load":{{"cpu":{l}}},"cost":{{"p0":{},"p1":{},"p2":{}}}}}"#,
                (i * 7) % 5 + 1,
                (i * 3) % 4 + 1,
                (i * 5) % 6 + 1
            )
        })
        .collect();
    let pools: Vec<String> = caps
        .iter()
        .enumerate()
        .map(|(p, c)| format!(r#"{{"id":"p{p}","capacity":{{"cpu":{c}}}}}"#))
        .collect();
    let text = format!(
        r#"{{"format":"qam-scenario","resource_kinds":["cpu"],"agents":[{}],"pools":[{}],
            "traffic":[{{"from":"a0","to":"a1","rate":2}},{{"from":"a2","to":"a3","rate":1}},{{"from":"a4","to":"a8","rate":3}}]}}"#,
        agents.join(","),
        pools.join(",")
    );
    serde_json::from_str(&text).unwrap()
}

#[test]
fn constrained_stage_solves_a_tight_packing_to_the_exhaustive_optimum() {
    let sc = tight_scenario();
    let inst = validate(&sc).unwrap();
    let (_, opt) = qam::orchestrate::exact_assignment(&inst, 1e6).expect("feasible packing");
    // the library stage alone, from an empty plan, without the exact fallback
    let plan = Orchestrator::new(OrchestratorConfig {
        exact_max_leaves: 0.0,
        ..Default::default()
    })
    .plan(&sc)
    .unwrap();
    assert!(plan.violations.is_empty(), "{:?}", plan.violations);
    assert!(
        (plan.metrics.objective - opt).abs() < 1e-9,
        "{} vs {opt}",
        plan.metrics.objective
    );
}

#[test]
fn assign_model_objective_matches_the_assignment_objective() {
    let sc = tight_scenario();
    let inst = validate(&sc).unwrap();
    let (aa, pp) = (inst.num_agents(), inst.num_pools());
    let problem = qam::orchestrate::AssignProblem {
        num_items: aa,
        num_pools: pp,
        num_kinds: inst.num_kinds(),
        load: inst.load.clone(),
        cost: inst.cost.clone(),
        pairs: inst
            .traffic
            .iter_upper()
            .map(|(a, b, w)| (a as u32, b as u32, w * inst.comm_cost))
            .collect(),
        capacity: inst.capacity.clone(),
        ..Default::default()
    };
    let m = assign_model(&problem);
    let mut rng = qam::rng::Rng::new(3);
    for _ in 0..50 {
        let pl: Vec<usize> = (0..aa).map(|_| rng.below(pp as u64) as usize).collect();
        let mut x = vec![0u8; aa * pp];
        for (a, &p) in pl.iter().enumerate() {
            x[a * pp + p] = 1;
        }
        let some: Vec<Option<usize>> = pl.iter().map(|&p| Some(p)).collect();
        assert!((m.energy(&x) - problem.objective(&some)).abs() < 1e-9);
        assert_eq!(m.is_feasible(&x), problem.is_feasible(&some));
    }
    let found = solve_assignment(&problem, &vec![None; aa], Default::default())
        .unwrap()
        .expect("feasible");
    let (_, opt) = qam::orchestrate::exact_assignment(&inst, 1e6).unwrap();
    let some: Vec<Option<usize>> = found.iter().map(|&p| Some(p)).collect();
    assert!((problem.objective(&some) - opt).abs() < 1e-9);
}

#[test]
fn time_limit_is_checked_and_spent_on_the_constrained_stage() {
    let sc = tight_scenario();
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let e = Orchestrator::new(OrchestratorConfig {
            time_limit: Some(bad),
            ..Default::default()
        })
        .plan(&sc)
        .unwrap_err();
        assert!(e.to_string().contains("time_limit"), "{e}");
    }
    let plan = Orchestrator::new(OrchestratorConfig {
        time_limit: Some(0.3),
        exact_max_leaves: 0.0,
        ..Default::default()
    })
    .plan(&sc)
    .unwrap();
    assert!(plan.violations.is_empty());
    let stage = plan
        .stages
        .iter()
        .find(|s| s.stage == "constrained")
        .expect("stage reported");
    assert!(stage.objective.is_some());
}
