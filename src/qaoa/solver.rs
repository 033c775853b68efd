//! QAOA as a [`Solver`]: optimise the angles, sample bitstrings, polish each by steepest
//! descent.

use super::optimize::{OptimizeOptions, Optimizer, Step, fixed_angle_start, gamma_scale, optimize};
use super::{Angles, CostDiagonal, CostModel, CpuSimulator, Evaluation, GpuSimulator, QaoaError, Simulator, Tuning};
use crate::gpu::GpuContext;
use crate::model::{Model, SampleSet, SolveInfo, Timing, spins_as};
use crate::solvers::{SolveContext, SolveError, Solver, greedy};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

/// Where the state vector lives (the device that simulates it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// CPU simulator.
    Cpu,
    /// GPU simulator (complex64).
    Gpu,
    /// For complex64: the GPU when a hardware adapter (not a software one such as
    /// lavapipe) exists and the state has at most `MAX_GPU_QUBITS` qubits, else the CPU (when the shared GPU options say
    /// [`require`](crate::gpu::GpuOptions::require), no adapter at all is an error). For complex128: the CPU.
    Auto,
}

crate::names::named_enum!(serde Device, "qaoa-device" {
    Cpu = "cpu": "The CPU simulator",
    Gpu = "gpu": "The GPU simulator (complex64), on the adapter chosen by --device",
    Auto = "auto": "The GPU if a hardware adapter fits the state and the precision is f32, else the CPU",
});

/// Amplitude precision of the CPU simulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// complex64.
    F32,
    /// complex128.
    F64,
}

crate::names::named_enum!(serde Precision, "qaoa-precision" {
    F32 = "f32": "complex64 amplitudes (the GPU's)",
    F64 = "f64": "complex128 amplitudes (CPU only)",
});

/// Parameters of [`QaoaSolver`].
#[derive(Clone, Debug)]
pub struct QaoaParams {
    /// Layers.
    pub p: usize,
    /// Local optimiser of the angles.
    pub optimizer: Optimizer,
    /// Bitstrings sampled from the final state.
    pub shots: usize,
    /// Where to simulate.
    pub device: Device,
    /// CPU amplitude precision (the GPU is always complex64).
    pub precision: Precision,
    /// Seed of sampling and of the optimiser's restarts.
    pub seed: u64,
    /// Extra local optimisations from perturbed angles at the final depth.
    pub restarts: usize,
    /// Evaluations per local optimisation (0: automatic).
    pub max_evals: usize,
    /// Evaluate these angles (energy convention) instead of optimising.
    pub angles: Option<Angles>,
    /// Polish every sample with steepest descent.
    pub polish: bool,
    /// Speed knobs of the CPU simulator (defaults: the measured best).
    pub tuning: Tuning,
}

impl Default for QaoaParams {
    fn default() -> Self {
        QaoaParams {
            p: 1,
            optimizer: Optimizer::NelderMead,
            shots: 1000,
            device: Device::Auto,
            precision: Precision::F64,
            seed: 0,
            restarts: 2,
            max_evals: 0,
            angles: None,
            polish: true,
            tuning: Tuning::default(),
        }
    }
}

