//! Constrained models: LP / JSON round trips, LP errors with file:line, and the constrained
//! annealer against brute force.

use qam::cqm::gap::{GapType, generate};
use qam::cqm::{Cmp, ConstrainedModel, CqmError, CqmSaParams, CqmSaSolver, CqmSolution, Sense, json, lp};
use qam::rng::Rng;

/// Independent exhaustive search over all 2^n states.
fn brute(m: &ConstrainedModel) -> Option<f64> {
    let n = m.num_variables();
    assert!(n <= 20);
    let mut best: Option<f64> = None;
    let mut x = vec![0u8; n];
    for bits in 0u32..(1 << n) {
        for (i, xi) in x.iter_mut().enumerate() {
            *xi = ((bits >> i) & 1) as u8;
        }
        if m.violations(&x).is_empty() {
            let e = m.energy(&x);
            if best.is_none_or(|b| e < b) {
                best = Some(e);
            }
        }
    }
    best
}

/// A random model: `groups` one-hot groups of size `k`, `free` free variables, a random
/// quadratic objective and `cons` random constraints of every sense.
fn random_model(seed: u64, groups: usize, k: usize, free: usize, cons: usize, sense: Sense) -> ConstrainedModel {
    let mut rng = Rng::new(seed);
    let mut m = ConstrainedModel::new(sense);
    let n = groups * k + free;
    for i in 0..n {
        m.add_variable(&format!("v{i}")).unwrap();
    }
    for g in 0..groups {
        let vars: Vec<usize> = (g * k..(g + 1) * k).collect();
        m.add_one_hot(&format!("g{g}"), &vars).unwrap();
    }
    for i in 0..n {
        m.add_linear(i, (rng.below(21) as f64 - 10.0) * 0.5);
    }
    for _ in 0..2 * n {
        let (a, b) = (rng.below(n as u64) as usize, rng.below(n as u64) as usize);
        m.add_quadratic(a, b, rng.below(11) as f64 - 5.0);
    }
    m.add_offset(1.25);
    for c in 0..cons {
        let mut terms: Vec<(usize, f64)> = Vec::new();
        for v in 0..n {
            if rng.below(2) == 0 {
                terms.push((v, 1.0 + rng.below(5) as f64));
            }
        }
        if terms.is_empty() {
            continue;
        }
        let total: f64 = terms.iter().map(|t| t.1).sum();
        let sense = [Cmp::Le, Cmp::Ge, Cmp::Eq][c % 3];
        let rhs = match sense {
            Cmp::Le => (total * 0.4).floor(),
            Cmp::Ge => (total * 0.3).ceil(),
            Cmp::Eq => terms[0].1 + terms[terms.len() - 1].1,
        };
        m.add_constraint(&format!("c{c}"), terms, sense, rhs).unwrap();
    }
    m
}

#[test]
fn lp_and_json_round_trip_exactly() {
    for seed in 0..6 {
        let sense = if seed % 2 == 0 {
            Sense::Minimize
        } else {
            Sense::Maximize
        };
        let m = random_model(seed, 3, 3, 4, 4, sense);
        let text = lp::write_string(&m).unwrap();
        let back = lp::read_str(&text, "rt.lp").unwrap();
        assert_eq!(back, m, "LP round trip, seed {seed}:\n{text}");
        let js = json::write_string(&m);
        let back = json::read_str(&js, "rt.json").unwrap();
        assert_eq!(back, m, "JSON round trip, seed {seed}");
    }
    // a GAP model too (one-hot groups detected on reading)
    let m = generate(GapType::D, 12, 3, 5).unwrap().to_model();
    let back = lp::read_str(&lp::write_string(&m).unwrap(), "gap.lp").unwrap();
    assert_eq!(back, m);
    assert_eq!(back.one_hot_groups().len(), 12);
}

