//! One meaning per flag (#12 item 5): refused combinations name the flag (exit 2), old
//! spellings still work with a warning, `--threads` on every computing command, `-` reads
//! standard input, a multi-instance bqp file is solved as a batch, `gen` writes G-set for
//! `.txt`, `--help` states every default, QAOA angles are reported in the conventional
//! range, `--optimizer none` evaluates once.

use crate::common;

use common::data;
use qam::io::{Format, ProblemKind, ReadOptions, read_file};
use qam::qaoa::{Angles, Device, Precision, QaoaParams, build_simulator, canonical_angles};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `qam args`, feeding `stdin` when given.
fn qam_in(args: &[&str], stdin: Option<&[u8]>) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qam"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run qam");
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn qam(args: &[&str]) -> Out {
    qam_in(args, None)
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

/// The Petersen graph (3-regular, girth 5) as a G-set file.
fn petersen(dir: &Path) -> PathBuf {
    let mut edges = Vec::new();
    for i in 0..5 {
        edges.push((i, (i + 1) % 5));
        edges.push((i, i + 5));
        edges.push((5 + i, 5 + (i + 2) % 5));
    }
    let mut s = format!("10 {}\n", edges.len());
    for (a, b) in edges {
        s += &format!("{} {} 1\n", a + 1, b + 1);
    }
    let f = dir.join("petersen.gset");
    std::fs::write(&f, s).unwrap();
    f
}

#[test]
fn every_refused_combination_exits_2_and_names_the_flag() {
    let q = data("small.qubo");
    let q = p(&q);
    let g = data("rr3_n16_s1.gset");
    let g = p(&g);
    let bqp = data("bqp_two.txt");
    let bqp = p(&bqp);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.qubo");
    let out = p(&out);
    // (arguments, text stderr must contain)
    let table: &[(&[&str], &str)] = &[
        (&["solve", q, "--solver", "pt", "--reads", "64"], "--reads"),
        (&["solve", q, "--solver", "pa", "--reads", "64"], "--reads"),
        (&["solve", q, "--solver", "sa", "--replicas", "8"], "--replicas"),
        (&["solve", q, "--solver", "sa", "--chains", "2"], "--chains"),
        (
            &["solve", q, "--solver", "pa", "--sweeps-per-swap", "2"],
            "--sweeps-per-swap",
        ),
        (&["solve", q, "--solver", "greedy", "--population", "8"], "--population"),
        (&["solve", q, "--solver", "exact", "--sweeps", "10"], "--sweeps"),
        (
            &["solve", q, "--solver", "greedy", "--schedule", "linear"],
            "--schedule",
        ),
        (&["solve", q, "--solver", "sa", "--shots", "10"], "--shots"),
        (&["solve", q, "--solver", "sa", "--p", "2"], "--p"),
        (&["solve", q, "--solver", "sa", "--optimizer", "cobyla"], "--optimizer"),
        (&["solve", q, "--solver", "sa", "--kernel", "dense"], "--kernel"),
        (
            &["solve", q, "--solver", "sa", "--qaoa-precision", "f32"],
            "--qaoa-precision",
        ),
        (&["solve", q, "--solver", "pt", "--sub-solver", "exact"], "--sub-solver"),
        (
            &["solve", q, "--solver", "sa", "--cluster-size", "10"],
            "--cluster-size",
        ),
        (&["solve", q, "--solver", "hierarchical", "--p", "2"], "--p"),
        (&["solve", q, "--solver", "hierarchical", "--reads", "2"], "--reads"),
        (&["solve", q, "--solver", "qaoa", "--reads", "3"], "--reads"),
        (&["solve", q, "--solver", "qaoa", "--sweeps", "3"], "--sweeps"),
        (&["solve", q, "--solver", "pt", "--devices", "all"], "--devices"),
        (
            &["solve", q, "--solver", "exact", "--beta-range", "0.1,3"],
            "--beta-range",
        ),
        (&["solve", q, "--solver", "sa", "--checkpoint", out], "--checkpoint"),
        (
            &[
                "solve",
                q,
                "--solver",
                "qaoa",
                "--qaoa-device",
                "gpu",
                "--qaoa-precision",
                "f64",
            ],
            "--qaoa-precision",
        ),
        (&["solve", "-", "-"], "standard input"),
        (&["bench", q, "--compare", "sa,greedy", "--replicas", "8"], "--replicas"),
        (&["qaoa", g, "--optimizer", "none", "--restarts", "3"], "--restarts"),
        (&["qaoa", g, "--optimizer", "none", "--max-evals", "3"], "--max-evals"),
        (
            &["qaoa", g, "--gamma", "0.3", "--beta", "0.4", "--optimizer", "cobyla"],
            "--optimizer",
        ),
        (&["qaoa", g, "--repeat", "3"], "--repeat"),
        (
            &["qaoa", g, "--qaoa-device", "gpu", "--qaoa-precision", "f64"],
            "--qaoa-precision",
        ),
        (&["info", bqp], "--instance"),
        (&["qaoa", bqp], "--instance"),
        (&["decompose", bqp], "--instance"),
        (&["convert", bqp, out], "--instance"),
        (&["solve", q, "--threads", "100000000"], "--threads"),
        (
            &["gen", "--kind", "dense", "--n", "5", "--degree", "3", "--out", out],
            "--degree",
        ),
    ];
    for (args, flag) in table {
        let o = qam(args);
        assert_eq!(o.code, 2, "qam {args:?}: exit {} (want 2)\n{}", o.code, o.stderr);
        assert!(
            o.stderr.contains(flag),
            "qam {args:?}: stderr does not name {flag}:\n{}",
            o.stderr
        );
        assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
    }
    // Standard input that is not a known format: the message names --format.
    let o = qam_in(&["info", "-"], Some(b"1 2 3\n4 5 6\n"));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("<stdin>") && o.stderr.contains("--format"),
        "{}",
        o.stderr
    );
}

