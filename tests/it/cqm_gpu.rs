//! `gpu-cqm-sa`: the constrained annealer's kernel against its CPU twin (state for state),
//! brute-force optima, one-hot validity, device limits, and the command line. Every test
//! name contains `gpu` (the device check runs them); they fail, not skip, without an
//! adapter under QAM_REQUIRE_GPU=1.

use crate::common;
use qam::cqm::gap::{GapType, generate};
use qam::cqm::gpu::{ChainState, CqmProgram, meta, twin_run};
use qam::cqm::{Cmp, ConstrainedModel, CqmSaParams, Sense};
use qam::gpu::cqm::{CqmEngine, GpuCqmError, GpuCqmSaSolver};
use qam::gpu::{GpuContext, GpuError, GpuOptions};
use qam::rng::Rng;
use std::process::Command;
use std::sync::Arc;

/// A random constrained model: `groups` one-hot groups of 2..=4 variables, `free` free
/// variables, integer (or, with `denom`, fractional) objective with couplings, and `<=`,
/// `=`, `>=` constraints around the value of a random one-hot state (so most are
/// satisfiable).
fn random_model(groups: usize, free: usize, cons: usize, denom: f64, seed: u64) -> ConstrainedModel {
    let mut rng = Rng::new(seed);
    let sense = if seed.is_multiple_of(2) {
        Sense::Minimize
    } else {
        Sense::Maximize
    };
    let mut m = ConstrainedModel::new(sense);
    let mut vars = Vec::new();
    for g in 0..groups {
        let k = 2 + rng.below(3) as usize;
        let vs: Vec<usize> = (0..k).map(|i| m.add_variable(&format!("g{g}_{i}")).unwrap()).collect();
        m.add_one_hot(&format!("oh{g}"), &vs).unwrap();
        vars.extend(vs);
    }
    for i in 0..free {
        vars.push(m.add_variable(&format!("f{i}")).unwrap());
    }
    let n = vars.len();
    for v in 0..n {
        m.add_linear(v, (rng.below(21) as f64 - 10.0) / denom);
        for u in v + 1..n {
            if rng.next_f64() < 0.15 {
                m.add_quadratic(v, u, (rng.below(11) as f64 - 5.0) / denom);
            }
        }
    }
    m.add_offset(3.0);
    for c in 0..cons {
        let mut terms: Vec<(usize, f64)> = Vec::new();
        for v in 0..n {
            if rng.next_f64() < 0.4 {
                terms.push((v, 1.0 + rng.below(5) as f64));
            }
        }
        let total: f64 = terms.iter().map(|t| t.1).sum();
        let (cmp, rhs) = match c % 3 {
            0 => (Cmp::Le, (0.4 * total).floor()),
            1 => (Cmp::Ge, (0.2 * total).floor()),
            _ => (Cmp::Le, (0.6 * total).floor()),
        };
        m.add_constraint(&format!("c{c}"), terms, cmp, rhs).unwrap();
    }
    if cons >= 3 {
        // one equality over two free variables, if any
        if free >= 2 {
            let a = n - 1;
            let b = n - 2;
            m.add_constraint("eq", vec![(a, 1.0), (b, 1.0)], Cmp::Eq, 1.0).unwrap();
        }
    }
    m
}

fn gap(kind: GapType, agents: usize, pools: usize, seed: u64) -> ConstrainedModel {
    generate(kind, agents, pools, seed).unwrap().to_model()
}

/// Runs the engine as the solver does without a time limit, with dispatches of
/// `per_dispatch` sweeps (so dispatch boundaries fall inside cycles).
fn engine_run(engine: &CqmEngine, sweeps: usize, cycles: usize, per_dispatch: usize) -> Vec<ChainState> {
    engine.init().unwrap();
    for cycle in 0..cycles {
        if cycle > 0 {
            engine.restart().unwrap();
        }
        let base = if cycle == 0 { 0 } else { sweeps };
        let mut k = 0;
        while k < sweeps {
            let count = per_dispatch.min(sweeps - k);
            engine
                .sweeps((cycle * sweeps + k) as u32, (base + k) as u32, count as u32)
                .unwrap();
            k += count;
        }
    }
    engine.chains().unwrap()
}

