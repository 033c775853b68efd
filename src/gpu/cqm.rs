//! `gpu-cqm-sa`: the constrained annealer on the GPU, many independent chains at once
//! (one invocation per chain, `shaders/cqm_anneal.wgsl`). The algorithm, its fixed-point
//! form and its CPU twin are in [`crate::cqm::gpu`]; this module uploads a
//! [`CqmProgram`], keeps the chains on the device ([`CqmEngine`]) and runs them as a
//! solver ([`GpuCqmSaSolver`]) with the parameters and the result of `cqm-sa`.
//!
//! Limits: the chains' buffers are split into groups that each fit one storage binding
//! (`max_storage_buffer_binding_size`, `max_buffer_size`); a problem whose data, or whose
//! single chain, does not fit one binding, or a device with fewer than 5 storage buffers
//! per shader stage, is refused with [`GpuError::Limit`] naming the limit.

use super::shaders::{self, Shader};
use super::{GpuContext, GpuError, buffer_entry};
use crate::cqm::gpu::{ChainState, CqmProgram, META, meta, pick_answer};
use crate::cqm::{ConstrainedModel, CqmError, CqmSaParams, CqmSolution, StopReason};
use crate::gpu::anneal::reference::seed_key;
use crate::solvers::SolveContext;
use bytemuck::{Pod, Zeroable};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The kernel file.
pub const SHADER: Shader = shaders::CQM_ANNEAL;
/// Storage buffers one kernel binds.
pub const STORAGE_BUFFERS: u32 = 5;
/// Invocations (chains) per workgroup at most.
const WGS: u32 = 64;
/// Moves per chain per dispatch at most (sweeps per dispatch <= this / units), so no
/// single dispatch runs long enough to trip a display driver's watchdog.
const MOVES_PER_DISPATCH: usize = 1 << 16;
/// Moves of all chains together per dispatch, about: time limits, targets and interrupts
/// are checked between dispatches (about 0.3 s of work on lavapipe's two cores here, far
/// less on a GPU). Dispatch sizes do not change the states, only where a run may stop.
const MOVES_PER_BATCH: usize = 1 << 22;
/// A dispatch that took longer than this (seconds; a slow adapter with many chains) makes
/// the next ones proportionally shorter.
const SLOW_DISPATCH_S: f64 = 0.5;

/// Errors of `gpu-cqm-sa`.
#[derive(Debug, thiserror::Error)]
pub enum GpuCqmError {
    /// Invalid parameters or model.
    #[error(transparent)]
    Model(#[from] CqmError),
    /// The device failed or a limit is exceeded.
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

impl From<GpuCqmError> for crate::solvers::SolveError {
    /// A device limit is `TooLarge` (an input too big for the machine), a parameter error
    /// `InvalidParameter`, anything else `Backend`.
    fn from(e: GpuCqmError) -> Self {
        use crate::solvers::SolveError;
        match e {
            GpuCqmError::Gpu(g @ GpuError::Limit { .. }) => SolveError::TooLarge {
                solver: "gpu-cqm-sa",
                reason: g.to_string(),
            },
            GpuCqmError::Model(CqmError::Param { name, msg }) => SolveError::InvalidParameter { name, reason: msg },
            e => SolveError::Backend(format!("gpu-cqm-sa: {e}")),
        }
    }
}

/// Mirrors `Params` in `cqm_common.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct Params {
    n: u32,
    groups: u32,
    units: u32,
    ncons: u32,
    chains: u32,
    chain_base: u32,
    key: u32,
    sweep0: u32,
    num_sweeps: u32,
    temp_off: u32,
    lin_off: u32,
    ap_off: u32,
    adj_off: u32,
    gp_off: u32,
    gv_off: u32,
    unit_off: u32,
    op_off: u32,
    occ_off: u32,
    cons_off: u32,
    log_off: u32,
    mgroups: u32,
    _pad: [u32; 3],
}

struct Group {
    base: usize,
    count: usize,
    words: wgpu::Buffer,
    cons: wgpu::Buffer,
    chain: wgpu::Buffer,
    params: wgpu::Buffer,
    bind0: wgpu::BindGroup,
    bind1: wgpu::BindGroup,
}

/// Chains of one constrained program on one device.
pub struct CqmEngine {
    ctx: Arc<GpuContext>,
    prog: Arc<CqmProgram>,
    template: Params,
    groups: Vec<Group>,
    wgs: u32,
    pipelines: [wgpu::ComputePipeline; 3],
}

impl std::fmt::Debug for CqmEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CqmEngine")
            .field("n", &self.prog.n)
            .field("groups", &self.group_sizes())
            .finish()
    }
}

