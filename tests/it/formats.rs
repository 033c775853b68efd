//! File formats: round trips on random models, QUBO <-> Ising conversion, the small
//! committed files in tests/data (energies worked out by hand or by dimod), and, in
//! `#[ignore]`d tests, the shared benchmark data and its certificates.

use crate::common;

use common::{W, brute_force, close, data, random_ising, random_model, random_qubo, random_state, shared};
use qam::io::{Format, Problem, ProblemKind, ReadOptions, read_bytes, read_file, write_file, write_string};
use qam::model::{Ising, Model, Qubo, Vartype, binary_to_spin, spin_to_binary, to_spins};
use qam::rng::Rng;
use qam::solvers::{ExactSolver, Solver};

fn read_as(text: &str, label: &str, format: Format) -> Problem {
    read_bytes(
        text.as_bytes(),
        label,
        ReadOptions {
            format: Some(format),
            instance: None,
        },
    )
    .unwrap_or_else(|e| panic!("reading back {format}: {e}\n{text}"))
}

/// `a` and `b` give the same energy on `trials` random states (`b` may be of the other
/// vartype; states are converted by `s = 2x - 1`).
fn same_energies(a: &Model, b: &Model, rng: &mut Rng, trials: usize, tol: f64) {
    let n = a.num_variables();
    assert_eq!(n, b.num_variables());
    for _ in 0..trials {
        let sa = random_state(rng, n, a.vartype());
        let sb = qam::model::spins_as(b.vartype(), &to_spins(a.vartype(), &sa));
        let (ea, eb) = (a.energy(&sa), b.energy(&sb));
        if tol == 0.0 {
            assert_eq!(ea, eb, "state {sa:?}");
        } else {
            assert!(close(ea, eb, tol), "state {sa:?}: {ea} vs {eb}");
        }
    }
}

const WEIGHTS: [W; 4] = [W::Int(3), W::Int(100), W::Float, W::Wild];

/// Random models of many shapes: sizes 0..40, densities from empty to complete.
fn cases(vartype: Vartype, offset: bool) -> Vec<Model> {
    let mut rng = Rng::new(11 + vartype as u64);
    let mut out = Vec::new();
    for k in 0..48 {
        let n = [0, 1, 2, 3, 7, 16, 40][k % 7];
        let density = [0.0, 0.1, 0.5, 1.0][k % 4];
        let w = WEIGHTS[k % WEIGHTS.len()];
        let off = if offset { w.draw(&mut rng) } else { 0.0 };
        out.push(random_model(&mut rng, n, vartype, density, w, off));
    }
    out
}

#[test]
fn mtx_and_json_round_trip_both_vartypes_with_offsets() {
    let mut rng = Rng::new(1);
    for vt in [Vartype::Binary, Vartype::Spin] {
        for m in cases(vt, true) {
            let p = Problem::minimize(m.clone());
            for f in [Format::MatrixMarket, Format::Json] {
                let text = write_string(&p, f).unwrap();
                let back = read_as(&text, "x", f);
                assert_eq!(back.model, m, "{f} round trip\n{text}");
                assert_eq!(back.kind, ProblemKind::Minimize);
                same_energies(&m, &back.model, &mut rng, 20, 0.0);
            }
        }
    }
}

#[test]
fn qbsolv_round_trip_and_ising_conversion() {
    let mut rng = Rng::new(2);
    for m in cases(Vartype::Binary, true) {
        let text = write_string(&Problem::minimize(m.clone()), Format::Qbsolv).unwrap();
        let back = read_as(&text, "x.qubo", Format::Qbsolv);
        assert_eq!(back.model, m, "qbsolv round trip\n{text}");
        same_energies(&m, &back.model, &mut rng, 20, 0.0);
    }
    // Ising models are written as their QUBO; energies agree under s = 2x - 1.
    for m in cases(Vartype::Spin, true) {
        let text = write_string(&Problem::minimize(m.clone()), Format::Qbsolv).unwrap();
        let back = read_as(&text, "x.qubo", Format::Qbsolv);
        assert_eq!(back.model, Model::Qubo(m.to_qubo().into_owned()));
        same_energies(&m, &back.model, &mut rng, 20, 1e-9);
    }
}

