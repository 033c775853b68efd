//! Choosing GPU adapters: by index or name (library and `--device` / `QAM_ADAPTER`), the
//! MPI local rank -> adapter mapping, `gpu-sa --devices all`, and `auto` deciding without
//! opening a device for tiny problems.

use crate::common;

use qam::gpu::{AdapterSelector, GpuContext, GpuError, GpuOptions, enumerate_adapters, rank_adapters};
use qam::model::Model;
use qam::solvers::{GpuSaParams, GpuSaSolver, MultiGpuSaSolver, SaParams, Solver};
use std::process::{Command, Output};
use std::sync::Arc;

fn qam(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qam"));
    c.args(args);
    for var in [
        "QAM_ADAPTER",
        "OMPI_COMM_WORLD_LOCAL_RANK",
        "MPI_LOCALRANKID",
        "SLURM_LOCALID",
        "PMIX_LOCAL_RANK",
    ] {
        c.env_remove(var);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("qam runs")
}

fn json_line(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no output; stderr: {}", String::from_utf8_lossy(&out.stderr)));
    serde_json::from_str(line).unwrap()
}

fn model() -> Model {
    common::seeded_qubo(48, 0.2, 1.0, 5)
}

/// Every listed adapter opens by its index and reports that index and name.
#[test]
fn adapters_open_by_index_and_name() {
    if common::gpu().is_none() {
        return;
    }
    let all = enumerate_adapters();
    assert!(!all.is_empty());
    for (i, a) in all.iter().enumerate() {
        assert_eq!(a.index, i);
        let ctx = GpuContext::new(&GpuOptions {
            adapter: Some(AdapterSelector::Index(i)),
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("adapter {i} ({}) does not open: {e}", a.name));
        assert_eq!(ctx.index(), i);
        assert_eq!(ctx.name(), a.name);
        assert_eq!(ctx.summary().backend, a.backend);
    }
    let by_name = GpuContext::new(&GpuOptions {
        adapter: AdapterSelector::parse(&all[0].name[..4].to_uppercase()),
        ..Default::default()
    })
    .unwrap();
    assert!(by_name.name().to_lowercase().contains(&all[0].name[..4].to_lowercase()));
    match GpuContext::new(&GpuOptions {
        adapter: Some(AdapterSelector::Index(all.len() + 5)),
        ..Default::default()
    }) {
        Err(GpuError::NoSuchAdapter { wanted, adapters }) => {
            assert!(wanted.contains(&(all.len() + 5).to_string()));
            assert!(adapters.contains("0: "), "{adapters}");
        }
        other => panic!("expected NoSuchAdapter, got {other:?}"),
    }
}

#[test]
fn selector_parses_index_or_name() {
    assert_eq!(AdapterSelector::parse("2"), Some(AdapterSelector::Index(2)));
    assert_eq!(
        AdapterSelector::parse(" H100 "),
        Some(AdapterSelector::Name("H100".into()))
    );
    assert_eq!(AdapterSelector::parse("  "), None);
}

/// Local ranks go round the adapters ranks are spread over; on a CPU-only machine that
/// is every adapter (lavapipe: Vulkan and GL), so ranks 0 and 1 get different ones.
#[test]
fn local_rank_picks_adapter_rank_mod_count() {
    if common::gpu().is_none() {
        return;
    }
    let all = enumerate_adapters();
    let pool: Vec<usize> = rank_adapters(&all).iter().map(|a| a.index).collect();
    assert!(!pool.is_empty());
    for rank in 0..pool.len() + 1 {
        let ctx = GpuContext::new(&GpuOptions {
            adapter: Some(AdapterSelector::LocalRank(rank)),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ctx.index(), pool[rank % pool.len()], "rank {rank}");
    }
}

/// The CLI maps OpenMPI's local rank to an adapter and says which in its output;
/// `--device` and `QAM_ADAPTER` override the mapping.
#[test]
fn cli_maps_ranks_to_adapters_and_reports_it() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m.json");
    qam::io::write_file(&f, &qam::io::Problem::minimize(model()), Some(qam::io::Format::Json)).unwrap();
    let f = f.to_str().unwrap();
    let all = enumerate_adapters();
    let pool: Vec<usize> = rank_adapters(&all).iter().map(|a| a.index).collect();
    let args = [
        "solve", f, "--solver", "gpu-sa", "--reads", "4", "--sweeps", "50", "--output", "json",
    ];
    for rank in 0..2usize {
        let r = rank.to_string();
        let out = qam(&args, &[("OMPI_COMM_WORLD_LOCAL_RANK", &r)]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v = json_line(&out);
        assert_eq!(v["device_index"], pool[rank % pool.len()], "rank {rank}: {v}");
    }
    let last = (all.len() - 1).to_string();
    let out = qam(&args, &[("OMPI_COMM_WORLD_LOCAL_RANK", "0"), ("QAM_ADAPTER", &last)]);
    assert_eq!(json_line(&out)["device_index"], all.len() - 1);
    let mut with_flag = args.to_vec();
    with_flag.extend(["--device", "0"]);
    let out = qam(&with_flag, &[("QAM_ADAPTER", &last)]);
    assert_eq!(json_line(&out)["device_index"], 0);
    let out = qam(&["solve", f, "--solver", "gpu-sa", "--device", "99"], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("index 99") && err.contains("qam devices"), "{err}");
}

/// One share per device; with a single device the answer is the single-device answer,
/// and on all devices the pooled set has every read with correct energies.
#[test]
fn devices_all_splits_reads() {
    let Some(ctx) = common::gpu() else { return };
    let m = model();
    let params = GpuSaParams {
        sa: SaParams {
            num_reads: 10,
            num_sweeps: 60,
            seed: 11,
            ..Default::default()
        },
        ..Default::default()
    };
    let one = GpuSaSolver::with_context(params.clone(), ctx.clone())
        .solve(&m)
        .unwrap();
    let multi_one = MultiGpuSaSolver::new(params.clone(), vec![ctx.clone()])
        .solve(&m)
        .unwrap();
    assert_eq!(one.samples(), multi_one.samples());
    let devices: Vec<Arc<GpuContext>> = GpuContext::open_all().unwrap();
    let all = MultiGpuSaSolver::new(params.clone(), devices.clone())
        .solve(&m)
        .unwrap();
    assert_eq!(all.num_reads(), 10);
    for s in all.samples() {
        assert!((m.energy(&s.state) - s.energy).abs() < 1e-9);
    }
    let again = MultiGpuSaSolver::new(params, devices).solve(&m).unwrap();
    assert_eq!(all.samples(), again.samples(), "same seed, same devices, same samples");
}

/// `auto` on a problem far too small for a GPU never opens a device: a bogus adapter
/// name does not matter there, while `gpu-sa` reports it.
#[test]
fn auto_decides_without_a_device_for_tiny_problems() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m.json");
    qam::io::write_file(&f, &qam::io::Problem::minimize(model()), Some(qam::io::Format::Json)).unwrap();
    let f = f.to_str().unwrap();
    let out = qam(
        &["solve", f, "--solver", "auto", "--reads", "4", "--sweeps", "50"],
        &[("QAM_ADAPTER", "no-such-adapter-anywhere"), ("QAM_REQUIRE_GPU", "")],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("too little work"), "{err}");
    let out = qam(
        &["solve", f, "--solver", "gpu-sa", "--reads", "4", "--sweeps", "50"],
        &[("QAM_ADAPTER", "no-such-adapter-anywhere")],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-adapter-anywhere"));
}

/// With QAM_REQUIRE_GPU set, `auto` with enough work uses the adapter there is, even a
/// software one, instead of falling back to the CPU; without it, a software adapter is
/// passed over unless named.
#[test]
fn require_gpu_makes_auto_use_the_adapter_there_is() {
    let Some(ctx) = common::gpu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m.json");
    qam::io::write_file(&f, &qam::io::Problem::minimize(model()), Some(qam::io::Format::Json)).unwrap();
    let f = f.to_str().unwrap();
    // 48 variables x 2100 reads >= 100,000 flip attempts per sweep.
    let args = ["solve", f, "--reads", "2100", "--sweeps", "2", "--output", "json"];
    let out = qam(&args, &[("QAM_REQUIRE_GPU", "1")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_line(&out)["solver"], "gpu-sa");
    if ctx.summary().device_type == "Cpu" {
        let out = qam(&args, &[("QAM_REQUIRE_GPU", "0")]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(json_line(&out)["solver"], "sa");
    }
}