fn params(chains: usize, sweeps: usize, cycles: usize, seed: u64) -> CqmSaParams {
    CqmSaParams {
        chains,
        sweeps,
        cycles,
        seed,
        ..Default::default()
    }
}

fn assert_same(gpu: &[ChainState], cpu: &[ChainState], what: &str) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: chains");
    for (c, (g, t)) in gpu.iter().zip(cpu).enumerate() {
        assert_eq!(g, t, "{what}: chain {c} differs from the CPU twin");
    }
}

/// One-hot groups hold exactly one variable in every chain's current, best and
/// least-violated state, and `choice` names it.
fn assert_one_hot(m: &ConstrainedModel, p: &CqmProgram, chains: &[ChainState]) {
    let groups = m.one_hot_groups();
    for (c, s) in chains.iter().enumerate() {
        let x: Vec<u8> = s.words.iter().map(|&w| (w & 1) as u8).collect();
        for (g, vs) in groups.iter().enumerate() {
            let on: Vec<usize> = vs.iter().copied().filter(|&v| x[v] == 1).collect();
            assert_eq!(on.len(), 1, "chain {c} group {g}: {on:?}");
            assert_eq!(s.choice[g] as usize, on[0], "chain {c} group {g}");
        }
        let mut records = Vec::new();
        if s.meta[meta::HAS_BEST] != 0 {
            records.push(p.state_from_units(&s.best));
        }
        if s.meta[meta::HAS_LEAST] != 0 {
            records.push(p.state_from_units(&s.least));
        }
        for r in records {
            for vs in &groups {
                assert_eq!(vs.iter().filter(|&&v| r[v] == 1).count(), 1, "chain {c}: a record");
            }
        }
    }
}

#[test]
fn gpu_cqm_matches_the_cpu_twin_state_for_state_on_gap_instances() {
    let Some(ctx) = common::gpu() else { return };
    for (kind, agents, pools, seed) in [(GapType::C, 24, 4, 1), (GapType::D, 40, 5, 2), (GapType::E, 30, 3, 3)] {
        let m = gap(kind, agents, pools, seed);
        let p = Arc::new(CqmProgram::new(&m).unwrap());
        assert!(p.exact, "GAP files have integer coefficients");
        let prm = params(37, 60, 3, seed + 10);
        let eng = CqmEngine::new(ctx.clone(), p.clone(), prm.chains, prm.sweeps, prm.seed).unwrap();
        let gpu = engine_run(&eng, prm.sweeps, prm.cycles, 7);
        let cpu = twin_run(&p, &prm).unwrap();
        assert_same(&gpu, &cpu, &format!("GAP {kind:?} {agents}x{pools}"));
        assert_one_hot(&m, &p, &gpu);
        // the chains did work: moves accepted, multipliers moved off their start
        assert!(gpu.iter().all(|c| c.meta[meta::ACCEPTED] > 0));
        assert!(
            gpu.iter().any(|c| c.meta[meta::HAS_BEST] != 0),
            "{kind:?}: no feasible state"
        );
        // fixed-point bookkeeping agrees with the model at the end
        for c in &gpu {
            let x: Vec<u8> = c.words.iter().map(|&w| (w & 1) as u8).collect();
            let f = p.energy_of_fixed(c.meta[meta::F] as i32);
            assert_eq!(f, m.energy(&x) - m.to_energy(m.offset()));
            assert_eq!(c.meta[meta::NVIOL] as usize, m.violations(&x).len());
        }
    }
}

#[test]
fn gpu_cqm_matches_the_cpu_twin_on_quadratic_models_with_free_variables_and_fractions() {
    let Some(ctx) = common::gpu() else { return };
    for (seed, denom) in [(4u64, 1.0), (5, 1.0), (6, 7.0), (7, 3.0)] {
        let m = random_model(5, 6, 4, denom, seed);
        let p = Arc::new(CqmProgram::new(&m).unwrap());
        assert_eq!(p.exact, denom == 1.0, "seed {seed}");
        let prm = params(70, 40, 2, seed);
        let eng = CqmEngine::new(ctx.clone(), p.clone(), prm.chains, prm.sweeps, prm.seed).unwrap();
        let gpu = engine_run(&eng, prm.sweeps, prm.cycles, 40);
        assert_same(&gpu, &twin_run(&p, &prm).unwrap(), &format!("random model seed {seed}"));
        assert_one_hot(&m, &p, &gpu);
    }
}

