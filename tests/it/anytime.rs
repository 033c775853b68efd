//! Anytime solving: time limits are kept, a longer budget is not worse, runs under a limit
//! end with complete (cold) anneals, `--target` stops every solver, and every solver
//! reports `stop_reason` / `time_to_target_s`.
//!
//! Timing assertions are deliberately loose (a limit of L seconds must end before
//! 2 L + 1 s): they catch a solver that ignores its limit, not scheduling noise.

use crate::common;

use qam::decompose::HierarchicalSolver;
use qam::generate::frustrated_loops;
use qam::model::{Model, StopReason};
use qam::solvers::{PaParams, PaSolver, PtParams, PtSolver, SaParams, SaSolver, SolveContext, Solver, TimeBudget};
use std::process::Command;
use std::time::{Duration, Instant};

fn instance() -> (Model, f64) {
    let p = frustrated_loops(3, 1000, 0.2, 11).unwrap();
    (p.problem.model, p.ground_energy)
}

fn timed(limit: f64, budget: TimeBudget) -> SolveContext<'static> {
    SolveContext {
        time_limit: Some(Duration::from_secs_f64(limit)),
        budget,
        ..Default::default()
    }
}

fn solvers() -> Vec<Box<dyn Solver>> {
    vec![
        Box::new(SaSolver::default()),
        Box::new(PtSolver::new(PtParams {
            num_replicas: 16,
            ..Default::default()
        })),
        Box::new(PaSolver::new(PaParams {
            population: 64,
            ..Default::default()
        })),
        Box::new(HierarchicalSolver::default()),
    ]
}

#[test]
fn time_limits_are_kept() {
    let (model, ground) = instance();
    let limit = 0.4;
    for solver in solvers() {
        for budget in [TimeBudget::Plan, TimeBudget::Repeat] {
            let t = Instant::now();
            let set = solver.solve_with(&model, &timed(limit, budget)).unwrap();
            let elapsed = t.elapsed().as_secs_f64();
            let name = solver.name();
            assert!(
                elapsed < 2.0 * limit + 1.0,
                "{name} {budget:?}: {elapsed} s for a {limit} s limit"
            );
            let reason = set.info.stop_reason.expect("stop_reason set");
            // Hierarchical may also stop when it is at the ground state... only by target;
            // without one every solver here runs until the limit or finishes its work.
            assert!(
                matches!(
                    reason,
                    StopReason::TimeLimit | StopReason::Completed | StopReason::Converged
                ),
                "{name} {budget:?}: {reason}"
            );
            assert!(
                set.first().unwrap().energy >= ground,
                "{name}: below the planted ground energy"
            );
        }
    }
}

/// The GPU solvers keep their limits too and end with complete anneals (lavapipe in CI).
#[test]
fn gpu_time_limits_are_kept() {
    let Some(gpu) = common::gpu() else {
        println!("no GPU adapter: gpu time limits not checked");
        return;
    };
    use qam::solvers::{GpuPaParams, GpuPaSolver, GpuPtParams, GpuPtSolver, GpuSaParams, GpuSaSolver};
    let p = frustrated_loops(2, 400, 0.3, 3).unwrap();
    let (model, ground) = (p.problem.model, p.ground_energy);
    let solvers: Vec<Box<dyn Solver>> = vec![
        Box::new(GpuSaSolver::with_context(GpuSaParams::default(), gpu.clone())),
        Box::new(GpuPtSolver::with_context(
            GpuPtParams {
                pt: PtParams {
                    num_replicas: 16,
                    ..Default::default()
                },
                ..Default::default()
            },
            gpu.clone(),
        )),
        Box::new(GpuPaSolver::with_context(
            GpuPaParams {
                pa: PaParams {
                    population: 64,
                    ..Default::default()
                },
                ..Default::default()
            },
            gpu.clone(),
        )),
    ];
    let limit = 1.0;
    for solver in solvers {
        for budget in [TimeBudget::Plan, TimeBudget::Repeat] {
            let t = Instant::now();
            let set = solver.solve_with(&model, &timed(limit, budget)).unwrap();
            let elapsed = t.elapsed().as_secs_f64();
            let name = solver.name();
            // Device set-up is included; allow for a slow software adapter.
            assert!(elapsed < 2.0 * limit + 3.0, "{name} {budget:?}: {elapsed} s");
            assert!(set.info.stop_reason.is_some(), "{name}");
            assert!(set.first().unwrap().energy >= ground, "{name}");
        }
    }
}

