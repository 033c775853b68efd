//! The `qam` binary end to end: `solve` (JSON lines, batches with a broken file,
//! `--instance`, `--format`), `info`, `gen` -> `solve`, `convert` between formats, `bench`.

use crate::common;

use common::{brute_force, data, state_of};
use qam::generate::{self, Weights};
use qam::io::{Format, Problem, ReadOptions, read_file};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn qam(args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_qam"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run qam");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn ok(args: &[&str]) -> Out {
    let o = qam(args);
    assert_eq!(o.code, 0, "qam {args:?} failed:\n{}", o.stderr);
    o
}

fn json_lines(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn read(path: &Path) -> Problem {
    read_file(path, ReadOptions::default()).unwrap()
}

fn state(v: &Value) -> Vec<i8> {
    v["state"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap() as i8)
        .collect()
}

const KEYS: [&str; 8] = [
    "file",
    "solver",
    "num_variables",
    "energy",
    "state",
    "vartype",
    "seed",
    "elapsed_s",
];

#[test]
fn solve_prints_one_json_line_per_file() {
    let files = [data("small.qubo"), data("gset_pm1.txt"), data("bqp_two.txt")];
    let o = ok(&[
        "solve",
        "--output",
        "json",
        "-q",
        p(&files[0]),
        p(&files[1]),
        p(&files[2]),
    ]);
    let rows = json_lines(&o.stdout);
    // bqp_two.txt holds two instances: without --instance both are solved, one line each.
    assert_eq!(rows.len(), 4);
    assert_eq!(
        (rows[2]["instance"].clone(), rows[3]["instance"].clone()),
        (1.into(), 2.into())
    );
    assert_eq!(rows[3]["file"], p(&files[2]));
    for (row, file) in rows.iter().zip(&files) {
        for k in KEYS {
            assert!(row.get(k).is_some(), "missing `{k}` in {row}");
        }
        assert_eq!(row["file"], p(file));
        assert_eq!(row["solver"], "exact"); // auto: small problems go to exact
        assert!(row["elapsed_s"].as_f64().unwrap() >= 0.0);
        // The reported energy is the energy of the reported state.
        let prob = read(file);
        let s = state(row);
        assert_eq!(row["energy"].as_f64().unwrap(), prob.model.energy(&s));
        assert_eq!(row["num_variables"], prob.model.num_variables());
        assert_eq!(row["vartype"], prob.model.vartype().as_str());
        assert_eq!(row.get("instance").is_some(), file == &files[2], "{row}");
    }
    assert_eq!(rows[0]["energy"], -3.5);
    assert!(rows[0].get("cut").is_none() && rows[0].get("objective").is_none());
    assert_eq!(rows[1]["cut"], 3.0);
    assert_eq!(rows[1]["energy"], -4.0);
    assert_eq!(rows[2]["objective"], 10.0);
    assert_eq!(rows[2]["state"], serde_json::json!([1, 1, 0]));

    // SA with a seed: the seed is reported and the ground state is found.
    let o = ok(&[
        "solve",
        "--output",
        "json",
        "-q",
        "--solver",
        "sa",
        "--seed",
        "7",
        "--reads",
        "5",
        "--sweeps",
        "200",
        p(&files[1]),
    ]);
    let row = &json_lines(&o.stdout)[0];
    assert_eq!(row["seed"], 7);
    assert_eq!(row["solver"], "sa");
    assert_eq!(row["cut"], 3.0);
    // Same seed, same answer.
    let again = ok(&[
        "solve",
        "--output",
        "json",
        "-q",
        "--solver",
        "sa",
        "--seed",
        "7",
        "--reads",
        "5",
        "--sweeps",
        "200",
        p(&files[1]),
    ]);
    assert_eq!(json_lines(&again.stdout)[0]["state"], row["state"]);
}

#[test]
fn solve_instance_of_a_bqp_file() {
    let f = data("bqp_two.txt");
    let o = ok(&["solve", "--output", "json", "-q", "--instance", "2", p(&f)]);
    let row = &json_lines(&o.stdout)[0];
    assert_eq!(row["instance"], 2);
    assert_eq!(row["objective"], 4.0);
    assert_eq!(row["num_variables"], 2);
    let o = qam(&["solve", "--output", "json", "-q", "--instance", "3", p(&f)]);
    assert_ne!(o.code, 0);
    assert!(
        o.stderr.contains("bqp_two.txt:1:") && o.stderr.contains("instance 3"),
        "{}",
        o.stderr
    );
}

#[test]
fn batch_with_a_broken_file_solves_the_others_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.qubo");
    std::fs::write(&bad, "p qubo 0 3 1 1\n0 0 1\n0 7 2\n").unwrap();
    let (a, b) = (data("small.qubo"), data("symmetric.mtx"));
    let o = qam(&["solve", "--output", "json", "-q", p(&a), p(&bad), p(&b)]);
    assert_ne!(o.code, 0, "a broken file must make the batch fail");
    let rows = json_lines(&o.stdout);
    assert_eq!(rows.len(), 3, "{}", o.stdout);
    assert_eq!(rows[0]["file"], p(&a));
    assert_eq!(rows[0]["energy"], -3.5);
    assert_eq!(rows[1]["file"], p(&bad));
    assert!(
        rows[1]["error"].as_str().unwrap().contains("bad.qubo:3:"),
        "{}",
        rows[1]
    );
    assert_eq!(rows[2]["file"], p(&b));
    assert_eq!(rows[2]["energy"], -3.0);
    assert!(o.stderr.contains(&format!("{}:3:", p(&bad))), "{}", o.stderr);
    assert!(o.stderr.contains("out of range"), "{}", o.stderr);
    // Text output too: the good files are printed, the error goes to stderr.
    let o = qam(&["solve", "-q", p(&a), p(&bad), p(&b)]);
    assert_ne!(o.code, 0);
    assert_eq!(o.stdout.lines().count(), 2, "{}", o.stdout);
    assert!(o.stderr.contains("bad.qubo:3:"));
}