#[test]
fn lp_reader_handles_the_subset() {
    let text = r"\ a comment
MAXIMIZE
 obj: 3 x + 2 y - z
   + [ 2 x * y + 4 y ^ 2 ] / 2 + 1.5
Subject To
 c1: x + y + z <= 2
 x + y
   >= 1   \ unnamed: R2
 c3: 2 x - y =< 1
 pick: x + z = 1
Bounds
 0 <= y <= 1
 z <= 1
General
 y
Binaries
 x z
End
";
    let m = lp::read_str(text, "t.lp").unwrap();
    assert_eq!(m.sense(), Sense::Maximize);
    // variables in declaration order: Binaries x z, then General y
    assert_eq!(m.variable_names(), &["x", "z", "y"]);
    let (x, z, y) = (0, 1, 2);
    let mut s = vec![0u8; 3];
    s[x] = 1;
    s[y] = 1;
    // 3 + 2 + (x*y: 1) + (y^2: 2) + 1.5
    assert_eq!(m.objective(&s), 9.5);
    assert_eq!(m.energy(&s), -9.5);
    assert!(m.constraint_index("R2").is_some());
    assert_eq!(m.constraints()[m.constraint_index("c3").unwrap()].sense, Cmp::Le);
    assert_eq!(m.one_hot_groups(), vec![vec![x, z]]);
    assert!(m.is_feasible(&s));
    s[z] = 1;
    let v = m.violations(&s);
    let names: Vec<&str> = v.iter().map(|v| v.constraint.as_str()).collect();
    assert_eq!(names, vec!["c1", "pick"]);
}

fn parse_err(text: &str) -> (usize, String) {
    match lp::read_str(text, "bad.lp") {
        Err(CqmError::Parse { file, line, msg }) => {
            assert_eq!(file, "bad.lp");
            (line, msg)
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn malformed_lp_files_get_file_and_line() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "Minimize\n obj: x\nSubject To\n c1: x <= 1\nFoo Bar\n c2: x >= 0\nBinary\n x\nEnd\n",
            5,
            "unknown section",
        ),
        (
            "Minimize\n obj: x\nSubject To\n c1: x + y <= 1\nBinary\n x\nEnd\n",
            4,
            "`y` is not declared Binary",
        ),
        (
            "Minimize\n obj: x\nSubject To\n c1: x <= 1\n c1: x >= 0\nBinary\n x\nEnd\n",
            5,
            "duplicate constraint name",
        ),
        (
            "Minimize\n obj: nan x\nSubject To\n c1: x <= 1\nBinary\n x\nEnd\n",
            2,
            "NaN",
        ),
        (
            "Minimize\n obj: x\nSubject To\n c1: x + NaN y <= 1\nBinary\n x y\nEnd\n",
            4,
            "NaN",
        ),
        (
            "Minimize\n obj: x + y\nSubject To\n c1: x + y <= 1\nBinary\n x\nEnd\n",
            2,
            "continuous",
        ),
        (
            "Minimize\n obj: x + y\nSubject To\n c1: x + y <= 1\nBinary\n x\nGeneral\n y\nEnd\n",
            8,
            "beyond 0..1",
        ),
        (
            "Minimize\n obj: x\nSubject To\n c1: x <= 1\nBinary\n x\nSOS\n s1: S1:: x:1\nEnd\n",
            7,
            "SOS",
        ),
        (
            "Minimize\n obj: x\nSubject To\n c1: [ x * x ] <= 1\nBinary\n x\nEnd\n",
            4,
            "quadratic constraints",
        ),
        ("Hello\n obj: x\nEnd\n", 1, "unknown section"),
        (
            "Minimize\n obj: x\nSubject To\n c1: x <=\nBinary\n x\nEnd\n",
            4,
            "right-hand side",
        ),
        ("Minimize\n obj: 2 x y\nBinary\n x y\nEnd\n", 2, "expected `+`"),
    ];
    for (text, line, needle) in cases {
        let (l, msg) = parse_err(text);
        assert!(msg.contains(needle), "`{msg}` lacks `{needle}` for\n{text}");
        assert_eq!(l, *line, "line of `{msg}` for\n{text}");
    }
}

#[test]
fn json_errors_name_the_field() {
    let bad = r#"{"format":"qam-cqm","version":1,"sense":"minimize","variables":["a"],
        "objective":{"linear":[["b",1.0]]}}"#;
    let e = json::read_str(bad, "m.json").unwrap_err().to_string();
    assert!(
        e.contains("m.json") && e.contains("objective.linear") && e.contains("`b`"),
        "{e}"
    );
}

fn params(seed: u64) -> CqmSaParams {
    CqmSaParams {
        chains: 3,
        sweeps: 300,
        cycles: 3,
        seed,
        ..Default::default()
    }
}

