//! Bad scenarios get clear errors naming the field.

use qam::orchestrate::{Scenario, ScenarioError, validate};

fn base() -> serde_json::Value {
    serde_json::json!({
        "resource_kinds": ["cpu", "mem_gb"],
        "pools": [
            {"id": "p0", "capacity": {"cpu": 8, "mem_gb": 32}},
            {"id": "p1", "capacity": {"cpu": 4, "mem_gb": 16}}
        ],
        "agents": [
            {"id": "a0", "capabilities": ["plan"], "load": {"cpu": 2, "mem_gb": 4}, "cost": {"p0": 1.0, "p1": 2.0}},
            {"id": "a1", "capabilities": ["code"], "load": {"cpu": 2, "mem_gb": 8}, "cost": [1.5, 1.0]},
            {"id": "a2", "capabilities": ["code", "plan"], "load": {"cpu": 1}}
        ],
        "tasks": [
            {"id": "t0", "capability": "plan", "duration": 2},
            {"id": "t1", "capability": "code", "duration": 1, "after": ["t0"]},
            {"id": "t2", "capability": "code", "duration": 3, "after": ["t1"], "conflicts": ["t0"]}
        ],
        "traffic": [
            {"from": "a0", "to": "a1", "rate": 5},
            {"from": "a1", "to": "a2", "rate": 2}
        ]
    })
}

fn check(v: serde_json::Value) -> Result<qam::orchestrate::Instance, ScenarioError> {
    let s = Scenario::from_json(&v.to_string())?;
    validate(&s)
}

#[test]
fn the_base_scenario_is_valid() {
    let inst = check(base()).unwrap();
    assert_eq!(inst.num_agents(), 3);
    assert_eq!(inst.agent_cost(1), &[1.5, 1.0]);
    assert_eq!(inst.agent_load_in(2, 1), &[1.0, 0.0]);
    assert!(!inst.has_pool_loads() && inst.can_place(2, 1));
    assert_eq!(inst.traffic.get(0, 1), 5.0);
    assert_eq!(inst.tasks[0].conflicts, vec![2], "conflicts are symmetric");
    assert_eq!(inst.topo_order, vec![0, 1, 2]);
}

#[test]
fn unknown_agent_in_traffic() {
    let mut v = base();
    v["traffic"][1]["to"] = "a9".into();
    let e = check(v).unwrap_err();
    assert_eq!(e.to_string(), "traffic[1].to: unknown agent id `a9`");
    let mut v = base();
    v["traffic"][0]["from"] = "ghost".into();
    assert_eq!(
        check(v).unwrap_err().to_string(),
        "traffic[0].from: unknown agent id `ghost`"
    );
}

#[test]
fn total_demand_above_capacity_names_the_shortfall_per_kind() {
    let mut v = base();
    v["agents"][0]["load"] = serde_json::json!({"cpu": 8, "mem_gb": 32});
    v["agents"][1]["load"] = serde_json::json!({"cpu": 4, "mem_gb": 16});
    v["agents"][2]["load"] = serde_json::json!({"cpu": 1, "mem_gb": 3});
    let e = check(v).unwrap_err();
    match &e {
        ScenarioError::OverCapacity(short) => {
            assert_eq!(short.len(), 2);
            assert_eq!(
                (short[0].kind.as_str(), short[0].demand, short[0].capacity),
                ("cpu", 13.0, 12.0)
            );
            assert_eq!(
                (short[1].kind.as_str(), short[1].demand, short[1].capacity),
                ("mem_gb", 51.0, 48.0)
            );
        }
        other => panic!("wrong error {other:?}"),
    }
    assert_eq!(
        e.to_string(),
        "total demand exceeds total capacity: cpu short by 1 (demand 13 > capacity 12); \
         mem_gb short by 3 (demand 51 > capacity 48)"
    );
}

#[test]
fn negative_capacity() {
    let mut v = base();
    v["pools"][1]["capacity"]["mem_gb"] = (-4).into();
    assert_eq!(
        check(v).unwrap_err().to_string(),
        "pools[1].capacity.mem_gb: negative capacity -4"
    );
}

#[test]
fn cyclic_precedence_names_the_cycle() {
    let mut v = base();
    v["tasks"][0]["after"] = serde_json::json!(["t2"]);
    let e = check(v).unwrap_err();
    assert_eq!(
        e,
        ScenarioError::CyclicPrecedence(vec!["t0".into(), "t1".into(), "t2".into(), "t0".into()])
    );
    assert_eq!(e.to_string(), "tasks[].after: cyclic precedence t0 -> t1 -> t2 -> t0");
}