#[test]
fn info_reports_sizes() {
    let o = ok(&["info", "--output", "json", p(&data("gset_pm1.txt"))]);
    let v = &json_lines(&o.stdout)[0];
    assert_eq!(v["num_variables"], 5);
    assert_eq!(v["num_interactions"], 6);
    assert_eq!(v["vartype"], "SPIN");
    assert_eq!(v["coupling_range"], serde_json::json!([-1.0, 1.0]));
    assert_eq!(v["degree"]["max"], 3);
    assert!(v["kind"].as_str().unwrap().starts_with("maxcut"));
    let o = ok(&["info", "--output", "json", "--instance", "2", p(&data("bqp_two.txt"))]);
    let v = &json_lines(&o.stdout)[0];
    assert_eq!(v["num_variables"], 2);
    assert_eq!(v["num_linear"], 2);
    let o = ok(&["info", p(&data("model.json"))]);
    assert!(o.stdout.contains("offset:        0.5"), "{}", o.stdout);
    let o = qam(&["info", p(&data("nope.qubo"))]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("nope.qubo"), "{}", o.stderr);
}

#[test]
fn gen_then_solve_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str, Problem); 4] = [
        (
            &["--kind", "erdos-renyi", "--n", "14", "--degree", "4", "--seed", "9"],
            "g.gset",
            generate::erdos_renyi(14, 4.0 / 13.0, Weights::One, 9).unwrap(),
        ),
        (
            &["--kind", "dense", "--n", "12", "--density", "0.5", "--seed", "3"],
            "d.bqp",
            generate::dense_qubo(12, 0.5, 3).unwrap(),
        ),
        (
            &["--kind", "torus", "--n", "16", "--seed", "4"],
            "t.mtx",
            generate::torus(16, Weights::PlusMinusOne, 4).unwrap(),
        ),
        (
            &["--kind", "regular3", "--n", "12", "--weights", "pm1", "--seed", "5"],
            "r.json",
            generate::regular(12, 3, Weights::PlusMinusOne, 5).unwrap(),
        ),
    ];
    for (args, name, lib) in cases {
        let path = dir.path().join(name);
        let mut a = vec!["gen"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--out", p(&path)]);
        ok(&a);
        let written = read(&path);
        assert_eq!(
            written.model, lib.model,
            "{name}: the file holds the library's instance"
        );
        let o = ok(&["solve", "--output", "json", "-q", p(&path)]);
        let row = &json_lines(&o.stdout)[0];
        let (min, _) = brute_force(&written.model, 1e-9);
        assert_eq!(row["energy"].as_f64().unwrap(), min, "{name}");
        match name {
            "g.gset" => assert_eq!(row["cut"].as_f64(), written.cut(&state(row))),
            "d.bqp" => assert_eq!(row["objective"].as_f64(), Some(-min)),
            _ => {}
        }
    }
    // Bad generator parameters are refused with the parameter's name.
    let o = qam(&[
        "gen",
        "--kind",
        "torus",
        "--n",
        "7",
        "--out",
        p(&dir.path().join("x.gset")),
    ]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("`n`"), "{}", o.stderr);
    let x = dir.path().join("x.gset");
    let o = qam(&[
        "gen",
        "--kind",
        "erdos-renyi",
        "--n",
        "5",
        "--degree",
        "10",
        "--out",
        p(&x),
    ]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("--degree 10"), "{}", o.stderr);
    let o = qam(&["gen", "--kind", "dense", "--n", "5", "--degree", "2", "--out", p(&x)]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("--degree"), "{}", o.stderr);
}

