//! Hostile inputs (issue 17): numbers and files chosen to break qam. Each family here
//! reproduces a reported failure (wrong answer, data loss, panic, memory blow-up, silently
//! accepted nonsense) and checks the fix: the right answer or a clear error.

use crate::common;

use common::{W, random_model};
use qam::decompose::{HierarchicalParams, HierarchicalSolver, SubSolverKind};
use qam::model::{Ising, Model, Qubo, Vartype};
use qam::rng::Rng;
use qam::solvers::{ExactSolver, GreedySolver, PaParams, PaSolver, PtParams, PtSolver, SaParams, SaSolver, Solver};

/// `model` with `offset` added to its constant term.
fn with_offset(model: &Model, offset: f64) -> Model {
    match model {
        Model::Qubo(q) => {
            Model::Qubo(Qubo::new(q.linear().to_vec(), q.quadratic().clone(), q.offset() + offset).unwrap())
        }
        Model::Ising(i) => Model::Ising(Ising::new(i.h().to_vec(), i.j().clone(), i.offset() + offset).unwrap()),
    }
}

fn solvers() -> Vec<Box<dyn Solver>> {
    vec![
        Box::new(ExactSolver { max_states: 4 }),
        Box::new(SaSolver::new(SaParams {
            num_reads: 8,
            num_sweeps: 200,
            seed: 5,
            ..Default::default()
        })),
        Box::new(PtSolver::new(PtParams {
            num_replicas: 8,
            num_sweeps: 200,
            seed: 5,
            ..Default::default()
        })),
        Box::new(PaSolver::new(PaParams {
            population: 16,
            num_sweeps: 100,
            seed: 5,
            ..Default::default()
        })),
        Box::new(GreedySolver {
            num_reads: 8,
            seed: 5,
            initial_states: None,
        }),
        Box::new(HierarchicalSolver::new(HierarchicalParams {
            sub_solver: SubSolverKind::Exact,
            cluster_size: Some(6),
            seed: 5,
            max_rounds: 4,
            ..Default::default()
        })),
    ]
}

/// Wrong answers: a constant added to the energy cannot change which states a solver
/// returns or their order (offsets up to 1e15, float and integer weights), and the
/// reported energies are the offset-free ones plus the offset.
#[test]
fn offsets_never_change_the_returned_states() {
    let mut rng = Rng::new(17);
    for case in 0..6 {
        let vt = if case % 2 == 0 { Vartype::Binary } else { Vartype::Spin };
        let w = if case < 3 { W::Float } else { W::Int(3) };
        let base = random_model(&mut rng, 14, vt, 0.3, w, 0.0);
        for solver in solvers() {
            let want = solver.solve(&base).unwrap();
            for offset in [1.0, -7.5, 1e6, 1e9, 1e10, 1e12, -1e12, 1e15] {
                let m = with_offset(&base, offset);
                let got = solver.solve(&m).unwrap();
                let a: Vec<&Vec<i8>> = want.samples().iter().map(|s| &s.state).collect();
                let b: Vec<&Vec<i8>> = got.samples().iter().map(|s| &s.state).collect();
                assert_eq!(a, b, "solver {} case {case} offset {offset}", solver.name());
                let e = got.first().unwrap().energy;
                assert_eq!(
                    e,
                    offset + want.first().unwrap().energy,
                    "{} offset {offset}",
                    solver.name()
                );
            }
        }
    }
}

/// The issue's reproduction: `c offset 1e9` plus three `-1` diagonal terms. Before the fix
/// `exact` returned [0,0,0] at energy 1e9 with 8 "ground states".
#[test]
fn exact_with_a_large_offset_finds_the_unique_optimum() {
    let q = Qubo::from_entries(3, &[(0, 0, -1.0), (1, 1, -1.0), (2, 2, -1.0)], 1e9).unwrap();
    let set = ExactSolver::default().solve(&Model::Qubo(q)).unwrap();
    assert_eq!(set.first().unwrap().state, vec![1, 1, 1]);
    assert_eq!(set.first().unwrap().energy, 1e9 - 3.0);
    assert_eq!(set.info.extra["num_ground_states"], 1);
}

