//! On scenarios small enough for exhaustive search, the orchestrator's plan equals the
//! optimum found by brute force over all feasible plans (enumerated here, independently of
//! the library), for the placement, the clustering QUBO and the schedule QUBO.

use qam::model::Model;
use qam::orchestrate::{Agent, Costs, Load, Pool, Scenario, Task, Traffic};
use qam::orchestrate::{AssignProblem, PenaltySettings, build_assign_qubo};
use qam::orchestrate::{CpuBackend, CpuSolverKind, GenParams, Orchestrator, OrchestratorConfig, generate, validate};
use qam::orchestrate::{PartitionProblem, build_partition_qubo};
use qam::orchestrate::{SlotState, build_schedule_qubo};
use qam::rng::Rng;
use qam::solvers::{ExactSolver, Solver};
use std::collections::BTreeMap;

fn uniform_cpu(l: &Load) -> f64 {
    match l {
        Load::Uniform(m) => m["cpu"],
        Load::PerPool(_) => panic!("uniform loads expected"),
    }
}

/// A random small scenario: `a` agents, `p` pools, integer loads, tight capacities.
fn small_scenario(a: usize, p: usize, seed: u64) -> Scenario {
    let mut rng = Rng::new(seed);
    let agents: Vec<Agent> = (0..a)
        .map(|i| Agent {
            id: format!("a{i}"),
            capabilities: vec!["work".into()],
            load: BTreeMap::from([("cpu".to_string(), (1 + rng.below(3)) as f64)]).into(),
            cost: Costs::Dense((0..p).map(|_| (rng.below(20) as f64) / 4.0).collect()),
        })
        .collect();
    let total: f64 = agents.iter().map(|x| uniform_cpu(&x.load)).sum();
    let pools: Vec<Pool> = (0..p)
        .map(|j| Pool {
            id: format!("p{j}"),
            capacity: BTreeMap::from([("cpu".to_string(), (total / p as f64 * 1.25).ceil() + j as f64 % 2.0)]),
        })
        .collect();
    let mut traffic = Vec::new();
    for i in 0..a {
        for j in i + 1..a {
            if rng.below(3) == 0 {
                traffic.push(Traffic {
                    from: format!("a{i}"),
                    to: format!("a{j}"),
                    rate: (1 + rng.below(8)) as f64 / 2.0,
                });
            }
        }
    }
    Scenario {
        format: "qam-scenario".into(),
        resource_kinds: vec!["cpu".into()],
        comm_cost: 1.0,
        horizon: None,
        pools,
        agents,
        tasks: vec![Task {
            id: "t0".into(),
            capability: "work".into(),
            duration: 1,
            after: vec![],
            conflicts: vec![],
        }],
        traffic,
    }
}

/// Brute force over every placement: the best feasible objective and all placements
/// reaching it.
fn brute_force(s: &Scenario) -> (f64, Vec<Vec<usize>>) {
    let a = s.agents.len();
    let p = s.pools.len();
    let id = |x: &str| x[1..].parse::<usize>().unwrap();
    let mut best = f64::INFINITY;
    let mut arg = Vec::new();
    let mut x = vec![0usize; a];
    loop {
        let mut used = vec![0.0; p];
        for i in 0..a {
            used[x[i]] += uniform_cpu(&s.agents[i].load);
        }
        if (0..p).all(|j| used[j] <= s.pools[j].capacity["cpu"]) {
            let mut obj = 0.0;
            for i in 0..a {
                if let Costs::Dense(c) = &s.agents[i].cost {
                    obj += c[x[i]];
                }
            }
            for t in &s.traffic {
                if x[id(&t.from)] != x[id(&t.to)] {
                    obj += t.rate * s.comm_cost;
                }
            }
            if obj < best - 1e-9 {
                best = obj;
                arg = vec![x.clone()];
            } else if (obj - best).abs() <= 1e-9 {
                arg.push(x.clone());
            }
        }
        let mut k = 0;
        while k < a {
            x[k] += 1;
            if x[k] < p {
                break;
            }
            x[k] = 0;
            k += 1;
        }
        if k == a {
            break;
        }
    }
    (best, arg)
}