/// Builds the simulator for `model` on `params.device` with `params.precision` (and the
/// CPU knobs `params.tuning`). `Device::Auto` opens the shared GPU context
/// ([`GpuContext::shared`]); with its options' `require` set, no adapter is an error.
pub fn build_simulator(model: &Model, params: &QaoaParams) -> Result<(Box<dyn Simulator>, CostModel), QaoaError> {
    let (device, precision) = (params.device, params.precision);
    let cost = CostModel::new(model)?;
    let use_gpu = match device {
        Device::Cpu => false,
        Device::Gpu => true,
        // Only complex64 runs on the GPU: complex128 requests stay on the CPU unprobed.
        Device::Auto if precision == Precision::F64 => false,
        Device::Auto => match GpuContext::shared() {
            Ok(ctx) => {
                let hardware = ctx.summary().device_type != "Cpu";
                // States beyond one binding are split over several (see `GpuSimulator`).
                let fits = cost.n <= super::MAX_GPU_QUBITS;
                hardware && fits
            }
            Err(e) if GpuContext::shared_options().require => return Err(e.into()),
            Err(_) => false,
        },
    };
    if use_gpu {
        if precision == Precision::F64 && device == Device::Gpu {
            return Err(QaoaError::InvalidParameter {
                name: "precision",
                reason: "the GPU simulator is complex64 only; use --precision f32".into(),
            });
        }
        let ctx = GpuContext::shared()?;
        return Ok((Box::new(GpuSimulator::new(ctx, &cost)?), cost));
    }
    // Refuse before building the diagonal (seconds and gigabytes at 31 qubits) when the
    // state vector and the diagonal together cannot fit.
    let amp = match precision {
        Precision::F32 => 8u64,
        Precision::F64 => 16,
    };
    let state = 1u64.checked_shl(cost.n as u32).unwrap_or(u64::MAX).saturating_mul(amp);
    super::cost::check_host_memory(
        &format!("state vector ({} qubits) and cost diagonal", cost.n),
        state.saturating_add(cost.diagonal_bytes()),
    )?;
    let diag = Arc::new(CostDiagonal::new(&cost)?);
    let sim: Box<dyn Simulator> = match precision {
        Precision::F32 => Box::new(CpuSimulator::<f32>::with_tuning(diag, &params.tuning)?),
        Precision::F64 => Box::new(CpuSimulator::<f64>::with_tuning(diag, &params.tuning)?),
    };
    Ok((sim, cost))
}

/// What [`run_qaoa`] found.
#[derive(Clone, Debug)]
pub struct QaoaRun {
    /// Final angles (energy convention), in the conventional range of
    /// [`canonical_angles`](super::optimize::canonical_angles).
    pub angles: Angles,
    /// Their evaluation.
    pub evaluation: Evaluation,
    /// `(min, max)` energy over all basis states (the ground-state energy is exact).
    pub cost_range: (f64, f64),
    /// Evaluations made (1 when the angles were given).
    pub evaluations: usize,
    /// Best `⟨C⟩` per optimised depth.
    pub by_depth: Vec<(usize, f64)>,
    /// Simulator description.
    pub backend: String,
    /// True when stopped early (interrupt or time limit).
    pub stopped: bool,
}

/// Prepares (and unless `params.angles` is given, optimises) the QAOA state of `model` on
/// `sim`, reporting progress through `ctx`.
pub fn run_qaoa(
    sim: &mut dyn Simulator,
    model: &Model,
    params: &QaoaParams,
    ctx: &SolveContext,
) -> Result<QaoaRun, QaoaError> {
    let t0 = Instant::now();
    if let Some(a) = &params.angles {
        let evaluation = sim.evaluate(a)?;
        return Ok(QaoaRun {
            angles: super::optimize::canonical_angles(model, a),
            evaluation,
            cost_range: sim.cost_range(),
            evaluations: 1,
            by_depth: vec![(a.p(), evaluation.expectation)],
            backend: sim.backend(),
            stopped: false,
        });
    }
    let start = fixed_angle_start(model, params.p);
    let (lo, hi) = sim.cost_range();
    let opts = OptimizeOptions {
        optimizer: params.optimizer,
        max_evals: params.max_evals,
        restarts: params.restarts,
        ftol: 1e-11 * (hi - lo).abs().max(1e-300),
        seed: params.seed,
        gamma_scale: gamma_scale(model),
        ..Default::default()
    };
    let per_run = if opts.max_evals > 0 {
        opts.max_evals
    } else {
        100 + 120 * params.p
    };
    ctx.set_total((per_run * (params.p + params.restarts)) as u64);
    let mut on_step = |s: &Step| {
        ctx.advance(1);
        if s.evaluations.is_multiple_of(8) {
            ctx.message(&format!("p={} {} <C>={:.6}", s.p, s.stage, s.best));
        }
        !ctx.should_stop(t0)
    };
    let r = optimize(sim, params.p, start.as_ref(), &opts, &mut on_step)?;
    Ok(QaoaRun {
        // Reported in the conventional range (same expectation; see canonical_angles).
        angles: super::optimize::canonical_angles(model, &r.angles),
        evaluation: r.evaluation,
        cost_range: sim.cost_range(),
        evaluations: r.evaluations,
        by_depth: r.by_depth,
        backend: sim.backend(),
        stopped: r.stopped,
    })
}

