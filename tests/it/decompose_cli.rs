//! Command line: `qam gen` planted kinds, `qam decompose`, `qam solve --solver hierarchical`.

use serde_json::Value;
use std::process::Command;

fn qam(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qam")).args(args).output().unwrap()
}

#[test]
fn gen_decompose_and_solve_a_planted_instance() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.gset");
    let f = file.to_str().unwrap();
    let out = qam(&["gen", "--kind", "tile-planted", "--n", "400", "--seed", "3", "--out", f]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let side: Value = serde_json::from_str(&std::fs::read_to_string(format!("{f}.planted.json")).unwrap()).unwrap();
    let ground = side["ground_energy"].as_f64().unwrap();
    assert_eq!(side["ground_state"].as_array().unwrap().len(), 400);

    let out = qam(&["decompose", f, "--cluster-size", "16", "--output", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    let levels = d["levels"].as_array().unwrap();
    assert!(levels.len() >= 3);
    assert_eq!(levels[0]["num_variables"], 400);
    assert_eq!(levels[0]["num_interactions"], 800);
    assert!(levels[0]["max_size"].as_u64().unwrap() <= 16);
    assert!(levels[0]["cut_weight"].as_f64().unwrap() > 0.0);
    assert!(levels.last().unwrap()["num_variables"].as_u64().unwrap() <= 16);
    let text = qam(&["decompose", f, "--cluster-size", "16"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("level 0: 400 variables"));

    let out = qam(&[
        "solve",
        f,
        "--solver",
        "hierarchical",
        "--sub-solver",
        "exact",
        "--cluster-size",
        "16",
        "--strategy",
        "refine",
        "--seed",
        "3",
        "--output",
        "json",
        "-q",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["solver"], "hierarchical");
    assert_eq!(r["energy"].as_f64().unwrap(), ground);
    assert!(r["subproblems"]["exact"].as_u64().unwrap() > 0);
}

#[test]
fn oversized_sub_solver_clusters_fail_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.gset");
    let f = file.to_str().unwrap();
    assert!(
        qam(&["gen", "--kind", "planted-ferro", "--n", "100", "--out", f])
            .status
            .success()
    );
    let out = qam(&[
        "solve",
        f,
        "--solver",
        "hierarchical",
        "--sub-solver",
        "qaoa",
        "--cluster-size",
        "40",
        "-q",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cluster_size") && err.contains("qaoa"), "{err}");
    let out = qam(&["solve", f, "--solver", "hierarchical", "--time-limit", "0", "-q"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--time-limit"));
}