#[test]
fn gset_round_trip_maxcut_ising_only() {
    let mut rng = Rng::new(3);
    for k in 0..40 {
        let n = [2, 3, 10, 50][k % 4];
        let w = WEIGHTS[k % WEIGHTS.len()];
        let mut entries = common::random_entries(&mut rng, n, [0.1, 0.5, 1.0][k % 3], 0.0, w);
        entries.retain(|e| e.0 != e.1);
        let p = Problem::maxcut(n, &entries).unwrap();
        let text = write_string(&p, Format::Gset).unwrap();
        let back = read_as(&text, "x.gset", Format::Gset);
        assert_eq!(back.model, p.model, "gset round trip\n{text}");
        let ProblemKind::MaxCut { total_weight } = back.kind else {
            panic!("G-set reads as MaxCut")
        };
        assert!(close(total_weight, entries.iter().map(|e| e.2).sum(), 1e-12));
        // cut(s) = sum over cut edges of w, by definition.
        for _ in 0..10 {
            let s = random_state(&mut rng, n, Vartype::Spin);
            let cut: f64 = entries
                .iter()
                .filter(|e| s[e.0 as usize] != s[e.1 as usize])
                .map(|e| e.2)
                .sum();
            assert!(close(back.cut(&s).unwrap(), cut, 1e-9));
        }
    }
    // Anything with a linear term or an offset is refused, with the reason.
    let with_h = Ising::from_entries(3, &[(0, 1, 1.0), (2, 2, 0.5)], 0.0).unwrap();
    let with_offset = Ising::from_entries(3, &[(0, 1, 1.0)], 2.0).unwrap();
    let qubo = Qubo::from_entries(2, &[(0, 1, 1.0)], 0.0).unwrap();
    for m in [Model::Ising(with_h), Model::Ising(with_offset), Model::Qubo(qubo)] {
        let e = write_string(&Problem::minimize(m), Format::Gset).unwrap_err();
        assert!(e.contains("MaxCut"), "{e}");
    }
}

#[test]
fn bqp_round_trip_without_offset() {
    let mut rng = Rng::new(4);
    for m in cases(Vartype::Binary, false) {
        let text = write_string(&Problem::minimize(m.clone()), Format::Bqp).unwrap();
        let back = read_as(&text, "x.bqp", Format::Bqp);
        assert_eq!(back.model, m, "bqp round trip\n{text}");
        assert_eq!(back.kind, ProblemKind::Maximize);
        same_energies(&m, &back.model, &mut rng, 20, 0.0);
        let x = random_state(&mut rng, m.num_variables(), Vartype::Binary);
        assert_eq!(back.objective(back.model.energy(&x)), Some(-m.energy(&x)));
    }
    // An Ising model whose QUBO has no offset (integer weights, offset = sum h - sum J).
    for k in 0..20 {
        let n = 1 + k % 12;
        let base = random_ising(&mut rng, n, 0.5, W::Int(5), 0.0);
        let off = base.h().iter().sum::<f64>() - base.j().iter_upper().map(|t| t.2).sum::<f64>();
        let ising = Ising::new(base.h().to_vec(), base.j().clone(), off).unwrap();
        assert_eq!(ising.to_qubo().offset(), 0.0);
        let m = Model::Ising(ising);
        let text = write_string(&Problem::minimize(m.clone()), Format::Bqp).unwrap();
        let back = read_as(&text, "x.bqp", Format::Bqp);
        assert_eq!(back.model, Model::Qubo(m.to_qubo().into_owned()));
        same_energies(&m, &back.model, &mut rng, 20, 1e-12);
    }
    // Offsets cannot be written.
    let q = Qubo::from_entries(2, &[(0, 1, 1.0)], 1.5).unwrap();
    let e = write_string(&Problem::minimize(Model::Qubo(q)), Format::Bqp).unwrap_err();
    assert!(e.contains("offset"), "{e}");
}

#[test]
fn round_trip_through_files_detects_format_from_extension() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(5);
    let ising = random_ising(&mut rng, 12, 0.4, W::Int(9), 0.0);
    let edges: Vec<(u32, u32, f64)> = ising
        .j()
        .iter_upper()
        .map(|(i, j, w)| (i as u32, j as u32, w))
        .collect();
    let maxcut = Problem::maxcut(12, &edges).unwrap();
    let qubo = Problem::minimize(Model::Qubo(random_qubo(&mut rng, 12, 0.4, W::Float, 0.0)));
    for (ext, p) in [
        ("qubo", &qubo),
        ("gset", &maxcut),
        ("bqp", &qubo),
        ("mtx", &maxcut),
        ("json", &qubo),
    ] {
        let path = dir.path().join(format!("m.{ext}"));
        write_file(&path, p, None).unwrap();
        let back = read_file(&path, ReadOptions::default()).unwrap();
        same_energies(&p.model, &back.model, &mut rng, 50, 0.0);
    }
    // No extension, no --format: an error that says what to do.
    let e = write_file(dir.path().join("m.dat"), &qubo, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("m.dat") && e.contains("--format"), "{e}");
}