/// QAOA solver (`qaoa`): optimised angles, `shots` samples, each polished by
/// [`greedy::descend`].
#[derive(Clone, Debug, Default)]
pub struct QaoaSolver {
    /// Parameters.
    pub params: QaoaParams,
}

impl QaoaSolver {
    /// A solver with `params`.
    pub fn new(params: QaoaParams) -> Self {
        QaoaSolver { params }
    }
}

fn backend_error(e: QaoaError) -> SolveError {
    match e {
        QaoaError::TooManyQubits { n, max } => SolveError::TooLarge {
            solver: "qaoa",
            reason: format!("{n} qubits; the state-vector simulator is limited to {max}"),
        },
        QaoaError::HostMemory { .. } => SolveError::TooLarge {
            solver: "qaoa",
            reason: e.to_string(),
        },
        QaoaError::InvalidParameter { name, reason } => SolveError::InvalidParameter { name, reason },
        QaoaError::InvalidAngles(r) => SolveError::InvalidParameter {
            name: "angles",
            reason: r,
        },
        e => SolveError::Backend(e.to_string()),
    }
}

impl Solver for QaoaSolver {
    fn name(&self) -> &'static str {
        "qaoa"
    }

    fn solve_with(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        let t0 = Instant::now();
        let prm = &self.params;
        prm.validate(model.num_variables())?;
        if prm.p == 0 {
            return Err(crate::solvers::SolveError::InvalidParameter {
                name: "p",
                reason: "must be at least 1".into(),
            });
        }
        if prm.shots == 0 {
            return Err(SolveError::InvalidParameter {
                name: "shots",
                reason: "must be at least 1".into(),
            });
        }
        let (mut sim, _) = build_simulator(model, prm).map_err(backend_error)?;
        let t1 = Instant::now();
        let run = run_qaoa(sim.as_mut(), model, prm, ctx).map_err(backend_error)?;
        let shots = sim.sample(prm.shots, prm.seed).map_err(backend_error)?;
        let t2 = Instant::now();
        let n = model.num_variables();
        let vartype = model.vartype();
        let ising = model.to_ising();
        let mut raw_best = f64::INFINITY;
        let states: Vec<Vec<i8>> = shots
            .iter()
            .map(|&k| {
                let mut spins = super::index_to_spins(k, n);
                raw_best = raw_best.min(ising.energy(&spins));
                if prm.polish {
                    greedy::descend(&ising, &mut spins);
                }
                spins_as(vartype, &spins)
            })
            .collect();
        let mut info = SolveInfo {
            solver: self.name().into(),
            seed: Some(prm.seed),
            ..Default::default()
        };
        let pr = &mut info.params;
        pr.insert("p".into(), json!(prm.p));
        pr.insert("optimizer".into(), json!(prm.optimizer.name()));
        pr.insert("shots".into(), json!(prm.shots));
        pr.insert("restarts".into(), json!(prm.restarts));
        pr.insert("polish".into(), json!(prm.polish));
        let ex = &mut info.extra;
        ex.insert("backend".into(), json!(run.backend));
        ex.insert("gamma".into(), json!(run.angles.gamma));
        ex.insert("beta".into(), json!(run.angles.beta));
        ex.insert("expectation".into(), json!(run.evaluation.expectation));
        ex.insert(
            "ground_state_probability".into(),
            json!(run.evaluation.ground_state_probability),
        );
        ex.insert("ground_energy".into(), json!(run.cost_range.0));
        ex.insert("evaluations".into(), json!(run.evaluations));
        ex.insert("best_sampled_energy".into(), json!(raw_best));
        let mut set = SampleSet::from_model_states(model, states, info);
        set.aggregate();
        (set.info.stop_reason, set.info.time_to_target_s) = if run.stopped {
            (Some(ctx.cut_reason()), None)
        } else {
            let (r, t) = crate::solvers::anytime::finished(set.first().map(|s| s.energy), ctx, ctx.start.unwrap_or(t0));
            (Some(r), t)
        };
        set.info.timing = Timing::since(t0, t1, t2);
        Ok(set)
    }
}