#[test]
fn other_bad_fields_are_named() {
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|v| v["agents"][2]["id"] = "a0".into()),
            "agents[2].id: duplicate id `a0`",
        ),
        (
            Box::new(|v| v["agents"][0]["load"]["gpu"] = 1.into()),
            "agents[0].load.gpu: unknown resource kind `gpu` (resource_kinds: cpu, mem_gb)",
        ),
        (
            Box::new(|v| v["agents"][0]["cost"]["p7"] = 1.into()),
            "agents[0].cost.p7: unknown pool id `p7`",
        ),
        (
            Box::new(|v| v["agents"][1]["cost"] = serde_json::json!([1.0])),
            "agents[1].cost: 1 entries but there are 2 pools",
        ),
        (
            Box::new(|v| v["agents"][0]["load"]["cpu"] = (-1).into()),
            "agents[0].load.cpu: negative load -1",
        ),
        (
            Box::new(|v| v["traffic"][0]["rate"] = (-3).into()),
            "traffic[0].rate: negative rate -3",
        ),
        (
            Box::new(|v| v["traffic"][0]["to"] = "a0".into()),
            "traffic[0]: agent `a0` sends to itself",
        ),
        (
            Box::new(|v| v["tasks"][1]["after"] = serde_json::json!(["t9"])),
            "tasks[1].after[0]: unknown task id `t9`",
        ),
        (
            Box::new(|v| v["tasks"][1]["capability"] = "fly".into()),
            "tasks[1].capability: no agent has capability `fly`",
        ),
        (
            Box::new(|v| v["tasks"][1]["duration"] = 0.into()),
            "tasks[1].duration: must be at least 1 slot",
        ),
        (
            Box::new(|v| v["agents"][0]["load"]["cpu"] = 9.into()),
            "agents[0].load: agent `a0` fits in no pool: cpu 9 (largest pool 8), mem_gb 4 (largest pool 32)",
        ),
    ];
    for (edit, want) in cases {
        let mut v = base();
        edit(&mut v);
        assert_eq!(check(v).unwrap_err().to_string(), want);
    }
}

#[test]
fn malformed_json_names_the_line() {
    let e = Scenario::from_json("{\n \"resource_kinds\": [],\n \"pools\": 3\n}").unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("scenario: line 3"), "{text}");
    let e = Scenario::from_json("{\"resource_kinds\": [], \"pools\": [], \"agents\": [], \"colour\": 1}").unwrap_err();
    assert!(e.to_string().contains("unknown field `colour`"), "{e}");
}

#[test]
fn non_finite_and_bad_files() {
    let mut v = base();
    v["comm_cost"] = (-1.0).into();
    assert_eq!(check(v).unwrap_err().to_string(), "comm_cost: negative (-1)");
    let e = Scenario::read("/nonexistent/scenario.json").unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/scenario.json:"), "{e}");
}

// --- infeasible scenarios name the tightest capacity constraints (issue 11) ---

use qam::orchestrate::{TightReason, tight_capacities};

/// Every placement of `inst`'s agents (pools they may use) within capacity, by enumeration.
fn packable(inst: &qam::orchestrate::Instance) -> bool {
    let (aa, pp, kk) = (inst.num_agents(), inst.num_pools(), inst.num_kinds());
    let mut choice = vec![0usize; aa];
    loop {
        let mut used = vec![0.0; pp * kk];
        let mut ok = true;
        for (a, &p) in choice.iter().enumerate() {
            ok &= inst.can_place(a, p);
            for (k, l) in inst.agent_load_in(a, p).iter().enumerate() {
                used[p * kk + k] += l;
            }
        }
        if ok && (0..pp * kk).all(|x| used[x] <= inst.capacity[x] + 1e-9) {
            return true;
        }
        let mut a = 0;
        loop {
            if a == aa {
                return false;
            }
            choice[a] += 1;
            if choice[a] < pp {
                break;
            }
            choice[a] = 0;
            a += 1;
        }
    }
}