impl CqmEngine {
    /// Uploads `prog` with `chains` chains for a schedule of `sweeps` sweeps per cycle
    /// (temperatures from [`CqmProgram::temperatures`]), random numbers from `seed`. The
    /// chains are split into groups that each fit one storage binding; errors name the
    /// device limit a buffer would exceed.
    pub fn new(
        ctx: Arc<GpuContext>,
        prog: Arc<CqmProgram>,
        chains: usize,
        sweeps: usize,
        seed: u64,
    ) -> Result<Self, GpuError> {
        if chains == 0 || sweeps == 0 {
            return Err(GpuError::Runtime(
                "gpu-cqm-sa needs at least one chain and one sweep".into(),
            ));
        }
        let lim = ctx.limits().clone();
        if lim.max_storage_buffers_per_shader_stage < STORAGE_BUFFERS {
            return Err(GpuError::limit(
                "the constrained-annealing kernel's storage buffers".into(),
                "max_storage_buffers_per_shader_stage",
                STORAGE_BUFFERS as u64,
                lim.max_storage_buffers_per_shader_stage as u64,
            ));
        }
        let p = &prog;
        ctx.check_binding(
            &format!("the problem data ({} variables, {} constraints)", p.n, p.constraints),
            4 * p.data.len() as u64,
        )?;
        let temps = p.temperatures(sweeps);
        ctx.check_binding(
            &format!("the temperature table ({} values)", temps.len()),
            4 * temps.len() as u64,
        )?;
        let binding = lim.max_storage_buffer_binding_size.min(lim.max_buffer_size);
        let (w, c, h) = p.chain_words();
        let per_chain = 4 * w.max(c).max(h).max(1) as u64;
        let wgs = WGS
            .min(lim.max_compute_invocations_per_workgroup)
            .min(lim.max_compute_workgroup_size_x)
            .max(1);
        let max_count = (binding / per_chain).min(lim.max_compute_workgroups_per_dimension as u64 * wgs as u64);
        if max_count == 0 {
            return Err(GpuError::limit(
                format!(
                    "the state of one chain ({} variables, {} constraints, {} units; 4 bytes each)",
                    p.n, p.constraints, p.units
                ),
                "max_storage_buffer_binding_size",
                per_chain,
                binding,
            ));
        }
        let max_count = max_count as usize;
        let device = ctx.device();
        let bgl0 = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("cqm problem"),
            entries: &[
                buffer_entry(0, wgpu::BufferBindingType::Storage { read_only: true }),
                buffer_entry(1, wgpu::BufferBindingType::Storage { read_only: true }),
                buffer_entry(2, wgpu::BufferBindingType::Uniform),
            ],
        });
        let bgl1 = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("cqm chains"),
            entries: &[
                buffer_entry(0, wgpu::BufferBindingType::Storage { read_only: false }),
                buffer_entry(1, wgpu::BufferBindingType::Storage { read_only: false }),
                buffer_entry(2, wgpu::BufferBindingType::Storage { read_only: false }),
            ],
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("cqm"),
            bind_group_layouts: &[Some(&bgl0), Some(&bgl1)],
            immediate_size: 0,
        });
        let values = [("WGS", wgs)];
        let source = SHADER.source(&values).map_err(|e| GpuError::Runtime(e.to_string()))?;
        let key = format!("{}::explicit-cqm", SHADER.key(&values));
        let pipelines =
            ["cqm_init", "cqm_restart", "cqm_sweeps"].map(|e| ctx.pipeline_with_layout(&key, &source, e, &layout));
        let prob_buf = ctx.storage("cqm prob", &p.data);
        let temps_buf = ctx.storage("cqm temps", &temps);
        let o = p.off;
        let template = Params {
            n: p.n as u32,
            groups: p.groups as u32,
            units: p.units as u32,
            ncons: p.constraints as u32,
            key: seed_key(seed),
            lin_off: o.lin as u32,
            ap_off: o.adj_ptr as u32,
            adj_off: o.adj as u32,
            gp_off: o.group_ptr as u32,
            gv_off: o.group_vars as u32,
            unit_off: o.units as u32,
            op_off: o.occ_ptr as u32,
            occ_off: o.occ as u32,
            cons_off: o.cons as u32,
            log_off: o.log as u32,
            mgroups: p.movable_groups as u32,
            ..Default::default()
        };
        let mut groups = Vec::new();
        let mut base = 0;
        while base < chains {
            let count = max_count.min(chains - base);
            let words = ctx.storage_zeroed("cqm words", 4 * (w * count) as u64);
            let cons = ctx.storage_zeroed("cqm constraints", 4 * (c * count) as u64);
            let chain = ctx.storage_zeroed("cqm chain", 4 * (h * count) as u64);
            let params = ctx.uniform("cqm params", &template);
            let bind0 = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("cqm problem"),
                layout: &bgl0,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: prob_buf.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: temps_buf.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: params.as_entire_binding(),
                    },
                ],
            });
            let bind1 = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("cqm chains"),
                layout: &bgl1,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: words.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: cons.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: chain.as_entire_binding(),
                    },
                ],
            });
            groups.push(Group {
                base,
                count,
                words,
                cons,
                chain,
                params,
                bind0,
                bind1,
            });
            base += count;
        }
        ctx.take_error()?;
        Ok(CqmEngine {
            ctx,
            prog,
            template,
            groups,
            wgs,
            pipelines,
        })
    }

    /// Chains per group (each group's buffers fit one binding).
    pub fn group_sizes(&self) -> Vec<usize> {
        self.groups.iter().map(|g| g.count).collect()
    }

    /// The program on the device.
    pub fn program(&self) -> &CqmProgram {
        &self.prog
    }

    fn dispatch(&self, pipeline: usize, sweep0: u32, temp_off: u32, num_sweeps: u32) -> Result<(), GpuError> {
        let mut enc = self.ctx.device().create_command_encoder(&Default::default());
        for g in &self.groups {
            let params = Params {
                chains: g.count as u32,
                chain_base: g.base as u32,
                sweep0,
                num_sweeps,
                temp_off,
                ..self.template
            };
            self.ctx.queue().write_buffer(&g.params, 0, bytemuck::bytes_of(&params));
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.pipelines[pipeline]);
            pass.set_bind_group(0, &g.bind0, &[]);
            pass.set_bind_group(1, &g.bind1, &[]);
            pass.dispatch_workgroups((g.count as u32).div_ceil(self.wgs), 1, 1);
        }
        // Each group has its own parameter buffer, written before this submission.
        self.ctx.queue().submit([enc.finish()]);
        self.ctx.wait()
    }

    /// Random initial states, multipliers at their start, records cleared (waits).
    pub fn init(&self) -> Result<(), GpuError> {
        self.dispatch(0, 0, 0, 0)
    }

    /// Every chain with a best feasible state restarts from it (waits).
    pub fn restart(&self) -> Result<(), GpuError> {
        self.dispatch(1, 0, 0, 0)
    }

    /// `count` sweeps: global sweep indices `sweep0..` (random numbers), temperatures
    /// `temps[temp_off..]` of [`CqmProgram::temperatures`] (waits).
    pub fn sweeps(&self, sweep0: u32, temp_off: u32, count: u32) -> Result<(), GpuError> {
        self.dispatch(2, sweep0, temp_off, count)
    }

    /// Every chain's scalars ([`meta`]), in chain order.
    pub fn meta(&self) -> Result<Vec<[u32; META]>, GpuError> {
        let (_, _, h) = self.prog.chain_words();
        let mut out = Vec::new();
        for g in &self.groups {
            let m: Vec<u32> = self.ctx.read(&g.chain, ((h - META) * g.count) as u64, META * g.count)?;
            for c in 0..g.count {
                out.push(std::array::from_fn(|j| m[j * g.count + c]));
            }
        }
        Ok(out)
    }

    /// Every chain's full state, in chain order (equal to the CPU twin's
    /// [`ChainState`]s after the same work).
    pub fn chains(&self) -> Result<Vec<ChainState>, GpuError> {
        let p = &self.prog;
        let (w, c, h) = p.chain_words();
        let (k, gs, u) = (p.constraints, p.groups, p.units);
        let mut out = Vec::new();
        for g in &self.groups {
            let n = g.count;
            let words: Vec<i32> = self.ctx.read(&g.words, 0, w * n)?;
            let cons: Vec<u32> = self.ctx.read(&g.cons, 0, c * n)?;
            let chain: Vec<u32> = self.ctx.read(&g.chain, 0, h * n)?;
            let col = |v: &[u32], from: usize, rows: usize, i: usize| -> Vec<u32> {
                (from..from + rows).map(|r| v[r * n + i]).collect()
            };
            for i in 0..n {
                out.push(ChainState {
                    words: (0..w).map(|r| words[r * n + i]).collect(),
                    lhs: col(&cons, 0, k, i).into_iter().map(|x| x as i32).collect(),
                    lambda: col(&cons, k, k, i),
                    choice: col(&chain, 0, gs, i),
                    best: col(&chain, gs, u, i),
                    least: col(&chain, gs + u, u, i),
                    meta: std::array::from_fn(|j| chain[(gs + 2 * u + j) * n + i]),
                });
            }
        }
        Ok(out)
    }
}

