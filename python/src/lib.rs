//! `qam._qam`: the native half of the `qam` Python package.
//!
//! The Python layer (`python/qam/`) turns a `dimod` model into COO numpy arrays
//! (`bqm.to_numpy_vectors`) and calls [`sample`] with the solver name and its parameters as
//! JSON; this module builds the [`Model`] without a Python loop, runs the library's solver
//! on a worker thread with the GIL released, and returns the samples as numpy arrays. While
//! the solver runs, the calling thread wakes every 50 ms, takes the GIL for an instant and
//! runs Python's signal handlers, so Ctrl-C sets the solver's interrupt flag
//! ([`SolveContext::interrupt`]) and the call raises `KeyboardInterrupt` once it stopped.
#![allow(
    clippy::needless_update,
    reason = "`..Default::default()` keeps parameter structs building when the library adds fields"
)]

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use qam::cqm::{CqmSaParams, CqmSaSolver};
use qam::decompose::{HierarchicalParams, HierarchicalSolver, PartitionMethod, Strategy, SubSolverKind, SubStart};
use qam::gpu::anneal::Kernel as GpuKernel;
use qam::model::{Couplings, Ising, Model, Qubo, SampleSet};
use qam::orchestrate::{Interrupt, Orchestrator, OrchestratorConfig, Scenario};
use qam::qaoa::qasm::{Circuit, QasmVersion};
use qam::qaoa::{Angles, CostModel, Optimizer, Precision, QaoaParams, QaoaSolver};
use qam::rng::derive_seed;
use qam::solvers::{
    GpuSaParams, GpuSaSolver, PaParams, PaSolver, PtParams, PtSolver, SaParams, SaSolver, ScheduleKind, SolveContext,
    SolveError, Solver,
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// How often the waiting thread checks for signals (Ctrl-C).
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// Parameters common to the samplers, in dwave-samplers' names (absent: the solver's
/// default). Unknown keys are an error: the Python layer passes only the names it documents.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Params {
    num_reads: Option<usize>,
    num_sweeps: Option<usize>,
    num_sweeps_per_beta: Option<usize>,
    beta_range: Option<(f64, f64)>,
    beta_schedule_type: Option<String>,
    beta_schedule: Option<Vec<f64>>,
    seed: Option<u64>,
    time_limit: Option<f64>,
    target: Option<f64>,
    // gpu-sa
    backend: Option<String>,
    // pt
    num_replicas: Option<usize>,
    sweeps_per_swap: Option<usize>,
    // hierarchical
    sub_solver: Option<String>,
    cluster_size: Option<usize>,
    strategy: Option<String>,
    partitioner: Option<String>,
    sub_reads: Option<usize>,
    sub_sweeps: Option<usize>,
    sub_start: Option<String>,
    max_rounds: Option<u64>,
    patience: Option<u64>,
    exact_below: Option<usize>,
    // qaoa
    p: Option<usize>,
    optimizer: Option<String>,
    restarts: Option<usize>,
    max_evals: Option<usize>,
    gamma: Option<Vec<f64>>,
    beta: Option<Vec<f64>>,
    precision: Option<String>,
    polish: Option<bool>,
}

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn solve_error(e: SolveError) -> PyErr {
    match e {
        SolveError::Backend(m) => PyRuntimeError::new_err(m),
        e => value_error(e),
    }
}

fn bad(name: &str, value: &str, allowed: &str) -> PyErr {
    PyValueError::new_err(format!("invalid {name} {value:?}: expected one of {allowed}"))
}

fn schedule_kind(s: &Option<String>) -> PyResult<ScheduleKind> {
    match s.as_deref() {
        None | Some("geometric") => Ok(ScheduleKind::Geometric),
        Some("linear") => Ok(ScheduleKind::Linear),
        Some(o) => Err(bad("beta_schedule_type", o, "'geometric', 'linear', 'custom'")),
    }
}

