//! Simulated annealing on the GPU (`gpu-sa`), with the parameters and schedule semantics of
//! the CPU [`sa`](super::sa) solver ([`SaParams`], [`BetaSchedule`](super::BetaSchedule),
//! [`default_beta_range`](super::default_beta_range)), so results are comparable.
//!
//! Every read is a replica on the device with its own counter-based random stream
//! (pcg4d of variable, sweep, replica and a key derived from the seed), so a seed gives
//! the same states on a given device. Sweeps update one colour class of the interaction
//! graph at a time in parallel (or, for dense problems, one variable at a time with its
//! field updates spread over a workgroup); see [`Kernel`]. The whole schedule runs on the
//! device, many sweeps per submission; only the final states come back, and their
//! energies are recomputed on the CPU in f64.

use super::sa::SaSolver;
use super::{SaParams, SolveContext, SolveError, Solver, invalid};
use super::{initial_spins, spin_samples};
use crate::gpu::anneal::{Engine, EngineSpec, Kernel, Op};
use crate::gpu::{GpuContext, GpuError};
use crate::model::{Model, SampleSet, SolveInfo, Timing};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

/// Parameters of [`GpuSaSolver`]: the CPU solver's, plus the kernel choice.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GpuSaParams {
    /// Reads, sweeps, schedule, seed and initial states, as for `sa`.
    pub sa: SaParams,
    /// Which kernels sweep (default: chosen from the problem).
    pub kernel: Kernel,
}

/// Simulated annealing on the GPU (`gpu-sa`).
#[derive(Clone, Debug, Default)]
pub struct GpuSaSolver {
    /// Parameters.
    pub params: GpuSaParams,
    /// Device to use; `None` opens the shared default ([`GpuContext::shared`]).
    pub context: Option<Arc<GpuContext>>,
}

impl GpuSaSolver {
    /// A solver on the default device.
    pub fn new(params: GpuSaParams) -> Self {
        GpuSaSolver { params, context: None }
    }

    /// A solver on a given device (e.g. one opened with lowered limits).
    pub fn with_context(params: GpuSaParams, context: Arc<GpuContext>) -> Self {
        GpuSaSolver {
            params,
            context: Some(context),
        }
    }
}

/// The context to use: the given one or the shared default.
pub(crate) fn device(context: &Option<Arc<GpuContext>>) -> Result<Arc<GpuContext>, SolveError> {
    match context {
        Some(c) => Ok(c.clone()),
        None => GpuContext::shared().map_err(|e| SolveError::Backend(e.to_string())),
    }
}

/// A device error as a solver error (`TooLarge` when a device limit is exceeded).
pub(crate) fn gpu_error(solver: &'static str, e: GpuError) -> SolveError {
    match e {
        GpuError::Limit { .. } => SolveError::TooLarge {
            solver,
            reason: e.to_string(),
        },
        e => SolveError::Backend(format!("{solver}: {e}")),
    }
}

/// Sweeps per submission so that one submission is about `work` flip attempts.
pub(crate) fn sweeps_per_submit(n: usize, replicas: usize, work: u64) -> u32 {
    (work / (n.max(1) as u64 * replicas.max(1) as u64)).clamp(1, 4096) as u32
}

/// Facts about the engine for `SolveInfo::extra`.
pub(crate) fn engine_info(info: &mut SolveInfo, engine: &Engine) {
    info.extra.insert("device".into(), json!(engine.device_name()));
    info.extra.insert("device_index".into(), json!(engine.device_index()));
    info.extra.insert("backend".into(), json!(engine.kernel().name()));
    info.extra.insert("num_colors".into(), json!(engine.num_colors()));
    info.extra.insert("replica_groups".into(), json!(engine.group_sizes()));
    info.extra.insert("fixed_point_scale".into(), json!(engine.scale()));
    info.extra.insert("fixed_point_exact".into(), json!(engine.exact()));
}

impl Solver for GpuSaSolver {
    fn name(&self) -> &'static str {
        "gpu-sa"
    }

    /// One anneal per read; under a time limit, complete anneals repeat until the time is
    /// up (see [`TimeBudget`](super::TimeBudget)).
    fn solve_with(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        if !ctx.anytime() {
            return self.solve_once(model, ctx);
        }
        let p = &self.params.sa;
        let plan = super::anytime::Plan {
            base_sweeps: p.num_sweeps,
            step: p.num_sweeps_per_beta,
            keep: p.num_reads,
            fixed_length: p.beta_schedule.is_some(),
        };
        let mut set = super::anytime::drive(ctx, plan, |sweeps, k, sub| {
            let mut q = self.clone();
            q.params.sa.num_sweeps = sweeps;
            if k > 0 {
                q.params.sa.seed = crate::rng::derive_seed(p.seed, k);
            }
            q.solve_once(model, sub)
        })?;
        set.info.seed = Some(p.seed);
        Ok(set)
    }
}

