//! The `qam gen-scenario`, `qam orchestrate` (with `--previous`) and `qam scale-test`
//! commands, end to end.

use std::process::Command;

fn qam() -> Command {
    Command::new(env!("CARGO_BIN_EXE_qam"))
}

#[test]
fn generate_plan_and_replan() {
    let dir = tempfile::tempdir().unwrap();
    let s0 = dir.path().join("s0.json");
    let s1 = dir.path().join("s1.json");
    let p0 = dir.path().join("p0.json");
    let p1 = dir.path().join("p1.json");
    let st = qam()
        .args([
            "gen-scenario",
            "--agents",
            "120",
            "--pools",
            "6",
            "--tasks",
            "12",
            "--seed",
            "3",
            "--out",
        ])
        .arg(&s0)
        .status()
        .unwrap();
    assert!(st.success());
    let out = qam()
        .arg("orchestrate")
        .arg(&s0)
        .arg("--out")
        .arg(&p0)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("violations 0"), "{text}");
    assert!(text.contains("greedy baseline"), "{text}");
    let plan = qam::orchestrate::Plan::read(&p0).unwrap();
    assert_eq!(plan.placements.len(), 120);
    assert_eq!(plan.schedule.len(), 12);

    let st = qam()
        .args(["gen-scenario", "--churn", "0.1", "--seed", "5", "--from"])
        .arg(&s0)
        .arg("--out")
        .arg(&s1)
        .status()
        .unwrap();
    assert!(st.success());
    let out = qam()
        .arg("orchestrate")
        .arg(&s1)
        .arg("--previous")
        .arg(&p0)
        .arg("--out")
        .arg(&p1)
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["replan"]["left"], 12);
    assert_eq!(v["replan"]["joined"], 12);
    assert!(v["replan"]["moved"].as_u64().unwrap() <= 20, "{}", v["replan"]);
    assert_eq!(v["metrics"]["violations"], 0);
}

#[test]
fn bad_scenario_names_the_field_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("bad.json");
    std::fs::write(
        &s,
        r#"{"resource_kinds": ["cpu"], "pools": [{"id": "p", "capacity": {"cpu": 4}}],
            "agents": [{"id": "a", "load": {"cpu": 1}}, {"id": "b"}],
            "traffic": [{"from": "a", "to": "zed", "rate": 1}]}"#,
    )
    .unwrap();
    let out = qam().arg("orchestrate").arg(&s).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("traffic[0].to: unknown agent id `zed`"), "{err}");
}

#[test]
fn scale_test_prints_a_table_and_writes_svg() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("scale.svg");
    let out = qam()
        .args([
            "scale-test",
            "--agents",
            "60,120",
            "--pools",
            "4",
            "--tasks",
            "10",
            "--svg",
        ])
        .arg(&svg)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].contains("time_s") && lines[0].contains("greedy_obj"));
    assert!(lines[2].trim_start().starts_with("120"));
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<polyline").count(), 5);
}

#[test]
fn gen_scenario_threads_flag_keeps_the_scenario_and_refuses_absurd_counts() {
    let dir = tempfile::tempdir().unwrap();
    let run = |t: &str| -> std::process::Output {
        qam()
            .args([
                "gen-scenario",
                "--agents",
                "60",
                "--pools",
                "4",
                "--tasks",
                "8",
                "--seed",
                "2",
            ])
            .args(["--threads", t, "--out"])
            .arg(dir.path().join(format!("s{t}.json")))
            .output()
            .unwrap()
    };
    for t in ["1", "2"] {
        let o = run(t);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let read = |t: &str| std::fs::read(dir.path().join(format!("s{t}.json"))).unwrap();
    assert_eq!(read("1"), read("2"), "same seed, same scenario on 1 and 2 threads");
    let o = run("100000000");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--threads"));
    assert!(!dir.path().join("s100000000.json").exists());
}