fn sa_params(p: &Params) -> PyResult<SaParams> {
    let d = SaParams::default();
    let custom = p.beta_schedule_type.as_deref() == Some("custom");
    if custom != p.beta_schedule.is_some() {
        return Err(value_error(
            "beta_schedule is given exactly when beta_schedule_type is 'custom'",
        ));
    }
    Ok(SaParams {
        num_reads: p.num_reads.unwrap_or(d.num_reads),
        num_sweeps: p.num_sweeps.unwrap_or(d.num_sweeps),
        num_sweeps_per_beta: p.num_sweeps_per_beta.unwrap_or(d.num_sweeps_per_beta),
        beta_range: p.beta_range,
        beta_schedule_type: if custom {
            ScheduleKind::Geometric
        } else {
            schedule_kind(&p.beta_schedule_type)?
        },
        beta_schedule: p.beta_schedule.clone(),
        seed: p.seed.unwrap_or(0),
        ..d
    })
}

fn hier_params(p: &Params) -> PyResult<HierarchicalParams> {
    let d = HierarchicalParams::default();
    let mut sub = d.sub.clone();
    sub.num_reads = p.sub_reads.unwrap_or(sub.num_reads);
    sub.num_sweeps = p.sub_sweeps.unwrap_or(sub.num_sweeps);
    sub.beta_range = p.beta_range;
    sub.qaoa_layers = p.p.unwrap_or(sub.qaoa_layers);
    sub.start = match p.sub_start.as_deref() {
        None | Some("current") => SubStart::Current,
        Some("random") => SubStart::Random,
        Some(o) => return Err(bad("sub_start", o, "'current', 'random'")),
    };
    Ok(HierarchicalParams {
        sub_solver: match p.sub_solver.as_deref() {
            None | Some("sa") => SubSolverKind::Sa,
            Some("exact") => SubSolverKind::Exact,
            Some("greedy") => SubSolverKind::Greedy,
            Some("gpu-sa") => SubSolverKind::GpuSa,
            Some("qaoa") => SubSolverKind::Qaoa,
            Some(o) => return Err(bad("sub_solver", o, "'sa', 'exact', 'greedy', 'gpu-sa', 'qaoa'")),
        },
        sub,
        cluster_size: p.cluster_size,
        strategy: match p.strategy.as_deref() {
            None | Some("merge") => Strategy::Merge,
            Some("refine") => Strategy::Refine,
            Some(o) => return Err(bad("strategy", o, "'merge', 'refine'")),
        },
        method: match p.partitioner.as_deref() {
            None | Some("multilevel") => PartitionMethod::Multilevel,
            Some("label-prop") => PartitionMethod::LabelPropagation,
            Some(o) => return Err(bad("partitioner", o, "'multilevel', 'label-prop'")),
        },
        seed: p.seed.unwrap_or(0),
        time_limit: p.time_limit.map(Duration::from_secs_f64),
        target_energy: p.target,
        max_rounds: p.max_rounds.unwrap_or(d.max_rounds),
        patience: p.patience.unwrap_or(d.patience),
        exact_below: p.exact_below.unwrap_or(d.exact_below),
        ..d
    })
}