#[test]
fn qubo_ising_conversion_agrees_on_random_states() {
    let mut rng = Rng::new(6);
    for k in 0..200 {
        let n = 1 + k % 30;
        let w = [W::Int(10), W::Float, W::Wild][k % 3];
        let off = w.draw(&mut rng);
        let q = random_qubo(&mut rng, n, [0.2, 0.6, 1.0][k % 3], w, off);
        let ising = q.to_ising();
        let q2 = ising.to_qubo();
        let i2 = Ising::from_entries(n, &random_entries_ising(&mut rng, n, w), off).unwrap();
        let q3 = i2.to_qubo();
        // Relative to the size of the terms: energies may cancel to near zero.
        let (sq, si) = (scale(&Model::Qubo(q.clone())), scale(&Model::Ising(i2.clone())));
        for _ in 0..20 {
            let x = random_state(&mut rng, n, Vartype::Binary);
            let s = binary_to_spin(&x);
            assert_eq!(spin_to_binary(&s), x);
            let e = q.energy(&x);
            assert!((e - ising.energy(&s)).abs() <= 1e-9 * sq, "{e} vs {}", ising.energy(&s));
            assert!((e - q2.energy(&x)).abs() <= 1e-9 * sq);
            assert!((i2.energy(&s) - q3.energy(&x)).abs() <= 1e-9 * si);
            assert!((i2.energy(&s) - q3.to_ising().energy(&s)).abs() <= 1e-9 * si);
        }
    }
}

/// Sum of the absolute values of all coefficients (at least 1).
fn scale(m: &Model) -> f64 {
    1.0 + m.offset().abs()
        + m.linear().iter().map(|v| v.abs()).sum::<f64>()
        + m.couplings().iter_upper().map(|t| t.2.abs()).sum::<f64>()
}

fn random_entries_ising(rng: &mut Rng, n: usize, w: W) -> Vec<(u32, u32, f64)> {
    common::random_entries(rng, n, 0.5, 0.7, w)
}

// ---- the committed files -------------------------------------------------------------