#[test]
fn plan_equals_brute_force_optimum() {
    for (seed, a, p, backend) in [
        (1, 5, 2, CpuSolverKind::Exact),
        (2, 4, 3, CpuSolverKind::Exact),
        (3, 6, 2, CpuSolverKind::Auto),
        (4, 7, 3, CpuSolverKind::Auto),
        (5, 8, 3, CpuSolverKind::Auto),
    ] {
        let s = small_scenario(a, p, seed);
        let (best, optima) = brute_force(&s);
        let orch = Orchestrator::with_backend(
            OrchestratorConfig {
                seed,
                ..Default::default()
            },
            Box::new(CpuBackend {
                kind: backend,
                reads: 64,
                sweeps: 1000,
                ..Default::default()
            }),
        );
        let plan = orch.plan(&s).unwrap();
        assert!(plan.violations.is_empty(), "seed {seed}: {:?}", plan.violations);
        assert!(
            (plan.metrics.objective - best).abs() < 1e-9,
            "seed {seed}: plan {} vs optimum {best}",
            plan.metrics.objective
        );
        let placement: Vec<usize> = plan
            .placements
            .iter()
            .map(|x| x.pool.as_deref().unwrap()[1..].parse().unwrap())
            .collect();
        assert!(
            optima.contains(&placement),
            "seed {seed}: plan is not one of the optimal placements"
        );
        // The library's own exact comparison agrees.
        assert!((plan.comparison.exact_objective.unwrap() - best).abs() < 1e-9);
        assert!(plan.comparison.gap_to_exact.unwrap().abs() < 1e-9);
    }
}

#[test]
fn assignment_qubo_minimum_is_the_constrained_optimum() {
    // The QUBO itself (slack-encoded capacities, automatic weights): its exhaustive minimum
    // decodes to an optimal feasible plan with energy equal to the optimum.
    for seed in 10..16 {
        let s = small_scenario(4, 2, seed);
        let (best, optima) = brute_force(&s);
        let inst = validate(&s).unwrap();
        let pairs: Vec<(u32, u32, f64)> = inst
            .traffic
            .iter_upper()
            .map(|(i, j, w)| (i as u32, j as u32, w))
            .collect();
        let prob = AssignProblem {
            num_items: 4,
            num_pools: 2,
            num_kinds: 1,
            load: inst.load.clone(),
            cost: inst.cost.clone(),
            pairs,
            capacity: inst.capacity.clone(),
            ..Default::default()
        };
        let aq = build_assign_qubo(&prob, &PenaltySettings::default()).unwrap();
        assert!(aq.qubo.num_variables() <= 30);
        let set = ExactSolver { max_states: 64 }
            .solve(&Model::Qubo(aq.qubo.clone()))
            .unwrap();
        let ground = set.first().unwrap();
        assert!(
            (ground.energy - best).abs() < 1e-9,
            "seed {seed}: {} vs {best}",
            ground.energy
        );
        for smp in set.lowest(0.0, 1e-9) {
            let pl: Vec<usize> = aq.decode(&smp.state).into_iter().map(|p| p.unwrap()).collect();
            assert!(optima.contains(&pl), "seed {seed}: ground state is not an optimal plan");
        }
        // Encoding an optimal plan gives exactly the optimum energy.
        let opt: Vec<Option<usize>> = optima[0].iter().map(|&p| Some(p)).collect();
        assert!((aq.qubo.energy(&aq.encode(&opt).unwrap()) - best).abs() < 1e-9);
    }
}