/// The solver `kind` with parameters `p` and starting states `initial` (rows in the
/// model's vartype; `sa` and `gpu-sa` only).
fn build_solver(kind: &str, p: &Params, initial: Option<Vec<Vec<i8>>>) -> PyResult<Box<dyn Solver>> {
    let seed = p.seed.unwrap_or(0);
    if initial.is_some() && kind != "sa" && kind != "gpu-sa" {
        return Err(value_error(format!("initial_states are not supported by `{kind}`")));
    }
    Ok(match kind {
        "sa" => Box::new(SaSolver::new(SaParams {
            initial_states: initial,
            ..sa_params(p)?
        })),
        "gpu-sa" => Box::new(GpuSaSolver::new(GpuSaParams {
            sa: SaParams {
                initial_states: initial,
                ..sa_params(p)?
            },
            // The names are the library's (`qam::names`), as on the command line.
            kernel: match p.backend.as_deref() {
                None => GpuKernel::Auto,
                Some(o) => GpuKernel::from_name(o).ok_or_else(|| {
                    let names: Vec<String> = GpuKernel::ALL.iter().map(|k| format!("'{k}'")).collect();
                    bad("backend", o, &names.join(", "))
                })?,
            },
        })),
        "pt" => {
            let d = PtParams::default();
            Box::new(PtSolver::new(PtParams {
                num_chains: p.num_reads.unwrap_or(d.num_chains),
                num_replicas: p.num_replicas.unwrap_or(d.num_replicas),
                num_sweeps: p.num_sweeps.unwrap_or(d.num_sweeps),
                sweeps_per_swap: p.sweeps_per_swap.unwrap_or(d.sweeps_per_swap),
                beta_range: p.beta_range,
                seed,
                ..d
            }))
        }
        "pa" => {
            let d = PaParams::default();
            Box::new(PaSolver::new(PaParams {
                population: p.num_reads.unwrap_or(d.population),
                num_sweeps: p.num_sweeps.unwrap_or(d.num_sweeps),
                sweeps_per_beta: p.num_sweeps_per_beta.unwrap_or(d.sweeps_per_beta),
                beta_range: p.beta_range,
                beta_schedule_type: schedule_kind(&p.beta_schedule_type)?,
                seed,
                ..d
            }))
        }
        "hierarchical" => Box::new(HierarchicalSolver::new(hier_params(p)?)),
        "qaoa" => {
            let d = QaoaParams::default();
            let angles = match (&p.gamma, &p.beta) {
                (None, None) => None,
                (Some(g), Some(b)) => Some(Angles::new(g.clone(), b.clone()).map_err(value_error)?),
                _ => return Err(value_error("gamma and beta go together")),
            };
            Box::new(QaoaSolver::new(QaoaParams {
                p: angles.as_ref().map_or(p.p.unwrap_or(d.p), Angles::p),
                optimizer: match p.optimizer.as_deref() {
                    None | Some("nelder-mead") => Optimizer::NelderMead,
                    Some("cobyla") => Optimizer::Cobyla,
                    Some("none") => Optimizer::None,
                    Some(o) => return Err(bad("optimizer", o, "'nelder-mead', 'cobyla', 'none'")),
                },
                shots: p.num_reads.unwrap_or(d.shots),
                device: qam::qaoa::Device::Cpu,
                precision: match p.precision.as_deref() {
                    None | Some("f64") => Precision::F64,
                    Some("f32") => Precision::F32,
                    Some(o) => return Err(bad("precision", o, "'f64', 'f32'")),
                },
                seed,
                restarts: p.restarts.unwrap_or(d.restarts),
                max_evals: p.max_evals.unwrap_or(d.max_evals),
                angles,
                polish: p.polish.unwrap_or(d.polish),
                tuning: Default::default(),
            }))
        }
        o => return Err(bad("solver", o, "'sa', 'gpu-sa', 'pt', 'pa', 'hierarchical', 'qaoa'")),
    })
}

/// Variable indices as numpy gives them (dimod uses int32 or int64): taken without a copy.
#[derive(FromPyObject)]
enum IndexArray<'py> {
    I32(PyReadonlyArray1<'py, i32>),
    I64(PyReadonlyArray1<'py, i64>),
}

/// A borrowed view of an [`IndexArray`].
#[derive(Clone, Copy)]
enum Indices<'a> {
    I32(&'a [i32]),
    I64(&'a [i64]),
}

impl<'py> IndexArray<'py> {
    fn view(&self) -> PyResult<Indices<'_>> {
        Ok(match self {
            IndexArray::I32(a) => Indices::I32(a.as_slice()?),
            IndexArray::I64(a) => Indices::I64(a.as_slice()?),
        })
    }
}

impl Indices<'_> {
    fn len(&self) -> usize {
        match self {
            Indices::I32(a) => a.len(),
            Indices::I64(a) => a.len(),
        }
    }

    fn get(&self, k: usize) -> i64 {
        match self {
            Indices::I32(a) => a[k] as i64,
            Indices::I64(a) => a[k],
        }
    }
}

/// Builds the model from COO arrays (dimod's `to_numpy_vectors`): `linear[i]`, couplings
/// `(irow[k], icol[k], quad[k])` (either order; repeated pairs add up), `offset`.
fn build_model(
    vartype: &str,
    linear: &[f64],
    irow: Indices,
    icol: Indices,
    quad: &[f64],
    offset: f64,
) -> Result<Model, String> {
    let n = linear.len();
    if irow.len() != quad.len() || icol.len() != quad.len() {
        return Err(format!(
            "irow, icol and quadratic biases differ in length ({}, {}, {})",
            irow.len(),
            icol.len(),
            quad.len()
        ));
    }
    let index = |v: i64| -> Result<u32, String> {
        if v < 0 || v as u64 >= n as u64 {
            return Err(format!("variable index {v} out of range for {n} variables"));
        }
        Ok(v as u32)
    };
    let mut triplets = Vec::with_capacity(quad.len());
    for (k, &w) in quad.iter().enumerate() {
        triplets.push((index(irow.get(k))?, index(icol.get(k))?, w));
    }
    let couplings = Couplings::from_triplets(n, triplets).map_err(|e| e.to_string())?;
    let linear = linear.to_vec();
    match vartype {
        "BINARY" => Qubo::new(linear, couplings, offset).map(Model::Qubo),
        "SPIN" => Ising::new(linear, couplings, offset).map(Model::Ising),
        o => return Err(format!("invalid vartype {o:?}: expected 'BINARY' or 'SPIN'")),
    }
    .map_err(|e| e.to_string())
}