/// Chains split over several groups (a small binding limit) give exactly the states of
/// one group: each chain's random numbers depend on its global index only.
#[test]
fn gpu_cqm_chain_groups_split_by_the_binding_limit_change_nothing() {
    let Some(_) = common::gpu() else { return };
    let m = gap(GapType::C, 20, 4, 9);
    let p = Arc::new(CqmProgram::new(&m).unwrap());
    // per chain: max(n = 80, 2K = 8, G + 2U + 8 = 68) words = 320 bytes; the binding
    // limit is the problem data's size (which always fits more than one chain)
    let limit = 4 * p.data.len() as u64;
    let per_group = (limit / 320) as usize;
    let small = GpuContext::new(&GpuOptions {
        adapter: GpuContext::shared_options().adapter,
        max_storage_binding: Some(limit),
        require: false,
    })
    .map(Arc::new)
    .expect("the adapter opened before opens again");
    let prm = params(2 * per_group + 3, 30, 2, 4);
    let eng = CqmEngine::new(small, p.clone(), prm.chains, prm.sweeps, prm.seed).unwrap();
    assert_eq!(eng.group_sizes(), vec![per_group, per_group, 3]);
    let gpu = engine_run(&eng, prm.sweeps, prm.cycles, 11);
    assert_same(&gpu, &twin_run(&p, &prm).unwrap(), "split groups");
}

#[test]
fn gpu_cqm_sa_reaches_the_brute_force_optimum_on_small_models() {
    let Some(ctx) = common::gpu() else { return };
    let mut models: Vec<ConstrainedModel> = (10..16).map(|s| random_model(4, 4, 3, 1.0, s)).collect();
    models.push(gap(GapType::D, 8, 3, 4));
    models.push(gap(GapType::C, 7, 3, 5));
    let mut checked = 0;
    for (i, m) in models.iter().enumerate() {
        let Some((_, opt)) = m.brute_force(1e6).unwrap() else {
            continue;
        };
        checked += 1;
        let sol = GpuCqmSaSolver::with_context(params(64, 300, 2, i as u64), ctx.clone())
            .solve(m)
            .unwrap();
        assert!(sol.feasible, "model {i}: {:?}", sol.violations);
        assert!(m.is_feasible(&sol.state));
        assert!(
            common::close(sol.energy, opt, 1e-9),
            "model {i}: {} vs optimum {opt}",
            sol.energy
        );
        assert_eq!(sol.energy, m.energy(&sol.state));
        assert_eq!(sol.objective, m.objective(&sol.state));
        assert_eq!(sol.stop, qam::cqm::StopReason::Completed);
    }
    assert!(checked >= 6, "only {checked} feasible models");
}

/// Fractional coefficients: the device sees rounded (fixed-point) values, so agreement
/// with `cqm-sa` is statistical: both reach the same optimum on every model.
#[test]
fn gpu_cqm_sa_agrees_with_cqm_sa_on_fractional_models() {
    let Some(ctx) = common::gpu() else { return };
    for s in 20..25 {
        let m = random_model(4, 3, 3, 7.0, s);
        let Some((_, opt)) = m.brute_force(1e6).unwrap() else {
            continue;
        };
        let gpu = GpuCqmSaSolver::with_context(params(64, 300, 2, s), ctx.clone())
            .solve(&m)
            .unwrap();
        let cpu = qam::cqm::CqmSaSolver::new(params(4, 300, 2, s)).solve(&m).unwrap();
        assert!(gpu.feasible && cpu.feasible, "seed {s}");
        assert!(
            common::close(gpu.energy, opt, 1e-9),
            "seed {s}: gpu {} vs {opt}",
            gpu.energy
        );
        assert!(
            common::close(cpu.energy, opt, 1e-9),
            "seed {s}: cpu {} vs {opt}",
            cpu.energy
        );
    }
}

