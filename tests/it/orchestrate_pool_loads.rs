//! Per-pool agent loads (`"load": {"p0": {"cpu": 2}, "p1": {"cpu": 3}}`): the schema
//! round-trips, bad loads are named, every stage uses the load of the chosen pool (checked
//! against a brute force written here, independently of the library), pools an agent's
//! load does not list are never used, and infeasible inputs get the documented outcome.

use qam::model::Model;
use qam::orchestrate::{
    Agent, Costs, GenParams, Load, LoadModel, Orchestrator, OrchestratorConfig, Pool, Scenario, Traffic, Violation,
    generate, validate,
};
use qam::orchestrate::{AssignProblem, PenaltySettings, build_assign_qubo};
use qam::rng::Rng;
use qam::solvers::{ExactSolver, Solver};
use std::collections::BTreeMap;
use std::process::Command;

fn qam() -> Command {
    Command::new(env!("CARGO_BIN_EXE_qam"))
}

/// A random small scenario with per-pool loads (kinds cpu and mem): each agent cannot use
/// a pool with probability 1/4 (it keeps at least one), loads 1..=4 per pool and kind,
/// capacities about `tight` times the mean total load per pool.
fn pool_load_scenario(a: usize, p: usize, seed: u64, tight: f64) -> Scenario {
    let mut rng = Rng::new(seed);
    let mut agents = Vec::new();
    let mut total = [0.0f64; 2];
    let mut least = [0.0f64; 2];
    for i in 0..a {
        let keep = rng.below(p as u64) as usize;
        let mut per = BTreeMap::new();
        let mut mins = [f64::INFINITY; 2];
        for j in 0..p {
            if j != keep && rng.below(4) == 0 {
                continue;
            }
            let cpu = (1 + rng.below(4)) as f64;
            let mem = (1 + rng.below(4)) as f64;
            total[0] += cpu / p as f64;
            total[1] += mem / p as f64;
            mins[0] = mins[0].min(cpu);
            mins[1] = mins[1].min(mem);
            per.insert(
                format!("p{j}"),
                BTreeMap::from([("cpu".to_string(), cpu), ("mem".to_string(), mem)]),
            );
        }
        least[0] += mins[0];
        least[1] += mins[1];
        agents.push(Agent {
            id: format!("a{i}"),
            capabilities: vec![],
            load: Load::PerPool(per),
            cost: Costs::Dense((0..p).map(|_| rng.below(20) as f64 / 4.0).collect()),
        });
    }
    let pools = (0..p)
        .map(|j| Pool {
            id: format!("p{j}"),
            capacity: BTreeMap::from([
                (
                    "cpu".to_string(),
                    (total[0].max(least[0]) * tight / p as f64).ceil().max(4.0) + (j % 2) as f64,
                ),
                (
                    "mem".to_string(),
                    (total[1].max(least[1]) * tight / p as f64).ceil().max(4.0),
                ),
            ]),
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
        resource_kinds: vec!["cpu".into(), "mem".into()],
        comm_cost: 1.0,
        horizon: None,
        pools,
        agents,
        tasks: vec![],
        traffic,
    }
}

/// Load of agent `i` in pool `j` straight from the scenario (`None`: not allowed there).
fn load_of(s: &Scenario, i: usize, j: usize) -> Option<Vec<f64>> {
    let kinds = &s.resource_kinds;
    match &s.agents[i].load {
        Load::Uniform(m) => Some(kinds.iter().map(|k| m.get(k).copied().unwrap_or(0.0)).collect()),
        Load::PerPool(m) => m
            .get(&s.pools[j].id)
            .map(|l| kinds.iter().map(|k| l.get(k).copied().unwrap_or(0.0)).collect()),
    }
}

/// Brute force over every placement: the best feasible objective (`None`: no feasible
/// placement).
fn brute_force(s: &Scenario) -> Option<f64> {
    let (a, p, kk) = (s.agents.len(), s.pools.len(), s.resource_kinds.len());
    let id = |x: &str| x[1..].parse::<usize>().unwrap();
    let mut best: Option<f64> = None;
    let mut x = vec![0usize; a];
    loop {
        let mut used = vec![0.0; p * kk];
        let mut ok = true;
        for i in 0..a {
            match load_of(s, i, x[i]) {
                Some(l) => (0..kk).for_each(|k| used[x[i] * kk + k] += l[k]),
                None => ok = false,
            }
        }
        let cap = |j: usize, k: usize| s.pools[j].capacity.get(&s.resource_kinds[k]).copied().unwrap_or(0.0);
        if ok && (0..p).all(|j| (0..kk).all(|k| used[j * kk + k] <= cap(j, k) + 1e-9)) {
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
            if best.is_none_or(|b| obj < b) {
                best = Some(obj);
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
            return best;
        }
    }
}

fn pool_index(plan: &qam::orchestrate::Plan, i: usize) -> Option<usize> {
    plan.placements[i].pool.as_deref().map(|p| p[1..].parse().unwrap())
}

/// Every placed agent sits in a pool its load lists, and the plan's reported pool use is
/// the sum of the chosen pools' loads.
fn check_pool_use(s: &Scenario, plan: &qam::orchestrate::Plan) {
    let kk = s.resource_kinds.len();
    let mut used = vec![0.0; s.pools.len() * kk];
    for i in 0..s.agents.len() {
        if let Some(j) = pool_index(plan, i) {
            let l = load_of(s, i, j).expect("placed in a pool its load lists");
            (0..kk).for_each(|k| used[j * kk + k] += l[k]);
        }
    }
    for (j, u) in plan.metrics.pools.iter().enumerate() {
        for k in 0..kk {
            assert!((u.used[k] - used[j * kk + k]).abs() < 1e-9, "pool {j} kind {k}");
        }
    }
}

#[test]
fn per_pool_loads_round_trip_and_uniform_scenarios_are_unchanged() {
    let text = r#"{"format":"qam-scenario","resource_kinds":["cpu"],
        "pools":[{"id":"p0","capacity":{"cpu":8}},{"id":"p1","capacity":{"cpu":8}}],
        "agents":[{"id":"a0","load":{"p0":{"cpu":2},"p1":{"cpu":3}}},
                  {"id":"a1","load":{"p1":{"cpu":1}}},
                  {"id":"a2","load":{"cpu":4}},
                  {"id":"a3","load":{}}]}"#;
    let s = Scenario::from_json(text).unwrap();
    assert!(matches!(s.agents[0].load, Load::PerPool(_)));
    assert!(matches!(s.agents[2].load, Load::Uniform(_)));
    assert_eq!(s.agents[3].load, Load::default());
    assert_eq!(Scenario::from_json(&s.to_json()).unwrap(), s);
    let inst = validate(&s).unwrap();
    assert!(inst.has_pool_loads());
    assert_eq!(inst.agent_load_in(0, 0), &[2.0]);
    assert_eq!(inst.agent_load_in(0, 1), &[3.0]);
    assert!(!inst.can_place(1, 0) && inst.can_place(1, 1));
    assert_eq!(inst.agent_load_in(2, 0), &[4.0]);
    assert_eq!(inst.agent_load_in(2, 1), &[4.0]);
    assert!(inst.can_place(3, 0) && inst.can_place(3, 1));

    // The shipped example keeps its uniform loads and writes back identically.
    let ex = Scenario::read("examples/scenario_small.json").unwrap();
    assert!(ex.agents.iter().all(|a| matches!(a.load, Load::Uniform(_))));
    let again = Scenario::from_json(&ex.to_json()).unwrap();
    assert_eq!(again, ex);
    assert!(!validate(&ex).unwrap().has_pool_loads());
}

#[test]
fn bad_per_pool_loads_are_named() {
    let with_load = |load: &str| {
        format!(
            r#"{{"resource_kinds":["cpu","gpu"],
            "pools":[{{"id":"p0","capacity":{{"cpu":8}}}},{{"id":"p1","capacity":{{"cpu":8,"gpu":2}}}}],
            "agents":[{{"id":"a0","load":{{"cpu":1}}}},{{"id":"a1","load":{load}}}]}}"#
        )
    };
    let err = |load: &str| match Scenario::from_json(&with_load(load)) {
        Ok(s) => validate(&s).unwrap_err().to_string(),
        Err(e) => e.to_string(),
    };
    assert_eq!(err(r#"{"p9":{"cpu":1}}"#), "agents[1].load.p9: unknown pool id `p9`");
    assert_eq!(err(r#"{"p0":{"cpu":-1}}"#), "agents[1].load.p0.cpu: negative load -1");
    assert_eq!(
        err(r#"{"p0":{"disk":1}}"#),
        "agents[1].load.p0.disk: unknown resource kind `disk` (resource_kinds: cpu, gpu)"
    );
    assert_eq!(
        err(r#"{"p1":{"gpu":1},"p0":{"gpu":1}}"#),
        "agents[1].load.p0.gpu: agent `a1` needs 1 gpu in pool `p0`, which has no gpu (leave `p0` out of the \
         agent's load if it cannot run there)"
    );
    assert_eq!(
        err(r#"{"p0":{"cpu":9},"p1":{"cpu":10}}"#),
        "agents[1].load: agent `a1` fits in no pool: `p0` needs 9 cpu (capacity 8), `p1` needs 10 cpu (capacity 8)"
    );
    let mixed = err(r#"{"cpu":1,"p0":{"cpu":1}}"#);
    assert!(
        mixed.contains("mixes a number (`cpu`) with per-pool objects"),
        "{mixed}"
    );
    assert!(mixed.contains("line"), "{mixed}");
    let wrong = err(r#"{"p0":"x"}"#);
    assert!(
        wrong.contains("a number (load of a resource kind) or an object"),
        "{wrong}"
    );
    // Total demand counts each agent's smallest load: 1 + 5 <= 8 + 8; 8 + 8 + 0.5 is not.
    assert!(validate_ok(&with_load(r#"{"p0":{"cpu":5},"p1":{"cpu":7}}"#)));
    let s = Scenario::from_json(&with_load(r#"{"p0":{"cpu":8},"p1":{"cpu":8}}"#)).unwrap();
    let mut s2 = s.clone();
    s2.agents[0].load = Load::Uniform(BTreeMap::from([("cpu".into(), 8.0)]));
    let mut extra = s2.agents[0].clone();
    extra.id = "a2".into();
    extra.load = Load::Uniform(BTreeMap::from([("cpu".into(), 0.5)]));
    s2.agents.push(extra);
    let e = validate(&s2).unwrap_err().to_string();
    assert!(
        e.starts_with("total demand exceeds total capacity: cpu short by 0.5"),
        "{e}"
    );
    // NaN can only come from code, not JSON.
    let mut s3 = s;
    s3.agents[1].load = Load::PerPool(BTreeMap::from([(
        "p1".into(),
        BTreeMap::from([("cpu".into(), f64::NAN)]),
    )]));
    assert_eq!(
        validate(&s3).unwrap_err().to_string(),
        "agents[1].load.p1.cpu: not a finite number (NaN)"
    );
}

fn validate_ok(text: &str) -> bool {
    validate(&Scenario::from_json(text).unwrap()).is_ok()
}

#[test]
fn plans_equal_the_brute_force_optimum_for_seeds_0_to_9() {
    let mut feasible = 0;
    for seed in 0..10u64 {
        let (a, p) = (5 + (seed % 3) as usize, 2 + (seed % 2) as usize);
        let s = pool_load_scenario(a, p, seed, 1.15);
        let best = brute_force(&s);
        // With the exact stage (the default on small scenarios) and without it (QUBO +
        // constrained engine alone).
        for exact_max_leaves in [1e6, 0.0] {
            let plan = Orchestrator::new(OrchestratorConfig {
                seed,
                exact_max_leaves,
                ..Default::default()
            })
            .plan(&s)
            .unwrap();
            check_pool_use(&s, &plan);
            match best {
                Some(best) => {
                    assert!(plan.violations.is_empty(), "seed {seed}: {:?}", plan.violations);
                    assert!(
                        (plan.metrics.objective - best).abs() < 1e-9,
                        "seed {seed} (exact stage {exact_max_leaves}): plan {} vs optimum {best}",
                        plan.metrics.objective
                    );
                    if exact_max_leaves > 0.0 {
                        assert!((plan.comparison.exact_objective.unwrap() - best).abs() < 1e-9);
                    }
                }
                None => {
                    assert!(!plan.violations.is_empty(), "seed {seed}: infeasible but no violation");
                    assert!(plan.comparison.exact_objective.is_none());
                }
            }
        }
        feasible += best.is_some() as usize;
    }
    assert!(
        feasible >= 8,
        "the generator should make mostly feasible instances ({feasible}/10)"
    );
}

#[test]
fn assignment_qubo_minimum_respects_pool_loads_and_forbidden_pools() {
    for seed in 20..26 {
        let s = pool_load_scenario(4, 2, seed, 1.0);
        let best = brute_force(&s);
        let inst = validate(&s).unwrap();
        let prob = AssignProblem {
            num_items: 4,
            num_pools: 2,
            num_kinds: 2,
            load: inst.load.clone(),
            pool_load: inst.pool_load.clone(),
            allowed: inst.allowed.clone(),
            cost: inst.cost.clone(),
            pairs: inst
                .traffic
                .iter_upper()
                .map(|(i, j, w)| (i as u32, j as u32, w))
                .collect(),
            capacity: inst.capacity.clone(),
        };
        let aq = build_assign_qubo(&prob, &PenaltySettings::default()).unwrap();
        let n = aq.qubo.num_variables();
        assert!(n <= 22, "{n} variables");
        let set = ExactSolver { max_states: 64 }
            .solve(&Model::Qubo(aq.qubo.clone()))
            .unwrap();
        let ground = set.first().unwrap();
        match best {
            Some(best) => {
                // The minimum is the optimum (an unplaced item may tie with it: A = 2 S is
                // exactly what a displaced neighbour can gain, see the assign docs), and a
                // feasible optimal plan is among the ground states.
                assert!(
                    (ground.energy - best).abs() < 1e-9,
                    "seed {seed}: {} vs {best}",
                    ground.energy
                );
                let mut found = false;
                for smp in set.lowest(0.0, 1e-9) {
                    let pl = aq.decode(&smp.state);
                    if prob.is_feasible(&pl) {
                        assert!((prob.objective(&pl) - best).abs() < 1e-9);
                        found = true;
                    }
                }
                assert!(found, "seed {seed}: no feasible optimal ground state");
            }
            None => assert!(!prob.is_feasible(&aq.decode(&ground.state))),
        }
        // No ground state sets a bit of a pool its item may not use.
        for smp in set.lowest(0.0, 1e-9) {
            for i in 0..4 {
                for p in 0..2 {
                    assert!(smp.state[i * 2 + p] == 0 || inst.can_place(i, p), "seed {seed}");
                }
            }
        }

        // A state using a forbidden pool decodes as unplaced there.
        if let Some(i) = (0..4).find(|&i| !inst.can_place(i, 0)) {
            let mut x = vec![0i8; n];
            x[i * 2] = 1;
            assert_eq!(aq.decode(&x)[i], None);
        }
    }
}

#[test]
fn greedy_and_replan_never_use_unlisted_pools() {
    // a0 may only use p1; a previous plan that put it in p0 is repaired (a forced move).
    let text = r#"{"resource_kinds":["cpu"],
        "pools":[{"id":"p0","capacity":{"cpu":10}},{"id":"p1","capacity":{"cpu":8}}],
        "agents":[{"id":"a0","load":{"p1":{"cpu":3}},"cost":[0.0, 5.0]},
                  {"id":"a1","load":{"p0":{"cpu":2},"p1":{"cpu":6}},"cost":[1.0, 0.0]}],
        "traffic":[{"from":"a0","to":"a1","rate":1}]}"#;
    let s = Scenario::from_json(text).unwrap();
    let inst = validate(&s).unwrap();
    let g = qam::orchestrate::greedy_assignment(&inst);
    // a0 is cheaper in p0 but may not go there; a1 would rather join it in p1 but needs 6
    // there (2 in p0), and 3 + 6 > 8.
    assert_eq!(g, vec![Some(1), Some(0)]);
    let (ex, opt) = qam::orchestrate::exact_assignment(&inst, 1e6).unwrap();
    assert_eq!(ex[0], 1);
    assert_eq!(Some(opt), brute_force(&s));
    // Metrics flag a placement in an unlisted pool.
    let (_, v) = qam::orchestrate::evaluate(&inst, &[Some(0), Some(0)], None, &[], &[]);
    assert!(v.contains(&Violation::PoolNotAllowed {
        agent: "a0".into(),
        pool: "p0".into()
    }));
    let orch = Orchestrator::new(OrchestratorConfig::default());
    let mut prev = orch.plan(&s).unwrap();
    assert!(prev.violations.is_empty());
    prev.placements[0].pool = Some("p0".into());
    let plan = orch.replan(&s, &prev).unwrap();
    assert!(plan.violations.is_empty(), "{:?}", plan.violations);
    assert_eq!(plan.placements[0].pool.as_deref(), Some("p1"));
    assert_eq!(plan.replan.as_ref().unwrap().forced, 1);
    // The capacity used is the load in the chosen pool (3 in p1; a1's 2 in p0).
    check_pool_use(&s, &plan);
}

#[test]
fn generated_per_pool_scenarios_are_valid_tight_and_planned_without_violations() {
    let params = GenParams {
        agents: 200,
        pools: 10,
        tasks: 10,
        utilisation: 0.95,
        seed: 3,
        load_model: LoadModel::PerPool,
        ..Default::default()
    };
    let s = generate(&params);
    assert_eq!(generate(&params), s, "same parameters, same scenario");
    let inst = validate(&s).unwrap();
    assert!(inst.has_pool_loads());
    assert_eq!(Scenario::from_json(&s.to_json()).unwrap(), s);
    // Loads differ from pool to pool, some pools are unlisted, and the utilisation is the
    // cheapest-choice load over capacity.
    let (aa, pp) = (inst.num_agents(), inst.num_pools());
    assert!((0..aa).any(|a| inst.agent_load_in(a, 0) != inst.agent_load_in(a, 1)));
    assert!((0..aa).any(|a| (0..pp).any(|p| !inst.can_place(a, p))));
    for k in 0..2 {
        let cheap: f64 = (0..aa)
            .map(|a| {
                let c = inst.agent_cost(a);
                let p = (0..pp).min_by(|&x, &y| c[x].total_cmp(&c[y]).then(x.cmp(&y))).unwrap();
                assert!(inst.can_place(a, p), "the cheapest pool is always listed");
                inst.agent_load_in(a, p)[k]
            })
            .sum();
        let cap: f64 = (0..pp).map(|p| inst.pool_capacity(p)[k]).sum();
        let u = cheap / cap;
        assert!((0.8..=0.95 + 1e-9).contains(&u), "kind {k}: {u}");
    }
    let plan = Orchestrator::new(OrchestratorConfig {
        seed: 3,
        ..Default::default()
    })
    .plan(&s)
    .unwrap();
    assert!(
        plan.violations.is_empty(),
        "{:?}",
        &plan.violations[..plan.violations.len().min(5)]
    );
    check_pool_use(&s, &plan);
    assert!(plan.metrics.objective <= plan.comparison.greedy.objective + 1e-9);
    // Threads do not change the plan.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let again = pool.install(|| {
        Orchestrator::new(OrchestratorConfig {
            seed: 3,
            ..Default::default()
        })
        .plan(&s)
        .unwrap()
    });
    assert_eq!(again.placements, plan.placements);
    // Utilisation above 1.2 (or above 1 for uniform loads) is refused, naming it.
    for (model, u) in [(LoadModel::PerPool, 1.25), (LoadModel::Uniform, 1.05)] {
        let e = qam::orchestrate::check_gen_params(&GenParams {
            utilisation: u,
            load_model: model,
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("utilisation:"), "{e}");
    }
}

#[test]
fn cli_gen_per_pool_then_orchestrate_and_infeasible_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.json");
    let out = qam()
        .args([
            "gen-scenario",
            "--agents",
            "60",
            "--pools",
            "4",
            "--tasks",
            "5",
            "--load-model",
            "per-pool",
            "--utilisation",
            "1.1",
            "--seed",
            "2",
            "--out",
        ])
        .arg(&f)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = Scenario::read(&f).unwrap();
    assert!(matches!(s.agents[0].load, Load::PerPool(_)));
    let plan_file = dir.path().join("plan.json");
    let out = qam()
        .arg("orchestrate")
        .arg(&f)
        .arg("--out")
        .arg(&plan_file)
        .args(["--time-limit", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = qam()
        .args([
            "gen-scenario",
            "--load-model",
            "per-pool",
            "--utilisation",
            "1.3",
            "--out",
        ])
        .arg(dir.path().join("x.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--utilisation must be in (0, 1.2]"));

    // Contradictory capacities the brute force proves infeasible: a0 and a1 both may only
    // use p0 (4 cpu) and need 3 each; every check of the validator passes. The plan is
    // written with the unplaced agent named and exit status 3 (README "Exit codes").
    let text = r#"{"resource_kinds":["cpu"],
        "pools":[{"id":"p0","capacity":{"cpu":4}},{"id":"p1","capacity":{"cpu":10}}],
        "agents":[{"id":"a0","load":{"p0":{"cpu":3}}},{"id":"a1","load":{"p0":{"cpu":3}}},
                  {"id":"a2","load":{"p0":{"cpu":1},"p1":{"cpu":2}}}]}"#;
    let s = Scenario::from_json(text).unwrap();
    assert!(validate(&s).is_ok());
    assert_eq!(brute_force(&s), None);
    let g = dir.path().join("inf.json");
    std::fs::write(&g, text).unwrap();
    let out = qam()
        .arg("orchestrate")
        .arg(&g)
        .arg("--out")
        .arg(dir.path().join("inf-plan.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let plan = qam::orchestrate::Plan::read(dir.path().join("inf-plan.json")).unwrap();
    let unplaced: Vec<&Violation> = plan
        .violations
        .iter()
        .filter(|v| matches!(v, Violation::AgentUnplaced { agent } if agent == "a0" || agent == "a1"))
        .collect();
    assert_eq!(unplaced.len(), 1, "{:?}", plan.violations);
    check_pool_use(&s, &plan);
}

#[test]
fn solve_lp_proven_infeasible_exits_2_naming_the_violated_constraints() {
    // Four jobs in two bins (one-hot each), capacities 5 and 4 for loads 3 + 3 + 2 + 2 = 10
    // > 9: brute force proves no assignment fits.
    let lp = "Minimize\n obj: x0a + 2 x0b + x1a + 2 x1b + x2a + 2 x2b + x3a + 2 x3b\nSubject To\n \
              j0: x0a + x0b = 1\n j1: x1a + x1b = 1\n j2: x2a + x2b = 1\n j3: x3a + x3b = 1\n \
              capa: 3 x0a + 3 x1a + 2 x2a + 2 x3a <= 5\n capb: 3 x0b + 3 x1b + 2 x2b + 2 x3b <= 4\n\
              Binary\n x0a x0b x1a x1b x2a x2b x3a x3b\nEnd\n";
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("inf.lp");
    std::fs::write(&f, lp).unwrap();
    let m = qam::cqm::lp::read_file(&f).unwrap();
    assert!(m.brute_force(1e6).unwrap().is_none(), "the oracle proves it infeasible");
    let out = qam()
        .arg("solve")
        .arg(&f)
        .args(["--output", "json", "-q", "--time-limit", "0.5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(v["feasible"], false);
    let viol = v["violations"].as_array().unwrap();
    assert!(!viol.is_empty());
    for x in viol {
        let name = x["constraint"].as_str().unwrap();
        assert!(["capa", "capb", "j0", "j1", "j2", "j3"].contains(&name), "{name}");
        assert!(x["amount"].as_f64().unwrap() > 0.0);
    }
    // The least-violated state breaks a capacity by the smallest possible amount (1), not a
    // one-hot group.
    let total: f64 = viol.iter().map(|x| x["amount"].as_f64().unwrap()).sum();
    assert_eq!(total, 1.0, "{viol:?}");
    assert!(
        viol.iter()
            .all(|x| x["constraint"].as_str().unwrap().starts_with("cap"))
    );
}

#[test]
fn constrained_stage_from_an_infeasible_start_is_thread_count_independent() {
    // U = 1.2: every agent in its cheapest pool overfills, so the stage's first phase (find a
    // feasible packing) runs; one thread and the default pool give the same placement.
    let s = generate(&GenParams {
        agents: 120,
        pools: 6,
        tasks: 0,
        utilisation: 1.2,
        seed: 5,
        load_model: LoadModel::PerPool,
        ..Default::default()
    });
    let inst = validate(&s).unwrap();
    let (aa, pp) = (inst.num_agents(), inst.num_pools());
    let problem = AssignProblem {
        num_items: aa,
        num_pools: pp,
        num_kinds: inst.num_kinds(),
        load: inst.load.clone(),
        pool_load: inst.pool_load.clone(),
        allowed: inst.allowed.clone(),
        cost: inst.cost.clone(),
        pairs: inst
            .traffic
            .iter_upper()
            .map(|(i, j, w)| (i as u32, j as u32, w * inst.comm_cost))
            .collect(),
        capacity: inst.capacity.clone(),
    };
    let start = vec![None; aa];
    let cheapest: Vec<Option<usize>> = (0..aa)
        .map(|a| {
            let c = inst.agent_cost(a);
            (0..pp).min_by(|&x, &y| c[x].total_cmp(&c[y]).then(x.cmp(&y)))
        })
        .collect();
    assert!(!problem.is_feasible(&cheapest), "the start must be infeasible");
    let run = || {
        qam::orchestrate::solve_assignment(&problem, &start, Default::default())
            .unwrap()
            .expect("a feasible packing")
    };
    let many = run();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(run);
    assert_eq!(one, many);
    let pl: Vec<Option<usize>> = many.iter().map(|&p| Some(p)).collect();
    assert!(problem.is_feasible(&pl));
}