/// `gpu-cqm-sa`: [`CqmSaParams`] (`chains` on the device at once, `sweeps` per cycle,
/// `cycles` without a time limit, `seed`, `time_limit`, `target_energy`), the result of
/// `cqm-sa` ([`CqmSolution`]).
#[derive(Clone, Debug, Default)]
pub struct GpuCqmSaSolver {
    /// Parameters (as `cqm-sa`'s).
    pub params: CqmSaParams,
    /// Device to use; `None` opens the shared default ([`GpuContext::shared`]).
    pub context: Option<Arc<GpuContext>>,
}

impl GpuCqmSaSolver {
    /// A solver on the default device.
    pub fn new(params: CqmSaParams) -> Self {
        GpuCqmSaSolver { params, context: None }
    }

    /// A solver on a given device (e.g. one opened with lowered limits).
    pub fn with_context(params: CqmSaParams, context: Arc<GpuContext>) -> Self {
        GpuCqmSaSolver {
            params,
            context: Some(context),
        }
    }

    /// Solves `m`.
    pub fn solve(&self, m: &ConstrainedModel) -> Result<CqmSolution, GpuCqmError> {
        self.solve_with(m, &SolveContext::default())
    }

    /// Solves `m` under run-time controls: `ctx.interrupt` stops the run after the
    /// current dispatch, `ctx.progress` gets the best feasible energy after every
    /// dispatch. The time limit and the target (minimisation sense, offset included) are
    /// the parameters'; both are checked between dispatches, and the answer is always a
    /// recorded whole state (a chain's best feasible or least-violated one), judged on the
    /// model in f64.
    pub fn solve_with(&self, m: &ConstrainedModel, ctx: &SolveContext) -> Result<CqmSolution, GpuCqmError> {
        let prm = &self.params;
        prm.validate()?;
        let start = Instant::now();
        let device = match &self.context {
            Some(c) => c.clone(),
            None => GpuContext::shared()?,
        };
        let prog = Arc::new(CqmProgram::new(m)?);
        let eng = CqmEngine::new(device, prog.clone(), prm.chains, prm.sweeps, prm.seed)?;
        let offset = m.to_energy(m.offset());
        let deadline = prm.time_limit.map(|d| start + d);
        let max_spd = (MOVES_PER_DISPATCH / prog.units.max(1)).clamp(1, prm.sweeps);
        let mut spd = (MOVES_PER_BATCH / (prog.units.max(1) * prm.chains)).clamp(1, max_spd);
        eng.init()?;
        let mut first_feasible: Option<f64> = None;
        let mut trace_events: Vec<(f64, f64)> = Vec::new();
        let mut sweeps_done: u64 = 0;
        let mut cycles = 0usize;
        let interrupted = || ctx.interrupt.is_some_and(|f| f.load(Ordering::Relaxed));
        let check = |first: &mut Option<f64>| -> Result<Option<f64>, GpuError> {
            let metas = eng.meta()?;
            let best = metas
                .iter()
                .filter(|x| x[meta::HAS_BEST] != 0)
                .map(|x| prog.energy_of_fixed(x[meta::BEST_F] as i32) + offset)
                .min_by(f64::total_cmp);
            if best.is_some() && first.is_none() {
                *first = Some(start.elapsed().as_secs_f64());
            }
            if let Some(b) = best {
                ctx.best_energy(b);
            }
            Ok(best)
        };
        let stop = 'run: loop {
            if cycles > 0 {
                eng.restart()?;
            }
            let base = if cycles == 0 { 0 } else { prm.sweeps };
            let mut k = 0;
            cycles += 1;
            while k < prm.sweeps {
                let count = spd.min(prm.sweeps - k);
                let sweep0 = ((cycles - 1) * prm.sweeps + k) as u32;
                let t = Instant::now();
                eng.sweeps(sweep0, (base + k) as u32, count as u32)?;
                let dt = t.elapsed().as_secs_f64();
                if dt > SLOW_DISPATCH_S {
                    spd = ((count as f64 * 0.5 * SLOW_DISPATCH_S / dt) as usize).max(1);
                }
                k += count;
                sweeps_done += (count * prm.chains) as u64;
                let best = check(&mut first_feasible)?;
                if let Some(b) = best {
                    trace_events.push((start.elapsed().as_secs_f64(), b));
                }
                if interrupted() {
                    break 'run StopReason::Interrupted;
                }
                // The fixed-point objective is exact for integer models; the target is
                // confirmed on the model's own energy below.
                if let (Some(t), Some(b)) = (prm.target_energy, best)
                    && b <= t + 1e-9 * t.abs().max(1.0)
                {
                    break 'run StopReason::Target;
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break 'run StopReason::TimeLimit;
                }
            }
            // nothing moves (every group has one variable, no free variable): one cycle
            // records the state, more would repeat it
            if (prm.time_limit.is_none() && cycles >= prm.cycles) || prog.units == 0 {
                break StopReason::Completed;
            }
        };
        let states: Vec<Vec<u8>> = eng.chains()?.iter().map(|c| prog.chain_answer(c)).collect();
        let state = pick_answer(m, &states).ok_or_else(|| GpuError::Runtime("no chain state read back".into()))?;
        let violations = m.violations(&state);
        let energy = m.energy(&state);
        Ok(CqmSolution {
            trace: crate::cqm::merge_trace(
                trace_events,
                violations.is_empty().then_some(energy),
                start.elapsed().as_secs_f64(),
            ),
            energy,
            objective: m.objective(&state),
            feasible: violations.is_empty(),
            violations,
            state,
            cycles: cycles * prm.chains,
            sweeps: sweeps_done,
            time_to_feasible_s: first_feasible,
            elapsed_s: start.elapsed().as_secs_f64(),
            stop,
            // The same Lagrangian bound cqm-sa reports (computed on the CPU).
            bound: crate::cqm::lagrange::lagrangian_bound(m, crate::cqm::lagrange::STEPS)
                .filter(|l| l.valid)
                .map(|l| l.bound),
        })
    }
}