#[test]
fn gpu_cqm_sa_on_an_infeasible_model_returns_the_least_violated_state_named() {
    let Some(ctx) = common::gpu() else { return };
    // two one-hot groups whose every choice uses 2, capacity 3: always violated by 1
    let mut m = ConstrainedModel::new(Sense::Minimize);
    let v: Vec<usize> = (0..4).map(|i| m.add_variable(&format!("x{i}")).unwrap()).collect();
    m.add_one_hot("a", &v[..2]).unwrap();
    m.add_one_hot("b", &v[2..]).unwrap();
    m.add_constraint("cap", v.iter().map(|&x| (x, 2.0)).collect(), Cmp::Le, 3.0)
        .unwrap();
    m.add_constraint("loose", vec![(v[0], 1.0)], Cmp::Le, 1.0).unwrap();
    let sol = GpuCqmSaSolver::with_context(params(8, 20, 1, 0), ctx.clone())
        .solve(&m)
        .unwrap();
    assert!(!sol.feasible);
    assert_eq!(sol.violations.len(), 1);
    assert_eq!(sol.violations[0].constraint, "cap");
    assert_eq!(sol.violations[0].amount, 1.0);
    // nothing can move (single-variable groups only): one cycle, even under a time limit
    let mut fixed = ConstrainedModel::new(Sense::Minimize);
    let a = fixed.add_variable("a").unwrap();
    let b = fixed.add_variable("b").unwrap();
    fixed.add_one_hot("ga", &[a]).unwrap();
    fixed.add_one_hot("gb", &[b]).unwrap();
    fixed
        .add_constraint("at_most_one", vec![(a, 1.0), (b, 1.0)], Cmp::Le, 1.0)
        .unwrap();
    let prm = CqmSaParams {
        time_limit: Some(std::time::Duration::from_secs(30)),
        ..params(4, 10, 1, 0)
    };
    let sol = GpuCqmSaSolver::with_context(prm, ctx).solve(&fixed).unwrap();
    assert_eq!(sol.state, vec![1, 1]);
    assert_eq!(sol.violations[0].constraint, "at_most_one");
    assert_eq!(sol.stop, qam::cqm::StopReason::Completed);
    assert!(sol.elapsed_s < 30.0);
}

#[test]
fn gpu_cqm_model_too_big_for_a_binding_is_a_typed_error_naming_the_limit() {
    let Some(_) = common::gpu() else { return };
    let m = gap(GapType::C, 30, 5, 1);
    let tiny = Arc::new(
        GpuContext::new(&GpuOptions {
            adapter: GpuContext::shared_options().adapter,
            max_storage_binding: Some(256),
            require: false,
        })
        .expect("the adapter opened before opens again"),
    );
    let e = GpuCqmSaSolver::with_context(params(4, 10, 1, 0), tiny)
        .solve(&m)
        .unwrap_err();
    match &e {
        GpuCqmError::Gpu(GpuError::Limit {
            limit, needed, allowed, ..
        }) => {
            assert_eq!(*limit, "max_storage_buffer_binding_size");
            assert!(needed > allowed);
        }
        other => panic!("expected a limit error, got {other:?}"),
    }
    assert!(e.to_string().contains("max_storage_buffer_binding_size"), "{e}");
    let s: qam::solvers::SolveError = e.into();
    assert!(matches!(s, qam::solvers::SolveError::TooLarge { .. }), "{s}");
}

fn qam() -> Command {
    Command::new(env!("CARGO_BIN_EXE_qam"))
}

fn json_line(out: &std::process::Output) -> serde_json::Value {
    let s = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(s.lines().next().expect("a result line")).unwrap()
}

/// The CLI under the test's GPU requirement (QAM_REQUIRE_GPU, QAM_ADAPTER pass through).
fn solve(args: &[&str]) -> std::process::Output {
    qam().arg("solve").args(args).output().unwrap()
}

