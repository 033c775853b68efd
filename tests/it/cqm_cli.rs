//! `qam solve FILE.lp` (cqm-sa), `qam gen --kind gap` and their exit codes, end to end.

use std::process::Command;

fn qam() -> Command {
    Command::new(env!("CARGO_BIN_EXE_qam"))
}

fn json_line(out: &std::process::Output) -> serde_json::Value {
    let s = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(s.lines().next().expect("a line")).unwrap()
}

#[test]
fn gen_gap_then_solve_matches_brute_force() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("g.lp");
    let st = qam()
        .args([
            "gen",
            "--kind",
            "gap",
            "--agents",
            "8",
            "--pools",
            "3",
            "--gap-type",
            "d",
            "--seed",
            "4",
            "--out",
        ])
        .arg(&f)
        .status()
        .unwrap();
    assert!(st.success());
    let m = qam::cqm::lp::read_file(&f).unwrap();
    let (_, opt) = m.brute_force(1e6).unwrap().expect("feasible");
    let out = qam()
        .arg("solve")
        .arg(&f)
        .args(["--output", "json", "--seed", "2", "-q"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_line(&out);
    assert_eq!(v["solver"], "cqm-sa");
    assert_eq!(v["feasible"], true);
    assert_eq!(v["violations"].as_array().unwrap().len(), 0);
    assert_eq!(v["energy"].as_f64().unwrap(), opt);
    assert_eq!(v["objective"].as_f64().unwrap(), opt);
    // --target in the file's sense stops at the optimum
    let out = qam()
        .arg("solve")
        .arg(&f)
        .args([
            "--solver",
            "cqm-sa",
            "--output",
            "json",
            "-q",
            "--time-limit",
            "30",
            "--target",
        ])
        .arg(opt.to_string())
        .output()
        .unwrap();
    let v = json_line(&out);
    assert_eq!(v["stop"], "target");
    assert_eq!(v["objective"].as_f64().unwrap(), opt);
}

#[test]
fn maximise_reports_objective_in_the_file_sense_and_infeasible_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("max.lp");
    std::fs::write(
        &f,
        "Maximize\n obj: 3 x + 2 y + z\nSubject To\n c: x + y + z <= 2\nBinary\n x y z\nEnd\n",
    )
    .unwrap();
    let out = qam()
        .arg("solve")
        .arg(&f)
        .args(["--output", "json", "-q"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v = json_line(&out);
    assert_eq!(v["objective"].as_f64().unwrap(), 5.0);
    assert_eq!(v["energy"].as_f64().unwrap(), -5.0);
    // the anytime trace is in the file's sense: rising objective, ending at the answer
    let trace = v["trace"].as_array().unwrap();
    assert!(!trace.is_empty());
    let pts: Vec<(f64, f64)> = trace
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .collect();
    assert!(pts.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 < w[1].1), "{pts:?}");
    assert_eq!(pts.last().unwrap().1, 5.0);

    let g = dir.path().join("inf.lp");
    std::fs::write(
        &g,
        "Minimize\n obj: x + y\nSubject To\n need3: x + y >= 3\nBinary\n x y\nEnd\n",
    )
    .unwrap();
    let out = qam()
        .arg("solve")
        .arg(&g)
        .args(["--output", "json", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v = json_line(&out);
    assert_eq!(v["feasible"], false);
    assert_eq!(v["trace"].as_array().unwrap().len(), 0);
    let viol = &v["violations"][0];
    assert_eq!(viol["constraint"], "need3");
    assert_eq!(viol["sense"], ">=");
    assert_eq!(viol["amount"].as_f64().unwrap(), 1.0);
}

#[test]
fn malformed_lp_exits_non_zero_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.lp");
    std::fs::write(&f, "Minimize\n obj: x\nSubject To\n c1: x + y <= 1\nBinary\n x\nEnd\n").unwrap();
    let out = qam().arg("solve").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2)); // invalid input, as for every malformed file
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.lp:4:") && err.contains("`y`"), "{err}");
    // An error about the whole file names the file without a line 0.
    let e = dir.path().join("empty.lp");
    std::fs::write(&e, "").unwrap();
    let out = qam().arg("solve").arg(&e).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("empty.lp: no `Minimize`") && !err.contains(":0:"), "{err}");
    // a QUBO solver on an LP file is refused, as is cqm-sa on a QUBO file
    let out = qam().arg("solve").arg(&f).args(["--solver", "sa"]).output().unwrap();
    assert!(!out.status.success());
    let q = dir.path().join("x.qubo");
    std::fs::write(&q, "p qubo 0 2 2 1\n0 0 -1\n1 1 -1\n0 1 2\n").unwrap();
    let out = qam()
        .arg("solve")
        .arg(&q)
        .args(["--solver", "cqm-sa"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("constrained models"));
}