/// Runs `f(ctx)` on a worker thread with the GIL released; the calling thread polls
/// Python's signal handlers every [`SIGNAL_POLL`] and sets the interrupt flag when one
/// raises (Ctrl-C), then re-raises that exception once the worker returned.
fn run_interruptible<T: Send>(
    py: Python<'_>,
    time_limit: Option<Duration>,
    target: Option<f64>,
    f: impl FnOnce(&SolveContext) -> T + Send,
) -> PyResult<T> {
    let flag = AtomicBool::new(false);
    let ctx = SolveContext {
        interrupt: Some(&flag),
        time_limit,
        target_energy: target,
        ..Default::default()
    };
    run_with_flag(py, &flag, None, || f(&ctx)).map(|(out, _)| out)
}

/// Runs `f` on a worker thread with the GIL released, setting `flag` on Ctrl-C (the
/// exception is re-raised once `f` returned) and, when `deadline` passes, also setting it
/// (then the second value returned is true).
fn run_with_flag<T: Send>(
    py: Python<'_>,
    flag: &AtomicBool,
    deadline: Option<Instant>,
    f: impl FnOnce() -> T + Send,
) -> PyResult<(T, bool)> {
    let mut timed_out = false;
    let done = (Mutex::new(false), Condvar::new());
    let mut raised: Option<PyErr> = None;
    let out = std::thread::scope(|s| {
        let worker = s.spawn(|| {
            // Flag completion even if `f` panics, so the wait below ends.
            struct Done<'a>(&'a (Mutex<bool>, Condvar));
            impl Drop for Done<'_> {
                fn drop(&mut self) {
                    *self.0.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
                    self.0.1.notify_all();
                }
            }
            let _done = Done(&done);
            f()
        });
        loop {
            let finished = py.detach(|| {
                let guard = done.0.lock().unwrap_or_else(|e| e.into_inner());
                let (guard, _) = done
                    .1
                    .wait_timeout_while(guard, SIGNAL_POLL, |d| !*d)
                    .unwrap_or_else(|e| e.into_inner());
                *guard
            });
            if finished {
                break;
            }
            if raised.is_none()
                && let Err(e) = py.check_signals()
            {
                flag.store(true, Ordering::Relaxed);
                raised = Some(e);
            }
            if !timed_out && deadline.is_some_and(|d| Instant::now() >= d) {
                flag.store(true, Ordering::Relaxed);
                timed_out = true;
            }
        }
        worker.join()
    });
    if let Some(e) = raised {
        return Err(e);
    }
    out.map(|o| (o, timed_out))
        .map_err(|_| PyRuntimeError::new_err("the solver panicked"))
}

/// Samples as numpy arrays: `(samples[int8, rows x n], energies[float64],
/// num_occurrences[int64], info_json)`.
type SampleArrays<'py> = (
    Bound<'py, PyAny>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<i64>>,
    String,
);

fn to_arrays<'py>(py: Python<'py>, set: &SampleSet, info: Value) -> PyResult<SampleArrays<'py>> {
    let n = set.num_variables;
    let rows = set.len();
    let mut flat = Vec::with_capacity(rows * n);
    for s in set.samples() {
        flat.extend_from_slice(&s.state);
    }
    let samples = PyArray1::from_vec(py, flat).reshape([rows, n])?.into_any();
    let energies = PyArray1::from_vec(py, set.samples().iter().map(|s| s.energy).collect());
    let occ = PyArray1::from_vec(py, set.samples().iter().map(|s| s.num_occurrences as i64).collect());
    Ok((samples, energies, occ, info.to_string()))
}

