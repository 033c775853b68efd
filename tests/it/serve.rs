//! `qam serve` end to end: the real binary on 127.0.0.1 (ephemeral port), a minimal
//! HTTP/1.1 client over std's TcpStream. Every wait is bounded in count and time.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const QAM: &str = env!("CARGO_BIN_EXE_qam");

/// A running `qam serve`; killed (SIGKILL) on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(dir: &Path, args: &[&str]) -> Server {
        Server::start_env(dir, args, &[])
    }

    fn start_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(QAM);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start qam serve");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server printed its address");
        let addr = line
            .trim()
            .rsplit("http://")
            .next()
            .expect("address in the first line")
            .to_string();
        assert!(addr.starts_with("127.0.0.1:"), "{line}");
        Server { child, addr }
    }

    /// SIGKILL, like `kill -9`.
    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
        http(&self.addr, method, path, headers, body)
    }

    fn json(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let (code, text) = self.req(method, path, &[], body.to_string().as_bytes());
        (code, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    fn get(&self, path: &str) -> (u16, Value) {
        let (code, text) = self.req("GET", path, &[], b"");
        (code, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    fn submit(&self, body: &Value) -> String {
        let (code, v) = self.json("POST", "/v1/jobs", body);
        assert_eq!(code, 202, "{v}");
        v["id"].as_str().unwrap().to_string()
    }

    /// Polls until the job leaves queued/running (at most ~`secs` seconds).
    fn wait_end(&self, id: &str, secs: u64) -> Value {
        for _ in 0..secs * 20 {
            let (code, v) = self.get(&format!("/v1/jobs/{id}"));
            assert_eq!(code, 200, "{v}");
            if !matches!(v["status"].as_str(), Some("queued" | "running")) {
                return v;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("job {id} did not end within {secs} s");
    }

    fn wait_status(&self, id: &str, status: &str, secs: u64) -> Value {
        for _ in 0..secs * 20 {
            let (_, v) = self.get(&format!("/v1/jobs/{id}"));
            if v["status"] == status {
                return v;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("job {id} never reached {status} within {secs} s");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns status and (de-chunked) body.
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        head += "Content-Type: application/json\r\n";
    }
    for (k, v) in headers {
        head += &format!("{k}: {v}\r\n");
    }
    head += "\r\n";
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) before reading a large body; ignore a reset here.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    (code, if chunked { dechunk(rest) } else { rest.to_string() })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out += &rest[..n];
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn ring(n: usize) -> String {
    let mut s = format!("{n} {n}\n");
    for i in 1..=n {
        s += &format!("{i} {} 1\n", i % n + 1);
    }
    s
}

/// A job that runs until cancelled or `secs` pass (tempering on a small ring).
fn long_job(secs: f64) -> Value {
    json!({"format": "gset", "data": ring(24), "solver": "pt",
           "params": {"sweeps": 2_000_000_000u64, "replicas": 8, "seed": 3}, "time_limit": secs})
}

fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn submit_poll_result_matches_the_cli_then_sse_and_metrics() {
    let dir = data_dir();
    let srv = Server::start(dir.path(), &["--workers", "2"]);
    assert_eq!(srv.req("GET", "/healthz", &[], b"").0, 200);
    let text = std::fs::read_to_string("tests/data/rr3_n16_s1.gset").unwrap();
    let id = srv.submit(
        &json!({"format": "gset", "data": text, "name": "rr3_n16_s1.gset", "solver": "sa",
                                "params": {"reads": 4, "sweeps": 200, "seed": 7}}),
    );
    let job = srv.wait_end(&id, 60);
    assert_eq!(job["status"], "done", "{job}");
    let result = &job["result"];
    // The same fields as `qam solve --output json` prints for the same file and flags.
    let out = Command::new(QAM)
        .args([
            "solve",
            "tests/data/rr3_n16_s1.gset",
            "--solver",
            "sa",
            "--reads",
            "4",
            "--sweeps",
            "200",
        ])
        .args(["--seed", "7", "--output", "json", "--quiet"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(result), keys(&cli));
    for k in [
        "energy",
        "state",
        "cut",
        "solver",
        "params",
        "num_reads",
        "mean_energy",
        "seed",
    ] {
        assert_eq!(result[k], cli[k], "{k}");
    }
    assert_eq!(result["file"], "rr3_n16_s1.gset");

    // Events of a running job: progress with the best energy, then the end.
    let id = srv.submit(&long_job(1.5));
    let (code, events) = srv.req("GET", &format!("/v1/jobs/{id}/events"), &[], b"");
    assert_eq!(code, 200);
    let datas: Vec<(String, Value)> = events
        .split("\n\n")
        .filter_map(|block| {
            let ev = block.lines().find_map(|l| l.strip_prefix("event:"))?.trim().to_string();
            let data = block.lines().find_map(|l| l.strip_prefix("data:"))?.trim();
            Some((ev, serde_json::from_str(data).unwrap()))
        })
        .collect();
    let (last_ev, last) = datas.last().expect("events");
    assert_eq!(last_ev, "end");
    assert_eq!(last["status"], "done");
    let bests: Vec<f64> = datas
        .iter()
        .filter(|(e, _)| e == "progress")
        .filter_map(|(_, d)| d["progress"]["best_energy"].as_f64())
        .collect();
    assert!(!bests.is_empty(), "no best energy in {events}");
    assert!(bests.windows(2).all(|w| w[1] <= w[0]), "best energy went up: {bests:?}");
    // A ring of 24 (even) has a perfect cut: energy -24, never below.
    assert!(last["energy"].as_f64().unwrap() >= -24.0);

    let (code, metrics) = srv.req("GET", "/metrics", &[], b"");
    assert_eq!(code, 200);
    assert!(metrics.contains("qam_jobs_total{status=\"done\"} 2"), "{metrics}");
    assert!(metrics.contains("qam_job_duration_seconds_count 2"), "{metrics}");
    assert!(metrics.contains("qam_queue_depth 0"), "{metrics}");
    let flips: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("qam_flip_attempts_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(flips >= 4 * 200 * 16, "{flips}");

    // The list pages, newest first.
    let (_, page) = srv.get("/v1/jobs?limit=1");
    assert_eq!(page["jobs"][0]["id"], id);
    let cursor = page["next_cursor"].as_i64().unwrap();
    let (_, page2) = srv.get(&format!("/v1/jobs?limit=1&cursor={cursor}"));
    assert_eq!(page2["jobs"].as_array().unwrap().len(), 1);
    assert_ne!(page2["jobs"][0]["id"], id);
    let (_, page3) = srv.get(&format!("/v1/jobs?limit=5&cursor={}", page2["next_cursor"]));
    assert!(page3["jobs"].as_array().unwrap().is_empty());
    assert!(page3["next_cursor"].is_null());

    // The dashboard page is served without a build step.
    let (code, html) = srv.req("GET", "/", &[], b"");
    assert_eq!(code, 200);
    assert!(html.contains("/v1/jobs") && !html.contains("http://") && !html.contains("https://"));
}

#[test]
fn cancel_stops_a_running_solver_and_keeps_its_best_state() {
    let dir = data_dir();
    let srv = Server::start(dir.path(), &["--workers", "1"]);
    let id = srv.submit(&long_job(300.0));
    let queued = srv.submit(&long_job(300.0));
    srv.wait_status(&id, "running", 30);
    let (code, v) = srv.json("DELETE", &format!("/v1/jobs/{queued}"), &json!(null));
    assert_eq!((code, v["status"].as_str()), (200, Some("cancelled")), "{v}");
    let (code, _) = srv.json("DELETE", &format!("/v1/jobs/{id}"), &json!(null));
    assert_eq!(code, 202);
    let job = srv.wait_end(&id, 60);
    assert_eq!(job["status"], "cancelled", "{job}");
    let r = &job["result"];
    let e = r["energy"].as_f64().expect("best state so far");
    assert_eq!(r["state"].as_array().unwrap().len(), 24);
    assert!((-24.0..=24.0).contains(&e));
    assert_eq!(r["stop_reason"], "interrupted", "{r}");
    assert_eq!(srv.get(&format!("/v1/jobs/{queued}")).1["status"], "cancelled");
    // Ended jobs cannot be cancelled again; unknown ids are 404.
    assert_eq!(srv.json("DELETE", &format!("/v1/jobs/{id}"), &json!(null)).0, 409);
    assert_eq!(srv.get("/v1/jobs/nope").0, 404);
    let (_, metrics) = srv.req("GET", "/metrics", &[], b"");
    assert!(metrics.contains("qam_jobs_total{status=\"cancelled\"} 2"), "{metrics}");
}

#[test]
fn token_limits_and_malformed_models_are_answered_with_the_right_4xx() {
    let dir = data_dir();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let srv = Server::start(
        dir.path(),
        &[
            "--token-file",
            token.to_str().unwrap(),
            "--workers",
            "1",
            "--max-body-bytes",
            "4096",
            "--max-variables",
            "100",
            "--max-time-limit",
            "600",
            "--max-queue",
            "1",
        ],
    );
    let auth = [("Authorization", "Bearer s3cret-token")];
    let small = json!({"format": "gset", "data": ring(8), "solver": "sa", "params": {"sweeps": 10}}).to_string();
    let post = |headers: &[(&str, &str)], body: &str| srv.req("POST", "/v1/jobs", headers, body.as_bytes());
    assert_eq!(post(&[], &small).0, 401);
    assert_eq!(post(&[("Authorization", "Bearer wrong-token!")], &small).0, 401);
    assert_eq!(srv.req("GET", "/metrics", &[], b"").0, 401);
    assert_eq!(srv.req("GET", "/healthz", &[], b"").0, 200);
    let (code, body) = post(&auth, &small);
    assert_eq!(code, 202, "{body}");
    let small_id = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let status_of = |id: &str| {
        let (_, v) = srv.req("GET", &format!("/v1/jobs/{id}"), &auth, b"");
        serde_json::from_str::<Value>(&v).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for _ in 0..1200 {
        if status_of(&small_id) == "done" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(status_of(&small_id), "done");

    let big = json!({"format": "gset", "data": ring(1000)}).to_string();
    let (code, body) = post(&auth, &big);
    assert_eq!(code, 413, "{body}");
    assert!(body.contains("max-body-bytes"), "{body}");

    let (code, body) = post(&auth, &json!({"format": "gset", "data": ring(101)}).to_string());
    assert_eq!(code, 422);
    assert!(body.contains("max-variables") && body.contains("101"), "{body}");

    let (code, body) = post(
        &auth,
        &json!({"format": "gset", "data": ring(8), "time_limit": 601}).to_string(),
    );
    assert_eq!(code, 422);
    assert!(body.contains("max-time-limit"), "{body}");

    let (code, body) = post(
        &auth,
        &json!({"format": "gset", "data": "3 2\n1 2 1\n2 x 1\n", "name": "bad.gset"}).to_string(),
    );
    assert_eq!(code, 422);
    assert!(body.contains("bad.gset:3:"), "{body}");
    assert_eq!(post(&auth, "{not json").0, 400);
    let (code, body) = post(&auth, &json!({"data": ring(4), "params": {"sweepz": 1}}).to_string());
    assert_eq!(code, 422);
    assert!(body.contains("sweepz"), "{body}");
    // The server never opens a path a client names: a name is only a label.
    let (code, body) = post(&auth, &json!({"name": "/etc/passwd", "data": ""}).to_string());
    assert_eq!(code, 422, "{body}");

    // Overload: one running, one queued (max-queue 1), the next is 429.
    let long = long_job(300.0).to_string();
    let (code, running) = post(&auth, &long);
    assert_eq!(code, 202, "{running}");
    let running: Value = serde_json::from_str(&running).unwrap();
    let running = running["id"].as_str().unwrap().to_string();
    for _ in 0..1200 {
        if status_of(&running) == "running" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(status_of(&running), "running");
    let (code, queued) = post(&auth, &long);
    assert_eq!(code, 202, "{queued}");
    let (code, body) = post(&auth, &long);
    assert_eq!(code, 429, "{body}");
    assert!(body.contains("max-queue"), "{body}");
    let queued: Value = serde_json::from_str(&queued).unwrap();
    for id in [queued["id"].as_str().unwrap(), &running] {
        let (code, _) = srv.req("DELETE", &format!("/v1/jobs/{id}"), &auth, b"");
        assert!(code == 200 || code == 202);
    }
}

#[test]
fn idempotency_key_returns_the_same_job() {
    let dir = data_dir();
    let srv = Server::start(dir.path(), &[]);
    let body = json!({"format": "gset", "data": ring(6), "solver": "greedy"}).to_string();
    let key = [("Idempotency-Key", "client-42")];
    let (c1, a) = srv.req("POST", "/v1/jobs", &key, body.as_bytes());
    let (c2, b) = srv.req("POST", "/v1/jobs", &key, body.as_bytes());
    assert_eq!((c1, c2), (202, 202));
    let (a, b): (Value, Value) = (serde_json::from_str(&a).unwrap(), serde_json::from_str(&b).unwrap());
    assert_eq!(a["id"], b["id"]);
    assert_eq!(b["replayed"], true);
    let other = json!({"format": "gset", "data": ring(8)}).to_string();
    let (c3, msg) = srv.req("POST", "/v1/jobs", &key, other.as_bytes());
    assert_eq!(c3, 422, "{msg}");
    assert!(msg.contains("Idempotency-Key"));
    let (_, page) = srv.get("/v1/jobs");
    assert_eq!(page["jobs"].as_array().unwrap().len(), 1);
    srv.wait_end(a["id"].as_str().unwrap(), 60);
}

#[test]
fn kill_9_during_a_run_then_restart_ends_every_accepted_job_exactly_once() {
    let dir = data_dir();
    let srv = Server::start(dir.path(), &["--workers", "1"]);
    let first = srv.submit(&long_job(1.0));
    let mut ids = vec![first.clone()];
    for seed in 0..5 {
        ids.push(srv.submit(&json!({"format": "gset", "data": ring(10), "solver": "sa",
                                    "params": {"sweeps": 50, "seed": seed}})));
    }
    srv.wait_status(&first, "running", 30);
    srv.kill9();
    let srv = Server::start(dir.path(), &["--workers", "1"]);
    for id in &ids {
        let job = srv.wait_end(id, 120);
        assert_eq!(job["status"], "done", "{job}");
        assert!(job["result"]["energy"].is_number());
    }
    assert_eq!(srv.get(&format!("/v1/jobs/{first}")).1["attempts"], 2);
    let (_, page) = srv.get("/v1/jobs?limit=100");
    let jobs = page["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), ids.len());
    assert!(jobs.iter().all(|j| j["status"] == "done"));
    // This run ended each job once: the counters add up to what was re-queued.
    let (_, metrics) = srv.req("GET", "/metrics", &[], b"");
    assert!(
        metrics.contains(&format!("qam_jobs_total{{status=\"done\"}} {}", ids.len())),
        "{metrics}"
    );
}

#[test]
fn a_gpu_job_without_a_device_falls_back_to_the_cpu_twin() {
    let dir = data_dir();
    let srv = Server::start_env(dir.path(), &[], &[("QAM_ADAPTER", "no-such-adapter-xyz")]);
    let id = srv.submit(&json!({"format": "gset", "data": ring(12), "solver": "gpu-sa",
                                "params": {"reads": 4, "sweeps": 100}}));
    let job = srv.wait_end(&id, 60);
    assert_eq!(job["status"], "done", "{job}");
    let r = &job["result"];
    assert_eq!(r["fallback"], "cpu");
    assert_eq!(r["solver"], "sa");
    assert!(r["fallback_reason"].as_str().is_some_and(|s| !s.is_empty()));
    // The same answer as the CPU twin from the CLI with the same parameters.
    let file = dir.path().join("ring12.gset");
    std::fs::write(&file, ring(12)).unwrap();
    let out = Command::new(QAM)
        .arg("solve")
        .arg(&file)
        .args([
            "--solver", "sa", "--reads", "4", "--sweeps", "100", "--output", "json", "--quiet",
        ])
        .output()
        .unwrap();
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["energy"], cli["energy"]);
    assert_eq!(r["state"], cli["state"]);
}

/// A sparse random graph (G-set format), deterministic.
fn graph(n: usize, degree: usize, seed: u64) -> String {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut edges = std::collections::BTreeSet::new();
    for i in 0..n {
        for _ in 0..degree / 2 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = (x >> 33) as usize % n;
            if j != i {
                edges.insert((i.min(j), i.max(j)));
            }
        }
    }
    let mut s = format!("{n} {}\n", edges.len());
    for (a, b) in edges {
        s += &format!("{} {} 1\n", a + 1, b + 1);
    }
    s
}

#[test]
fn a_hierarchical_job_killed_mid_run_resumes_from_its_checkpoint() {
    let dir = data_dir();
    let srv = Server::start(dir.path(), &["--workers", "1"]);
    let text = graph(3000, 6, 1);
    let id = srv.submit(
        &json!({"format": "gset", "data": text, "solver": "hierarchical", "time_limit": 4,
                                "params": {"cluster-size": 60, "sub-sweeps": 50, "seed": 5}}),
    );
    // Read the journal's checkpoint column directly (WAL allows a concurrent reader).
    let db = dir.path().join("jobs.sqlite3");
    let mut saved = None;
    for _ in 0..1200 {
        let conn = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let cp: Option<String> = conn
            .query_row("SELECT checkpoint FROM jobs WHERE id = ?1", [&id], |r| r.get(0))
            .unwrap_or(None);
        if let Some(cp) = cp {
            saved = Some(serde_json::from_str::<Value>(&cp).unwrap());
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let saved = saved.expect("a checkpoint within 60 s");
    srv.kill9();
    let srv = Server::start(dir.path(), &["--workers", "1"]);
    let job = srv.wait_end(&id, 120);
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["attempts"], 2);
    let r = &job["result"];
    assert!(r["resumed_from_round"].as_u64().unwrap() >= saved["round"].as_u64().unwrap());
    // The energy of the saved state, from the spins (+1 / -1 of the Ising model).
    let p = qam::io::read_bytes(text.as_bytes(), "g.gset", Default::default()).unwrap();
    let spins = qam::solvers::checkpoint::spins_from_text(saved["spins"].as_str().unwrap(), 3000).unwrap();
    let e_saved = p.model.energy(&qam::model::spins_as(p.model.vartype(), &spins));
    assert!(
        r["energy"].as_f64().unwrap() <= e_saved + 1e-9,
        "{} > {e_saved}",
        r["energy"]
    );
}

#[test]
fn a_plan_job_returns_the_plan_qam_orchestrate_writes() {
    let dir = data_dir();
    let scen = dir.path().join("s.json");
    let plan_file = dir.path().join("plan.json");
    let ok = Command::new(QAM)
        .args([
            "gen-scenario",
            "--agents",
            "40",
            "--pools",
            "4",
            "--tasks",
            "10",
            "--seed",
            "3",
            "--out",
        ])
        .arg(&scen)
        .status()
        .unwrap();
    assert!(ok.success());
    let scenario: Value = serde_json::from_str(&std::fs::read_to_string(&scen).unwrap()).unwrap();
    let srv = Server::start(dir.path().join("data").as_path(), &[]);
    let (code, v) = srv.json(
        "POST",
        "/v1/plans",
        &json!({"scenario": scenario, "params": {"backend": "sa", "seed": 1}}),
    );
    assert_eq!(code, 202, "{v}");
    let job = srv.wait_end(v["id"].as_str().unwrap(), 120);
    assert_eq!(job["status"], "done", "{job}");
    let out = Command::new(QAM)
        .arg("orchestrate")
        .arg(&scen)
        .args(["--sub-solver", "sa", "--seed", "1", "--out"])
        .arg(&plan_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cli: Value = serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    let r = &job["result"];
    assert_eq!(r["metrics"]["objective"], cli["metrics"]["objective"]);
    assert_eq!(r["metrics"]["violations"], cli["metrics"]["violations"]);
    // A broken scenario is a 422 naming what is wrong; an unknown backend too.
    let (code, v) = srv.json("POST", "/v1/plans", &json!({"scenario": {"agents": 3}}));
    assert_eq!(code, 422, "{v}");
    let (code, v) = srv.json(
        "POST",
        "/v1/plans",
        &json!({"scenario": scenario, "params": {"backend": "quantum"}}),
    );
    assert_eq!(code, 422);
    assert!(v["error"].as_str().unwrap().contains("quantum"), "{v}");
}

/// Constrained models go to `cqm-sa` (`"format": "lp"`): the result has the keys `qam
/// solve FILE.lp` prints and the brute-force optimum of a tiny model; a malformed LP file
/// is a 422 naming the line; a QUBO solver for an LP model is refused.
#[test]
fn an_lp_job_is_solved_by_the_constrained_annealer() {
    let dir = data_dir();
    let srv = Server::start(dir.path(), &[]);
    // Pick one of x, y, z (one-hot) and minimise 3x + 2y + 4z + w with x + w <= 1: y.
    let lp = "Minimize\n obj: 3 x + 2 y + 4 z + w\nSubject To\n pick: x + y + z = 1\n cap: x + w <= 1\nBinary\n x y z w\nEnd\n";
    let id = srv.submit(&json!({"format": "lp", "data": lp, "params": {"seed": 1, "reads": 2, "sweeps": 50}}));
    let job = srv.wait_end(&id, 60);
    assert_eq!(job["status"], "done", "{job}");
    let r = &job["result"];
    assert_eq!(r["solver"], "cqm-sa", "{r}");
    assert_eq!(r["feasible"], true, "{r}");
    assert_eq!(r["objective"].as_f64(), Some(2.0), "{r}");
    assert_eq!(r["violations"].as_array().map(Vec::len), Some(0), "{r}");
    let bad = "Minimize\n obj: x + y\nSubject To\n c1: x + q <= 1\nBinary\n x y\nEnd\n";
    let (code, v) = srv.json("POST", "/v1/jobs", &json!({"format": "lp", "data": bad}));
    assert_eq!(code, 422, "{v}");
    assert!(v.to_string().contains(":4"), "the line of the undefined variable: {v}");
    let (code, v) = srv.json("POST", "/v1/jobs", &json!({"format": "lp", "data": lp, "solver": "sa"}));
    assert_eq!(code, 422, "{v}");
}

/// `"solver": "gpu-cqm-sa"` runs an LP job on the device (lavapipe here): the brute-force
/// optimum, `device` named, and the same answer as `qam solve F.lp --solver gpu-cqm-sa` with
/// the same parameters; without a device it re-runs on `cqm-sa` with `"fallback": "cpu"`
/// and gives the CLI's `cqm-sa` answer.
#[test]
fn an_lp_job_runs_on_the_gpu_and_falls_back_to_cqm_sa_without_a_device() {
    let lp = "Minimize\n obj: 3 x + 2 y + 4 z + w\nSubject To\n pick: x + y + z = 1\n cap: x + w <= 1\nBinary\n x y z w\nEnd\n";
    let dir = data_dir();
    let file = dir.path().join("tiny.lp");
    std::fs::write(&file, lp).unwrap();
    let cli = |solver: &str| -> Value {
        let out = Command::new(QAM)
            .arg("solve")
            .arg(&file)
            .args([
                "--solver", solver, "--seed", "1", "--reads", "2", "--sweeps", "50", "--output", "json", "--quiet",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let body = json!({"format": "lp", "data": lp, "solver": "gpu-cqm-sa",
                      "params": {"seed": 1, "reads": 2, "sweeps": 50}});
    let srv = Server::start(dir.path(), &[]);
    let job = srv.wait_end(&srv.submit(&body), 120);
    assert_eq!(job["status"], "done", "{job}");
    let r = &job["result"];
    assert_eq!(r["solver"], "gpu-cqm-sa", "{r}");
    assert!(r["device"].as_str().is_some_and(|d| !d.is_empty()), "{r}");
    assert!(r.get("fallback").is_none(), "{r}");
    assert_eq!(r["feasible"], true, "{r}");
    assert_eq!(r["objective"].as_f64(), Some(2.0), "{r}");
    let c = cli("gpu-cqm-sa");
    assert_eq!(r["state"], c["state"], "{r} vs {c}");
    let dir2 = data_dir();
    let srv = Server::start_env(dir2.path(), &[], &[("QAM_ADAPTER", "no-such-adapter-xyz")]);
    let job = srv.wait_end(&srv.submit(&body), 120);
    assert_eq!(job["status"], "done", "{job}");
    let r = &job["result"];
    assert_eq!(r["solver"], "cqm-sa", "{r}");
    assert_eq!(r["fallback"], "cpu", "{r}");
    assert!(r["fallback_reason"].as_str().is_some_and(|s| !s.is_empty()), "{r}");
    let c = cli("cqm-sa");
    assert_eq!(r["state"], c["state"], "{r} vs {c}");
    assert_eq!(r["objective"], c["objective"], "{r} vs {c}");
}

/// `DELETE` of a running plan job and of a running LP job (both with a 60 s budget) stops
/// them promptly: each ends `cancelled` with its best answer so far (a complete plan, a
/// feasible assignment) and the stop reason `interrupted`. The 30 s bound can only fail
/// when the interrupt is ignored.
#[test]
fn delete_stops_a_running_plan_job_and_a_running_lp_job_with_their_best_so_far() {
    let dir = data_dir();
    let srv = Server::start(dir.path(), &["--workers", "2"]);
    let scenario = serde_json::to_value(qam::orchestrate::generate(&qam::orchestrate::GenParams {
        agents: 100,
        pools: 5,
        tasks: 20,
        seed: 3,
        ..Default::default()
    }))
    .unwrap();
    let (code, v) = srv.json(
        "POST",
        "/v1/plans",
        &json!({"scenario": scenario, "time_limit": 60, "params": {"backend": "sa"}}),
    );
    assert_eq!(code, 202, "{v}");
    let plan_id = v["id"].as_str().unwrap().to_string();
    let gap = qam::cqm::gap::generate(qam::cqm::gap::GapType::C, 20, 4, 1)
        .unwrap()
        .to_model();
    let lp = qam::cqm::lp::write_string(&gap).unwrap();
    let lp_id = srv.submit(&json!({"format": "lp", "data": lp, "time_limit": 60, "params": {"reads": 2}}));
    srv.wait_status(&plan_id, "running", 30);
    srv.wait_status(&lp_id, "running", 30);
    std::thread::sleep(Duration::from_millis(500));
    let t0 = std::time::Instant::now();
    for id in [&plan_id, &lp_id] {
        let (code, v) = srv.json("DELETE", &format!("/v1/jobs/{id}"), &json!(null));
        assert_eq!(code, 202, "{v}");
    }
    let plan = srv.wait_end(&plan_id, 30);
    let job = srv.wait_end(&lp_id, 30);
    assert!(t0.elapsed().as_secs_f64() < 30.0);
    assert_eq!(plan["status"], "cancelled", "{plan}");
    let p = &plan["result"];
    assert_eq!(p["stop_reason"], "interrupted", "{p}");
    assert_eq!(p["placements"].as_array().unwrap().len(), 100);
    assert!(
        p["placements"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["pool"].is_string())
    );
    assert_eq!(p["schedule"].as_array().unwrap().len(), 20);
    assert_eq!(p["violations"].as_array().map(Vec::len), Some(0), "{p}");
    assert_eq!(job["status"], "cancelled", "{job}");
    let r = &job["result"];
    assert_eq!(r["stop"], "interrupted", "{r}");
    assert_eq!(r["feasible"], true, "{r}");
    // The reported objective is the model's at the reported state.
    let state: Vec<u8> = r["state"]
        .as_array()
        .expect("the best state")
        .iter()
        .map(|x| x.as_u64().unwrap() as u8)
        .collect();
    assert!(gap.is_feasible(&state));
    assert!((gap.objective(&state) - r["objective"].as_f64().unwrap()).abs() < 1e-6);
}

/// A job with an 8 s budget killed (`kill -9`) about 3 s into its run is restarted with
/// only the time it had left: its result records the time spent before (from the
/// journal's heartbeats) and the limit it ran under, and the restarted run ends well
/// before a full 8 s.
#[test]
fn a_job_restarted_after_kill_9_gets_only_the_time_it_had_left() {
    let dir = data_dir();
    let srv = Server::start(dir.path(), &["--workers", "1"]);
    let id = srv.submit(&long_job(8.0));
    srv.wait_status(&id, "running", 30);
    std::thread::sleep(Duration::from_secs(3));
    srv.kill9();
    let srv = Server::start(dir.path(), &["--workers", "1"]);
    let job = srv.wait_end(&id, 60);
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["attempts"], 2);
    let r = &job["result"];
    let spent = r["time_spent_before_s"].as_f64().expect("time spent recorded");
    let left = r["time_limit_left_s"].as_f64().expect("time left recorded");
    assert!((2.0..8.0).contains(&spent), "spent {spent}");
    assert!((left - (8.0 - spent)).abs() < 1e-9, "left {left}, spent {spent}");
    let ran = r["elapsed_s"].as_f64().unwrap();
    assert!(ran < 7.5, "the restarted run took {ran} s: it got its full time again");
}

#[test]
fn threads_sets_the_pool_jobs_run_on_and_keeps_the_answer() {
    let text = std::fs::read_to_string("tests/data/rr3_n16_s1.gset").unwrap();
    let job = json!({"format": "gset", "data": text, "name": "rr3_n16_s1.gset", "solver": "sa",
                     "params": {"reads": 6, "sweeps": 200, "seed": 3}});
    let mut results = Vec::new();
    for t in ["1", "2"] {
        let dir = data_dir();
        let srv = Server::start(dir.path(), &["--threads", t]);
        let id = srv.submit(&job);
        let done = srv.wait_end(&id, 60);
        assert_eq!(done["status"], "done", "{done}");
        assert_eq!(done["result"]["threads"].as_u64(), Some(t.parse().unwrap()), "{done}");
        results.push(done["result"].clone());
    }
    assert_eq!(results[0]["state"], results[1]["state"]);
    assert_eq!(results[0]["mean_energy"], results[1]["mean_energy"]);
    // An absurd count is refused before the server starts, naming the flag.
    let dir = data_dir();
    let out = Command::new(QAM)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--threads",
            "100000000",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--threads"));
}