#[test]
fn partition_qubo_minimum_is_the_best_balanced_partition() {
    // 8 nodes, 2 clusters of exactly 4 (large balance weight): brute force over balanced
    // partitions vs the QUBO's exhaustive minimum.
    let mut rng = Rng::new(3);
    let mut trip = Vec::new();
    for i in 0..8u32 {
        for j in i + 1..8 {
            if rng.below(2) == 0 {
                trip.push((i, j, (1 + rng.below(9)) as f64));
            }
        }
    }
    let edges = qam::model::Couplings::from_triplets(8, trip.clone()).unwrap();
    let p = PartitionProblem {
        edges,
        node_weight: vec![1.0; 8],
        targets: vec![4.0, 4.0],
    };
    let mut best = f64::INFINITY;
    for mask in 0u32..256 {
        if mask.count_ones() != 4 {
            continue;
        }
        let cut: f64 = trip
            .iter()
            .filter(|&&(i, j, _)| (mask >> i & 1) != (mask >> j & 1))
            .map(|t| t.2)
            .sum();
        best = best.min(cut);
    }
    let pq = build_partition_qubo(
        &p,
        &PenaltySettings {
            constraint: Some(1000.0),
            ..Default::default()
        },
    )
    .unwrap();
    let set = ExactSolver::default().solve(&Model::Qubo(pq.qubo.clone())).unwrap();
    let parts = pq.decode(&set.first().unwrap().state);
    assert!(parts.iter().all(|c| c.is_some()));
    assert_eq!(p.loads(&parts), vec![4.0, 4.0]);
    assert!((p.cut(&parts) - best).abs() < 1e-9);
    assert!((set.first().unwrap().energy - best).abs() < 1e-9);

    // With the automatic (soft) weights the exhaustive minimum is one-hot, and it is the
    // minimum of cut + B * imbalance^2 over all partitions.
    let pq = build_partition_qubo(&p, &PenaltySettings::default()).unwrap();
    let set = ExactSolver::default().solve(&Model::Qubo(pq.qubo.clone())).unwrap();
    let parts = pq.decode(&set.first().unwrap().state);
    assert!(parts.iter().all(|c| c.is_some()));
    let mut soft = f64::INFINITY;
    for mask in 0u32..256 {
        let cut: f64 = trip
            .iter()
            .filter(|&&(i, j, _)| (mask >> i & 1) != (mask >> j & 1))
            .map(|t| t.2)
            .sum();
        let ones = mask.count_ones() as f64;
        soft = soft.min(cut + pq.balance * ((ones - 4.0).powi(2) + (4.0 - ones).powi(2)));
    }
    assert!((set.first().unwrap().energy - soft).abs() < 1e-9);
}