#[test]
fn annealer_matches_brute_force_on_random_models() {
    let mut feasible = 0;
    for seed in 0..24 {
        let sense = if seed % 3 == 0 {
            Sense::Maximize
        } else {
            Sense::Minimize
        };
        let m = random_model(100 + seed, 3, 3, 5, 3, sense);
        let exact = brute(&m);
        let lib = m.brute_force(1e6).unwrap().map(|(_, e)| e);
        assert_eq!(exact, lib, "library brute force, seed {seed}");
        let sol = CqmSaSolver::new(params(seed)).solve(&m).unwrap();
        match exact {
            Some(e) => {
                feasible += 1;
                assert!(sol.feasible, "seed {seed}: {:?}", sol.violations);
                assert!(
                    (sol.energy - e).abs() < 1e-9,
                    "seed {seed}: {} vs exact {e}",
                    sol.energy
                );
                assert_eq!(sol.objective, m.to_energy(sol.energy));
                assert!(sol.violations.is_empty());
            }
            None => {
                assert!(!sol.feasible);
                assert!(!sol.violations.is_empty());
            }
        }
    }
    assert!(feasible >= 12, "too few feasible random instances ({feasible})");
}

#[test]
fn annealer_matches_brute_force_on_small_tight_gaps() {
    for (k, kind) in [GapType::C, GapType::D, GapType::E].into_iter().enumerate() {
        for seed in 0..3 {
            let m = generate(kind, 8, 3, seed).unwrap().to_model();
            let exact = m.brute_force(1e6).unwrap();
            let sol = CqmSaSolver::new(params(seed + 10 * k as u64)).solve(&m).unwrap();
            match exact {
                Some((_, e)) => {
                    assert!(sol.feasible, "{kind:?}/{seed}: {:?}", sol.violations);
                    assert_eq!(sol.energy, e, "{kind:?}/{seed}");
                }
                None => assert!(!sol.feasible),
            }
        }
    }
}

#[test]
fn infeasible_model_names_the_violated_constraints() {
    let text = "Minimize\n obj: x + y\nSubject To\n need3: x + y >= 3\n ok: x - y <= 1\nBinary\n x y\nEnd\n";
    let m = lp::read_str(text, "inf.lp").unwrap();
    let sol = CqmSaSolver::new(params(1)).solve(&m).unwrap();
    assert!(!sol.feasible);
    assert_eq!(sol.violations.len(), 1);
    let v = &sol.violations[0];
    assert_eq!(
        (v.constraint.as_str(), v.lhs, v.rhs, v.amount),
        ("need3", 2.0, 3.0, 1.0)
    );
}

/// `cqm-sa` with `p` on a rayon pool of `threads` threads.
fn solve_on_threads(m: &ConstrainedModel, p: &CqmSaParams, threads: usize) -> CqmSolution {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| CqmSaSolver::new(p.clone()).solve(m).unwrap())
}

#[test]
fn same_seed_same_answer_on_any_thread_count() {
    let m = generate(GapType::D, 60, 6, 3).unwrap().to_model();
    let p = CqmSaParams {
        chains: 4,
        sweeps: 200,
        cycles: 2,
        seed: 9,
        ..Default::default()
    };
    let run = |threads: usize| solve_on_threads(&m, &p, threads);
    let (a, b) = (run(1), run(3));
    assert_eq!(a.state, b.state);
    assert_eq!(a.energy, b.energy);
}

#[test]
fn target_stops_early_and_initial_state_is_checked() {
    let m = generate(GapType::C, 10, 3, 2).unwrap().to_model();
    let (_, opt) = m.brute_force(1e6).unwrap().unwrap();
    let p = CqmSaParams {
        target_energy: Some(opt),
        cycles: 50,
        ..params(4)
    };
    let sol = CqmSaSolver::new(p).solve(&m).unwrap();
    assert_eq!(sol.energy, opt);
    assert_eq!(sol.stop, qam::cqm::StopReason::Target);
    assert!(sol.time_to_feasible_s.is_some());
    let bad = vec![0u8; m.num_variables()];
    let e = CqmSaSolver::new(params(0)).solve_from(&m, Some(&bad)).unwrap_err();
    assert!(e.to_string().contains("assign_0"), "{e}");
}