/// Energies of `a` and `b` agree on all states (`a`'s vartype, converted for `b`).
fn same_energies(a: &Problem, b: &Problem) {
    let n = a.model.num_variables();
    assert_eq!(n, b.model.num_variables());
    for k in 0..1u64 << n {
        let sa = state_of(k, n, a.model.vartype());
        let sb = qam::model::spins_as(b.model.vartype(), &qam::model::to_spins(a.model.vartype(), &sa));
        let (ea, eb) = (a.model.energy(&sa), b.model.energy(&sb));
        assert!((ea - eb).abs() <= 1e-12 * (1.0 + ea.abs()), "{sa:?}: {ea} vs {eb}");
    }
}

#[test]
fn convert_between_formats_preserves_energies() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = [
        "small.qubo",
        "gset_pm1.txt",
        "bqp_two.txt",
        "symmetric.mtx",
        "general_spin.mtx",
        "model.json",
    ];
    for input in inputs {
        let src = read(&data(input));
        for ext in ["qubo", "gset", "bqp", "mtx", "json"] {
            let out = dir.path().join(format!("{input}.{ext}"));
            // bqp_two.txt holds two instances: convert needs --instance (1 is what `read` reads).
            let input_path = data(input);
            let mut args = vec!["convert", p(&input_path), p(&out)];
            if input == "bqp_two.txt" {
                args.extend(["--instance", "1"]);
            }
            let o = qam(&args);
            let writable = match ext {
                "gset" => matches!(src.kind, qam::io::ProblemKind::MaxCut { .. }),
                "bqp" => src.model.to_qubo().offset() == 0.0,
                _ => true,
            };
            if !writable {
                assert_ne!(o.code, 0, "{input} -> {ext} should be refused");
                assert!(o.stderr.contains(p(&out)), "{}", o.stderr);
                continue;
            }
            assert_eq!(o.code, 0, "{input} -> {ext}: {}", o.stderr);
            same_energies(&src, &read(&out));
        }
    }
    // --instance and --to.
    let out = dir.path().join("second.txt");
    ok(&[
        "convert",
        "--instance",
        "2",
        "--to",
        "json",
        p(&data("bqp_two.txt")),
        p(&out),
    ]);
    let back = read_file(
        &out,
        ReadOptions {
            format: Some(Format::Json),
            instance: None,
        },
    )
    .unwrap();
    assert_eq!(back.model.energy(&[1, 1]), -4.0);
    // --from forces the input format.
    let odd = dir.path().join("graph.mtx");
    std::fs::copy(data("gset_pm1.txt"), &odd).unwrap();
    let o = qam(&["convert", p(&odd), p(&dir.path().join("o.json"))]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("graph.mtx:1:"), "{}", o.stderr);
    ok(&["convert", "--from", "gset", p(&odd), p(&dir.path().join("o.json"))]);
}

#[test]
fn format_flag_forces_the_parser() {
    let dir = tempfile::tempdir().unwrap();
    // A G-set graph saved with a misleading extension.
    let odd = dir.path().join("graph.qubo");
    std::fs::copy(data("gset_pm1.txt"), &odd).unwrap();
    let o = qam(&["solve", "-q", "--output", "json", p(&odd)]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("graph.qubo:1:"), "{}", o.stderr);
    let o = ok(&["solve", "-q", "--output", "json", "--format", "gset", p(&odd)]);
    assert_eq!(json_lines(&o.stdout)[0]["cut"], 3.0);
    let o = ok(&["solve", "-q", "--output", "json", "--format", "rudy", p(&odd)]);
    assert_eq!(json_lines(&o.stdout)[0]["cut"], 3.0);
    let o = qam(&["solve", "--format", "nonsense", p(&odd)]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("nonsense"), "{}", o.stderr);
}

#[test]
fn bench_reports_rates_and_quality() {
    let o = ok(&[
        "bench",
        "--output",
        "json",
        "--threads",
        "1,2",
        "--reads",
        "4",
        "--sweeps",
        "100",
        "--best-known",
        "3",
        p(&data("gset_pm1.txt")),
    ]);
    let rows = json_lines(&o.stdout);
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r["solver"], "sa");
        assert_eq!(r["metric"], "cut");
        assert!(r["flips_per_s"].as_f64().unwrap() > 0.0);
        assert_eq!(r["reads"], 4);
        assert_eq!(r["sweeps"], 100);
        assert!(r["best"].as_f64().unwrap() <= 3.0);
        assert!(r["hits"].as_u64().unwrap() <= 4);
    }
    assert_eq!(rows[0]["threads"], 1);
    assert_eq!(rows[0]["ratio"], 1.0);
    // Same seed on 1 and 2 threads: same quality.
    assert_eq!(rows[0]["best"], rows[1]["best"]);
    assert_eq!(rows[0]["mean"], rows[1]["mean"]);
}
