//! `qam qaoa` and `qam solve --solver qaoa` end to end.

use crate::common::gpu_required;
use qam::gpu::GpuContext;
use qam::io::{ReadOptions, read_file};
use qam::qaoa::{Angles, CostDiagonal, CostModel, CpuSimulator, Simulator};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

fn qam(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qam"))
        .args(args)
        .output()
        .expect("run qam")
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "qam failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// The Möbius–Kantor graph (16 vertices, 3-regular, girth 6) as a G-set file.
fn mobius_kantor(dir: &Path) -> PathBuf {
    let mut text = String::from("16 24\n");
    for i in 0..8 {
        text += &format!("{} {} 1\n", i + 1, (i + 1) % 8 + 1);
        text += &format!("{} {} 1\n", i + 1, 8 + i + 1);
        text += &format!("{} {} 1\n", 8 + i + 1, 8 + (i + 3) % 8 + 1);
    }
    let path = dir.join("mk.gset");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn qaoa_optimises_and_reports_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    let file = mobius_kantor(dir.path());
    let f = file.to_str().unwrap();
    let v = json_of(&qam(&["qaoa", f, "--p", "2", "--output", "json", "--quiet"]));
    assert_eq!(v["p"], 2);
    let gamma: Vec<f64> = serde_json::from_value(v["gamma"].clone()).unwrap();
    let beta: Vec<f64> = serde_json::from_value(v["beta"].clone()).unwrap();
    assert_eq!((gamma.len(), beta.len()), (2, 2));
    for key in [
        "expectation",
        "ground_state_probability",
        "approximation_ratio",
        "expected_cut",
        "max_cut",
        "ground_energy",
    ] {
        assert!(v[key].is_number(), "{key} missing: {v}");
    }
    // The Möbius–Kantor graph is bipartite: max cut = all 24 edges. Re-evaluate the
    // printed angles with the library.
    let problem = read_file(&file, ReadOptions::default()).unwrap();
    let cm = CostModel::new(&problem.model).unwrap();
    let diag = Arc::new(CostDiagonal::new(&cm).unwrap());
    let max_cut = (24.0 - diag.min()) / 2.0;
    assert_eq!(max_cut, 24.0);
    assert_eq!(v["max_cut"].as_f64().unwrap(), max_cut);
    let mut sim = CpuSimulator::<f64>::new(diag).unwrap();
    let e = sim.evaluate(&Angles::new(gamma, beta).unwrap()).unwrap();
    assert!((e.expectation - v["expectation"].as_f64().unwrap()).abs() < 1e-9);
    let cut = (24.0 - e.expectation) / 2.0;
    assert!((v["expected_cut"].as_f64().unwrap() - cut).abs() < 1e-9);
    assert!((v["approximation_ratio"].as_f64().unwrap() - cut / max_cut).abs() < 1e-9);
    // Optimised p = 2 is at least as good as the fixed angles (0.7559 per edge).
    assert!(cut / 24.0 > 0.7559 - 1e-6, "{cut}");
}

#[test]
fn qaoa_evaluates_given_angles_in_either_convention() {
    let dir = tempfile::tempdir().unwrap();
    let file = mobius_kantor(dir.path());
    let f = file.to_str().unwrap();
    let cut = json_of(&qam(&[
        "qaoa",
        f,
        "--gamma",
        "0.6155",
        "--beta",
        "0.3927",
        "--convention",
        "cut",
        "--output",
        "json",
    ]));
    let energy = json_of(&qam(&[
        "qaoa", f, "--gamma", "-0.30775", "--beta", "0.3927", "--output", "json",
    ]));
    // Given angles are evaluated once: optimizer `none`, angles `given`.
    assert_eq!(cut["optimizer"], "none");
    assert_eq!(cut["angles"], "given");
    assert_eq!(cut["evaluations"], 1);
    assert_eq!(cut["gamma"][0].as_f64().unwrap(), -0.30775);
    assert_eq!(energy["gamma_cut"][0].as_f64().unwrap(), 0.6155);
    let a = cut["expected_cut"].as_f64().unwrap();
    assert!((a - energy["expected_cut"].as_f64().unwrap()).abs() < 1e-12);
    assert!((a / 24.0 - 0.692450).abs() < 1e-5, "{a}");
}

#[test]
fn qaoa_rejects_bad_input_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = mobius_kantor(dir.path());
    let f = file.to_str().unwrap();
    let out = qam(&["qaoa", f, "--gamma", "0.1,0.2", "--beta", "0.3"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--gamma has 2 values but --beta has 1"));
    let out = qam(&["qaoa", f, "--gamma", "0.1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--gamma and --beta go together"));
    let out = qam(&["qaoa", f, "--qaoa-device", "gpu", "--qaoa-precision", "f64"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("complex64"));

    let qubo = dir.path().join("q.qubo");
    std::fs::write(&qubo, "p qubo 0 2 2 1\n0 0 -1\n1 1 -1\n0 1 2\n").unwrap();
    let out = qam(&[
        "qaoa",
        qubo.to_str().unwrap(),
        "--gamma",
        "0.1",
        "--beta",
        "0.2",
        "--convention",
        "cut",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("MaxCut"));

    // 41 variables: more than any state-vector simulator here takes.
    let chain = dir.path().join("chain.gset");
    let mut text = String::from("41 40\n");
    for i in 1..41 {
        text += &format!("{i} {} 1\n", i + 1);
    }
    std::fs::write(&chain, text).unwrap();
    let out = qam(&["qaoa", chain.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("41 qubits exceed the limit"), "{err}");
}

#[test]
fn solve_with_the_qaoa_solver() {
    let dir = tempfile::tempdir().unwrap();
    let file = mobius_kantor(dir.path());
    let v = json_of(&qam(&[
        "solve",
        file.to_str().unwrap(),
        "--solver",
        "qaoa",
        "--p",
        "1",
        "--shots",
        "40",
        "--seed",
        "3",
        "--qaoa-device",
        "cpu",
        "--output",
        "json",
        "--quiet",
    ]));
    assert_eq!(v["solver"], "qaoa");
    assert_eq!(v["num_reads"], 40);
    assert_eq!(v["params"]["p"], 1);
    assert!(v["expectation"].is_number() && v["cut"].is_number());
    // Polished samples of a bipartite graph reach the full cut (24 edges) easily.
    assert_eq!(v["cut"].as_f64().unwrap(), 24.0);
}

/// `--qaoa-device gpu` runs the WGSL kernels (lavapipe in CI) and agrees with the CPU.
#[test]
fn qaoa_on_the_gpu_backend() {
    if let Err(e) = GpuContext::shared() {
        assert!(!gpu_required(), "QAM_REQUIRE_GPU is set but no GPU: {e}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = mobius_kantor(dir.path());
    let f = file.to_str().unwrap();
    let args = |backend: &'static str| {
        vec![
            "qaoa",
            f,
            "--gamma",
            "-0.2,-0.4",
            "--beta",
            "0.5,0.3",
            "--qaoa-device",
            backend,
            "--qaoa-precision",
            "f32",
            "--output",
            "json",
        ]
    };
    let g = json_of(&qam(&args("gpu")));
    let c = json_of(&qam(&args("cpu")));
    assert!(g["backend"].as_str().unwrap().starts_with("gpu"), "{g}");
    let (a, b) = (g["expectation"].as_f64().unwrap(), c["expectation"].as_f64().unwrap());
    assert!((a - b).abs() < 1e-4 * b.abs(), "{a} vs {b}");
}

/// Without the `mpi` feature, `--distributed` says how to get it instead of running alone.
#[cfg(not(feature = "mpi"))]
#[test]
fn qaoa_distributed_without_mpi_explains_the_build() {
    let dir = tempfile::tempdir().unwrap();
    let f = mobius_kantor(dir.path());
    let out = qam(&[
        "qaoa",
        f.to_str().unwrap(),
        "--gamma",
        "0.3",
        "--beta",
        "0.2",
        "--distributed",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--features mpi") && err.contains("mpirun"), "{err}");
}