/// Solves one model. `kind`: `sa`, `gpu-sa`, `pt`, `pa`, `hierarchical`, `qaoa`;
/// `params_json`: a JSON object of [`Params`]; `initial_states`: rows in the model's
/// vartype (variable order of `linear`), or `None`.
///
/// Returns `(samples, energies, num_occurrences, info_json)`; energies are recomputed
/// from the states in f64, offset included. `info_json` holds `solver`, `params`, `seed`,
/// `timing` (`preprocessing_ns`, `sampling_ns`, `postprocessing_ns`, as dimod's samplers
/// report, plus `model_build_ns`), solver-specific facts, and for `qaoa` the circuit
/// (`qasm2`, `qasm3`).
#[pyfunction]
#[pyo3(signature = (kind, vartype, linear, irow, icol, quad, offset, params_json, initial_states=None))]
#[allow(clippy::too_many_arguments)]
fn sample<'py>(
    py: Python<'py>,
    kind: &str,
    vartype: &str,
    linear: PyReadonlyArray1<'py, f64>,
    irow: IndexArray<'py>,
    icol: IndexArray<'py>,
    quad: PyReadonlyArray1<'py, f64>,
    offset: f64,
    params_json: &str,
    initial_states: Option<PyReadonlyArray2<'py, i8>>,
) -> PyResult<SampleArrays<'py>> {
    let params: Params = serde_json::from_str(params_json).map_err(value_error)?;
    if let Some(t) = params.time_limit
        && !(t.is_finite() && t >= 0.0)
    {
        return Err(value_error(format!(
            "time_limit must be a non-negative number of seconds, not {t}"
        )));
    }
    if params.target.is_some_and(|t| !t.is_finite()) {
        return Err(value_error("target must be finite"));
    }
    let initial: Option<Vec<Vec<i8>>> = match &initial_states {
        None => None,
        Some(a) => {
            let view = a.as_array();
            if view.ncols() != linear.len()? {
                return Err(value_error(format!(
                    "initial_states have {} variables but the model has {}",
                    view.ncols(),
                    linear.len()?
                )));
            }
            Some(view.rows().into_iter().map(|r| r.to_vec()).collect())
        }
    };
    let hier = if kind == "hierarchical" {
        Some(hier_params(&params)?)
    } else {
        None
    };
    let solver = build_solver(kind, &params, initial)?;
    let (l, r, c, q) = (linear.as_slice()?, irow.view()?, icol.view()?, quad.as_slice()?);
    let t0 = std::time::Instant::now();
    let model = py
        .detach(|| build_model(vartype, l, r, c, q, offset))
        .map_err(PyValueError::new_err)?;
    let build_ns = t0.elapsed().as_nanos() as u64;
    let reads = params.num_reads.unwrap_or(1).max(1);
    let time_limit = params.time_limit.map(Duration::from_secs_f64);
    let seed = params.seed.unwrap_or(0);
    let set = run_interruptible(py, time_limit, params.target, |ctx| -> Result<SampleSet, SolveError> {
        if kind != "hierarchical" || reads == 1 {
            return solver.solve_with(&model, ctx);
        }
        // The decomposition returns one state per run: num_reads runs, run r seeded with
        // stream r of the seed.
        let mut all = Vec::new();
        let mut first = None;
        let base = hier.as_ref().expect("hierarchical parameters");
        for r in 0..reads {
            let p = HierarchicalParams {
                seed: derive_seed(seed, r as u64),
                ..base.clone()
            };
            let set = HierarchicalSolver::new(p).solve_with(&model, ctx)?;
            all.extend(set.samples().iter().cloned());
            first.get_or_insert(set);
        }
        let first = first.expect("at least one read");
        let mut info = first.info.clone();
        info.seed = Some(seed);
        info.params.insert("num_reads".into(), json!(reads));
        Ok(SampleSet::new(first.vartype, first.num_variables, all, info))
    })?
    .map_err(solve_error)?;
    let mut info = serde_json::to_value(&set.info).map_err(value_error)?;
    let t = &set.info.timing;
    let ns = |s: f64| (s * 1e9).round() as u64;
    info["timing"] = json!({
        "model_build_ns": build_ns,
        "preprocessing_ns": ns(t.preprocessing_s),
        "sampling_ns": ns(t.sampling_s),
        "postprocessing_ns": ns(t.postprocessing_s),
    });
    if kind == "qaoa" {
        let g: Option<Vec<f64>> = serde_json::from_value(set.info.extra["gamma"].clone()).ok();
        let b: Option<Vec<f64>> = serde_json::from_value(set.info.extra["beta"].clone()).ok();
        if let (Some(g), Some(b)) = (g, b) {
            let cost = CostModel::new(&model).map_err(value_error)?;
            let circuit = Circuit::new(&cost, &Angles::new(g, b).map_err(value_error)?).map_err(value_error)?;
            info["qasm2"] = json!(circuit.to_qasm(QasmVersion::V2));
            info["qasm3"] = json!(circuit.to_qasm(QasmVersion::V3));
        }
    }
    to_arrays(py, &set, info)
}