/// `exact` gives the same ground states (and count) on 1, 2, 3 and 8 threads, on a model
/// with many exact ties and a large offset.
#[test]
fn exact_is_thread_count_independent() {
    let mut rng = Rng::new(3);
    let base = random_model(&mut rng, 16, Vartype::Binary, 0.4, W::Int(1), 0.0);
    let m = with_offset(&base, 1e12);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| ExactSolver { max_states: 1000 }.solve(&m).unwrap())
    };
    let one = run(1);
    let (e, ground) = common::brute_force(&base, 1e-9);
    assert_eq!(one.first().unwrap().energy, e + 1e12);
    assert_eq!(one.info.extra["num_ground_states"], ground.len());
    for t in [2, 3, 8] {
        let r = run(t);
        assert_eq!(r, one_without_timing(&one, &r), "{t} threads");
    }
}

/// `a` with `b`'s timing (timings differ run to run; everything else must not).
fn one_without_timing(a: &qam::model::SampleSet, b: &qam::model::SampleSet) -> qam::model::SampleSet {
    let mut a = a.clone();
    a.info.timing = b.info.timing.clone();
    a
}

// ---- Readers: silently accepted nonsense (issue 17) ----

use qam::io::{Format, Problem, ReadOptions, read_bytes, write_string};

fn read_as(text: &str, name: &str) -> Result<Problem, String> {
    read_bytes(text.as_bytes(), name, ReadOptions::default()).map_err(|e| e.to_string())
}

fn dimod(labels: &str, extra: &str) -> String {
    format!(
        r#"{{"type": "BinaryQuadraticModel", "version": {{"bqm_schema": "3.0.0"}}, "use_bytes": false,
        "variable_labels": {labels}, "variable_type": "BINARY", "offset": 1.0, "info": {{}},
        "linear_biases": [-1.0, 2.0, 0.0, 0.5], "quadratic_biases": [-3.0, 2.0, 1.5, -1.0],
        "quadratic_head": [0, 0, 1, 2], "quadratic_tail": [1, 3, 2, 3]{extra}}}"#
    )
}