/// The portfolio keeps its limit, returns the best of all its runs (never worse than any
/// branch it ran), reports the branch that got the time, and solves tiny models exactly.
#[test]
fn portfolio_returns_the_best_of_its_branches() {
    use qam::solvers::{DECOMPOSABLE_CUT, PortfolioSolver, partition_cut_fraction};
    // A random graph (1,000 nodes, mean degree 10): any partition cuts much of it, so the
    // branches race. Clusters of 200 so that it is decomposed (the default cluster of the
    // sa sub-solver, 1000, would hold it whole, and the branch would be skipped).
    let model = qam::generate::erdos_renyi(1000, 0.01, qam::generate::Weights::PlusMinusOne, 4)
        .unwrap()
        .model;
    let limit = 1.0;
    let params = qam::solvers::PortfolioParams {
        hierarchical: qam::decompose::HierarchicalParams {
            cluster_size: Some(200),
            ..Default::default()
        },
        ..Default::default()
    };
    let cut = partition_cut_fraction(&model, &params.hierarchical).unwrap().unwrap();
    assert!(cut > DECOMPOSABLE_CUT, "{cut}");
    let t = Instant::now();
    let set = PortfolioSolver::new(params)
        .solve_with(&model, &timed(limit, TimeBudget::Plan))
        .unwrap();
    assert!(t.elapsed().as_secs_f64() < 2.0 * limit + 1.0);
    let best = set.first().unwrap().energy;
    assert_eq!(set.info.stop_reason, Some(StopReason::TimeLimit));
    assert_eq!(set.info.extra["cut_fraction"], cut);
    let runs = set.info.extra["portfolio"].as_array().unwrap();
    let branches: Vec<&str> = runs.iter().map(|r| r["branch"].as_str().unwrap()).collect();
    assert_eq!(&branches[..3], &["sa", "pt", "hierarchical"]);
    let energy = |i: usize| runs[i]["energy"].as_f64().unwrap();
    let mut first: Vec<usize> = (0..3).collect();
    first.sort_by(|&a, &b| energy(a).total_cmp(&energy(b)));
    let winner = if branches[first[0]] == "hierarchical" {
        // Round 2: the decomposition and the runner-up again; one of them wins (the one
        // on course for the lower energy at the end).
        assert_eq!(runs.len(), 6, "three probes, the best two again, the winner: {runs:?}");
        assert_eq!(&branches[3..5], &[branches[first[0]], branches[first[1]]]);
        let w = set.info.extra["winner"].as_str().unwrap();
        assert!(w == branches[3] || w == branches[4], "{w}: {runs:?}");
        w
    } else {
        assert_eq!(runs.len(), 4, "three probes and the winner: {runs:?}");
        branches[first[0]]
    };
    assert_eq!(set.info.extra["winner"], winner);
    assert_eq!(*branches.last().unwrap(), winner);
    for r in runs {
        assert!(best <= r["energy"].as_f64().unwrap(), "{r}");
    }
    assert_eq!(model.energy(&set.first().unwrap().state), best);
    // Tiny models: exhaustive search.
    let tiny = frustrated_loops(2, 16, 0.5, 1).unwrap();
    let set = PortfolioSolver::default()
        .solve_with(&tiny.problem.model, &timed(5.0, TimeBudget::Plan))
        .unwrap();
    assert_eq!(set.first().unwrap().energy, tiny.ground_energy);
    assert_eq!(set.info.extra["winner"], "exact");
}