/// Plans a fleet: `scenario_json` is a `qam-scenario` document, the result the plan as
/// JSON. `time_limit` (seconds) is the planner's budget
/// ([`OrchestratorConfig::time_limit`]: its constrained stage improves until it is spent,
/// then the plan is scheduled); should the planner still run at `1.25 time_limit + 1 s`
/// (stages before the constrained one that took longer than the budget), it is interrupted
/// and returns the complete plan it has (`stop_reason` then `time_limit`). Ctrl-C interrupts it the same way and raises
/// `KeyboardInterrupt` once it stopped. The GIL is released while planning.
#[pyfunction]
#[pyo3(signature = (scenario_json, seed=0, time_limit=None))]
fn orchestrate(py: Python<'_>, scenario_json: &str, seed: u64, time_limit: Option<f64>) -> PyResult<String> {
    if let Some(t) = time_limit
        && !(t.is_finite() && t > 0.0)
    {
        return Err(value_error(format!(
            "time_limit must be a positive number of seconds, not {t}"
        )));
    }
    let scenario = Scenario::from_json(scenario_json).map_err(value_error)?;
    let stop = Interrupt::new();
    let orch = Orchestrator::new(OrchestratorConfig {
        seed,
        time_limit,
        interrupt: Some(stop.clone()),
        ..Default::default()
    });
    // The grace after the budget leaves the stages after the constrained one (schedule,
    // metrics: fixed work) their time.
    let deadline = time_limit.map(|t| Instant::now() + Duration::from_secs_f64(1.25 * t + 1.0));
    let (plan, timed_out) = run_with_flag(py, stop.flag(), deadline, || orch.plan(&scenario))?;
    let mut plan = plan.map_err(value_error)?;
    if timed_out && plan.stop_reason == Some(qam::solvers::StopReason::Interrupted) {
        plan.stop_reason = Some(qam::solvers::StopReason::TimeLimit);
    }
    Ok(plan.to_json())
}

/// `cqm-sa` parameters from Python (`ConstrainedSampler.sample_cqm`).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CqmParams {
    num_reads: Option<usize>,
    num_sweeps: Option<usize>,
    num_chains: Option<usize>,
    seed: Option<u64>,
    time_limit: Option<f64>,
}

