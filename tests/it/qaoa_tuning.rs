//! The CPU QAOA simulator's tuning knobs (`QAM_QAOA_*`) reach every QAOA run of the CLI
//! (`qam qaoa`, `qam solve --solver qaoa`, `--sub-solver qaoa`), change how it runs (the
//! simulator reports its low pass and passes per layer in `backend`) but not the answer,
//! and a bad value is refused naming the variable.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const VARS: [&str; 4] = [
    "QAM_QAOA_ISA",
    "QAM_QAOA_LOW_BITS",
    "QAM_QAOA_TILE_KIB",
    "QAM_QAOA_ROW_BYTES",
];

/// `qam ARGS` with exactly the `QAM_QAOA_*` variables in `env` set.
fn qam(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qam"));
    for v in VARS {
        c.env_remove(v);
    }
    c.args(args).envs(env.iter().copied()).output().expect("run qam")
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "qam failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// A 16-vertex 3-regular graph (Möbius–Kantor) as a G-set file.
fn graph(dir: &Path) -> PathBuf {
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

fn solve_args(f: &str) -> Vec<&str> {
    vec![
        "solve",
        f,
        "--solver",
        "qaoa",
        "--p",
        "1",
        "--shots",
        "30",
        "--seed",
        "5",
        "--optimizer",
        "none",
        "--qaoa-device",
        "cpu",
        "--output",
        "json",
        "--quiet",
    ]
}

#[test]
fn knobs_set_in_the_environment_change_how_solve_qaoa_runs_not_its_answer() {
    let dir = tempfile::tempdir().unwrap();
    let g = graph(dir.path());
    let args = solve_args(g.to_str().unwrap());
    let plain = json_of(&qam(&args, &[]));
    let backend = |v: &Value| v["backend"].as_str().unwrap().to_string();
    // 16 qubits fit the default low pass (16 for complex128): one pass per layer.
    assert!(
        backend(&plain).contains("1 passes per layer, low pass 16 qubits"),
        "{}",
        backend(&plain)
    );
    let split = json_of(&qam(&args, &[("QAM_QAOA_LOW_BITS", "4"), ("QAM_QAOA_TILE_KIB", "1")]));
    let b = backend(&split);
    assert!(b.contains("low pass 4 qubits"), "{b}");
    assert!(
        !b.contains(" 1 passes per layer"),
        "the split path takes more passes: {b}"
    );
    let base = json_of(&qam(&args, &[("QAM_QAOA_ISA", "Baseline")]));
    assert!(backend(&base).contains("(baseline,"), "{}", backend(&base));
    // Speed knobs: the same expectation (to rounding) and the same samples.
    for v in [&split, &base] {
        let (a, b) = (
            plain["expectation"].as_f64().unwrap(),
            v["expectation"].as_f64().unwrap(),
        );
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        assert_eq!((&plain["energy"], &plain["state"]), (&v["energy"], &v["state"]));
    }
    // `qam qaoa` takes the same knobs.
    let q = json_of(&qam(
        &[
            "qaoa",
            g.to_str().unwrap(),
            "--qaoa-device",
            "cpu",
            "--optimizer",
            "none",
            "--output",
            "json",
            "-q",
        ],
        &[("QAM_QAOA_LOW_BITS", "5")],
    ));
    assert!(q["backend"].as_str().unwrap().contains("low pass 5 qubits"), "{q}");
}

#[test]
fn bad_knobs_are_refused_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let g = graph(dir.path());
    let f = g.to_str().unwrap();
    let hier = [
        "solve",
        f,
        "--solver",
        "hierarchical",
        "--sub-solver",
        "qaoa",
        "--cluster-size",
        "8",
        "--output",
        "json",
        "-q",
    ];
    let qaoa = ["qaoa", f, "--qaoa-device", "cpu", "--optimizer", "none", "-q"];
    let solve = solve_args(f);
    for (var, value, says) in [
        ("QAM_QAOA_LOW_BITS", "99", "3..=24"),
        ("QAM_QAOA_LOW_BITS", "2", "3..=24"),
        ("QAM_QAOA_TILE_KIB", "lots", "whole number"),
        ("QAM_QAOA_TILE_KIB", "0", "1..=65536"),
        ("QAM_QAOA_ROW_BYTES", "-1", "whole number"),
        ("QAM_QAOA_ISA", "avx3", "avx512, avx2, baseline"),
    ] {
        for args in [&solve[..], &hier[..], &qaoa[..]] {
            let out = qam(args, &[(var, value)]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{var}={value} accepted by {args:?}");
            assert!(
                err.contains(&format!("{var}={value}")) && err.contains(says),
                "{var}={value}: {err}"
            );
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    // Empty is unset.
    json_of(&qam(&solve, &[("QAM_QAOA_LOW_BITS", "")]));
}