#[test]
fn schedule_qubo_minimum_is_the_best_feasible_schedule() {
    // 4 tasks, one capability held by one agent (so at most one task runs at a time),
    // precedence t0 -> t2, conflict t1 x t3. Brute force over starts in 0..H.
    let agents = vec![
        Agent {
            id: "a0".into(),
            capabilities: vec!["x".into()],
            load: Load::default(),
            cost: Costs::default(),
        },
        Agent {
            id: "a1".into(),
            capabilities: vec!["x".into()],
            load: Load::default(),
            cost: Costs::default(),
        },
    ];
    let task = |id: &str, d: usize, after: &[&str], conflicts: &[&str]| Task {
        id: id.into(),
        capability: "x".into(),
        duration: d,
        after: after.iter().map(|s| s.to_string()).collect(),
        conflicts: conflicts.iter().map(|s| s.to_string()).collect(),
    };
    let s = Scenario {
        format: "qam-scenario".into(),
        resource_kinds: vec![],
        comm_cost: 1.0,
        horizon: None,
        pools: vec![Pool {
            id: "p".into(),
            capacity: BTreeMap::new(),
        }],
        agents,
        tasks: vec![
            task("t0", 2, &[], &[]),
            task("t1", 1, &[], &["t3"]),
            task("t2", 1, &["t0"], &[]),
            task("t3", 1, &[], &[]),
        ],
        traffic: vec![],
    };
    let inst = validate(&s).unwrap();
    let h = 4;
    let d = [2usize, 1, 1, 1];
    let mut best = usize::MAX;
    for code in 0..h * h * h * h {
        let st = [code % h, code / h % h, code / (h * h) % h, code / (h * h * h)];
        if st[0] + d[0] > st[2] {
            continue;
        }
        if st[1] < st[3] + d[3] && st[3] < st[1] + d[1] {
            continue;
        }
        // At most two tasks at once (two agents).
        let ok = (0..h + 2).all(|tau| (0..4).filter(|&t| st[t] <= tau && tau < st[t] + d[t]).count() <= 2);
        if !ok {
            continue;
        }
        best = best.min((0..4).map(|t| st[t] + d[t]).sum());
    }
    let fixed = SlotState::new(&inst);
    let order = vec![0, 1, 3, 2]; // precedence-consistent
    let sq = build_schedule_qubo(&inst, &fixed, &order, h, &PenaltySettings::default()).unwrap();
    assert!(sq.qubo.num_variables() <= 24, "{}", sq.qubo.num_variables());
    let set = ExactSolver::default().solve(&Model::Qubo(sq.qubo.clone())).unwrap();
    assert!((set.first().unwrap().energy - best as f64).abs() < 1e-9);
    // And the orchestrator's schedule reaches it.
    let plan = Orchestrator::new(OrchestratorConfig {
        schedule_window: h,
        ..Default::default()
    })
    .plan(&s)
    .unwrap();
    assert!(plan.violations.is_empty(), "{:?}", plan.violations);
    assert_eq!(plan.metrics.total_completion_time, best as f64);
}

#[test]
fn generated_scenarios_plan_without_violations_and_beat_greedy() {
    let s = generate(&GenParams {
        agents: 300,
        pools: 12,
        tasks: 40,
        seed: 7,
        ..Default::default()
    });
    let orch = Orchestrator::new(OrchestratorConfig {
        seed: 7,
        ..Default::default()
    });
    let plan = orch.plan(&s).unwrap();
    assert!(plan.violations.is_empty(), "{:?}", plan.violations);
    assert_eq!(plan.metrics.agents_placed, 300);
    assert_eq!(plan.metrics.tasks_scheduled, 40);
    assert!(plan.metrics.max_utilisation <= 1.0 + 1e-12);
    assert!(
        plan.metrics.objective < 0.9 * plan.comparison.greedy.objective,
        "plan {} vs greedy {}",
        plan.metrics.objective,
        plan.comparison.greedy.objective
    );
    // Same seed, same plan, on one thread as on several.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let again = pool.install(|| orch.plan(&s).unwrap());
    assert_eq!(again.placements, plan.placements);
    assert_eq!(again.schedule, plan.schedule);
}

/// The batched GPU backend (lavapipe in CI) gives the brute-force optimum too.
#[test]
fn gpu_backend_plan_equals_brute_force_optimum() {
    match qam::gpu::GpuContext::shared() {
        Ok(_) => {}
        Err(e) if crate::common::gpu_required() => panic!("QAM_REQUIRE_GPU is set but: {e}"),
        Err(e) => {
            eprintln!("skipping GPU test: {e}");
            return;
        }
    }
    for (seed, a, p) in [(1, 5, 2), (3, 6, 2)] {
        let s = small_scenario(a, p, seed);
        let (best, _) = brute_force(&s);
        let orch = Orchestrator::with_backend(
            OrchestratorConfig {
                seed,
                ..Default::default()
            },
            Box::new(qam::orchestrate::GpuBatcher::polished(16, 300)),
        );
        let plan = orch.plan(&s).unwrap();
        assert!(plan.violations.is_empty(), "seed {seed}: {:?}", plan.violations);
        assert!(
            (plan.metrics.objective - best).abs() < 1e-9,
            "seed {seed}: plan {} vs optimum {best}",
            plan.metrics.objective
        );
        assert!(plan.backend.contains("gpu-sa"), "{}", plan.backend);
    }
}
