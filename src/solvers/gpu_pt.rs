//! Parallel tempering on the GPU (`gpu-pt`): the CPU [`pt`](super::pt) algorithm and
//! parameters ([`PtParams`]) with all replicas of all chains on the device.
//!
//! A round is: `sweeps_per_swap` sweeps of every replica at its temperature, the energy of
//! every replica, one exchange pass per chain (even or odd pairs), and a best-state update
//! per chain; many rounds go into one submission. Only the chains' best energies come back
//! between submissions (to check a target), and their best states at the end, whose
//! energies are recomputed on the CPU.

use super::gpu_sa::{device, engine_info, gpu_error, sweeps_per_submit};
use super::pt::{ADAPT_EVERY, adapt_rounds, ladder, reached, respace_ladder};
use super::spin_samples;
use super::{PtParams, SolveContext, SolveError, Solver, invalid};
use crate::gpu::GpuContext;
use crate::gpu::anneal::{Engine, EngineSpec, Kernel, Op};
use crate::model::{Model, SampleSet, SolveInfo, Timing};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

/// Parameters of [`GpuPtSolver`]: the CPU solver's, plus the kernel choice.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GpuPtParams {
    /// Chains, replicas, sweeps, ladder and seed, as for `pt`.
    pub pt: PtParams,
    /// Which kernels sweep (default: chosen from the problem).
    pub kernel: Kernel,
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

    /// As [`PtSolver`](super::PtSolver): under a time limit the chains run until the
    /// limit (`Plan`) or complete runs repeat (`Repeat`).
    fn solve_with(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        let p = &self.params.pt;
        if !ctx.anytime() {
            return self.solve_once(model, ctx);
        }
        if ctx.budget == super::TimeBudget::Plan {
            let spp = p.sweeps_per_swap.max(1);
            let mut q = self.clone();
            q.params.pt.num_sweeps = super::anytime::UNBOUNDED_SWEEPS / spp * spp;
            let sub = SolveContext {
                budget: super::TimeBudget::Single,
                ..*ctx
            };
            return q.solve_once(model, &sub);
        }
        let plan = super::anytime::Plan {
            base_sweeps: p.num_sweeps,
            step: p.sweeps_per_swap,
            keep: p.num_chains,
            fixed_length: true,
        };
        let mut set = super::anytime::drive(ctx, plan, |sweeps, k, sub| {
            let mut q = self.clone();
            q.params.pt.num_sweeps = sweeps;
            if k > 0 {
                q.params.pt.seed = crate::rng::derive_seed(p.seed, k);
            }
            q.solve_once(model, sub)
        })?;
        set.info.seed = Some(p.seed);
        Ok(set)
    }
}

impl GpuPtSolver {
    /// One tempering run of `num_sweeps` (cut short when `ctx` says stop).
    fn solve_once(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        let t0 = Instant::now();
        let p = &self.params.pt;
        let n = model.num_variables();
        p.validate(n)?;
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
        let mut betas = ladder(&p.betas, p.beta_range, p.num_replicas, &ising)?;
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
            kernel: self.params.kernel,
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
        let adapt = adapt_rounds(p, rounds as usize) as u32;
        // Exchange counts at the start of the current adaptation window / of the final ladder.
        let mut base_counts = vec![0u64; m.saturating_sub(1)];
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
            let mut batch = per_submit.min(rounds - done);
            if done < adapt {
                // End batches on adaptation boundaries.
                batch = batch.min(ADAPT_EVERY as u32 - done % ADAPT_EVERY as u32);
            }
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
            if done <= adapt && done.is_multiple_of(ADAPT_EVERY as u32) {
                let counts = engine.swap_counts().map_err(err)?;
                let start = done - ADAPT_EVERY as u32;
                let acc: Vec<f64> = (0..m - 1)
                    .map(|t| {
                        // Rounds r in start..done with r % 2 == t % 2, times chains.
                        let tries = (start..done).filter(|r| r % 2 == t as u32 % 2).count() * chains;
                        (counts[t] - base_counts[t]) as f64 / tries.max(1) as f64
                    })
                    .collect();
                betas = respace_ladder(&betas, &acc);
                engine.set_betas(&betas).map_err(err)?;
                base_counts = counts;
            }
        }
        let (_, best_states) = engine.best().map_err(err)?;
        let swaps: Vec<u64> = engine
            .swap_counts()
            .map_err(err)?
            .iter()
            .zip(&base_counts)
            .map(|(a, b)| a - b)
            .collect();
        let measured = done.saturating_sub(adapt.min(done));
        let t2 = Instant::now();
        let states = spin_samples(model, best_states);
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
        info.params.insert("adapt_rounds".into(), json!(adapt));
        info.extra.insert("betas".into(), json!(betas));
        info.params.insert("backend".into(), json!(self.params.kernel.name()));
        info.extra
            .insert("flip_attempts".into(), json!(sweeps_done * total as u64 * n as u64));
        // Pair t is tried on rounds of parity t % 2 (adaptation windows are even-sized).
        let acc: Vec<f64> = swaps
            .iter()
            .enumerate()
            .map(|(t, &a)| {
                let tries = (measured as u64 + 1 - (t as u64 % 2)) / 2 * chains as u64;
                if tries == 0 { 0.0 } else { a as f64 / tries as f64 }
            })
            .collect();
        info.extra.insert("swap_acceptance".into(), json!(acc));
        info.stop_reason = Some(super::anytime::stop_reason(time_to_target, done < rounds, ctx));
        info.time_to_target_s = time_to_target;
        engine_info(&mut info, &engine);
        let mut set = SampleSet::from_model_states(model, states, info);
        set.info.timing = Timing::since(t0, t1, t2);
        Ok(set)
    }
}
