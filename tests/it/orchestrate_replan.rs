//! Incremental re-planning: agents join, leave or fail; the re-plan is warm-started from the
//! old plan and moves as few agents as possible.

use qam::orchestrate::{GenParams, Orchestrator, OrchestratorConfig, Plan, churn, generate};
use std::collections::HashMap;

fn pools_of(plan: &Plan) -> HashMap<String, Option<String>> {
    plan.placements
        .iter()
        .map(|p| (p.agent.clone(), p.pool.clone()))
        .collect()
}

#[test]
fn churn_replan_moves_few_agents() {
    let s0 = generate(&GenParams {
        agents: 300,
        pools: 10,
        tasks: 30,
        seed: 11,
        ..Default::default()
    });
    let orch = Orchestrator::new(OrchestratorConfig {
        seed: 1,
        ..Default::default()
    });
    let p0 = orch.plan(&s0).unwrap();
    assert!(p0.violations.is_empty());
    let s1 = churn(&s0, 0.05, 3, "new").unwrap();
    let p1 = orch.replan(&s1, &p0).unwrap();
    assert!(p1.violations.is_empty(), "{:?}", p1.violations);
    let r = p1.replan.as_ref().unwrap();
    assert_eq!(r.left, 15);
    assert_eq!(r.joined, 15);
    assert_eq!(r.kept + r.moved, 285);
    // The report counts exactly the agents whose pool changed.
    let (a, b) = (pools_of(&p0), pools_of(&p1));
    let moved = b
        .iter()
        .filter(|(id, pool)| a.get(*id).is_some_and(|old| old != *pool))
        .count();
    assert_eq!(moved, r.moved);
    assert!(r.moved <= r.forced + 10, "moved {} (forced {})", r.moved, r.forced);
    // A plan from scratch of the same scenario moves far more agents.
    let fresh = orch.plan(&s1).unwrap();
    let f = pools_of(&fresh);
    let fresh_moved = f
        .iter()
        .filter(|(id, pool)| a.get(*id).is_some_and(|old| old != *pool))
        .count();
    assert!(
        fresh_moved > 5 * r.moved.max(1),
        "fresh {fresh_moved} vs replan {}",
        r.moved
    );
    // Re-planning an unchanged scenario moves nobody.
    let same = orch.replan(&s0, &p0).unwrap();
    assert_eq!(same.replan.as_ref().unwrap().moved, 0);
    assert!(same.metrics.objective <= p0.metrics.objective + 1e-9);
}

#[test]
fn failed_pool_forces_only_its_agents_to_move() {
    let s0 = generate(&GenParams {
        agents: 120,
        pools: 6,
        tasks: 10,
        utilisation: 0.6,
        seed: 5,
        ..Default::default()
    });
    let orch = Orchestrator::new(OrchestratorConfig::default());
    let p0 = orch.plan(&s0).unwrap();
    let mut s1 = s0.clone();
    let gone = s1.pools.remove(2).id;
    for a in &mut s1.agents {
        if let qam::orchestrate::Costs::PerPool(m) = &mut a.cost {
            m.remove(&gone);
        }
    }
    let p1 = orch.replan(&s1, &p0).unwrap();
    assert!(p1.violations.is_empty(), "{:?}", p1.violations);
    let in_gone = p0
        .placements
        .iter()
        .filter(|p| p.pool.as_deref() == Some(gone.as_str()))
        .count();
    let r = p1.replan.unwrap();
    assert!(in_gone > 0);
    assert_eq!(r.forced, in_gone);
    assert!(
        r.moved >= in_gone && r.moved <= in_gone + 5,
        "moved {} forced {in_gone}",
        r.moved
    );
}

#[test]
fn plans_round_trip_through_json() {
    let s = generate(&GenParams {
        agents: 40,
        pools: 3,
        tasks: 8,
        seed: 2,
        ..Default::default()
    });
    let p = Orchestrator::new(OrchestratorConfig::default()).plan(&s).unwrap();
    let back = Plan::from_json(&p.to_json()).unwrap();
    assert_eq!(back.placements, p.placements);
    assert_eq!(back.schedule, p.schedule);
    assert_eq!(back.violations, p.violations);
    assert!((back.metrics.objective - p.metrics.objective).abs() < 1e-9);
    // Writing it again gives the same text.
    assert_eq!(back.to_json(), Plan::from_json(&back.to_json()).unwrap().to_json());
    assert!(Plan::from_json("{\"format\": \"x\"}").is_err());
}

#[test]
fn unpackable_agents_are_reported_not_hidden() {
    // Total capacity suffices (8 = 8) but 3 + 3 + 2 cannot be packed into 4 + 4.
    let s = qam::orchestrate::Scenario::from_json(
        r#"{"resource_kinds": ["cpu"],
            "pools": [{"id": "p", "capacity": {"cpu": 4}}, {"id": "q", "capacity": {"cpu": 4}}],
            "agents": [{"id": "a", "load": {"cpu": 3}}, {"id": "b", "load": {"cpu": 3}},
                       {"id": "c", "load": {"cpu": 2}}]}"#,
    )
    .unwrap();
    let plan = Orchestrator::new(OrchestratorConfig::default()).plan(&s).unwrap();
    assert_eq!(plan.metrics.agents_placed, 2);
    assert_eq!(plan.metrics.violations, 1);
    assert_eq!(
        plan.violations,
        vec![qam::orchestrate::Violation::AgentUnplaced { agent: "c".into() }]
    );
    assert_eq!(plan.placements[2].pool, None);
    assert!(plan.metrics.max_utilisation <= 1.0);
}
