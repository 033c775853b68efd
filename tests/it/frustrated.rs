//! Frustrated-loop planted instances (Hen et al. 2015): the announced ground energy is the
//! exhaustive minimum on small lattices, and the files written by `qam gen` carry it.

use qam::generate::{frustrated_loops, read_sidecar};
use qam::io::{ReadOptions, read_file};
use qam::solvers::{ExactSolver, Solver};
use std::process::Command;

#[test]
fn planted_energy_is_the_exhaustive_minimum() {
    // 2D 3x3, 2D 4x4 and 3D 3x3x3 periodic lattices, several densities and seeds.
    for (dims, n, alpha, seed) in [
        (2, 9, 0.5, 1),
        (2, 16, 0.3, 2),
        (2, 16, 1.0, 3),
        (2, 25, 0.4, 4),
        (3, 27, 0.3, 5),
    ] {
        let p = frustrated_loops(dims, n, alpha, seed).unwrap();
        let model = &p.problem.model;
        assert_eq!(model.num_variables(), n);
        assert_eq!(model.energy(&p.ground_state), p.ground_energy, "{dims}D n={n}");
        let exact = ExactSolver::default().solve(model).unwrap();
        assert_eq!(
            exact.first().unwrap().energy,
            p.ground_energy,
            "{dims}D n={n} seed {seed}"
        );
        // Frustrated: no state satisfies every coupling; the gauge hides the planted state.
        let sum_abs: f64 = model.couplings().iter_upper().map(|t| t.2.abs()).sum();
        assert!(p.ground_energy > -sum_abs, "{dims}D n={n}");
        assert!(p.ground_state.contains(&1) && p.ground_state.contains(&-1));
    }
}

#[test]
fn same_seed_same_instance() {
    let a = frustrated_loops(3, 64, 0.2, 7).unwrap();
    let b = frustrated_loops(3, 64, 0.2, 7).unwrap();
    let c = frustrated_loops(3, 64, 0.2, 8).unwrap();
    let edges = |p: &qam::generate::Planted| p.problem.model.couplings().iter_upper().collect::<Vec<_>>();
    assert_eq!(edges(&a), edges(&b));
    assert_eq!(a.ground_energy, b.ground_energy);
    assert_ne!(edges(&a), edges(&c));
}

/// `qam gen --kind frustrated-loops` writes the model and a sidecar whose planted state has
/// exactly the announced energy in the file as read back (G-set and qbsolv).
#[test]
fn cli_file_energy_equals_planted_energy() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["fl.gset", "fl.qubo"] {
        let path = dir.path().join(name);
        let out = Command::new(env!("CARGO_BIN_EXE_qam"))
            .args(["gen", "--kind", "frustrated-loops", "--dims", "3", "--n", "512"])
            .args(["--alpha", "0.25", "--seed", "3", "--out"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let back = read_file(&path, ReadOptions::default()).unwrap();
        let info = read_sidecar(&path).unwrap().expect("sidecar");
        assert_eq!(info.kind, "frustrated-loops-3d");
        assert_eq!(back.model.energy(&info.ground_state), info.ground_energy, "{name}");
        let direct = frustrated_loops(3, 512, 0.25, 3).unwrap();
        assert_eq!(direct.ground_energy, info.ground_energy);
    }
    // Bad sizes name the flag.
    let out = Command::new(env!("CARGO_BIN_EXE_qam"))
        .args([
            "gen",
            "--kind",
            "frustrated-loops",
            "--dims",
            "3",
            "--n",
            "1000001",
            "--out",
        ])
        .arg(dir.path().join("bad.gset"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`n`"));
}