/// A model the decomposition cuts well (a 2D lattice of 6,400 spins: clusters of 1,000
/// cut a few percent of its couplings) goes to `hierarchical` whole: no race, one run
/// that keeps the limit and whose state is the answer.
#[test]
fn portfolio_gives_a_decomposable_model_to_the_decomposition() {
    use qam::solvers::{DECOMPOSABLE_CUT, PortfolioSolver, partition_cut_fraction};
    let p = frustrated_loops(2, 6400, 0.3, 3).unwrap();
    let model = &p.problem.model;
    let cut = partition_cut_fraction(model, &Default::default()).unwrap().unwrap();
    assert!(cut <= DECOMPOSABLE_CUT, "{cut}");
    let limit = 0.5;
    let t = Instant::now();
    let set = PortfolioSolver::default()
        .solve_with(model, &timed(limit, TimeBudget::Plan))
        .unwrap();
    assert!(t.elapsed().as_secs_f64() < 2.0 * limit + 1.0);
    assert_eq!(set.info.stop_reason, Some(StopReason::TimeLimit));
    assert_eq!(set.info.extra["winner"], "hierarchical");
    assert_eq!(set.info.extra["cut_fraction"], cut);
    let runs = set.info.extra["portfolio"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["branch"], "hierarchical");
    assert_eq!(runs[0]["phase"], "exploit");
    let best = set.first().unwrap();
    assert_eq!(best.energy, runs[0]["energy"].as_f64().unwrap());
    assert_eq!(model.energy(&best.state), best.energy);
    assert!(best.energy >= p.ground_energy);
}