#[test]
fn gpu_cqm_sa_from_the_command_line_solves_an_lp_file_like_cqm_sa() {
    let Some(_) = common::gpu() else { return };
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
            "c",
        ])
        .args(["--seed", "6", "--out"])
        .arg(&f)
        .status()
        .unwrap();
    assert!(st.success());
    let m = qam::cqm::lp::read_file(&f).unwrap();
    let (_, opt) = m.brute_force(1e6).unwrap().expect("feasible");
    let fs = f.to_str().unwrap();
    let out = solve(&[fs, "--solver", "gpu-cqm-sa", "--reads", "32", "--sweeps", "300"]);
    let out2 = solve(&[
        fs,
        "--solver",
        "gpu-cqm-sa",
        "--reads",
        "32",
        "--sweeps",
        "300",
        "-q",
        "--output",
        "json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out2.status.success(), "{}", String::from_utf8_lossy(&out2.stderr));
    let v = json_line(&out2);
    assert_eq!(v["solver"], "gpu-cqm-sa");
    assert_eq!(v["feasible"], true);
    assert_eq!(v["violations"].as_array().unwrap().len(), 0);
    assert_eq!(v["energy"].as_f64().unwrap(), opt);
    assert_eq!(v["objective"].as_f64().unwrap(), opt);
    assert_eq!(v["stop_reason"], "completed");
    assert_eq!(v["stop"], "completed");
    assert!(v["device"].as_str().is_some_and(|d| !d.is_empty()));
    let x: Vec<u8> = serde_json::from_value(v["state"].clone()).unwrap();
    assert_eq!(m.energy(&x), opt);
    // --target in the file's sense stops early with stop_reason target
    let t = format!("{opt}");
    let out = solve(&[
        fs,
        "--solver",
        "gpu-cqm-sa",
        "--target",
        &t,
        "--time-limit",
        "30",
        "-q",
        "--output",
        "json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_line(&out);
    assert_eq!(v["stop_reason"], "target");
    assert_eq!(v["energy"].as_f64().unwrap(), opt);
    assert!(v["elapsed_s"].as_f64().unwrap() < 30.0);
    // --time-limit alone: cycles repeat until the limit, whole dispatches only (a cycle of
    // 50 sweeps on this model takes milliseconds, so more than one runs in 1 s however
    // loaded the machine is; the count itself depends on the machine and is not asserted)
    let out = solve(&[
        fs,
        "--solver",
        "gpu-cqm-sa",
        "--time-limit",
        "1",
        "--sweeps",
        "50",
        "-q",
        "--output",
        "json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_line(&out);
    assert_eq!(v["stop_reason"], "time_limit");
    assert!(v["cycles"].as_u64().unwrap() > 1, "{v}");
    assert!(v["elapsed_s"].as_f64().unwrap() >= 1.0);
    // flags gpu-cqm-sa does not use are refused, naming the flag and the solver
    let out = solve(&[fs, "--solver", "gpu-cqm-sa", "--replicas", "4"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--replicas") && err.contains("gpu-cqm-sa"), "{err}");
}

#[test]
fn gpu_cqm_sa_infeasible_lp_exits_2_with_the_violated_constraints_named() {
    let Some(_) = common::gpu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("inf.lp");
    std::fs::write(
        &f,
        "Minimize\n obj: x + y + z\nSubject To\n pick: x + y = 1\n need: x + y + z >= 3\nBinary\n x y z\nEnd\n",
    )
    .unwrap();
    let out = solve(&[f.to_str().unwrap(), "--solver", "gpu-cqm-sa", "-q", "--output", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_line(&out);
    assert_eq!(v["feasible"], false);
    let names: Vec<&str> = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["constraint"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["need"]);
    assert_eq!(v["violations"][0]["amount"].as_f64().unwrap(), 1.0);
    // a QUBO file is refused by gpu-cqm-sa, naming it
    let q = dir.path().join("m.qubo");
    std::fs::write(&q, "p qubo 0 2 2 1\n0 0 -1\n1 1 -1\n0 1 2\n").unwrap();
    let out = solve(&[q.to_str().unwrap(), "--solver", "gpu-cqm-sa"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("gpu-cqm-sa"));
}
