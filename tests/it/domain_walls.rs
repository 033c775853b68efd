//! Even rings and tori, where plain Metropolis with sequential sweeps fails: every
//! sideways move (energy change 0) taken moves all domain walls one site per sweep in
//! lock-step, so they never meet (a 24-ring stayed at cut 16-20 of 24 whatever the
//! sweeps). Every annealing kernel must reach the ground state here: the scalar integer
//! and float paths, the SIMD lanes, tempering, population annealing and the GPU kernels.

use crate::common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// An antiferromagnetic ring of `n` spins with coupling `j` as a qam JSON model
/// (ground energy `-n j` for even `n`).
fn ring(dir: &Path, n: usize, j: f64) -> PathBuf {
    let quad: Vec<Value> = (0..n).map(|i| serde_json::json!([i, (i + 1) % n, j])).collect();
    let model = serde_json::json!({
        "format": "qam-model", "version": 1, "vartype": "SPIN", "num_variables": n,
        "offset": 0.0, "linear": [], "quadratic": quad,
    });
    let p = dir.join(format!("ring{n}_{j}.json"));
    std::fs::write(&p, model.to_string()).unwrap();
    p
}

fn solve(model: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_qam"))
        .arg("solve")
        .arg(model)
        .args(args)
        .args(["--output", "json", "-q", "--seed", "3"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn cpu_kernels_reach_the_ground_state_of_even_rings() {
    let dir = tempfile::tempdir().unwrap();
    // integer weights (threshold tables, SIMD lanes from 4 reads) and float weights
    for (j, path) in [(1.0, "integer"), (0.7, "float")] {
        for n in [24, 40] {
            let f = ring(dir.path(), n, j);
            let ground = -(n as f64) * j;
            for args in [
                &["--solver", "sa", "--reads", "1", "--sweeps", "2000"][..],
                &["--solver", "sa", "--reads", "16", "--sweeps", "2000"],
                &["--solver", "pt"],
                &["--solver", "pa"],
            ] {
                let r = solve(&f, args);
                let e = r["energy"].as_f64().unwrap();
                assert!(
                    (e - ground).abs() < 1e-9,
                    "{path} ring {n}, {args:?}: energy {e}, ground {ground}"
                );
            }
        }
    }
}

#[test]
fn gpu_kernels_reach_the_ground_state_of_even_rings() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = ring(dir.path(), 24, 1.0);
    for kernel in ["auto", "dense", "color", "workgroup"] {
        let r = solve(
            &f,
            &[
                "--solver", "gpu-sa", "--kernel", kernel, "--reads", "32", "--sweeps", "2000",
            ],
        );
        let e = r["energy"].as_f64().unwrap();
        assert_eq!(e, -24.0, "gpu-sa --kernel {kernel}: energy {e}");
    }
}
