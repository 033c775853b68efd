//! Population annealing on the GPU (`gpu-pa`): the CPU [`pa`](super::pa) algorithm and
//! parameters ([`PaParams`]) with the whole population on the device.
//!
//! A β step is: energies of all replicas, systematic resampling in one workgroup
//! (weights `exp(-Δβ (E - E_min))`, prefix sums, one uniform draw), a copy of the parents'
//! states into the second state buffer, then `sweeps_per_beta` sweeps. Several steps go
//! into one submission; the final population comes back and its energies are recomputed
//! on the CPU.

use super::gpu_sa::{device, engine_info, gpu_error, sweeps_per_submit};
use super::pt::{reached, tempering_beta_range};
use super::spin_samples;
use super::{PaParams, ScheduleKind, SolveContext, SolveError, Solver, invalid};
use crate::gpu::GpuContext;
use crate::gpu::anneal::{Engine, EngineSpec, Kernel, Op};
use crate::model::{Model, SampleSet, SolveInfo, Timing};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

/// Parameters of [`GpuPaSolver`]: the CPU solver's, plus the kernel choice.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GpuPaParams {
    /// Population, sweeps, schedule and seed, as for `pa`.
    pub pa: PaParams,
    /// Which kernels sweep (default: chosen from the problem).
    pub kernel: Kernel,
}

/// Population annealing on the GPU (`gpu-pa`).
#[derive(Clone, Debug, Default)]
pub struct GpuPaSolver {
    /// Parameters.
    pub params: GpuPaParams,
    /// Device to use; `None` opens the shared default.
    pub context: Option<Arc<GpuContext>>,
}

impl GpuPaSolver {
    /// A solver on the default device.
    pub fn new(params: GpuPaParams) -> Self {
        GpuPaSolver { params, context: None }
    }

    /// A solver on a given device.
    pub fn with_context(params: GpuPaParams, context: Arc<GpuContext>) -> Self {
        GpuPaSolver {
            params,
            context: Some(context),
        }
    }
}

impl Solver for GpuPaSolver {
    fn name(&self) -> &'static str {
        "gpu-pa"
    }

    /// One population anneal; under a time limit, complete anneals repeat until the time
    /// is up (see [`TimeBudget`](super::TimeBudget)).
    fn solve_with(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        if !ctx.anytime() {
            return self.solve_once(model, ctx);
        }
        let p = &self.params.pa;
        let plan = super::anytime::Plan {
            base_sweeps: p.num_sweeps,
            step: p.sweeps_per_beta,
            keep: p.population,
            fixed_length: false,
        };
        let mut set = super::anytime::drive(ctx, plan, |sweeps, k, sub| {
            let mut q = self.clone();
            q.params.pa.num_sweeps = sweeps;
            if k > 0 {
                q.params.pa.seed = crate::rng::derive_seed(p.seed, k);
            }
            q.solve_once(model, sub)
        })?;
        set.info.seed = Some(p.seed);
        Ok(set)
    }
}

impl GpuPaSolver {
    /// One population anneal (cut short, then finished cold, when `ctx` says stop).
    fn solve_once(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        let t0 = Instant::now();
        let p = &self.params.pa;
        let n = model.num_variables();
        p.validate(n)?;
        if n == 0 {
            return Err(invalid("model", "has no variables"));
        }
        if p.population > u32::MAX as usize / 2 {
            return Err(invalid("population", "must be below 2^31 on the GPU"));
        }
        let ising = model.to_ising();
        let schedule = p.schedule(tempering_beta_range(&ising))?;
        let steps = schedule.betas.len();
        let s = schedule.sweeps_per_beta;
        if steps * s > u32::MAX as usize {
            return Err(invalid("num_sweeps", "must be below 2^32 on the GPU"));
        }
        let r = p.population;
        let spec = EngineSpec {
            replicas: r,
            betas: schedule.per_sweep().collect(),
            beta_stride: 1,
            tempering: None,
            population: true,
            single_group: true,
            seed: p.seed,
            kernel: self.params.kernel,
            sweeps_per_dispatch: 0,
            initial: None,
        };
        let err = |e| gpu_error("gpu-pa", e);
        let mut engine = Engine::new(device(&self.context)?, &ising, &spec).map_err(err)?;
        engine.run(&[Op::Init]).map_err(err)?;
        let t1 = Instant::now();
        let per_submit = (sweeps_per_submit(n, r, 1 << 27) as usize / s).max(1);
        ctx.set_total(steps as u64);
        let offset = ising.offset();
        let mut done = 0usize;
        let mut time_to_target = None;
        while done < steps && !ctx.should_stop(t0) {
            let batch = per_submit.min(steps - done);
            let mut ops = Vec::new();
            for k in done..done + batch {
                if k > 0 {
                    ops.extend([
                        Op::Energy,
                        Op::PaResample {
                            step: k as u32,
                            dbeta: schedule.betas[k] - schedule.betas[k - 1],
                        },
                        Op::PaCopy,
                    ]);
                }
                ops.push(Op::Sweeps {
                    sweep0: (k * s) as u32,
                    count: s as u32,
                });
            }
            if ctx.target_energy.is_some() {
                ops.push(Op::Energy);
            }
            engine.run(&ops).map_err(err)?;
            engine.wait().map_err(err)?;
            done += batch;
            ctx.advance(batch as u64);
            if ctx.target_energy.is_some() {
                let e = engine.energies().map_err(err)?;
                if e.iter().any(|&x| reached(x as f64 + offset, ctx.target_energy)) {
                    let states = engine.states().map_err(err)?;
                    if states.iter().any(|st| reached(ising.energy(st), ctx.target_energy)) {
                        time_to_target = Some(t0.elapsed().as_secs_f64());
                        break;
                    }
                }
            }
        }
        let cut = time_to_target.is_none() && done < steps;
        if cut {
            // Cut short: finish cold with the coldest sweeps of the schedule.
            let total = (steps * s) as u32;
            let count = (super::anneal::COLD_FINISH as u32).min(total);
            let sweep0 = total - count;
            engine.run(&[Op::Sweeps { sweep0, count }]).map_err(err)?;
            engine.wait().map_err(err)?;
        }
        let spins = engine.states().map_err(err)?;
        let t2 = Instant::now();
        let states = spin_samples(model, spins);
        let sweeps_done = done * s;
        let mut info = SolveInfo {
            solver: self.name().into(),
            seed: Some(p.seed),
            ..Default::default()
        };
        info.params.insert("population".into(), json!(r));
        info.params.insert("num_sweeps".into(), json!(sweeps_done));
        info.params.insert("sweeps_per_beta".into(), json!(s));
        info.params.insert(
            "beta_range".into(),
            json!([
                schedule.betas.first().copied().unwrap_or(0.0),
                schedule.betas.last().copied().unwrap_or(0.0)
            ]),
        );
        info.params.insert(
            "beta_schedule_type".into(),
            json!(match p.beta_schedule_type {
                ScheduleKind::Geometric => "geometric",
                ScheduleKind::Linear => "linear",
            }),
        );
        info.params.insert("backend".into(), json!(self.params.kernel.name()));
        info.extra
            .insert("flip_attempts".into(), json!(sweeps_done as u64 * r as u64 * n as u64));
        info.stop_reason = Some(super::anytime::stop_reason(time_to_target, cut, ctx));
        info.time_to_target_s = time_to_target;
        engine_info(&mut info, &engine);
        let mut set = SampleSet::from_model_states(model, states, info);
        set.info.timing = Timing::since(t0, t1, t2);
        Ok(set)
    }
}
