//! Planted instances: the announced ground energy is the true minimum (checked by
//! exhaustive search on small sizes) and survives writing and reading the files.

use qam::generate::{TileClasses, lattice_shape, planted_ferro, read_sidecar, sidecar_path, tile_planted_2d};
use qam::io::{Format, ReadOptions, read_file, write_file};
use qam::model::Vartype;
use qam::solvers::{ExactSolver, Solver};

#[test]
fn tile_planted_energy_is_the_exhaustive_minimum() {
    let classes = [
        TileClasses::default(),
        TileClasses([1.0, 0.0, 0.0]),
        TileClasses([0.0, 0.0, 1.0]),
    ];
    for (k, (rows, cols)) in [(4, 4), (4, 4), (4, 4), (4, 6)].into_iter().enumerate() {
        let p = tile_planted_2d(rows, cols, classes[k % 3], k as u64 + 1).unwrap();
        let model = &p.problem.model;
        assert_eq!(model.energy(&p.ground_state), p.ground_energy);
        let exact = ExactSolver::default().solve(model).unwrap();
        assert_eq!(
            exact.first().unwrap().energy,
            p.ground_energy,
            "{rows}x{cols} instance {k}"
        );
        // Frustrated plaquettes: the ground energy is above -sum |J| (no state satisfies
        // every coupling), and the gauge hides the planted state.
        let sum_abs: f64 = model.couplings().iter_upper().map(|t| t.2.abs()).sum();
        assert!(p.ground_energy > -sum_abs);
        assert!(p.ground_state.contains(&1) && p.ground_state.contains(&-1));
    }
}

#[test]
fn tile_planted_rejects_bad_shapes_and_classes() {
    assert!(tile_planted_2d(5, 4, TileClasses::default(), 0).is_err());
    assert!(tile_planted_2d(2, 8, TileClasses::default(), 0).is_err());
    assert!(tile_planted_2d(4, 4, TileClasses([0.0, 0.0, 0.0]), 0).is_err());
    assert!(tile_planted_2d(4, 4, TileClasses([-1.0, 1.0, 1.0]), 0).is_err());
    assert!(tile_planted_2d(4, 4, TileClasses([f64::NAN, 1.0, 1.0]), 0).is_err());
    assert_eq!(lattice_shape(20), None);
    assert_eq!(lattice_shape(24), Some((4, 6)));
}

#[test]
fn planted_ferro_energy_is_minus_sum_of_magnitudes_and_exact() {
    let p = planted_ferro(20, 3, 5).unwrap();
    let model = &p.problem.model;
    let sum_abs: f64 = model.couplings().iter_upper().map(|t| t.2.abs()).sum();
    assert_eq!(p.ground_energy, -sum_abs);
    assert_eq!(model.energy(&p.ground_state), p.ground_energy);
    let exact = ExactSolver::default().solve(model).unwrap();
    assert_eq!(exact.first().unwrap().energy, p.ground_energy);
    // Both signs of coupling appear after the gauge.
    let signs: Vec<f64> = model.couplings().iter_upper().map(|t| t.2.signum()).collect();
    assert!(signs.contains(&1.0) && signs.contains(&-1.0));
    assert!(planted_ferro(7, 3, 0).is_err());
}

#[test]
fn sidecar_round_trips_through_every_writable_format() {
    let dir = tempfile::tempdir().unwrap();
    let p = tile_planted_2d(6, 8, TileClasses::default(), 9).unwrap();
    for (name, format, vartype) in [
        ("t.gset", Format::Gset, Vartype::Spin),
        ("t.qubo", Format::Qbsolv, Vartype::Binary),
        ("t.json", Format::Json, Vartype::Spin),
        ("t.mtx", Format::MatrixMarket, Vartype::Spin),
    ] {
        let path = dir.path().join(name);
        write_file(&path, &p.problem, Some(format)).unwrap();
        let side = p.write_sidecar(&path, format).unwrap();
        assert_eq!(side, sidecar_path(&path));
        let back = read_file(&path, ReadOptions::default()).unwrap();
        let info = read_sidecar(&path).unwrap().expect("sidecar present");
        assert_eq!(info.vartype, vartype, "{name}");
        assert_eq!(back.model.vartype(), vartype, "{name}");
        assert_eq!(info.ground_energy, p.ground_energy);
        assert_eq!(back.model.energy(&info.ground_state), info.ground_energy, "{name}");
    }
    assert!(read_sidecar(&dir.path().join("absent.gset")).unwrap().is_none());
}