#[test]
fn dimod_labels_are_kept_and_declared_fields_checked() {
    let p = read_as(&dimod("[3, 2, 1, 0]", ""), "m.json").unwrap();
    assert_eq!(
        p.labels,
        Some(vec![
            serde_json::json!(3),
            serde_json::json!(2),
            serde_json::json!(1),
            serde_json::json!(0)
        ])
    );
    let p = read_as(
        &dimod(r#"["a", "b", ["c", 1], "d"]"#, r#", "num_variables": 4"#),
        "m.json",
    )
    .unwrap();
    assert_eq!(p.labels.unwrap()[2], serde_json::json!(["c", 1]));
    for (labels, extra, needle) in [
        ("[0, 1, 2, 3]", r#", "num_variables": 5"#, "num_variables"),
        ("[0, 1, 2]", "", "variable_labels"),
        ("[0, 1, 1, 3]", "", "repeats"),
        (r#""abcd""#, "", "variable_labels"),
    ] {
        let e = read_as(&dimod(labels, extra), "m.json").unwrap_err();
        assert!(e.contains(needle), "{labels} {extra}: {e}");
    }
    let e = read_as(
        &dimod("[0, 1, 2, 3]", "").replace(r#""offset": 1.0"#, r#""offset": "100""#),
        "m.json",
    )
    .unwrap_err();
    assert!(e.contains("offset"), "{e}");
    let lower = dimod("[0, 1, 2, 3]", "").replace(r#""BINARY""#, r#""binary""#);
    assert_eq!(read_as(&lower, "m.json").unwrap().model.vartype(), Vartype::Binary);
}

#[test]
fn offsets_and_vartype_comments_are_parsed_strictly() {
    // qbsolv: any spacing, one offset line at most.
    let q = "c  offset   5\np qubo 0 2 1 1\n0 0 -1\n0 1 2\n";
    assert_eq!(read_as(q, "a.qubo").unwrap().model.offset(), 5.0);
    let two = "c offset 5\nc offset 7\np qubo 0 2 1 1\n0 0 -1\n0 1 2\n";
    assert!(read_as(two, "a.qubo").unwrap_err().contains("second offset line"));
    assert!(
        read_as("c offset\np qubo 0 1 1 0\n0 0 1\n", "a.qubo")
            .unwrap_err()
            .contains("c offset VALUE")
    );
    // MatrixMarket: vartype words case-insensitive, each comment once.
    let m = "%%MatrixMarket matrix coordinate real symmetric\n% vartype spin\n% offset 2\n2 2 1\n2 1 1\n";
    let p = read_as(m, "a.mtx").unwrap();
    assert_eq!((p.model.vartype(), p.model.offset()), (Vartype::Spin, 2.0));
    let twice = m.replace("% offset 2\n", "% offset 2\n% offset 3\n");
    assert!(read_as(&twice, "a.mtx").unwrap_err().contains("second"));
    let bad = m.replace("spin", "spinor");
    assert!(read_as(&bad, "a.mtx").unwrap_err().contains("vartype"));
    // qam JSON: vartype case-insensitive, string offsets refused.
    let j =
        r#"{"format": "qam-model", "version": 1, "vartype": "spin", "num_variables": 2, "quadratic": [[0, 1, 1.0]]}"#;
    assert_eq!(read_as(j, "a.json").unwrap().model.vartype(), Vartype::Spin);
    let s = j.replace(r#""num_variables": 2"#, r#""num_variables": 2, "offset": "100""#);
    assert!(read_as(&s, "a.json").is_err());
}

/// Plausibility counts data lines, not bytes: comments cannot make a huge header
/// plausible, and whatever `write_string`/`write_file` writes reads back.
#[test]
fn plausibility_counts_data_lines() {
    // The issue's case: a 40-byte file declaring 4,194,304 variables (pa then took 9.5 GB).
    assert!(
        read_as("p qubo 0 4194304 0 0\n", "h.qubo")
            .unwrap_err()
            .contains("implausible")
    );
    let mut padded = String::from("p qubo 0 150000000 1 0\n");
    for _ in 0..2000 {
        padded.push_str("c ");
        padded.push_str(&"x".repeat(500));
        padded.push('\n');
    }
    padded.push_str("0 0 1\n");
    let e = read_as(&padded, "a.qubo").unwrap_err();
    assert!(e.contains("implausible") && e.contains("data lines"), "{e}");
    // Above the free allowance (2^20): 4,300,000 variables need 1050 data lines.
    let n = 4_300_000usize;
    let edges: Vec<(u32, u32, f64)> = (0..1100u32).map(|k| (2 * k, 2 * k + 1, 1.0)).collect();
    let p = Problem::maxcut(n, &edges).unwrap();
    let text = write_string(&p, Format::Gset).unwrap();
    assert_eq!(read_as(&text, "big.gset").unwrap().model.num_variables(), n);
    // Too sparse to be told from a damaged header: refused when writing, not only reading.
    let sparse = Problem::maxcut(n, &edges[..1000]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let e = qam::io::write_file(dir.path().join("s.gset"), &sparse, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("implausible"), "{e}");
    assert!(read_as(&write_string(&sparse, Format::Gset).unwrap(), "s.gset").is_err());
}

// ---- Property tests: hostile numbers everywhere (bounded case counts, a few seconds) ----

use proptest::prelude::*;
use qam::limits::{MAX_READS, MAX_SCHEDULE_BETAS, MAX_SHOTS};

/// Numbers a hostile user types: zero, small, just past each bound, 2^32, usize::MAX.
fn hostile_count() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        1usize..8,
        Just(MAX_READS + 1),
        Just(MAX_SCHEDULE_BETAS + 1),
        Just(MAX_SHOTS + 1),
        Just(1usize << 32),
        Just(usize::MAX),
        any::<usize>(),
    ]
}

fn hostile_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(-1.0),
        Just(0.0),
        Just(1e300),
        Just(5e-324),
        0.0f64..10.0,
        any::<f64>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// validate() never panics, and whatever it accepts is within the documented bounds
    /// (so nothing sized by these numbers can exceed them).
    #[test]
    fn params_validate_within_bounds(
        reads in hostile_count(), sweeps in hostile_count(), spb in hostile_count(),
        replicas in hostile_count(), chains in hostile_count(), shots in hostile_count(),
        hot in hostile_float(), cold in hostile_float(), n in 0usize..2000,
    ) {
        let range = Some((hot, cold));
        let sa = SaParams { num_reads: reads, num_sweeps: sweeps, beta_range: range, ..Default::default() };
        if sa.validate(n).is_ok() {
            prop_assert!((1..=MAX_READS).contains(&reads) && sweeps <= MAX_SCHEDULE_BETAS);
            prop_assert!(hot.is_finite() && cold.is_finite() && (0.0..=cold).contains(&hot));
        }
        let pt = PtParams { num_replicas: replicas, num_chains: chains, beta_range: range, ..Default::default() };
        if pt.validate(n).is_ok() {
            prop_assert!(replicas >= 1 && chains >= 1 && replicas.saturating_mul(chains) <= MAX_READS);
        }
        let pa = PaParams { population: reads, num_sweeps: sweeps, sweeps_per_beta: spb.max(1), ..Default::default() };
        if pa.validate(n).is_ok() {
            prop_assert!((1..=MAX_READS).contains(&reads) && sweeps / spb.max(1) <= MAX_SCHEDULE_BETAS);
        }
        let g = GreedySolver { num_reads: reads, seed: 0, initial_states: None };
        if g.validate(n).is_ok() {
            prop_assert!((1..=MAX_READS).contains(&reads));
        }
        let q = qam::qaoa::QaoaParams { shots, ..Default::default() };
        if q.validate(n).is_ok() {
            prop_assert!(shots <= MAX_SHOTS);
        }
        match qam::limits::time_limit(hot) {
            Ok(d) => prop_assert!(hot > 0.0 && d.as_secs_f64() <= qam::limits::MAX_TIME_LIMIT_S),
            Err(e) => prop_assert!(e.to_string().contains("time_limit")),
        }
        if qam::limits::check_threads("threads", reads).is_ok() {
            prop_assert!(reads <= qam::limits::MAX_THREADS);
        }
    }

    /// Every reader, fed headers with hostile counts and values and a few data lines,
    /// errors or returns a model no larger than the plausibility bound; never panics.
    #[test]
    fn readers_refuse_hostile_headers(
        n in hostile_count(), m in hostile_count(), lines in 0usize..4,
        w in prop_oneof![Just("1e308".to_string()), Just("nan".to_string()), Just("-0".to_string()),
                         Just("1e-320".to_string()), Just("\"5\"".to_string()), (-9i64..9).prop_map(|v| v.to_string())],
        fmt in 0usize..5,
    ) {
        let body_from = |base: usize| -> String {
            (0..lines).map(|k| format!("{} {} {w}\n", k + base, k + base + 1)).collect()
        };
        let body = body_from(1);
        let (name, text) = match fmt {
            0 => ("h.qubo", format!("c offset {w}\np qubo 0 {n} 0 {m}\n{}", body_from(0))),
            1 => ("h.gset", format!("{n} {m}\n{body}")),
            2 => ("h.bqp", format!("1\n{n} {m}\n{body}")),
            3 => ("h.mtx", format!("%%MatrixMarket matrix coordinate real general\n% offset {w}\n{n} {n} {m}\n{body}")),
            _ => ("h.json", format!(r#"{{"format": "qam-model", "version": 1, "vartype": "spin", "num_variables": {n}, "offset": {w}, "quadratic": [[0, 1, {w}]]}}"#)),
        };
        if let Ok(p) = read_bytes(text.as_bytes(), name, ReadOptions::default()) {
            let vars = p.model.num_variables();
            prop_assert!(vars <= (1usize << 20).max(4096 * (lines + 1)), "{name}: {vars} variables accepted");
            prop_assert!(p.model.offset().is_finite());
        }
    }
}