/// Checks the anytime trace of `sol`: times within the run and non-decreasing, energies
/// strictly decreasing, the last one the answer's energy; empty when infeasible.
fn check_trace(sol: &qam::cqm::CqmSolution, what: &str) {
    if !sol.feasible {
        assert!(
            sol.trace.is_empty(),
            "{what}: trace {:?} without a feasible answer",
            sol.trace
        );
        return;
    }
    let tr = &sol.trace;
    assert!(!tr.is_empty(), "{what}: feasible answer, empty trace");
    for w in tr.windows(2) {
        assert!(w[0].0 <= w[1].0, "{what}: times go back {w:?}");
        assert!(w[1].1 < w[0].1, "{what}: energy does not fall {w:?}");
    }
    assert!(
        tr[0].0 >= 0.0 && tr.last().unwrap().0 <= sol.elapsed_s + 1e-9,
        "{what}: {tr:?}"
    );
    assert_eq!(tr.last().unwrap().1, sol.energy, "{what}");
}

#[test]
fn anytime_trace_is_a_running_minimum_ending_at_the_answer() {
    let mut feasible = 0;
    for seed in 0..12 {
        let sense = if seed % 2 == 0 {
            Sense::Maximize
        } else {
            Sense::Minimize
        };
        let m = random_model(300 + seed, 3, 3, 5, 3, sense);
        let sol = CqmSaSolver::new(params(seed)).solve(&m).unwrap();
        feasible += sol.feasible as usize;
        check_trace(&sol, &format!("random {seed}"));
    }
    assert!(feasible >= 4, "too few feasible random instances ({feasible})");
    // a tight GAP over several cycles and chains: many improvements, merged
    let m = generate(GapType::D, 60, 6, 3).unwrap().to_model();
    let sol = CqmSaSolver::new(params(5)).solve(&m).unwrap();
    check_trace(&sol, "gap D 60x6");
    assert!(sol.trace.len() >= 2, "{:?}", sol.trace);
    // the first value is what the run held when it first became feasible
    assert!(sol.trace[0].0 >= sol.time_to_feasible_s.unwrap() - 1e-9);
    // more cycles from the same seed: the first cycle's trace is a prefix in values, so the
    // longer run ends at or below the shorter one
    let longer = CqmSaSolver::new(CqmSaParams { cycles: 6, ..params(5) })
        .solve(&m)
        .unwrap();
    check_trace(&longer, "gap D 60x6, 6 cycles");
    assert!(longer.energy <= sol.energy);
    // infeasible: empty
    let text = "Minimize\n obj: x + y\nSubject To\n need3: x + y >= 3\nBinary\n x y\nEnd\n";
    let m = lp::read_str(text, "inf.lp").unwrap();
    let sol = CqmSaSolver::new(params(1)).solve(&m).unwrap();
    check_trace(&sol, "infeasible");
}

#[test]
fn a_tight_gap_is_feasible_after_one_short_cycle_on_any_thread_count() {
    // type D with capacities cut to 90% of the generator's: the greedy pass by cost leaves
    // pools overloaded; cqm-sa with one cycle of one sweep (the start is the regret greedy
    // by reduced cost, repaired, plus the ejection phase) returns a feasible plan, checked
    // by the model's own violation check, and the same one for 1 and 2 threads
    let mut g = generate(GapType::D, 200, 10, 5).unwrap();
    for b in &mut g.b {
        *b = (*b * 0.9).floor();
    }
    let m = g.to_model();
    let a = qam::cqm::ejection::Assign::new(&m, 1 << 20).unwrap();
    let by_cost = a.greedy(m.linear());
    assert!(!m.violations(&by_cost).is_empty(), "the instance is not tight");
    let p = CqmSaParams {
        chains: 2,
        sweeps: 1,
        cycles: 1,
        seed: 3,
        ..Default::default()
    };
    let run = |threads: usize| solve_on_threads(&m, &p, threads);
    let (one, two) = (run(1), run(2));
    assert!(one.feasible, "{:?}", one.violations);
    assert!(m.violations(&one.state).is_empty());
    assert!(one.time_to_feasible_s.is_some());
    assert_eq!(one.state, two.state);
    assert_eq!(one.energy, two.energy);
}
