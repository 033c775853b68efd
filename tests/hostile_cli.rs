//! Hostile use of the `qam` binary (issue 17): data loss (failed, killed and self-
//! overwriting runs, full disks, refusing to overwrite), closed pipes, panics on extreme
//! numbers, exit codes.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn qam() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qam"));
    c.env("NO_COLOR", "1");
    c
}

fn run(args: &[&str]) -> Output {
    qam().args(args).output().expect("run qam")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Starts `args` with stdout/stderr discarded, lets it run `wait`, checks it is still
/// running, then kills it with SIGKILL (`kill -9`).
fn kill_after(args: &[&str], wait: Duration) {
    let mut child = qam()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while t.elapsed() < wait {
        assert!(
            child.try_wait().unwrap().is_none(),
            "qam {args:?} ended before the kill"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
}

#[test]
fn kill_9_during_solve_out_keeps_the_previous_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results.txt");
    std::fs::write(&out, "previous results\n").unwrap();
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/er1000.gset");
    kill_after(
        &[
            "solve",
            p(&input),
            "--solver",
            "sa",
            "--sweeps",
            "1000000000",
            "--time-limit",
            "120",
            "--quiet",
            "--out",
            p(&out),
        ],
        Duration::from_millis(1500),
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous results\n");
}

#[test]
fn kill_9_during_orchestrate_out_keeps_the_previous_plan() {
    let dir = tempfile::tempdir().unwrap();
    let scen = dir.path().join("s.json");
    let plan = dir.path().join("plan.json");
    let o = run(&[
        "gen-scenario",
        "--agents",
        "400",
        "--pools",
        "8",
        "--tasks",
        "20",
        "--seed",
        "1",
        "--out",
        p(&scen),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(&plan, "{\"previous\": true}").unwrap();
    kill_after(
        &["orchestrate", p(&scen), "--sweeps", "10000000", "--out", p(&plan)],
        Duration::from_millis(1500),
    );
    assert_eq!(std::fs::read_to_string(&plan).unwrap(), "{\"previous\": true}");
}

#[test]
fn failed_and_self_overwriting_runs_keep_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results.txt");
    std::fs::write(&out, "old\n").unwrap();
    // A missing input: exit 2 (invalid input), the output untouched.
    let o = run(&["solve", p(&dir.path().join("missing.qubo")), "--out", p(&out)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old\n");
    // --out naming the input is refused before anything is read or written.
    let model = dir.path().join("m.qubo");
    let text = "p qubo 0 2 1 1\n0 0 -1\n0 1 2\n";
    std::fs::write(&model, text).unwrap();
    let alias = dir.path().join(".").join("m.qubo");
    let o = run(&["solve", p(&model), "--out", p(&alias)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("also an input"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&model).unwrap(), text);
    let o = run(&["convert", p(&model), p(&alias), "--to", "json"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&model).unwrap(), text);
    // A successful run replaces the file, leaving no temporary file behind.
    let o = run(&["solve", p(&model), "--out", p(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&out).unwrap().contains("energy"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[cfg(target_os = "linux")]
#[test]
fn full_disk_names_the_path_and_fails_with_1() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/small24.qubo");
    let o = run(&["solve", p(&model), "--solver", "greedy", "--out", "/dev/full"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("/dev/full"), "{}", stderr(&o));
}

#[test]
fn gen_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.gset");
    let side = dir.path().join("t.gset.planted.json");
    let args = [
        "gen",
        "--kind",
        "planted-ferro",
        "--n",
        "20",
        "--seed",
        "1",
        "--out",
        p(&out),
    ];
    assert!(run(&args).status.success());
    let (a, b) = (std::fs::read(&out).unwrap(), std::fs::read(&side).unwrap());
    // The sidecar alone blocks too.
    std::fs::remove_file(&out).unwrap();
    let o = run(&[
        "gen",
        "--kind",
        "planted-ferro",
        "--n",
        "20",
        "--seed",
        "2",
        "--out",
        p(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("planted.json") && stderr(&o).contains("--force"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "nothing written when refused");
    assert_eq!(std::fs::read(&side).unwrap(), b);
    let mut forced = args.to_vec();
    forced.push("--force");
    assert!(run(&forced).status.success());
    assert_eq!(std::fs::read(&out).unwrap(), a);
}

/// A closed stdout pipe ends the process quietly (SIGPIPE or a normal exit), never with a
/// panic message.
#[test]
fn closed_stdout_pipe_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let scen = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/scenario_small.json");
    let svg = dir.path().join("s.svg");
    for args in [
        vec!["orchestrate", p(&scen)],
        vec![
            "scale-test",
            "--agents",
            "20,40",
            "--pools",
            "4",
            "--tasks",
            "5",
            "--svg",
            p(&svg),
        ],
        vec!["info", "examples/data/er1000.gset"],
    ] {
        let mut child = qam()
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader goes away at once
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert!(
                out.status.success() || out.status.signal() == Some(13),
                "{args:?}: {:?} {err}",
                out.status
            );
        }
    }
}