/// Plan mode: restarts of doubling length, the last one filling the budget; every anneal
/// is complete.
#[test]
fn sa_plans_doubling_anneals() {
    let (model, _) = instance();
    let set = SaSolver::default()
        .solve_with(&model, &timed(0.5, TimeBudget::Plan))
        .unwrap();
    let lengths: Vec<u64> = set.info.extra["anneal_sweeps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(lengths.len() >= 2, "{lengths:?}");
    assert_eq!(lengths[0], 32);
    assert_eq!(lengths[1], 64);
    assert_eq!(set.num_reads(), 10, "returns num_reads reads");
    assert!(!set.info.extra.contains_key("anneals_cut_and_dropped") || lengths.len() >= 2);
}

/// The example: `--sweeps 10000000 --time-limit 0.5` returned a half-annealed
/// state. Now the anneal does not fit, so the budget is planned instead, and the result is
/// as good as a plain time-planned run of the same budget gives on average.
#[test]
fn too_many_sweeps_fall_back_to_planning() {
    let (model, _) = instance();
    let p = SaParams {
        num_sweeps: 10_000_000,
        ..Default::default()
    };
    let set = SaSolver::new(p)
        // 1.5 s: enough for cold planned anneals even when the test shares a loaded machine
        // (0.4 s ended 4% above one default anneal at load 12).
        .solve_with(&model, &timed(1.5, TimeBudget::Repeat))
        .unwrap();
    assert!(set.info.extra.contains_key("budget_fallback"), "{:?}", set.info.extra);
    assert_eq!(set.info.stop_reason, Some(StopReason::TimeLimit));
    // A cold result: far below the energy of a state cut at 1% of a long anneal, which is
    // hot (compare with a single 1000-sweep anneal: no worse than 2% above it).
    let plain = SaSolver::default().solve(&model).unwrap();
    let e = set.first().unwrap().energy;
    let e0 = plain.first().unwrap().energy;
    assert!(e <= e0 + 0.02 * e0.abs(), "{e} vs one default anneal {e0}");
}

/// A ten times longer budget gives a better or equal mean best energy over 10 seeds.
#[test]
fn longer_budget_is_not_worse_on_average() {
    let (model, _) = instance();
    let mean = |limit: f64| {
        (0..10)
            .map(|seed| {
                let s = SaSolver::new(SaParams {
                    seed,
                    ..Default::default()
                });
                s.solve_with(&model, &timed(limit, TimeBudget::Plan))
                    .unwrap()
                    .first()
                    .unwrap()
                    .energy
            })
            .sum::<f64>()
            / 10.0
    };
    let short = mean(0.03);
    let long = mean(0.3);
    assert!(long <= short, "mean {long} with 0.3 s vs {short} with 0.03 s");
}

fn qam(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_qam"))
        .args(args)
        .output()
        .expect("qam runs");
    assert!(
        out.status.success(),
        "qam {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap()
}

/// `--target` stops every solver long before its time limit, with `stop_reason: target`
/// and `time_to_target_s`; without a target every solver reports `completed` and a null
/// `time_to_target_s` (same keys everywhere).
#[test]
fn target_stops_every_solver() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("ferro.json");
    let small = dir.path().join("ferro12.json");
    let generate = |n: &str, path: &std::path::Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_qam"))
            .args(["gen", "--kind", "planted-ferro", "--n", n, "--seed", "4", "--out"])
            .arg(path)
            .output()
            .unwrap();
        assert!(out.status.success());
        let side = qam::generate::read_sidecar(path).unwrap().unwrap();
        side.ground_energy.to_string()
    };
    let target_big = generate("300", &big);
    let target_small = generate("12", &small);
    let mut solvers = vec!["sa", "pt", "pa", "hierarchical", "qaoa", "auto"];
    if common::gpu().is_some() {
        solvers.extend(["gpu-sa", "gpu-pt", "gpu-pa"]);
    } else {
        println!("no GPU adapter: gpu-sa, gpu-pt, gpu-pa not checked");
    }
    for solver in solvers {
        let (file, target) = if solver == "qaoa" {
            (&small, &target_small)
        } else {
            (&big, &target_big)
        };
        let f = file.to_str().unwrap();
        let v = qam(&[
            "solve",
            f,
            "--solver",
            solver,
            "--target",
            target,
            "--time-limit",
            "60",
            "--output",
            "json",
            "-q",
        ]);
        assert_eq!(v["stop_reason"], "target", "{solver}: {v}");
        assert!(v["time_to_target_s"].as_f64().unwrap() < 30.0, "{solver}");
        assert!(v["elapsed_s"].as_f64().unwrap() < 30.0, "{solver}");
        assert!(v["energy"].as_f64().unwrap() <= target.parse::<f64>().unwrap() + 1e-9);
        // `--sweeps` where the solver anneals (hierarchical: --sub-sweeps; qaoa: none).
        let sweeps: &[&str] = match solver {
            "hierarchical" => &["--sub-sweeps", "100"],
            "qaoa" => &[],
            _ => &["--sweeps", "100"],
        };
        let mut args = vec!["solve", f, "--solver", solver, "--output", "json", "-q"];
        args.extend(sweeps);
        let v = qam(&args);
        assert!(
            v.get("stop_reason").is_some() && v.get("time_to_target_s").is_some(),
            "{solver}: {v}"
        );
        assert!(v["time_to_target_s"].is_null(), "{solver}");
    }
}

/// `pt` checks its time limit within an exchange round, not only between rounds: here one
/// round (16 replicas x 10,000 sweeps of 8,000 spins, over a billion spin updates) takes
/// several seconds, and a 0.3 s limit still ends the run within the usual tolerance, with
/// no complete round, fewer flip attempts than one round and a valid state.
#[test]
fn pt_keeps_its_limit_within_an_exchange_round() {
    let p = frustrated_loops(3, 8000, 0.2, 5).unwrap();
    let n = p.problem.model.num_variables();
    let (replicas, per_round) = (16usize, 10_000usize);
    let solver = PtSolver::new(PtParams {
        num_replicas: replicas,
        sweeps_per_swap: per_round,
        ..Default::default()
    });
    let limit = 0.3;
    let t = Instant::now();
    let set = solver
        .solve_with(&p.problem.model, &timed(limit, TimeBudget::Plan))
        .unwrap();
    let elapsed = t.elapsed().as_secs_f64();
    assert!(elapsed < 2.0 * limit + 1.0, "{elapsed} s for a {limit} s limit");
    assert_eq!(set.info.stop_reason, Some(StopReason::TimeLimit));
    assert_eq!(set.info.params["num_sweeps"], 0, "no round completed");
    let flips = set.info.extra["flip_attempts"].as_u64().unwrap();
    assert!(flips > 0 && flips < (replicas * per_round * n) as u64, "{flips}");
    let best = set.first().unwrap();
    assert!(best.energy >= p.ground_energy - 1e-9);
    let e = p.problem.model.energy(&best.state);
    assert!(
        (best.energy - e).abs() <= 1e-9 * e.abs().max(1.0),
        "{} vs {e}",
        best.energy
    );
}

