//! MPI tests (feature `mpi`): real `mpirun` jobs on loopback, each under `timeout`, so a
//! hang fails the test instead of blocking CI. Run by `scripts/test-mpi.sh`.
#![cfg(feature = "mpi")]

use qam::generate::{self, Weights};
use qam::io::write_file;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const QAM: &str = env!("CARGO_BIN_EXE_qam");

/// `timeout 120 mpirun -n ranks [extra] qam args...` with the settings a root CI machine
/// with 2 cores needs.
fn mpirun(ranks: usize, extra: &[&str], args: &[&str]) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.arg("120")
        .arg("mpirun")
        .arg("--oversubscribe")
        .args(["-n", &ranks.to_string()])
        .args(extra)
        .arg(QAM)
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_mpi_yield_when_idle", "1");
    cmd.output().expect("mpirun runs (install openmpi-bin)")
}

fn single(args: &[&str]) -> Output {
    Command::new(QAM).args(args).output().expect("qam runs")
}

/// Result lines without the wall-clock field.
fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).expect("JSON line");
            if let Some(o) = v.as_object_mut() {
                o.remove("elapsed_s");
            }
            v
        })
        .collect()
}

fn instances(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for (k, n) in [300usize, 500, 200, 400].into_iter().enumerate() {
        let p = generate::erdos_renyi(n, 8.0 / n as f64, Weights::PlusMinusOne, k as u64).unwrap();
        let f = dir.join(format!("g{k}.gset"));
        write_file(&f, &p, None).unwrap();
        files.push(f);
    }
    files
}

#[test]
fn batch_over_three_ranks_matches_single_process() {
    let dir = tempfile::tempdir().unwrap();
    let files = instances(dir.path());
    let mut args: Vec<&str> = vec![
        "solve", "--solver", "sa", "--reads", "4", "--sweeps", "200", "--seed", "5", "--output", "json", "-q",
    ];
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    let local = single(&args);
    assert!(local.status.success());
    let mut dargs = args.clone();
    dargs.insert(1, "--distributed");
    for ranks in [3, 2] {
        let out = mpirun(ranks, &[], &dargs);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(lines(&out), lines(&local), "{ranks} ranks");
    }
    // TCP only over loopback, as between separate nodes.
    let tcp = [
        "--mca",
        "btl",
        "tcp,self",
        "--mca",
        "btl_tcp_if_include",
        "lo",
        "--mca",
        "oob_tcp_if_include",
        "lo",
    ];
    let out = mpirun(3, &tcp, &dargs);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(lines(&out), lines(&local));
}

#[test]
fn bad_file_is_reported_and_the_rest_solved() {
    let dir = tempfile::tempdir().unwrap();
    let files = instances(dir.path());
    let bad = dir.path().join("bad.gset");
    std::fs::write(&bad, "3 1\n1 9 1\n").unwrap();
    let (a, b) = (files[0].display().to_string(), bad.display().to_string());
    let out = mpirun(
        3,
        &[],
        &[
            "solve",
            "--distributed",
            "--solver",
            "sa",
            "--output",
            "json",
            "-q",
            &a,
            &b,
        ],
    );
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert!(rows[0].get("energy").is_some());
    assert!(rows[1]["error"].as_str().unwrap().contains("bad.gset:2"), "{}", rows[1]);
}

#[test]
fn panic_on_a_rank_aborts_the_job_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let files = instances(dir.path());
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let mut args: Vec<&str> = vec!["solve", "--distributed", "--solver", "sa", "-q"];
    args.extend(names.iter().map(String::as_str));
    let start = std::time::Instant::now();
    let out = mpirun(3, &["-x", "QAM_MPI_FAIL_RANK=1"], &args);
    let code = out.status.code();
    assert!(
        code != Some(0) && code != Some(124),
        "exit {code:?} (124 = hung until timeout)"
    );
    assert!(start.elapsed().as_secs() < 60);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rank 1 panicked"), "{err}");
}

#[test]
fn decomposed_instance_over_three_ranks_matches_single_process() {
    let dir = tempfile::tempdir().unwrap();
    let p = generate::regular(3000, 3, Weights::PlusMinusOne, 11).unwrap();
    let f = dir.path().join("r3.gset");
    write_file(&f, &p, None).unwrap();
    let name = f.display().to_string();
    let args = [
        "solve",
        "--solver",
        "hierarchical",
        "--cluster-size",
        "300",
        "--rounds",
        "4",
        "--patience",
        "2",
        "--seed",
        "3",
        "--output",
        "json",
        "-q",
        &name,
    ];
    let local = single(&args);
    assert!(local.status.success(), "{}", String::from_utf8_lossy(&local.stderr));
    let mut dargs = args.to_vec();
    dargs.insert(1, "--distributed");
    let out = mpirun(3, &[], &dargs);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (a, b) = (&lines(&local)[0], &lines(&out)[0]);
    assert_eq!(a["energy"], b["energy"]);
    assert_eq!(a["state"], b["state"]);
    assert_eq!(a["rounds"], b["rounds"]);
    assert_eq!(b["ranks"], 3);
    // Every subproblem that the local run gave to `sa` went over MPI instead.
    assert_eq!(a["subproblems"]["sa"], b["subproblems"]["mpi"]);
    assert!(b["subproblems"]["mpi"].as_u64().unwrap() > 0);
}
