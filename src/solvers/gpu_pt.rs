//! Parallel tempering on the GPU (`gpu-pt`): the CPU [`pt`](super::pt) algorithm and
//! parameters ([`PtParams`]) with all replicas of all chains on the device.
//!
//! A round is: `sweeps_per_swap` sweeps of every replica at its temperature, the energy of
//! every replica, one exchange pass per chain (even or odd pairs), and a best-state update
//! per chain; many rounds go into one submission. Only the chains' best energies come back
//! between submissions (to check a target), and their best states at the end, whose
//! energies are recomputed on the CPU.

use super::gpu_sa::{device, engine_info, gpu_error, sweeps_per_submit};
use super::pt::{ladder, reached};
use super::{PtParams, SolveContext, SolveError, Solver, invalid};
use crate::gpu::GpuContext;
use crate::gpu::anneal::{Backend, Engine, EngineSpec, Op};
use crate::model::{Model, SampleSet, SolveInfo, Timing, spins_as};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

/// Parameters of [`GpuPtSolver`]: the CPU solver's, plus the kernel choice.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GpuPtParams {
    /// Chains, replicas, sweeps, ladder and seed, as for `pt`.
    pub pt: PtParams,
    /// Which kernels sweep (default: chosen from the problem).
    pub backend: Backend,
}

/// Parallel tempering on the GPU (`gpu-pt`).
#[derive(Clone, Debug, Default)]
pub struct GpuPtSolver {
    /// Parameters.
    pub params: GpuPtParams,
    /// Device to use; `None` opens the shared default.
    pub context: Option<Arc<GpuContext>>,
}

impl GpuPtSolver {
    /// A solver on the default device.
    pub fn new(params: GpuPtParams) -> Self {
        GpuPtSolver { params, context: None }
    }

    /// A solver on a given device.
    pub fn with_context(params: GpuPtParams, context: Arc<GpuContext>) -> Self {
        GpuPtSolver {
            params,
            context: Some(context),
        }
    }
}

impl Solver for GpuPtSolver {
    fn name(&self) -> &'static str {
        "gpu-pt"
    }

    fn solve_with(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        let t0 = Instant::now();
        let p = &self.params.pt;
        let n = model.num_variables();
        let vartype = model.vartype();
        if p.num_chains == 0 {
            return Err(invalid("num_chains", "must be at least 1"));
        }
        if p.sweeps_per_swap == 0 {
            return Err(invalid("sweeps_per_swap", "must be at least 1"));
        }
        if !p.num_sweeps.is_multiple_of(p.sweeps_per_swap) {
            return Err(invalid(
                "num_sweeps",
                format!(
                    "{} is not divisible by sweeps_per_swap = {}",
                    p.num_sweeps, p.sweeps_per_swap
                ),
            ));
        }
        if p.num_sweeps > u32::MAX as usize {
            return Err(invalid("num_sweeps", "must be below 2^32 on the GPU"));
        }
        if n == 0 {
            return Err(invalid("model", "has no variables"));
        }
        let ising = model.to_ising();
        let betas = ladder(&p.betas, p.beta_range, p.num_replicas, &ising)?;
        let m = betas.len();
        let chains = p.num_chains;
        let total = chains
            .checked_mul(m)
            .filter(|&t| t < u32::MAX as usize / 2)
            .ok_or_else(|| invalid("num_chains", "chains x replicas must be below 2^31"))?;
        let spec = EngineSpec {
            replicas: total,
            betas: betas.clone(),
            beta_stride: 0,
            tempering: Some((chains, m)),
            population: false,
            single_group: true,
            seed: p.seed,
            backend: self.params.backend,
            sweeps_per_dispatch: 0,
            initial: None,
        };
        let err = |e| gpu_error("gpu-pt", e);
        let mut engine = Engine::new(device(&self.context)?, &ising, &spec).map_err(err)?;
        engine.run(&[Op::Init, Op::Energy, Op::PtBest]).map_err(err)?;
        let t1 = Instant::now();
        let k = p.sweeps_per_swap as u32;
        let rounds = (p.num_sweeps / p.sweeps_per_swap) as u32;
        let per_submit = (sweeps_per_submit(n, total, 1 << 27) / k).max(1);
        ctx.set_total(rounds as u64);
        let offset = ising.offset();
        let mut done = 0u32;
        let mut time_to_target = None;
        loop {
            if ctx.target_energy.is_some() {
                let best = engine.best_energies().map_err(err)?;
                if let Some(c) = (0..chains).find(|&c| reached(best[c] as f64 + offset, ctx.target_energy)) {
                    let (_, states) = engine.best().map_err(err)?;
                    if reached(ising.energy(&states[c]), ctx.target_energy) {
                        time_to_target = Some(t0.elapsed().as_secs_f64());
                        break;
                    }
                }
            }
            if done >= rounds || ctx.should_stop(t0) {
                break;
            }
            let batch = per_submit.min(rounds - done);
            let mut ops = Vec::with_capacity(4 * batch as usize);
            for r in done..done + batch {
                ops.extend([
                    Op::Sweeps {
                        sweep0: r * k,
                        count: k,
                    },
                    Op::Energy,
                    Op::PtSwap { round: r },
                    Op::PtBest,
                ]);
            }
            engine.run(&ops).map_err(err)?;
            engine.wait().map_err(err)?;
            done += batch;
            ctx.advance(batch as u64);
        }
        let (_, best_states) = engine.best().map_err(err)?;
        let swaps = engine.swap_counts().map_err(err)?;
        let t2 = Instant::now();
        let states: Vec<(Vec<i8>, f64)> = best_states
            .into_iter()
            .map(|s| {
                let state = spins_as(vartype, &s);
                let e = model.energy(&state);
                (state, e)
            })
            .collect();
        let mut info = SolveInfo {
            solver: self.name().into(),
            seed: Some(p.seed),
            ..Default::default()
        };
        let sweeps_done = done as u64 * k as u64;
        info.params.insert("num_chains".into(), json!(chains));
        info.params.insert("num_replicas".into(), json!(m));
        info.params.insert("num_sweeps".into(), json!(sweeps_done));
        info.params.insert("sweeps_per_swap".into(), json!(k));
        info.params.insert("beta_range".into(), json!([betas[0], betas[m - 1]]));
        info.params.insert("backend".into(), json!(self.params.backend.name()));
        info.extra
            .insert("flip_attempts".into(), json!(sweeps_done * total as u64 * n as u64));
        // Pair t is tried on rounds of parity t % 2.
        let acc: Vec<f64> = swaps
            .iter()
            .enumerate()
            .map(|(t, &a)| {
                let tries = (done as u64 + 1 - (t as u64 % 2)) / 2 * chains as u64;
                if tries == 0 { 0.0 } else { a as f64 / tries as f64 }
            })
            .collect();
        info.extra.insert("swap_acceptance".into(), json!(acc));
        if let Some(t) = time_to_target {
            info.extra.insert("time_to_target_s".into(), json!(t));
        }
        engine_info(&mut info, &engine);
        let mut set = SampleSet::from_states(vartype, n, states, info);
        set.info.timing = Timing {
            preprocessing_s: (t1 - t0).as_secs_f64(),
            sampling_s: (t2 - t1).as_secs_f64(),
            postprocessing_s: t2.elapsed().as_secs_f64(),
        };
        Ok(set)
    }
}
