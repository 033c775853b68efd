//! Hostile use of the `qam` binary (issue 17): data loss (failed, killed and self-
//! overwriting runs, full disks, refusing to overwrite), closed pipes, panics on extreme
//! numbers, exit codes.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn qam() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qam"));
    c.env("NO_COLOR", "1");
    c
}

fn run(args: &[&str]) -> Output {
    qam().args(args).output().expect("run qam")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Starts `args` with stdout/stderr discarded, lets it run `wait`, checks it is still
/// running, then kills it with SIGKILL (`kill -9`).
fn kill_after(args: &[&str], wait: Duration) {
    let mut child = qam()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while t.elapsed() < wait {
        assert!(
            child.try_wait().unwrap().is_none(),
            "qam {args:?} ended before the kill"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
}

#[test]
fn kill_9_during_solve_out_keeps_the_previous_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results.txt");
    std::fs::write(&out, "previous results\n").unwrap();
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/er1000.gset");
    kill_after(
        &[
            "solve",
            p(&input),
            "--solver",
            "pt",
            "--sweeps",
            "1000000000",
            "--time-limit",
            "120",
            "--quiet",
            "--out",
            p(&out),
        ],
        Duration::from_millis(1500),
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous results\n");
}

#[test]
fn kill_9_during_orchestrate_out_keeps_the_previous_plan() {
    let dir = tempfile::tempdir().unwrap();
    let scen = dir.path().join("s.json");
    let plan = dir.path().join("plan.json");
    let o = run(&[
        "gen-scenario",
        "--agents",
        "400",
        "--pools",
        "8",
        "--tasks",
        "20",
        "--seed",
        "1",
        "--out",
        p(&scen),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(&plan, "{\"previous\": true}").unwrap();
    kill_after(
        &[
            "orchestrate",
            p(&scen),
            "--sweeps",
            "4000000",
            "--reads",
            "64",
            "--out",
            p(&plan),
        ],
        Duration::from_millis(1500),
    );
    assert_eq!(std::fs::read_to_string(&plan).unwrap(), "{\"previous\": true}");
}

#[test]
fn failed_and_self_overwriting_runs_keep_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results.txt");
    std::fs::write(&out, "old\n").unwrap();
    // A missing input: exit 2 (invalid input), the output untouched.
    let o = run(&["solve", p(&dir.path().join("missing.qubo")), "--out", p(&out)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old\n");
    // --out naming the input is refused before anything is read or written.
    let model = dir.path().join("m.qubo");
    let text = "p qubo 0 2 1 1\n0 0 -1\n0 1 2\n";
    std::fs::write(&model, text).unwrap();
    let alias = dir.path().join(".").join("m.qubo");
    let o = run(&["solve", p(&model), "--out", p(&alias)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("also an input"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&model).unwrap(), text);
    let o = run(&["convert", p(&model), p(&alias), "--to", "json"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&model).unwrap(), text);
    // A successful run replaces the file, leaving no temporary file behind.
    let o = run(&["solve", p(&model), "--out", p(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&out).unwrap().contains("energy"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[cfg(target_os = "linux")]
#[test]
fn full_disk_names_the_path_and_fails_with_1() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/small24.qubo");
    let o = run(&["solve", p(&model), "--solver", "greedy", "--out", "/dev/full"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("/dev/full"), "{}", stderr(&o));
}

#[test]
fn gen_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.gset");
    let side = dir.path().join("t.gset.planted.json");
    let args = [
        "gen",
        "--kind",
        "planted-ferro",
        "--n",
        "20",
        "--seed",
        "1",
        "--out",
        p(&out),
    ];
    assert!(run(&args).status.success());
    let (a, b) = (std::fs::read(&out).unwrap(), std::fs::read(&side).unwrap());
    // The sidecar alone blocks too.
    std::fs::remove_file(&out).unwrap();
    let o = run(&[
        "gen",
        "--kind",
        "planted-ferro",
        "--n",
        "20",
        "--seed",
        "2",
        "--out",
        p(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("planted.json") && stderr(&o).contains("--force"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "nothing written when refused");
    assert_eq!(std::fs::read(&side).unwrap(), b);
    let mut forced = args.to_vec();
    forced.push("--force");
    assert!(run(&forced).status.success());
    assert_eq!(std::fs::read(&out).unwrap(), a);
}

/// A closed stdout pipe ends the process quietly (SIGPIPE or a normal exit), never with a
/// panic message.
#[test]
fn closed_stdout_pipe_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let scen = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/scenario_small.json");
    let svg = dir.path().join("s.svg");
    for args in [
        vec!["orchestrate", p(&scen)],
        vec![
            "scale-test",
            "--agents",
            "20,40",
            "--pools",
            "4",
            "--tasks",
            "5",
            "--svg",
            p(&svg),
        ],
        vec!["info", "examples/data/er1000.gset"],
    ] {
        let mut child = qam()
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader goes away at once
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert!(
                out.status.success() || out.status.signal() == Some(13),
                "{args:?}: {:?} {err}",
                out.status
            );
        }
    }
}

/// Panics, memory blow-ups and hangs on extreme numbers now end with exit 2 and a message
/// naming the flag or field (each case was a panic, a multi-GB allocation or a hang).
#[test]
fn extreme_numbers_are_refused_with_the_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let small = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/small24.qubo");
    let f = p(&small);
    let out = dir.path().join("s.json");
    let o = p(&out);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["gen-scenario", "--agents", "0", "--pools", "2", "--out", o],
            "--agents",
        ),
        (
            vec!["gen-scenario", "--agents", "5", "--pools", "0", "--out", o],
            "--pools",
        ),
        (
            vec!["solve", f, "--solver", "sa", "--time-limit", "1e300"],
            "time_limit",
        ),
        (vec!["solve", f, "--solver", "sa", "--time-limit", "NaN"], "time_limit"),
        (
            vec!["solve", f, "--solver", "sa", "--sweeps", "18446744073709551615"],
            "num_sweeps",
        ),
        (
            vec![
                "solve",
                f,
                "--solver",
                "pa",
                "--sweeps",
                "1000000000",
                "--sweeps-per-beta",
                "1",
            ],
            "num_sweeps",
        ),
        (
            vec!["solve", f, "--solver", "sa", "--reads", "10000000", "--time-limit", "1"],
            "num_reads",
        ),
        (
            vec!["solve", f, "--solver", "greedy", "--reads", "10000000"],
            "num_reads",
        ),
        (
            vec![
                "solve",
                f,
                "--solver",
                "pt",
                "--replicas",
                "100000",
                "--chains",
                "100000",
            ],
            "num_chains",
        ),
        (
            vec!["solve", f, "--solver", "pa", "--population", "100000000"],
            "population",
        ),
        (vec!["solve", f, "--solver", "sa", "--beta-range", "5,1"], "beta_range"),
        (vec!["solve", f, "--solver", "sa", "--target", "NaN"], "`target`"),
        (vec!["bench", f, "--threads", "100000"], "threads"),
        (vec!["qaoa", f, "--shots", "1000000000000"], "shots"),
        (
            vec!["qaoa", f, "--p", "2", "--gamma", "0.1", "--beta", "0.2"],
            "--p 2 contradicts",
        ),
        (vec!["qaoa", f, "--gamma", "1e300", "--beta", "0.2"], "1e300"),
    ];
    for (args, needle) in cases {
        let out = run(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: expected `{needle}` in: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // Under a time limit, an anneal too long for it is planned by time instead (no β
    // table of 10^9 entries is built): the run completes, cold.
    let out = run(&[
        "solve",
        f,
        "--solver",
        "sa",
        "--sweeps",
        "1000000000",
        "--time-limit",
        "1",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["budget_fallback"].as_str().is_some_and(|s| s.contains("planned")),
        "{v}"
    );
}

/// A bqp file whose first line (the instance count) is damaged: `qam solve` solves every
/// instance of such a file, and used to abort allocating a result per declared instance.
#[test]
fn damaged_bqp_instance_count_is_refused_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("damaged.txt");
    std::fs::write(&f, "4294967296\n 3 5\n 1 1 5\n 2 2 -3\n 3 3 1\n 1 2 4\n 2 3 -2\n").unwrap();
    let o = run(&["solve", p(&f), "--time-limit", "1", "-q"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o)); // invalid input
    let err = stderr(&o);
    assert!(
        err.contains("damaged.txt:1:") && err.contains("4294967296 instances"),
        "{err}"
    );
    assert!(!err.contains("panicked") && !err.contains("memory allocation"), "{err}");
}

/// Scenarios that panicked or blew up memory: no agents, huge durations, a wrong format,
/// traffic to an unknown agent (also through `gen-scenario --from`).
#[test]
fn hostile_scenarios_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let base =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/scenario_small.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&base).unwrap();
    let mut cases = Vec::new();
    let mut no_agents = v.clone();
    no_agents["agents"] = serde_json::json!([]);
    no_agents["tasks"] = serde_json::json!([]);
    no_agents["traffic"] = serde_json::json!([]);
    cases.push((no_agents, "agents"));
    let mut long = v.clone();
    long["tasks"][0]["duration"] = serde_json::json!(4294967295u64);
    cases.push((long, "tasks[0].duration"));
    let mut huge = v.clone();
    huge["tasks"][0]["duration"] = serde_json::json!(1e15 as u64);
    cases.push((huge, "tasks[0].duration"));
    let mut rate = v.clone();
    rate["traffic"][0]["rate"] = serde_json::json!(1e308);
    cases.push((rate, "traffic[0].rate"));
    let mut cap = v.clone();
    cap["pools"][0]["capacity"]["cpu"] = serde_json::json!(1e300);
    cases.push((cap, "pools[0].capacity.cpu"));
    let mut stranger = v.clone();
    stranger["traffic"][0]["to"] = serde_json::json!("nobody");
    cases.push((stranger, "traffic[0]"));
    v["format"] = serde_json::json!("something-else");
    cases.push((v, "format"));
    for (k, (s, needle)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("s{k}.json"));
        std::fs::write(&path, s.to_string()).unwrap();
        let out = run(&["orchestrate", p(&path)]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{needle}: {err}");
        assert!(err.contains(needle), "expected `{needle}` in: {err}");
        // Churning it (`gen-scenario --from`) is refused the same way; it used to panic on
        // traffic between unknown agents.
        let churned = dir.path().join(format!("c{k}.json"));
        let out = run(&[
            "gen-scenario",
            "--from",
            p(&path),
            "--churn",
            "0.2",
            "--out",
            p(&churned),
        ]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "gen-scenario --from, {needle}: {err}");
        assert!(
            err.contains(needle) && !err.contains("panicked"),
            "expected `{needle}` in: {err}"
        );
        assert!(!churned.exists());
    }
}

#[test]
fn dimod_labels_come_back_with_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("bqm.json");
    std::fs::write(
        &m,
        r#"{"type": "BinaryQuadraticModel", "version": {"bqm_schema": "3.0.0"}, "use_bytes": false,
        "variable_labels": ["d", "c", "b", "a"], "variable_type": "SPIN", "offset": 0.0, "info": {},
        "linear_biases": [1.0, -1.0, 1.0, -1.0], "quadratic_biases": [], "quadratic_head": [],
        "quadratic_tail": []}"#,
    )
    .unwrap();
    let o = run(&["solve", p(&m), "--solver", "exact", "--output", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["state"], serde_json::json!([-1, 1, -1, 1]));
    assert_eq!(v["labels"], serde_json::json!(["d", "c", "b", "a"]));
    assert_eq!(v["sample"], serde_json::json!({"a": 1, "b": -1, "c": 1, "d": -1}));
}

#[test]
fn previous_plan_of_another_scenario_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (s1, s2) = (dir.path().join("s1.json"), dir.path().join("s2.json"));
    let plan = dir.path().join("p.json");
    for (s, seed, prefix) in [(&s1, "1", "x"), (&s2, "2", "y")] {
        let o = run(&[
            "gen-scenario",
            "--agents",
            "40",
            "--pools",
            "3",
            "--tasks",
            "4",
            "--seed",
            seed,
            "--out",
            p(s),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        // Rename s2's agents so that the two scenarios share none.
        let text = rename_agents(&std::fs::read_to_string(s).unwrap(), prefix);
        std::fs::write(s, text).unwrap();
    }
    let o = run(&["orchestrate", p(&s1), "--out", p(&plan)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["orchestrate", p(&s2), "--previous", p(&plan)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--allow-mismatch"), "{}", stderr(&o));
    let o = run(&["orchestrate", p(&s2), "--previous", p(&plan), "--allow-mismatch"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Structural damage is refused even with --allow-mismatch.
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    v["schedule"][0]["end"] = serde_json::json!(0);
    v["schedule"][0]["start"] = serde_json::json!(5);
    std::fs::write(&plan, v.to_string()).unwrap();
    let o = run(&["orchestrate", p(&s1), "--previous", p(&plan), "--allow-mismatch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("schedule[0].end"), "{}", stderr(&o));
    v["version"] = serde_json::json!(7);
    std::fs::write(&plan, v.to_string()).unwrap();
    let o = run(&["orchestrate", p(&s1), "--previous", p(&plan)]);
    assert!(stderr(&o).contains("version"), "{}", stderr(&o));
}

/// Prefixes every agent id (`"a<digits>"`) in a scenario's text.
fn rename_agents(text: &str, prefix: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        out.push(c);
        if c == '"' && b.get(i + 1) == Some(&b'a') && b.get(i + 2).is_some_and(u8::is_ascii_digit) {
            out.push_str(prefix);
        }
    }
    out
}

#[test]
fn gpu_environment_messages() {
    assert!(!qam::gpu::env_flag("no") && !qam::gpu::env_flag("0") && !qam::gpu::env_flag(" False "));
    assert!(qam::gpu::env_flag("1") && qam::gpu::env_flag("yes"));
    let small = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/small24.qubo");
    let o = qam()
        .args(["solve", p(&small), "--solver", "gpu-sa"])
        .env("QAM_ADAPTER", "no-such-adapter-xyz")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(err.contains("no-such-adapter-xyz"), "{err}");
    // With adapters present, the advice is about the name, not about installing a driver.
    if err.contains("adapters present") {
        assert!(!err.contains("install a Vulkan driver"), "{err}");
    }
}

mod flags {
    use super::*;
    use proptest::prelude::*;

    const VALUES: &[&str] = &[
        "0",
        "1",
        "7",
        "-1",
        "0.001",
        "1e300",
        "nan",
        "inf",
        "4294967296",
        "1048577",
        "18446744073709551615",
    ];
    const FLAGS: &[&str] = &[
        "--reads",
        "--sweeps",
        "--sweeps-per-beta",
        "--replicas",
        "--chains",
        "--population",
        "--shots",
        "--target",
        "--p",
    ];
    const SOLVERS: &[&str] = &["exact", "sa", "greedy", "pt", "pa", "hierarchical", "qaoa"];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Any solver with up to three hostile numeric flags on a small model, under a
        /// time limit: exit 0 or 2 with a message, never a panic or a crash, and (as every
        /// accepted count is bounded and the time limit is honoured) no hang.
        #[test]
        fn numeric_flags_never_panic(
            solver in 0..SOLVERS.len(),
            picks in proptest::collection::vec((0..FLAGS.len(), 0..VALUES.len()), 1..4),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let m = dir.path().join("m.qubo");
            std::fs::write(&m, "p qubo 0 6 2 3\n0 0 -1\n3 3 2\n0 1 2\n1 2 -3\n4 5 1\n").unwrap();
            let mut args: Vec<String> =
                ["solve", p(&m), "--time-limit", "2", "--solver", SOLVERS[solver]].map(String::from).to_vec();
            for (f, v) in &picks {
                args.push(FLAGS[*f].into());
                args.push(VALUES[*v].into());
            }
            let out = qam().args(&args).output().unwrap();
            let err = stderr(&out);
            prop_assert!(!err.contains("panicked"), "{args:?}: {err}");
            prop_assert!(matches!(out.status.code(), Some(0) | Some(2)), "{args:?}: {:?} {err}", out.status);
        }
    }
}

/// QAOA on a problem whose state vector cannot fit is refused before the cost diagonal is
/// built (which took seconds and gigabytes), naming the sizes.
#[test]
fn qaoa_too_large_is_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("ring.gset");
    // 38 qubits: a 4 TiB state vector, more than any test machine has.
    let n = 38;
    let mut text = format!("{n} {n}\n");
    for i in 1..=n {
        text.push_str(&format!("{i} {} 1\n", i % n + 1));
    }
    std::fs::write(&g, text).unwrap();
    let o = run(&["qaoa", p(&g), "--qaoa-device", "cpu"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("state vector") && err.contains("GiB"), "{err}");
}