#[test]
fn proven_capacity_shortfalls_are_sound_against_brute_force() {
    let mut rng = qam::rng::Rng::new(11);
    let (mut infeasible, mut named) = (0, 0);
    for case in 0..400 {
        let (aa, pp) = (3 + rng.below(4) as usize, 2 + rng.below(2) as usize);
        let pools: Vec<serde_json::Value> = (0..pp)
            .map(|p| serde_json::json!({"id": format!("p{p}"), "capacity": {"cpu": 4 + rng.below(8), "mem": 4 + rng.below(8)}}))
            .collect();
        let agents: Vec<serde_json::Value> = (0..aa)
            .map(|a| {
                let mut load = serde_json::Map::new();
                for p in 0..pp {
                    if p == 0 || rng.below(3) != 0 {
                        load.insert(
                            format!("p{p}"),
                            serde_json::json!({"cpu": 1 + rng.below(6), "mem": rng.below(6)}),
                        );
                    }
                }
                serde_json::json!({"id": format!("a{a}"), "load": load})
            })
            .collect();
        let v = serde_json::json!({"resource_kinds": ["cpu", "mem"], "pools": pools, "agents": agents});
        let Ok(inst) = check(v) else { continue };
        let feasible = packable(&inst);
        // With the last agent unplaced (a plan that could not place it).
        let mut placement: Vec<Option<usize>> = (0..aa).map(|a| (0..pp).find(|&p| inst.can_place(a, p))).collect();
        placement[aa - 1] = None;
        let tight = tight_capacities(&inst, &placement, 50);
        for t in &tight {
            assert!(t.required > t.capacity, "case {case}: {t}");
            if t.reason != TightReason::Blocking {
                assert!(!feasible, "case {case}: `{t}` claimed proven, but a packing exists");
            }
        }
        if !feasible {
            infeasible += 1;
            named += usize::from(tight.iter().any(|t| t.reason != TightReason::Blocking));
        }
        let all_placed: Vec<Option<usize>> = (0..aa).map(|_| Some(0)).collect();
        assert!(tight_capacities(&inst, &all_placed, 50).is_empty());
    }
    // The certificates are not complete (multi-resource bin packing); they name 36 of the
    // 77 infeasible instances here.
    assert!(
        infeasible >= 50 && named * 5 >= infeasible * 2,
        "{named} of {infeasible}"
    );
}

#[test]
fn orchestrate_on_an_unplaceable_scenario_names_the_tight_capacities() {
    let dir = tempfile::tempdir().unwrap();
    // Four agents of 6 cpu, three pools of 10: total 24 <= 30 and each fits every pool,
    // so the validator accepts it, but no pool holds two of them.
    let pigeon = r#"{"resource_kinds":["cpu"],
        "pools":[{"id":"p0","capacity":{"cpu":10}},{"id":"p1","capacity":{"cpu":10}},{"id":"p2","capacity":{"cpu":10}}],
        "agents":[{"id":"a0","load":{"cpu":6}},{"id":"a1","load":{"cpu":6}},{"id":"a2","load":{"cpu":6}},{"id":"a3","load":{"cpu":6}}]}"#;
    // a0 and a1 may only use p0 (4 cpu) and need 3 each.
    let restricted = r#"{"resource_kinds":["cpu"],
        "pools":[{"id":"p0","capacity":{"cpu":4}},{"id":"p1","capacity":{"cpu":10}}],
        "agents":[{"id":"a0","load":{"p0":{"cpu":3}}},{"id":"a1","load":{"p0":{"cpu":3}}},
                  {"id":"a2","load":{"p0":{"cpu":1},"p1":{"cpu":2}}}]}"#;
    for (name, text) in [("pigeon", pigeon), ("restricted", restricted)] {
        let f = dir.path().join(format!("{name}.json"));
        std::fs::write(&f, text).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_qam"))
            .arg("orchestrate")
            .arg(&f)
            .args(["--output", "json"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{name}: {stderr}");
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let first = &r["tight_constraints"][0];
        assert_eq!(first["resource"], "cpu", "{name}: {r}");
        match name {
            "pigeon" => {
                let ex = r["tight_constraints"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|t| t["reason"] == "exclusive")
                    .expect("an exclusive shortfall");
                assert_eq!(ex["pools"], serde_json::json!(["p0", "p1", "p2"]));
                assert_eq!(
                    (ex["required"].as_f64(), ex["capacity"].as_f64()),
                    (Some(4.0), Some(3.0))
                );
                assert!(stderr.contains("4 agents each need more than half"), "{stderr}");
            }
            _ => {
                assert_eq!(first["pools"], serde_json::json!(["p0"]));
                let demand = r["tight_constraints"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|t| t["reason"] == "demand")
                    .expect("a demand shortfall");
                assert_eq!(
                    (demand["required"].as_f64(), demand["capacity"].as_f64()),
                    (Some(6.0), Some(4.0))
                );
                assert_eq!(demand["agents"], serde_json::json!(["a0", "a1"]));
                assert!(stderr.contains("pool `p0`, cpu: required 6 > capacity 4"), "{stderr}");
            }
        }
        assert!(stderr.contains("1 agent(s) left unplaced"), "{stderr}");
    }
}