#[test]
fn old_spellings_still_work_and_warn_once() {
    let g = data("rr3_n16_s1.gset");
    let g = p(&g);
    let dir = tempfile::tempdir().unwrap();
    // qaoa --backend/--precision -> --qaoa-device/--qaoa-precision.
    let o = ok(&[
        "qaoa",
        g,
        "--backend",
        "cpu",
        "--precision",
        "f32",
        "--output",
        "json",
        "-q",
        "--shots",
        "0",
    ]);
    assert!(
        o.stderr
            .contains("`qam qaoa --backend` is deprecated; use `--qaoa-device`"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("--qaoa-precision"), "{}", o.stderr);
    let v = &json_lines(&o.stdout)[0];
    assert!(v["backend"].as_str().unwrap().contains("complex64"), "{v}");
    // New spelling: same result, no warning.
    let n = ok(&[
        "qaoa",
        g,
        "--qaoa-device",
        "cpu",
        "--qaoa-precision",
        "f32",
        "--output",
        "json",
        "-q",
        "--shots",
        "0",
    ]);
    assert!(!n.stderr.contains("deprecated"), "{}", n.stderr);
    assert_eq!(json_lines(&n.stdout)[0]["expectation"], v["expectation"]);
    // solve --qaoa-backend -> --qaoa-device.
    let q = data("small.qubo");
    let o = ok(&[
        "solve",
        p(&q),
        "--solver",
        "qaoa",
        "--qaoa-backend",
        "cpu",
        "--shots",
        "8",
        "-q",
    ]);
    assert_eq!(o.stderr.matches("deprecated").count(), 1, "{}", o.stderr);
    assert!(o.stderr.contains("--qaoa-device"), "{}", o.stderr);
    // gen --format -> --to (and convert's --format is its --from).
    let f = dir.path().join("g.dat");
    let o = ok(&[
        "gen",
        "--kind",
        "regular3",
        "--n",
        "8",
        "--format",
        "gset",
        "--out",
        p(&f),
    ]);
    assert!(o.stderr.contains("use `--to`"), "{}", o.stderr);
    let back = read_file(
        &f,
        ReadOptions {
            format: Some(Format::Gset),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(back.model.num_variables(), 8);
    let c = dir.path().join("c.qubo");
    let o = ok(&["convert", p(&f), p(&c), "--format", "gset"]);
    assert!(!o.stderr.contains("deprecated"), "{}", o.stderr);
    // orchestrate --backend/--reads/--sweeps -> --sub-solver/--sub-reads/--sub-sweeps.
    let scen = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/scenario_small.json");
    let plan_old = dir.path().join("old.json");
    let plan_new = dir.path().join("new.json");
    let o = ok(&[
        "orchestrate",
        p(&scen),
        "--backend",
        "sa",
        "--reads",
        "2",
        "--sweeps",
        "50",
        "--out",
        p(&plan_old),
    ]);
    assert_eq!(o.stderr.matches("deprecated").count(), 3, "{}", o.stderr);
    let o = ok(&[
        "orchestrate",
        p(&scen),
        "--sub-solver",
        "sa",
        "--sub-reads",
        "2",
        "--sub-sweeps",
        "50",
        "--out",
        p(&plan_new),
    ]);
    assert!(!o.stderr.contains("deprecated"), "{}", o.stderr);
    let plan = |f: &Path| -> Value { serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap() };
    assert_eq!(plan(&plan_old)["placements"], plan(&plan_new)["placements"]);
}

#[test]
fn threads_builds_a_pool_per_command_and_keeps_the_answer() {
    let g = data("rr3_n16_s1.gset");
    let run = |t: &str| -> Value {
        let o = ok(&[
            "solve",
            p(&g),
            "--solver",
            "sa",
            "--reads",
            "6",
            "--sweeps",
            "200",
            "--seed",
            "3",
            "--threads",
            t,
            "--output",
            "json",
            "-q",
        ]);
        json_lines(&o.stdout).remove(0)
    };
    let (one, two) = (run("1"), run("2"));
    assert_eq!(one["threads"], 1);
    assert_eq!(two["threads"], 2);
    assert_eq!(one["state"], two["state"]);
    assert_eq!(one["mean_energy"], two["mean_energy"]);
    // Accepted by the other computing commands.
    let dir = tempfile::tempdir().unwrap();
    ok(&["qaoa", p(&g), "--threads", "1", "-q", "--shots", "0"]);
    ok(&["decompose", p(&g), "--threads", "1", "--cluster-size", "4"]);
    ok(&[
        "gen",
        "--kind",
        "torus",
        "--n",
        "16",
        "--threads",
        "1",
        "--out",
        p(&dir.path().join("t.gset")),
    ]);
    // ... and by info and convert (one meaning on every command), absurd counts refused.
    let info = |t: &str| json_lines(&ok(&["info", p(&g), "--threads", t, "--output", "json"]).stdout).remove(0);
    assert_eq!(info("1"), info("2"));
    let out = dir.path().join("t.qubo");
    ok(&["convert", p(&g), p(&out), "--threads", "2"]);
    assert!(out.exists());
    for cmd in [
        &["info", p(&g)][..],
        &["convert", p(&g), p(&dir.path().join("u.qubo"))][..],
    ] {
        let mut args = cmd.to_vec();
        args.extend(["--threads", "100000000"]);
        let o = qam(&args);
        assert_ne!(o.code, 0, "{args:?}");
        assert!(o.stderr.contains("--threads"), "{args:?}: {}", o.stderr);
    }
}

#[test]
fn dash_reads_standard_input() {
    let q = data("small.qubo");
    let bytes = std::fs::read(&q).unwrap();
    let from_file = json_lines(&ok(&["solve", p(&q), "--output", "json", "-q"]).stdout).remove(0);
    let o = qam_in(&["solve", "-", "--output", "json", "-q"], Some(&bytes));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v = json_lines(&o.stdout).remove(0);
    assert_eq!(v["file"], "<stdin>");
    assert_eq!(v["energy"], from_file["energy"]);
    assert_eq!(v["state"], from_file["state"]);
    // info and convert; --format forces the parser of standard input.
    let o = qam_in(&["info", "-", "--output", "json"], Some(&bytes));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(json_lines(&o.stdout)[0]["num_variables"], 4);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.json");
    let o = qam_in(&["convert", "-", p(&out)], Some(&bytes));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let a = read_file(&q, ReadOptions::default()).unwrap();
    let b = read_file(&out, ReadOptions::default()).unwrap();
    let st = [1, 0, 1, 1];
    assert_eq!(a.model.energy(&st), b.model.energy(&st));
    let gset = b"3 2\n1 2 1\n2 3 1\n";
    let o = qam_in(
        &["solve", "-", "--format", "gset", "--output", "json", "-q"],
        Some(gset),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(json_lines(&o.stdout)[0]["cut"], 2.0);
}

#[test]
fn multi_instance_bqp_without_instance_solves_every_instance() {
    let f = data("bqp_two.txt");
    let o = ok(&["solve", p(&f), "--output", "json", "-q"]);
    let rows = json_lines(&o.stdout);
    assert_eq!(rows.len(), 2, "{}", o.stdout);
    // Brute force: instance 1 maximises 5x1 - 3x2 + x3 + 8x1x2 - 4x2x3 -> 10 at (1,1,0);
    // instance 2 maximises -x1 - x2 + 6x1x2 -> 4 at (1,1).
    assert_eq!(
        (rows[0]["instance"].clone(), rows[0]["objective"].clone()),
        (1.into(), 10.0.into())
    );
    assert_eq!(
        (rows[1]["instance"].clone(), rows[1]["objective"].clone()),
        (2.into(), 4.0.into())
    );
    // Text output names the instance; --instance still picks one.
    let o = ok(&["solve", p(&f), "-q"]);
    assert!(o.stdout.contains("(instance 2)"), "{}", o.stdout);
    let o = ok(&["solve", p(&f), "--instance", "2", "--output", "json", "-q"]);
    assert_eq!(json_lines(&o.stdout).len(), 1);
}

#[test]
fn gen_writes_gset_for_txt_graph_kinds_and_bqp_for_dense() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ["regular3", "erdos-renyi", "torus", "planted-ferro", "tile-planted"] {
        let f = dir.path().join(format!("{kind}.txt"));
        let mut args = vec!["gen", "--kind", kind, "--n", "16", "--out", p(&f)];
        if kind == "erdos-renyi" {
            args.extend(["--degree", "3"]);
        }
        ok(&args);
        let text = std::fs::read_to_string(&f).unwrap();
        let first: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(first.len(), 2, "{kind}: G-set header `n m` expected: {text}");
        assert_eq!(first[0], "16", "{kind}");
        let back = read_file(
            &f,
            ReadOptions {
                format: Some(Format::Gset),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(matches!(back.kind, ProblemKind::MaxCut { .. }), "{kind}");
    }
    let f = dir.path().join("dense.txt");
    ok(&["gen", "--kind", "dense", "--n", "6", "--density", "0.5", "--out", p(&f)]);
    let text = std::fs::read_to_string(&f).unwrap();
    assert_eq!(
        text.lines().next().unwrap().trim(),
        "1",
        "bqp instance count expected: {text}"
    );
    assert_eq!(
        read_file(&f, ReadOptions::default()).unwrap().kind,
        ProblemKind::Maximize
    );
}

/// Every option that takes a value says its default in `--help` (or that it has none),
/// and nothing is announced as missing from this build.
#[test]
fn help_states_every_default_and_matches_the_build() {
    for sub in [
        "solve",
        "info",
        "gen",
        "convert",
        "bench",
        "decompose",
        "qaoa",
        "orchestrate",
        "scale-test",
    ] {
        let help = ok(&[sub, "--help"]).stdout;
        assert!(!help.contains("not in this build"), "{sub}:\n{help}");
        let mut blocks: Vec<(String, bool, String)> = Vec::new();
        for line in help.lines() {
            let t = line.trim_start();
            let indent = line.len() - t.len();
            if (2..=6).contains(&indent) && t.starts_with('-') {
                let name = t
                    .split([' ', ','])
                    .find(|w| w.starts_with("--"))
                    .unwrap_or(t)
                    .to_string();
                let takes_value = t.contains(" <");
                // Short help puts the description on the option's own line.
                blocks.push((name, takes_value, t.to_string()));
            } else if !line.is_empty() && !line.starts_with(' ') {
                blocks.push((String::new(), false, String::new()));
            } else if let Some(b) = blocks.last_mut() {
                b.2 += line;
            }
        }
        let mut checked = 0;
        for (name, takes_value, text) in &blocks {
            if !takes_value || name.is_empty() {
                continue;
            }
            checked += 1;
            assert!(
                text.to_lowercase().contains("default"),
                "qam {sub} {name}: no default in its help: {text}"
            );
        }
        assert!(checked >= 2, "{sub}: help not parsed:\n{help}");
    }
    // Hierarchical's sub-solvers all run.
    let g = data("rr3_n16_s1.gset");
    let o = ok(&[
        "solve",
        p(&g),
        "--solver",
        "hierarchical",
        "--sub-solver",
        "qaoa",
        "--cluster-size",
        "8",
        "--exact-below",
        "0",
        "--shots",
        "16",
        "--output",
        "json",
        "-q",
    ]);
    assert_eq!(json_lines(&o.stdout)[0]["solver"], "hierarchical");
}

/// Published p = 1 angles for 3-regular MaxCut (Wurtz & Lykov): γ_cut = 0.6155, β = 0.3927,
/// 0.6925 of the edges cut on triangle-free graphs (exactly 1/2 + 1/(3√3) at the optimum).
#[test]
#[allow(clippy::approx_constant)] // the published 4-digit values (0.3927 ≈ π/8)
fn qaoa_reports_canonical_angles_matching_the_published_p1_table() {
    let dir = tempfile::tempdir().unwrap();
    let f = petersen(dir.path());
    let o = ok(&["qaoa", p(&f), "--output", "json", "-q", "--shots", "0"]);
    let v = &json_lines(&o.stdout)[0];
    let gc = v["gamma_cut"][0].as_f64().unwrap();
    let b = v["beta"][0].as_f64().unwrap();
    assert!((gc - 0.6155).abs() < 2e-3, "gamma_cut {gc}");
    assert!((b - 0.3927).abs() < 2e-3, "beta {b}");
    let per_edge = v["expected_cut"].as_f64().unwrap() / 15.0;
    assert!(
        (per_edge - (0.5 + 1.0 / (3.0 * 3f64.sqrt()))).abs() < 1e-6,
        "{per_edge}"
    );
    // A raw angle set related by the symmetries (time reversal, γ_cut + 2π, β + 3π/2) is
    // evaluated to the same expectation and reported as the canonical one.
    let raw_g = -0.6155 + 2.0 * std::f64::consts::PI;
    let raw_b = -0.3927 + 1.5 * std::f64::consts::PI;
    let (rg, rb) = (format!("{raw_g}"), format!("{raw_b}"));
    let o = ok(&[
        "qaoa",
        p(&f),
        "--gamma",
        &rg,
        "--beta",
        &rb,
        "--convention",
        "cut",
        "--output",
        "json",
        "-q",
    ]);
    let r = &json_lines(&o.stdout)[0];
    let o = ok(&[
        "qaoa",
        p(&f),
        "--gamma",
        "0.6155",
        "--beta",
        "0.3927",
        "--convention",
        "cut",
        "--output",
        "json",
        "-q",
    ]);
    let c = &json_lines(&o.stdout)[0];
    let (er, ec) = (r["expectation"].as_f64().unwrap(), c["expectation"].as_f64().unwrap());
    assert!((er - ec).abs() < 1e-9, "{er} vs {ec}");
    assert!((r["gamma_cut"][0].as_f64().unwrap() - 0.6155).abs() < 1e-9, "{r}");
    assert!((r["beta"][0].as_f64().unwrap() - 0.3927).abs() < 1e-9, "{r}");
    assert_eq!(
        (r["optimizer"].as_str(), r["evaluations"].as_u64()),
        (Some("none"), Some(1))
    );
    assert_eq!(r["angles"], "given");
}

/// The canonical form keeps every expectation (CPU simulator), on MaxCut (β period π/2,
/// γ period) and on models with fields and non-integer weights (β period π, no γ period).
#[test]
fn canonical_angles_keep_the_expectation() {
    let mut rng = qam::rng::Rng::new(5);
    let models = [
        read_file(data("rr3_n16_s1.gset"), ReadOptions::default())
            .unwrap()
            .model,
        qam::model::Model::Ising(common::random_ising(&mut rng, 8, 0.5, common::W::Float, 0.3)),
        qam::model::Model::Qubo(common::random_qubo(&mut rng, 8, 0.5, common::W::Int(3), 1.0)),
    ];
    for m in &models {
        let params = QaoaParams {
            device: Device::Cpu,
            precision: Precision::F64,
            ..QaoaParams::default()
        };
        let (mut sim, _) = build_simulator(m, &params).unwrap();
        for k in 0..6 {
            let p = 1 + k % 3;
            let gamma: Vec<f64> = (0..p).map(|_| (rng.next_f64() - 0.5) * 20.0).collect();
            let beta: Vec<f64> = (0..p).map(|_| (rng.next_f64() - 0.5) * 20.0).collect();
            let raw = Angles::new(gamma, beta).unwrap();
            let can = canonical_angles(m, &raw);
            let (e0, e1) = (sim.evaluate(&raw).unwrap(), sim.evaluate(&can).unwrap());
            let tol = 1e-9 * (1.0 + e0.expectation.abs());
            assert!((e0.expectation - e1.expectation).abs() < tol, "{raw:?} -> {can:?}");
            assert!((e0.ground_state_probability - e1.ground_state_probability).abs() < 1e-9);
            assert!(
                can.beta.iter().all(|&b| (0.0..std::f64::consts::PI).contains(&b)),
                "{can:?}"
            );
            // Idempotent.
            let again = canonical_angles(m, &can);
            for (a, b) in again.to_vec().iter().zip(can.to_vec()) {
                assert!((a - b).abs() < 1e-9, "{again:?} vs {can:?}");
            }
        }
    }
    // MaxCut: β in [0, π/2) and γ_cut in [0, π].
    let a = canonical_angles(&models[0], &Angles::new(vec![5.0, -7.0], vec![-4.0, 9.0]).unwrap());
    assert!(
        a.beta.iter().all(|&b| (0.0..std::f64::consts::FRAC_PI_2).contains(&b)),
        "{a:?}"
    );
    assert!(
        (0.0..=std::f64::consts::PI + 1e-12).contains(&a.to_cut_convention()[0]),
        "{a:?}"
    );
}

#[test]
fn optimizer_none_evaluates_once() {
    let g = data("rr3_n16_s1.gset");
    let o = ok(&[
        "qaoa",
        p(&g),
        "--optimizer",
        "none",
        "--p",
        "2",
        "--output",
        "json",
        "-q",
        "--shots",
        "0",
    ]);
    let v = &json_lines(&o.stdout)[0];
    assert_eq!(v["evaluations"], 1, "{v}");
    assert_eq!(v["optimizer"], "none");
    assert_eq!(v["angles"], "start");
    // 3-regular: the start is the fixed-angle table (p = 2).
    let gc: Vec<f64> = v["gamma_cut"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!((gc[0] - 0.4877).abs() < 1e-9 && (gc[1] - 0.8980).abs() < 1e-9, "{gc:?}");
    // Not 3-regular: one evaluation of the linear ramp.
    let q = data("small.qubo");
    let o = ok(&["qaoa", p(&q), "--optimizer", "none", "--output", "json", "-q"]);
    assert_eq!(json_lines(&o.stdout)[0]["evaluations"], 1);
    // The qaoa solver too.
    ok(&[
        "solve",
        p(&q),
        "--solver",
        "qaoa",
        "--optimizer",
        "none",
        "--shots",
        "4",
        "-q",
    ]);
}

#[test]
fn qaoa_precision_follows_the_device() {
    let g = data("rr3_n16_s1.gset");
    let backend = |extra: &[&str]| -> String {
        let mut args = vec![
            "qaoa",
            p(&g),
            "--output",
            "json",
            "-q",
            "--shots",
            "0",
            "--optimizer",
            "none",
        ];
        args.extend(extra);
        json_lines(&ok(&args).stdout)[0]["backend"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(backend(&["--qaoa-device", "cpu"]).contains("complex128"));
    assert!(backend(&["--qaoa-device", "cpu", "--qaoa-precision", "f32"]).contains("complex64"));
    if common::gpu().is_some() {
        // No --qaoa-precision: the GPU's f32 instead of an error.
        assert!(backend(&["--qaoa-device", "gpu"]).starts_with("gpu"));
    }
}