fn read(name: &str) -> Problem {
    read_file(data(name), ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// The exact solver agrees with brute force on `p`, and both find `min`.
fn ground(p: &Problem, min: f64, count: usize) -> Vec<Vec<i8>> {
    let (bf, states) = brute_force(&p.model, 1e-9);
    assert_eq!(bf, min);
    assert_eq!(states.len(), count);
    let ex = ExactSolver { max_states: 64 }.solve(&p.model).unwrap();
    assert_eq!(ex.first().unwrap().energy, min);
    assert_eq!(ex.info.extra["num_ground_states"], count as u64);
    states
}

#[test]
fn small_qubo_file() {
    let p = read("small.qubo");
    assert_eq!(p.kind, ProblemKind::Minimize);
    assert_eq!(p.model.vartype(), Vartype::Binary);
    // E = -2x0 + 1.5x1 - x3 + 3x0x1 - x0x2 - 2x1x3 + 0.5x2x3
    assert_eq!(p.model.energy(&[1, 1, 1, 1]), -2.0 + 1.5 - 1.0 + 3.0 - 1.0 - 2.0 + 0.5);
    assert_eq!(p.model.energy(&[0, 1, 0, 1]), 1.5 - 1.0 - 2.0);
    assert_eq!(p.model.energy(&[0, 0, 1, 0]), 0.0);
    assert_eq!(p.model.energy(&[1, 0, 1, 1]), -2.0 - 1.0 - 1.0 + 0.5);
    assert_eq!(ground(&p, -3.5, 1), vec![vec![1, 0, 1, 1]]);
}

#[test]
fn small_gset_file_with_pm1_weights() {
    // `.txt`: the format is sniffed from the header `n m`.
    let p = read("gset_pm1.txt");
    assert_eq!(p.kind, ProblemKind::MaxCut { total_weight: 2.0 });
    // s = (+,-,+,-,+): edges 1-2, 2-3, 3-4, 2-5 (w = 1) and 4-5 (w = -1) are cut: 3.
    let s = [1, -1, 1, -1, 1];
    assert_eq!(p.model.energy(&s), -4.0);
    assert_eq!(p.cut(&s), Some(3.0));
    assert_eq!(p.cut(&[1; 5]), Some(0.0));
    // Maximum cut 3 (E = 2 - 2*3 = -4), reached by 6 states (3 partitions, both sides).
    let states = ground(&p, -4.0, 6);
    assert!(states.iter().all(|s| p.cut(s) == Some(3.0)));
}

#[test]
fn small_bqp_file_two_instances() {
    // Instance 1: f = 5x1 - 3x2 + x3 + 2*4 x1x2 + 2*(-2) x2x3; best f(1,1,0) = 10.
    let p = read("bqp_two.txt");
    assert_eq!(p.kind, ProblemKind::Maximize);
    assert_eq!(p.model.energy(&[1, 1, 0]), -10.0);
    assert_eq!(p.model.energy(&[1, 1, 1]), -7.0);
    assert_eq!(p.model.energy(&[0, 1, 1]), 6.0);
    assert_eq!(p.objective(-10.0), Some(10.0));
    assert_eq!(ground(&p, -10.0, 1), vec![vec![1, 1, 0]]);
    // Instance 2: f = -x1 - x2 + 2*3 x1x2; best f(1,1) = 4.
    let p2 = read_file(
        data("bqp_two.txt"),
        ReadOptions {
            instance: Some(2),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(p2.model.energy(&[1, 1]), -4.0);
    assert_eq!(p2.model.energy(&[1, 0]), 1.0);
    assert_eq!(ground(&p2, -4.0, 1), vec![vec![1, 1]]);
}

#[test]
fn small_matrix_market_files() {
    // symmetric: E = 2x1 - 3x3 + 2*(-1.5) x1x2 + 2*4 x2x3
    let p = read("symmetric.mtx");
    assert_eq!(p.model.vartype(), Vartype::Binary);
    assert_eq!(p.model.energy(&[1, 1, 1]), 2.0 - 3.0 - 3.0 + 8.0);
    assert_eq!(p.model.energy(&[1, 1, 0]), -1.0);
    assert_eq!(ground(&p, -3.0, 1), vec![vec![0, 0, 1]]);
    // general, spins, offset 0.5: E = s1 - 2s3 + (2+3) s1s2 - s2s3 + 0.5
    let p = read("general_spin.mtx");
    assert_eq!(p.model.vartype(), Vartype::Spin);
    assert_eq!(p.model.offset(), 0.5);
    assert_eq!(p.model.energy(&[1, 1, 1]), 1.0 - 2.0 + 5.0 - 1.0 + 0.5);
    assert_eq!(p.model.energy(&[-1, 1, 1]), -1.0 - 2.0 - 5.0 - 1.0 + 0.5);
    assert_eq!(ground(&p, -8.5, 1), vec![vec![-1, 1, 1]]);
}

#[test]
fn small_json_files() {
    // qam JSON, spins: E = -s0 + 2.5 s2 + 3 s0s1 - 4 s1s2 + 0.5
    let p = read("model.json");
    assert_eq!(p.model.vartype(), Vartype::Spin);
    assert_eq!(p.model.energy(&[1, 1, 1]), -1.0 + 2.5 + 3.0 - 4.0 + 0.5);
    assert_eq!(ground(&p, -10.0, 1), vec![vec![1, -1, -1]]);
    // dimod BQM.to_serializable(use_bytes=False); energies below printed by dimod 0.12.23
    // (`bqm.energy`), state (x0, x1, x2, x3).
    let p = read("dimod_bqm.json");
    assert_eq!(p.model.vartype(), Vartype::Binary);
    let dimod: [([i8; 4], f64); 16] = [
        ([0, 0, 0, 0], 1.0),
        ([0, 0, 0, 1], 1.5),
        ([0, 0, 1, 0], 1.0),
        ([0, 0, 1, 1], 0.5),
        ([0, 1, 0, 0], 3.0),
        ([0, 1, 0, 1], 3.5),
        ([0, 1, 1, 0], 4.5),
        ([0, 1, 1, 1], 4.0),
        ([1, 0, 0, 0], 0.0),
        ([1, 0, 0, 1], 2.5),
        ([1, 0, 1, 0], 0.0),
        ([1, 0, 1, 1], 1.5),
        ([1, 1, 0, 0], -1.0),
        ([1, 1, 0, 1], 1.5),
        ([1, 1, 1, 0], 0.5),
        ([1, 1, 1, 1], 2.0),
    ];
    for (x, e) in dimod {
        assert_eq!(p.model.energy(&x), e, "{x:?}");
    }
    assert_eq!(ground(&p, -1.0, 1), vec![vec![1, 1, 0, 0]]);
}

#[test]
fn forced_format_and_sniffing() {
    let text = std::fs::read(data("bqp_two.txt")).unwrap();
    // Sniffed from the first line when the extension says nothing.
    let sniffed = read_bytes(&text, "instances.dat", ReadOptions::default()).unwrap();
    assert_eq!(sniffed.kind, ProblemKind::Maximize);
    // Forcing another format reads it as that format (here: an error, not a guess).
    let e = read_bytes(
        &text,
        "instances.dat",
        ReadOptions {
            format: Some(Format::Gset),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("instances.dat:1:"), "{e}");
    // --instance only applies to bqp.
    let e = read_file(
        data("small.qubo"),
        ReadOptions {
            instance: Some(2),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("--instance"), "{e}");
    for f in Format::ALL {
        assert_eq!(Format::from_name(f.name()), Some(f));
    }
}

// ---- shared benchmark data (not in CI) -------------------------------------------------

/// Partition from a `certificates/best/G*.hex` file: the last `n` bits of the number,
/// bit k from the left for vertex k+1.
fn hex_partition(path: &std::path::Path, n: usize) -> Vec<i8> {
    let text = std::fs::read_to_string(path).unwrap();
    let digits = text.trim().trim_start_matches("0x");
    let bits: Vec<i8> = digits
        .chars()
        .flat_map(|c| {
            let v = c.to_digit(16).unwrap_or_else(|| panic!("bad hex digit {c:?}"));
            (0..4).rev().map(move |b| (v >> b & 1) as i8)
        })
        .collect();
    let mut padded = vec![0i8; n.saturating_sub(bits.len())];
    padded.extend(&bits[bits.len().saturating_sub(n)..]);
    assert!(bits[..bits.len().saturating_sub(n)].iter().all(|&b| b == 0));
    padded.iter().map(|&b| 2 * b - 1).collect()
}

#[test]
#[ignore = "needs the shared benchmark data (QAM_DATA)"]
fn gset_best_certificates_reach_best_known_cuts() {
    for (g, best) in [
        ("G1", 11624.0),
        ("G2", 11620.0),
        ("G3", 11622.0),
        ("G4", 11646.0),
        ("G72", 7008.0),
        ("G77", 9940.0),
        ("G81", 14060.0),
    ] {
        let p = read_file(shared(&format!("gset/{g}.txt")), ReadOptions::default()).unwrap();
        let s = hex_partition(
            &shared(&format!("gset/certificates/best/{g}.hex")),
            p.model.num_variables(),
        );
        assert_eq!(p.cut(&s), Some(best), "{g}");
    }
}

#[test]
#[ignore = "needs the shared benchmark data (QAM_DATA)"]
fn gset_reference_vectors_give_their_listed_cuts() {
    for (g, cut) in [("G1", 11624.0), ("G11", 562.0), ("G22", 13351.0), ("G81", 13878.0)] {
        let p = read_file(shared(&format!("gset/{g}.txt")), ReadOptions::default()).unwrap();
        let text = std::fs::read_to_string(shared(&format!("gset/certificates/reference/{g}.pm1.txt"))).unwrap();
        let s: Vec<i8> = text.trim().split(',').map(|t| t.trim().parse().unwrap()).collect();
        assert_eq!(p.cut(&s), Some(cut), "{g}");
    }
}

#[test]
#[ignore = "needs the shared benchmark data (QAM_DATA)"]
fn bqp500_2_certificate_has_objective_128339() {
    let p = read_file(
        shared("bqp/bqp500.txt"),
        ReadOptions {
            instance: Some(2),
            ..Default::default()
        },
    )
    .unwrap();
    let text = std::fs::read_to_string(shared("bqp/certificates/bqp500.2.x.txt")).unwrap();
    let x: Vec<i8> = text.trim().bytes().map(|b| (b - b'0') as i8).collect();
    assert_eq!(x.len(), 500);
    assert_eq!(p.model.energy(&x), -128339.0);
    assert_eq!(p.objective(p.model.energy(&x)), Some(128339.0));
}

#[test]
#[ignore = "needs the shared benchmark data (QAM_DATA)"]
fn qbsolv_copies_of_bqp_are_the_negated_instances() {
    // The qbsolv files hold the bqp objective (to be maximised), with the off-diagonal
    // entries already doubled: their energy is f(x) = -(qam's bqp energy).
    let mut rng = Rng::new(7);
    for n in [50, 100, 250] {
        let q = read_file(shared(&format!("qubo/bqp{n}_1.qubo")), ReadOptions::default()).unwrap();
        let b = read_file(shared(&format!("bqp/bqp{n}.txt")), ReadOptions::default()).unwrap();
        for _ in 0..100 {
            let x = random_state(&mut rng, n, Vartype::Binary);
            assert_eq!(q.model.energy(&x), -b.model.energy(&x));
        }
    }
}