impl GpuSaSolver {
    /// One anneal per read (cut short, then finished cold, when `ctx` says stop).
    fn solve_once(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        let t0 = Instant::now();
        let p = &self.params.sa;
        let n = model.num_variables();
        p.validate(n)?;
        if p.num_reads == 0 {
            return Err(invalid("num_reads", "must be at least 1"));
        }
        if p.num_reads > u32::MAX as usize / 2 {
            return Err(invalid("num_reads", "must be below 2^31 on the GPU"));
        }
        let initial = p
            .initial_states
            .as_deref()
            .map(|s| initial_spins(s, model))
            .transpose()?;
        let ising = model.to_ising();
        let (schedule, range) = SaSolver::new(p.clone()).schedule(&ising)?;
        let betas: Vec<f64> = schedule.per_sweep().collect();
        let sweeps = betas.len();
        if sweeps > u32::MAX as usize {
            return Err(invalid("num_sweeps", "must be below 2^32 on the GPU"));
        }
        let mut info = SolveInfo {
            solver: self.name().into(),
            seed: Some(p.seed),
            ..Default::default()
        };
        let (spins, t1, done) = if n == 0 {
            (vec![Vec::new(); p.num_reads], Instant::now(), sweeps)
        } else {
            let device = device(&self.context)?;
            let spec = EngineSpec {
                replicas: p.num_reads,
                betas,
                beta_stride: 1,
                tempering: None,
                population: false,
                single_group: false,
                seed: p.seed,
                kernel: self.params.kernel,
                sweeps_per_dispatch: 0,
                initial,
            };
            let mut engine = Engine::new(device, &ising, &spec).map_err(|e| gpu_error("gpu-sa", e))?;
            let err = |e| gpu_error("gpu-sa", e);
            if spec.initial.is_none() {
                engine.run(&[Op::Init]).map_err(err)?;
            }
            let t1 = Instant::now();
            ctx.set_total(sweeps as u64);
            let chunk = sweeps_per_submit(n, p.num_reads, 1 << 27);
            let mut done = 0u32;
            while (done as usize) < sweeps && !ctx.should_stop(t0) {
                let count = chunk.min(sweeps as u32 - done);
                engine.run(&[Op::Sweeps { sweep0: done, count }]).map_err(err)?;
                engine.wait().map_err(err)?;
                done += count;
                ctx.advance(count as u64);
            }
            if (done as usize) < sweeps {
                // Cut short: finish cold with the coldest sweeps of the schedule.
                let count = (super::anneal::COLD_FINISH as u32).min(sweeps as u32 - done);
                let sweep0 = sweeps as u32 - count;
                engine.run(&[Op::Sweeps { sweep0, count }]).map_err(err)?;
                engine.wait().map_err(err)?;
            }
            engine_info(&mut info, &engine);
            (engine.states().map_err(err)?, t1, done as usize)
        };
        let t2 = Instant::now();
        let states = spin_samples(model, spins);
        info.params.insert("num_reads".into(), json!(p.num_reads));
        info.params.insert("num_sweeps".into(), json!(done));
        info.params
            .insert("num_sweeps_per_beta".into(), json!(schedule.sweeps_per_beta));
        info.params.insert("beta_range".into(), json!([range.0, range.1]));
        info.params.insert(
            "beta_schedule_type".into(),
            json!(if p.beta_schedule.is_some() {
                "custom"
            } else {
                match p.beta_schedule_type {
                    super::ScheduleKind::Geometric => "geometric",
                    super::ScheduleKind::Linear => "linear",
                }
            }),
        );
        info.params.insert("backend".into(), json!(self.params.kernel.name()));
        info.extra.insert(
            "flip_attempts".into(),
            json!(p.num_reads as u64 * done as u64 * n as u64),
        );
        let mut set = SampleSet::from_model_states(model, states, info);
        (set.info.stop_reason, set.info.time_to_target_s) = if done < sweeps {
            (Some(ctx.cut_reason()), None)
        } else {
            let (r, t) = super::anytime::finished(set.first().map(|s| s.energy), ctx, ctx.start.unwrap_or(t0));
            (Some(r), t)
        };
        set.info.timing = Timing::since(t0, t1, t2);
        Ok(set)
    }
}
