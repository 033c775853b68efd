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
