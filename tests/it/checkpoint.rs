//! Checkpoints: `qam solve --checkpoint/--resume` and `qam serve` restarts resume
//! hierarchical and tempering solves from their saved state, ending no worse than it.
//! Every wait is bounded in count and time.

use qam::io::{ReadOptions, read_file};
use qam::model::spins_as;
use qam::solvers::checkpoint::spins_from_text;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const QAM: &str = env!("CARGO_BIN_EXE_qam");

/// A sparse random graph (G-set format), deterministic.
fn graph(n: usize, degree: usize, seed: u64) -> String {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut edges = std::collections::BTreeSet::new();
    for i in 0..n {
        for _ in 0..degree / 2 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = (x >> 33) as usize % n;
            if j != i {
                edges.insert((i.min(j), i.max(j)));
            }
        }
    }
    let mut s = format!("{n} {}\n", edges.len());
    for (a, b) in edges {
        s += &format!("{} {} 1\n", a + 1, b + 1);
    }
    s
}

/// Waits (at most ~`secs` s) until the checkpoint file holds a state at `min_round` or
/// later; returns the state.
fn wait_checkpoint(path: &Path, min_round: u64, secs: u64) -> Value {
    for _ in 0..secs * 20 {
        if let Ok(text) = std::fs::read_to_string(path) {
            let v: Value = serde_json::from_str(&text).expect("checkpoint files are whole (atomic writes)");
            if v["state"]["round"].as_u64().is_some_and(|r| r >= min_round) {
                return v["state"].clone();
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no checkpoint at round >= {min_round} within {secs} s");
}

/// Energy of a saved spin string on the problem in `file`.
fn energy_of(file: &Path, spins: &str) -> f64 {
    let p = read_file(file, ReadOptions::default()).unwrap();
    let n = p.model.num_variables();
    let s = spins_from_text(spins, n).expect("n spins");
    p.model.energy(&spins_as(p.model.vartype(), &s))
}

/// Starts `qam solve` with a checkpoint, kills it (SIGKILL) once a checkpoint exists,
/// resumes with a short time limit; returns (saved state, resumed result).
fn kill_and_resume(file: &Path, flags: &[&str], cp: &Path, min_round: u64) -> (Value, Value) {
    let mut child = Command::new(QAM)
        .arg("solve")
        .arg(file)
        .args(flags)
        .args(["--time-limit", "120", "--quiet", "--checkpoint"])
        .arg(cp)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state = wait_checkpoint(cp, min_round, 120);
    child.kill().unwrap();
    child.wait().unwrap();
    let out = Command::new(QAM)
        .arg("solve")
        .arg(file)
        .args(flags)
        .args(["--time-limit", "1", "--quiet", "--output", "json", "--resume"])
        .arg(cp)
        .arg("--checkpoint")
        .arg(cp)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (state, serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn hierarchical_killed_and_resumed_ends_no_worse() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("g.gset");
    std::fs::write(&file, graph(3000, 6, 1)).unwrap();
    let cp = dir.path().join("h.ckpt.json");
    let flags = [
        "--solver",
        "hierarchical",
        "--cluster-size",
        "60",
        "--sub-sweeps",
        "50",
        "--seed",
        "5",
    ];
    let (state, result) = kill_and_resume(&file, &flags, &cp, 2);
    let saved = energy_of(&file, state["spins"].as_str().unwrap());
    let resumed = result["energy"].as_f64().unwrap();
    assert!(resumed <= saved + 1e-9, "resumed {resumed} > saved {saved}");
    assert_eq!(result["resumed_from_round"], state["round"]);
    // A checkpoint of another solve is refused with the file named.
    let out = Command::new(QAM)
        .arg("solve")
        .arg(&file)
        .args(["--solver", "hierarchical", "--seed", "6", "--resume"])
        .arg(&cp)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("h.ckpt.json") && err.contains("another solve"), "{err}");
}

#[test]
fn tempering_killed_and_resumed_keeps_its_best_state() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("g.gset");
    std::fs::write(&file, graph(400, 6, 2)).unwrap();
    let cp = dir.path().join("pt.ckpt.json");
    let flags = [
        "--solver",
        "pt",
        "--replicas",
        "8",
        "--chains",
        "2",
        "--sweeps",
        "100000000",
        "--seed",
        "9",
    ];
    let (state, result) = kill_and_resume(&file, &flags, &cp, 50);
    let saved = state["best"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| energy_of(&file, b.as_str().unwrap()))
        .fold(f64::INFINITY, f64::min);
    let resumed = result["energy"].as_f64().unwrap();
    assert!(resumed <= saved + 1e-9, "resumed {resumed} > saved {saved}");
    assert_eq!(result["resumed_from_round"], state["round"]);
    // The sweep count continues from the saved round.
    assert!(result["params"]["num_sweeps"].as_u64().unwrap() >= state["round"].as_u64().unwrap());
}
