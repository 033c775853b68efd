//! `qam qaoa --qasm / --qasm3`: the circuit files of the reported angles.

use qam::io::{ReadOptions, read_file};
use qam::qaoa::qasm::{QasmVersion, to_qasm};
use qam::qaoa::{Angles, CostModel};
use serde_json::Value;
use std::process::Command;

#[test]
fn qaoa_writes_openqasm_2_and_3_of_the_final_angles() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sq.gset");
    std::fs::write(&file, "4 4\n1 2 1\n2 3 1\n3 4 1\n4 1 1\n").unwrap();
    let (q2, q3) = (dir.path().join("c2.qasm"), dir.path().join("c3.qasm"));
    let out = Command::new(env!("CARGO_BIN_EXE_qam"))
        .args([
            "qaoa",
            file.to_str().unwrap(),
            "--p",
            "2",
            "--output",
            "json",
            "--quiet",
        ])
        .args(["--qasm", q2.to_str().unwrap(), "--qasm3", q3.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["qasm"], q2.to_str().unwrap());
    let gamma: Vec<f64> = serde_json::from_value(v["gamma"].clone()).unwrap();
    let beta: Vec<f64> = serde_json::from_value(v["beta"].clone()).unwrap();
    // The files hold exactly the library's circuit of the printed angles (which the
    // library's own tests check against the simulator).
    let model = read_file(&file, ReadOptions::default()).unwrap().model;
    let cost = CostModel::new(&model).unwrap();
    let angles = Angles::new(gamma, beta).unwrap();
    let text2 = std::fs::read_to_string(&q2).unwrap();
    assert_eq!(text2, to_qasm(&cost, &angles, QasmVersion::V2).unwrap());
    assert_eq!(text2.matches("rzz(").count(), 2 * 4);
    assert_eq!(text2.matches("measure ").count(), 4);
    let text3 = std::fs::read_to_string(&q3).unwrap();
    assert_eq!(text3, to_qasm(&cost, &angles, QasmVersion::V3).unwrap());
    // No temporary file is left next to the outputs.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn unwritable_qasm_path_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("e.gset");
    std::fs::write(&file, "2 1\n1 2 1\n").unwrap();
    let bad = dir.path().join("no-such-dir").join("c.qasm");
    let out = Command::new(env!("CARGO_BIN_EXE_qam"))
        .args([
            "qaoa",
            file.to_str().unwrap(),
            "--gamma",
            "0.3",
            "--beta",
            "0.2",
            "--quiet",
        ])
        .args(["--qasm", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("c.qasm"), "{err}");
}