/// Solves a constrained model given as qam-cqm JSON whose variables are named `"0"`,
/// `"1"`, ... (column order of the result) with `cqm-sa`: `num_reads` independent runs
/// (seeds derived from `seed`; a time limit is shared evenly between them), each returning
/// its best state. Returns `(samples[uint8, reads x n], info_json)`; `info_json` holds
/// `solver`, `params`, `seed`, `timing` and per read `stop_reason`, `feasible`,
/// `objective`. Ctrl-C stops the run in progress (its best state is kept) and raises
/// `KeyboardInterrupt`.
#[pyfunction]
fn sample_cqm<'py>(py: Python<'py>, model_json: &str, params_json: &str) -> PyResult<(Bound<'py, PyAny>, String)> {
    let p: CqmParams = serde_json::from_str(params_json).map_err(value_error)?;
    let t_build = Instant::now();
    let m = qam::cqm::json::read_str(model_json, "cqm").map_err(value_error)?;
    let n = m.num_variables();
    let mut column = vec![0usize; n];
    for (i, name) in m.variable_names().iter().enumerate() {
        column[i] = name
            .parse::<usize>()
            .ok()
            .filter(|&c| c < n)
            .ok_or_else(|| value_error(format!("variable name `{name}` is not a column index")))?;
    }
    let reads = p.num_reads.unwrap_or(1);
    if reads == 0 {
        return Err(value_error("num_reads must be at least 1"));
    }
    if let Some(t) = p.time_limit
        && !(t.is_finite() && t > 0.0)
    {
        return Err(value_error(format!(
            "time_limit must be a positive number of seconds, not {t}"
        )));
    }
    let seed = p.seed.unwrap_or(0);
    let base = CqmSaParams::default();
    let params = CqmSaParams {
        chains: p.num_chains.unwrap_or(base.chains),
        sweeps: p.num_sweeps.unwrap_or(base.sweeps),
        time_limit: p.time_limit.map(|t| Duration::from_secs_f64(t / reads as f64)),
        ..base
    };
    params.validate().map_err(value_error)?;
    let build_ns = t_build.elapsed().as_nanos() as u64;
    let t_solve = Instant::now();
    let flag = AtomicBool::new(false);
    let ctx = SolveContext {
        interrupt: Some(&flag),
        ..Default::default()
    };
    let (runs, _) = run_with_flag(py, &flag, None, || {
        let mut runs = Vec::with_capacity(reads);
        for r in 0..reads {
            if r > 0 && flag.load(Ordering::Relaxed) {
                break;
            }
            let prm = CqmSaParams {
                seed: derive_seed(seed, r as u64),
                ..params.clone()
            };
            runs.push(CqmSaSolver::new(prm).solve_with(&m, None, &ctx));
        }
        runs
    })?;
    let runs = runs.into_iter().collect::<Result<Vec<_>, _>>().map_err(value_error)?;
    let sampling_ns = t_solve.elapsed().as_nanos() as u64;
    let mut flat = vec![0u8; runs.len() * n];
    for (r, sol) in runs.iter().enumerate() {
        for (i, &x) in sol.state.iter().enumerate() {
            flat[r * n + column[i]] = x;
        }
    }
    let samples = PyArray1::from_vec(py, flat).reshape([runs.len(), n])?.into_any();
    let info = json!({
        "solver": "cqm-sa",
        "seed": seed,
        "params": {
            "num_reads": reads,
            "num_sweeps": params.sweeps,
            "num_chains": params.chains,
            "time_limit": p.time_limit,
        },
        "timing": {"model_build_ns": build_ns, "preprocessing_ns": 0, "sampling_ns": sampling_ns, "postprocessing_ns": 0},
        "stop_reason": runs.iter().map(|s| s.stop).collect::<Vec<_>>(),
        "feasible": runs.iter().map(|s| s.feasible).collect::<Vec<_>>(),
        "objective": runs.iter().map(|s| s.objective).collect::<Vec<_>>(),
        "time_to_feasible_s": runs.iter().map(|s| s.time_to_feasible_s).collect::<Vec<_>>(),
    });
    Ok((samples, info.to_string()))
}

/// OpenQASM text of the QAOA circuit of `(gamma, beta)` (qam's energy convention) on the
/// model given as COO arrays; `version` is 2 or 3. Qubit `i` is variable `i`.
#[pyfunction]
#[pyo3(signature = (vartype, linear, irow, icol, quad, offset, gamma, beta, version=2))]
#[allow(clippy::too_many_arguments)]
fn qaoa_circuit(
    vartype: &str,
    linear: PyReadonlyArray1<'_, f64>,
    irow: IndexArray<'_>,
    icol: IndexArray<'_>,
    quad: PyReadonlyArray1<'_, f64>,
    offset: f64,
    gamma: Vec<f64>,
    beta: Vec<f64>,
    version: u8,
) -> PyResult<String> {
    let version = match version {
        2 => QasmVersion::V2,
        3 => QasmVersion::V3,
        v => return Err(value_error(format!("version must be 2 or 3, not {v}"))),
    };
    let model = build_model(
        vartype,
        linear.as_slice()?,
        irow.view()?,
        icol.view()?,
        quad.as_slice()?,
        offset,
    )
    .map_err(PyValueError::new_err)?;
    let cost = CostModel::new(&model).map_err(value_error)?;
    let angles = Angles::new(gamma, beta).map_err(value_error)?;
    Ok(Circuit::new(&cost, &angles).map_err(value_error)?.to_qasm(version))
}

/// The native module.
#[pymodule]
fn _qam(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sample, m)?)?;
    m.add_function(wrap_pyfunction!(orchestrate, m)?)?;
    m.add_function(wrap_pyfunction!(sample_cqm, m)?)?;
    m.add_function(wrap_pyfunction!(qaoa_circuit, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
