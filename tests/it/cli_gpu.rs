//! The command line with the GPU and tempering solvers: `solve --solver gpu-sa|pt`,
//! `bench --compare cpu-sa,gpu-sa`, `--solver auto` without an adapter, QAM_REQUIRE_GPU.

use crate::common;

use std::path::PathBuf;
use std::process::{Command, Output};

fn qam(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qam"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("qam runs")
}

/// A 60-node random MaxCut file in a temporary directory.
fn graph(dir: &tempfile::TempDir) -> PathBuf {
    let p = dir.path().join("g60.gset");
    let status = Command::new(env!("CARGO_BIN_EXE_qam"))
        .args([
            "gen",
            "--kind",
            "erdos-renyi",
            "--n",
            "60",
            "--density",
            "0.1",
            "--seed",
            "3",
            "--out",
        ])
        .arg(&p)
        .status()
        .unwrap();
    assert!(status.success());
    p
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn solve_with_gpu_sa_and_pt() {
    let dir = tempfile::tempdir().unwrap();
    let file = graph(&dir);
    let f = file.to_str().unwrap();
    let out = qam(
        &[
            "solve",
            f,
            "--solver",
            "pt",
            "--replicas",
            "8",
            "--sweeps",
            "100",
            "--output",
            "json",
            "--quiet",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = &json_lines(&out)[0];
    assert_eq!(v["solver"], "pt");
    assert_eq!(v["swap_acceptance"].as_array().unwrap().len(), 7);
    if common::gpu().is_none() {
        return;
    }
    let out = qam(
        &[
            "solve", f, "--solver", "gpu-sa", "--reads", "4", "--sweeps", "50", "--output", "json", "--quiet",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = &json_lines(&out)[0];
    assert_eq!(v["solver"], "gpu-sa");
    assert!(v["device"].as_str().is_some());
    assert_eq!(v["num_reads"], 4);
    assert!(v["cut"].as_f64().unwrap() > 0.0);
}

#[test]
fn bench_compares_cpu_and_gpu_sa() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = graph(&dir);
    let out = qam(
        &[
            "bench",
            file.to_str().unwrap(),
            "--compare",
            "cpu-sa,gpu-sa",
            "--threads",
            "1",
            "--reads",
            "4",
            "--sweeps",
            "20",
            "--output",
            "json",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["solver"], "sa");
    assert_eq!(rows[0]["device"], "cpu");
    assert_eq!(rows[1]["solver"], "gpu-sa");
    assert_ne!(rows[1]["device"], "cpu");
    for r in &rows {
        assert_eq!(r["reads"], 4);
        assert_eq!(r["sweeps"], 20);
        assert!(r["flips_per_s"].as_f64().unwrap() > 0.0);
        assert_eq!(r["metric"], "cut");
    }
    assert_eq!(rows[0]["ratio"], 1.0);
    assert!(rows[1]["ratio"].as_f64().unwrap() > 0.0);
    // Text output has the device column.
    let out = qam(
        &[
            "bench",
            file.to_str().unwrap(),
            "--compare",
            "cpu-sa,gpu-sa",
            "--threads",
            "1",
            "--reads",
            "2",
            "--sweeps",
            "5",
        ],
        &[],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("device") && text.contains("gpu-sa"), "{text}");
}

#[test]
fn auto_without_adapter_falls_back_or_fails_when_required() {
    let dir = tempfile::tempdir().unwrap();
    let file = graph(&dir);
    let f = file.to_str().unwrap();
    let none = ("QAM_ADAPTER", "no-such-adapter-xyz");
    // Enough work for a GPU (60 x 2000 >= 100,000 flips per sweep): the missing adapter
    // is the reason to stay on the CPU.
    let out = qam(
        &["solve", f, "--reads", "2000", "--sweeps", "2"],
        &[none, ("QAM_REQUIRE_GPU", "0")],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("auto: sa on the CPU") && err.contains("no GPU adapter"),
        "{err}"
    );
    // Too little work: decided without looking for an adapter at all.
    let out = qam(
        &["solve", f, "--reads", "2", "--sweeps", "10"],
        &[none, ("QAM_REQUIRE_GPU", "0")],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("auto: sa on the CPU") && err.contains("too little work"),
        "{err}"
    );

    let out = qam(
        &["solve", f, "--reads", "2", "--sweeps", "10"],
        &[none, ("QAM_REQUIRE_GPU", "1")],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("QAM_REQUIRE_GPU"), "{err}");

    let out = qam(
        &["solve", f, "--solver", "gpu-sa", "--reads", "2"],
        &[none, ("QAM_REQUIRE_GPU", "1")],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no GPU adapter") && err.contains("no-such-adapter-xyz"),
        "{err}"
    );
}