/// Under a time limit too short to build all the replicas asked for and run a few rounds
/// (64 replicas of 110,592 spins in 0.1 s), `pt` plans fewer (`replicas_planned` in its
/// info, the ladder as long as the replicas used), keeps its limit and returns a valid
/// state; with time enough it keeps all of them.
#[test]
fn pt_plans_fewer_replicas_when_they_would_not_fit_the_budget() {
    let p = frustrated_loops(3, 110_592, 0.2, 2).unwrap();
    let model = &p.problem.model;
    let solver = PtSolver::default();
    assert_eq!(solver.params.num_replicas, 64);
    let limit = 0.1;
    let t = Instant::now();
    let set = solver.solve_with(model, &timed(limit, TimeBudget::Plan)).unwrap();
    let elapsed = t.elapsed().as_secs_f64();
    assert!(elapsed < 2.0 * limit + 1.0, "{elapsed} s for a {limit} s limit");
    assert_eq!(set.info.stop_reason, Some(StopReason::TimeLimit));
    let plan = &set.info.extra["replicas_planned"];
    assert_eq!(plan["asked"], 64, "{plan}");
    let used = plan["used"].as_u64().unwrap();
    assert!((2..64).contains(&used), "{plan}");
    assert_eq!(set.info.params["num_replicas"], used);
    assert_eq!(set.info.extra["betas"].as_array().unwrap().len() as u64, used);
    let best = set.first().unwrap();
    assert!(best.energy >= p.ground_energy - 1e-9);
    assert_eq!(model.energy(&best.state), best.energy);
    // A small model under a long limit keeps every replica (and says nothing).
    let (small, _) = instance();
    let set = PtSolver::new(PtParams {
        num_sweeps: 20,
        ..Default::default()
    })
    .solve_with(&small, &timed(30.0, TimeBudget::Single))
    .unwrap();
    assert_eq!(set.info.params["num_replicas"], 64);
    assert!(set.info.extra.get("replicas_planned").is_none());
}

/// Above `PT_MAX` variables only `sa` races (tempering does not equilibrate there, and the
/// decomposition never leads at the race's horizon); with a short budget `sa` keeps all of
/// it (half of the rest holds far fewer than `SPLIT_MIN_SWEEPS` sweeps), and its first
/// anneal is never cut by the race's slice.
#[test]
fn portfolio_on_a_huge_model_races_sa_alone() {
    use qam::solvers::PortfolioSolver;
    // 48^3 = 110,592 spins, above PT_MAX (100,000).
    let p = frustrated_loops(3, 110_592, 0.2, 2).unwrap();
    assert!(p.problem.model.num_variables() > 100_000);
    let limit = 0.6;
    let t = Instant::now();
    let set = PortfolioSolver::default()
        .solve_with(&p.problem.model, &timed(limit, TimeBudget::Plan))
        .unwrap();
    assert!(t.elapsed().as_secs_f64() < 2.0 * limit + 1.0);
    let runs = set.info.extra["portfolio"].as_array().unwrap();
    assert!(runs.iter().all(|r| r["branch"] == "sa"), "{runs:?}");
    assert!(runs.len() <= 2, "{runs:?}");
    let best = set.first().unwrap();
    assert!(best.energy >= p.ground_energy);
    // A complete (or budget-cut and cold-finished) anneal, not a random state: a random
    // state has energy about 0.
    assert!(
        best.energy <= 0.9 * p.ground_energy,
        "{} vs {}",
        best.energy,
        p.ground_energy
    );
}
