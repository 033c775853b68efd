//! The GPU state-vector simulator: WGSL kernels on wgpu, complex64 amplitudes (host code
//! of the QAOA kernel family; users reach it as [`crate::qaoa::GpuSimulator`]).
//!
//! Buffers live on the device for the simulator's lifetime: the state (`2^n` `vec2<f32>`),
//! the scaled cost diagonal `v_k` (`2^n` f32, computed on the GPU from the term list, with
//! `c_k = offset + step · v_k`), the per-layer phase tables, one uniform parameter slot per
//! dispatch, and the reduction partials. One evaluation is one submission: per layer
//! about `⌈n / t⌉` mixer passes, each a tile of `2^t` amplitudes in workgroup memory
//! (`t` = 12 where 32 KiB of workgroup memory is available, 11 with WebGPU's minimum
//! 16 KiB), the first of which also does the phase step, then a two-stage reduction;
//! 16 bytes come back.
//!
//! Precision: amplitudes and sums in f32. On an integer grid of at most 65 536 levels the
//! phases come from a table computed on the CPU in f64; otherwise the angle `γ·step·v` is
//! formed in f32 and reduced to `[−π, π]` before f32 `cos`/`sin` (relative phase error
//! about `1e-7 · |γ c|`). f64 transcendentals are never used (lavapipe computes them
//! wrongly). Ground states on a grid are exact; otherwise `v` within `1e-5` (relative to
//! the energy range) of the minimum counts.
//!
//! Limits: a state larger than one storage binding or buffer (`8 · 2^n` bytes against
//! `max_storage_buffer_binding_size` and `max_buffer_size`: 128 MiB, i.e. n ≤ 24, on
//! lavapipe) is split into `2^(n − m)` chunks of `2^m` states, each its own buffer (and
//! the cost diagonal likewise). Qubits below `m` are mixed inside each chunk by the tiled
//! passes; each qubit `q ≥ m` pairs chunk `c` with chunk `c | 2^(q − m)` elementwise
//! (`qaoa_pair.wgsl`), one more pass over the state per such qubit. Indices are 32-bit:
//! n ≤ 32 (64 GiB of complex64).

use super::shaders::{self, Shader};
use super::{GpuContext, GpuError};
use crate::qaoa::real::round_pair_f32;
use crate::qaoa::{Angles, CostModel, Evaluation, MAX_LEVELS, QaoaError, Simulator};
use crate::rng::Rng;
use bytemuck::{Pod, Zeroable};
use std::num::NonZeroU64;
use std::sync::Arc;

/// Largest number of qubits the GPU simulator addresses (32-bit state indices).
pub const MAX_GPU_QUBITS: usize = 32;

const WG: u32 = 256;
/// Largest mixer tile (`TILE` in qaoa_mixer.wgsl is set to `2^tile_bits`, the largest
/// power of two up to this whose `vec2<f32>` tile fits the device's workgroup memory).
const MAX_TILE_BITS: usize = 12;
/// States per block of the sampling kernels.
const SAMPLE_BLOCK_BITS: usize = 10;
/// Consecutive states per tile row in the high mixer passes.
const COL_BITS: usize = 3;
/// Workgroups of the first reduction stage.
const REDUCE_GROUPS: u32 = 1024;
/// Bytes per uniform parameter slot (≥ `min_uniform_buffer_offset_alignment`).
const SLOT: u64 = 256;

/// Every WGSL source of the QAOA kernels as `(file name, full source)`, as the simulator
/// compiles them at the largest tile (for validation without a device; the registry
/// [`crate::gpu::shaders`] lists every kernel of qam).
pub fn shader_sources() -> Vec<(&'static str, String)> {
    [
        shaders::QAOA_COST,
        shaders::QAOA_PHASE,
        shaders::QAOA_MIXER,
        shaders::QAOA_REDUCE,
        shaders::QAOA_SAMPLE,
        shaders::QAOA_PAIR,
    ]
    .iter()
    .map(|s| (s.file, source(s, MAX_TILE_BITS)))
    .collect()
}

/// The full source of `shader`, with the mixer's `TILE` at `2^tile_bits`.
fn source(shader: &Shader, tile_bits: usize) -> String {
    let values: &[(&str, u32)] = if shader.constants.contains(&"TILE") {
        &[("TILE", 1 << tile_bits)]
    } else {
        &[]
    };
    shader
        .source(values)
        .unwrap_or_else(|e| unreachable!("qaoa_mixer.wgsl declares TILE: {e}"))
}

/// Parameters of one dispatch (`Params` in qaoa_common.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct Params {
    n: u32,
    qb: u32,
    k: u32,
    cb: u32,
    mode: u32,
    init: u32,
    offset: u32,
    count: u32,
    c: f32,
    s: f32,
    g: f32,
    amp: f32,
    vmin: f32,
    gthr: f32,
    fuse: u32,
    chunk: u32,
    m: u32,
    base: u32,
    _p2: u32,
    _p3: u32,
}

/// A pair term of the cost (`Term` in qaoa_cost.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct Term {
    i: u32,
    j: u32,
    w: f32,
    _pad: u32,
}

/// A shot for the `pick` kernel.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct Shot {
    block: u32,
    goal: f32,
}

struct Pipelines {
    cost: wgpu::ComputePipeline,
    phase: wgpu::ComputePipeline,
    mixer: wgpu::ComputePipeline,
    expectation: wgpu::ComputePipeline,
    minmax: wgpu::ComputePipeline,
    finish_sum: wgpu::ComputePipeline,
    finish_minmax: wgpu::ComputePipeline,
    block_sums: wgpu::ComputePipeline,
    pick: wgpu::ComputePipeline,
    pair: wgpu::ComputePipeline,
}

impl Pipelines {
    fn new(ctx: &GpuContext, tile_bits: usize) -> Pipelines {
        let pipe = |s: Shader, entry: &str| {
            let key = if s.constants.is_empty() {
                s.file.to_string()
            } else {
                s.key(&[("TILE", 1 << tile_bits)])
            };
            ctx.pipeline(&key, &source(&s, tile_bits), entry)
        };
        Pipelines {
            cost: pipe(shaders::QAOA_COST, "cost_diagonal"),
            phase: pipe(shaders::QAOA_PHASE, "phase"),
            mixer: pipe(shaders::QAOA_MIXER, "mixer"),
            expectation: pipe(shaders::QAOA_REDUCE, "expectation"),
            minmax: pipe(shaders::QAOA_REDUCE, "minmax"),
            finish_sum: pipe(shaders::QAOA_REDUCE, "finish_sum"),
            finish_minmax: pipe(shaders::QAOA_REDUCE, "finish_minmax"),
            block_sums: pipe(shaders::QAOA_SAMPLE, "block_sums"),
            pick: pipe(shaders::QAOA_SAMPLE, "pick"),
            pair: pipe(shaders::QAOA_PAIR, "pair"),
        }
    }
}

/// One dispatch of an evaluation: its parameter slot and the chunks it binds.
#[derive(Clone, Copy)]
enum Step {
    /// Phase step of one chunk (when not fused into the first mixer pass).
    Phase { slot: usize, chunk: usize },
    /// A tiled mixer pass over one chunk (`tiles` workgroups).
    Mixer { slot: usize, chunk: usize, tiles: u64 },
    /// RX on a chunk-selecting qubit: chunks `lo` and `hi` elementwise.
    Pair { slot: usize, lo: usize, hi: usize },
    /// RX on slice qubit `bit` (held by other ranks): every chunk against the partner's
    /// copy, through the host (see [`GpuSimulator::evaluate_slice`]).
    Exchange { slot: usize, bit: usize },
    /// First reduction stage over one chunk.
    Reduce { slot: usize, chunk: usize },
    /// Last reduction stage (every chunk's partials into the result).
    Finish { slot: usize },
}

/// Which part of a state split over several simulators (MPI ranks) one simulator holds:
/// slice `index` of `2^bits`, the basis states `index · 2^(n − bits) + j`. Qubits
/// `n − bits ..` select the slice; their mixers need the partner slice's amplitudes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Slice {
    /// log2 of the number of slices.
    pub bits: usize,
    /// This slice.
    pub index: usize,
}

/// Swaps this slice's amplitudes for the partner's across slice qubit `bit`: called with
/// `(bit, own chunk, partner's chunk to fill)`, once per chunk in order.
pub(crate) type ExchangeFn<'a> = dyn FnMut(usize, &[[f32; 2]], &mut [[f32; 2]]) -> Result<(), QaoaError> + 'a;

/// State-vector QAOA simulator on a GPU (wgpu), complex64. See the module docs.
pub struct GpuSimulator {
    ctx: Arc<GpuContext>,
    pipes: Pipelines,
    n: usize,
    /// `c = offset + step · v`.
    offset: f64,
    step: f64,
    /// Level-table mode: number of levels `vmax - vmin + 1`.
    levels: Option<usize>,
    vmin: f32,
    gthr: f32,
    min: f64,
    max: f64,
    /// log2 of the states per chunk (`m = local`: one chunk).
    m: usize,
    /// Qubits held here: `n` minus the slice bits.
    local: usize,
    /// The slice held (the whole state by default).
    slice: Slice,
    /// Receives the partner's chunk for slice-qubit mixers (allocated on first use).
    exchange: Option<wgpu::Buffer>,
    /// The state's chunks, `2^m` amplitudes each, in order.
    state: Vec<wgpu::Buffer>,
    /// The cost diagonal's chunks, `2^m` f32 each.
    cost: Vec<wgpu::Buffer>,
    partials: wgpu::Buffer,
    result: wgpu::Buffer,
    table: wgpu::Buffer,
    params: wgpu::Buffer,
    slots: u64,
    /// Mixer passes `(qb, k, cb)`.
    passes: Vec<(u32, u32, u32)>,
    /// Do the phase step in the first mixer pass (else in its own kernel).
    fuse_phase: bool,
    evaluated: bool,
}

impl std::fmt::Debug for GpuSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuSimulator")
            .field("adapter", &self.ctx.name())
            .field("n", &self.n)
            .field("chunk_bits", &self.m)
            .field("levels", &self.levels)
            .field("passes", &self.passes)
            .finish()
    }
}

/// Workgroup grid for `groups` workgroups within the per-dimension limit.
fn grid(ctx: &GpuContext, groups: u64) -> Result<(u32, u32), QaoaError> {
    let max = ctx.limits().max_compute_workgroups_per_dimension as u64;
    if groups <= max {
        return Ok((groups.max(1) as u32, 1));
    }
    let x = max.min(32768);
    let y = groups.div_ceil(x);
    if y > max {
        return Err(GpuError::Limit {
            what: format!("a QAOA dispatch of {groups} workgroups"),
            limit: "max_compute_workgroups_per_dimension",
            needed: y,
            allowed: max,
        }
        .into());
    }
    Ok((x as u32, y as u32))
}

/// log2 of the states per chunk: the whole state (`n`) when `8 · 2^n` bytes fit one
/// binding and one buffer, else the largest `m` that does.
fn chunk_bits(ctx: &GpuContext, n: usize) -> Result<usize, QaoaError> {
    let limit = ctx
        .limits()
        .max_storage_buffer_binding_size
        .min(ctx.limits().max_buffer_size);
    let m = (0..=n).rev().find(|&m| 8u64 << m <= limit).unwrap_or(0);
    if m < COL_BITS + 1 {
        // Not even a few hundred bytes per binding: refuse with the limit named.
        ctx.check_binding(
            &format!("QAOA state chunk of 2^{} states", COL_BITS + 1),
            8 << (COL_BITS + 1),
        )?;
    }
    Ok(m)
}

/// Largest tile (log2 amplitudes) whose `vec2<f32>` array fits `bytes` of workgroup memory.
fn tile_bits_for(bytes: u32) -> usize {
    ((bytes / 8).max(2).ilog2() as usize).min(MAX_TILE_BITS)
}

/// The mixer passes for `n` qubits with tiles of `2^tile` amplitudes: the low
/// `min(n, tile)` qubits in contiguous tiles, then groups of `tile - 3` qubits with rows of
/// 8 consecutive states.
fn mixer_passes(n: usize, tile: usize) -> Vec<(u32, u32, u32)> {
    let low = n.min(tile);
    let mut out = vec![(0, low as u32, 0)];
    let mut q = low;
    while q < n {
        let cb = COL_BITS.min(q);
        let k = (tile - cb).min(n - q);
        out.push((q as u32, k as u32, cb as u32));
        q += k;
    }
    out
}

impl GpuSimulator {
    /// Uploads the cost terms of `cost`, builds the diagonal and its range on the GPU and
    /// allocates the state. Errors name the device limit a state too large would break.
    pub fn new(ctx: Arc<GpuContext>, cost: &CostModel) -> Result<Self, QaoaError> {
        Self::with_tile_bits(ctx, cost, None)
    }

    /// As [`new`](Self::new) with mixer tiles of `2^tile_bits` amplitudes (at most what the
    /// device's workgroup memory holds, at least 4); `None` takes the largest. Smaller tiles
    /// mean more passes (for tests of the multi-pass indexing).
    pub fn with_tile_bits(ctx: Arc<GpuContext>, cost: &CostModel, tile_bits: Option<usize>) -> Result<Self, QaoaError> {
        Self::build(ctx, cost, tile_bits, Slice::default(), &mut |lo, hi| Ok((lo, hi)))
    }

    /// The simulator of one slice of the state (see [`Slice`]); `range` turns this
    /// slice's `(min v, max v)` into the whole state's (an all-reduce over the slices).
    pub(crate) fn build(
        ctx: Arc<GpuContext>,
        cost: &CostModel,
        tile_bits: Option<usize>,
        slice: Slice,
        range: &mut dyn FnMut(f32, f32) -> Result<(f32, f32), QaoaError>,
    ) -> Result<Self, QaoaError> {
        let n = cost.n;
        if n > MAX_GPU_QUBITS {
            return Err(QaoaError::TooManyQubits { n, max: MAX_GPU_QUBITS });
        }
        let local = n - slice.bits.min(n);
        let m = chunk_bits(&ctx, local)?;
        let chunks = 1usize << (local - m);
        let per_chunk = 1u64 << m;
        // Scaled terms: integers on a grid whose sums stay exact in f32.
        let int_grid = cost.grid.as_ref().filter(|g| g.abs_sum < (1 << 24));
        let (step, linear, terms): (f64, Vec<f32>, Vec<Term>) = match int_grid {
            Some(g) => (
                g.step,
                g.linear.iter().map(|&w| w as f32).collect(),
                g.quadratic
                    .iter()
                    .map(|&(i, j, w)| Term {
                        i,
                        j,
                        w: w as f32,
                        _pad: 0,
                    })
                    .collect(),
            ),
            None => (
                1.0,
                cost.linear.iter().map(|&w| w as f32).collect(),
                cost.quadratic
                    .iter()
                    .map(|&(i, j, w)| Term {
                        i,
                        j,
                        w: w as f32,
                        _pad: 0,
                    })
                    .collect(),
            ),
        };
        let max_tile = tile_bits_for(ctx.limits().max_compute_workgroup_storage_size);
        let tile_bits = tile_bits.map_or(max_tile, |t| t.clamp(COL_BITS + 1, max_tile));
        let pipes = Pipelines::new(&ctx, tile_bits);
        let state = (0..chunks)
            .map(|c| ctx.storage_zeroed(&format!("qaoa state {c}"), 8 * per_chunk))
            .collect();
        let cost_buf: Vec<wgpu::Buffer> = (0..chunks)
            .map(|c| ctx.storage_zeroed(&format!("qaoa cost {c}"), 4 * per_chunk))
            .collect();
        let partials = ctx.storage_zeroed("qaoa partials", 16 * REDUCE_GROUPS as u64 * chunks as u64);
        let result = ctx.storage_zeroed("qaoa result", 16);
        let lin_buf = ctx.storage("qaoa linear", &linear);
        let num_terms = terms.len();
        let terms = if terms.is_empty() { vec![Term::default()] } else { terms };
        let term_buf = ctx.storage("qaoa terms", &terms);
        let params = Self::param_buffer(&ctx, 4);
        let mut sim = GpuSimulator {
            pipes,
            n,
            offset: cost.offset,
            step,
            levels: None,
            vmin: 0.0,
            gthr: 0.0,
            min: 0.0,
            max: 0.0,
            m,
            local,
            slice,
            exchange: None,
            state,
            cost: cost_buf,
            partials,
            result,
            table: ctx.storage_zeroed("qaoa table", 8),
            params,
            slots: 4,
            passes: mixer_passes(m, tile_bits),
            fuse_phase: true,
            evaluated: false,
            ctx,
        };
        // Diagonal, then (min, max): per chunk, then over every chunk's partials.
        let base = Params {
            n: n as u32,
            m: m as u32,
            base: sim.slice_base(),
            ..Default::default()
        };
        let mut slots = Vec::with_capacity(2 * chunks + 1);
        for c in 0..chunks as u32 {
            slots.push(Params {
                mode: cost.binary as u32,
                count: num_terms as u32,
                chunk: c,
                ..base
            });
            slots.push(Params { chunk: c, ..base });
        }
        slots.push(Params {
            count: REDUCE_GROUPS * chunks as u32,
            ..base
        });
        sim.write_params(&slots);
        let ctx = sim.ctx.clone();
        let elem = grid(&ctx, per_chunk.div_ceil(WG as u64))?;
        let mut enc = ctx.device().create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            for c in 0..chunks {
                let bg = sim.bind(
                    &sim.pipes.cost,
                    2 * c as u64,
                    &[(1, &lin_buf), (2, &term_buf), (3, &sim.cost[c])],
                );
                pass.set_pipeline(&sim.pipes.cost);
                pass.set_bind_group(0, &bg, &[]);
                pass.dispatch_workgroups(elem.0, elem.1, 1);
                let bg = sim.bind(
                    &sim.pipes.minmax,
                    2 * c as u64 + 1,
                    &[(1, &sim.cost[c]), (3, &sim.partials)],
                );
                pass.set_pipeline(&sim.pipes.minmax);
                pass.set_bind_group(0, &bg, &[]);
                pass.dispatch_workgroups(REDUCE_GROUPS, 1, 1);
            }
            let bg = sim.bind(
                &sim.pipes.finish_minmax,
                2 * chunks as u64,
                &[(3, &sim.partials), (4, &sim.result)],
            );
            pass.set_pipeline(&sim.pipes.finish_minmax);
            pass.set_bind_group(0, &bg, &[]);
            pass.dispatch_workgroups(1, 1, 1);
        }
        ctx.queue().submit([enc.finish()]);
        let r: Vec<f32> = ctx.read(&sim.result, 0, 4)?;
        let (vmin, vmax) = range(r[0], r[1])?;
        sim.vmin = vmin;
        sim.min = sim.offset + step * vmin as f64;
        sim.max = sim.offset + step * vmax as f64;
        if int_grid.is_some() && ((vmax - vmin) as usize) < MAX_LEVELS {
            sim.levels = Some((vmax - vmin).round() as usize + 1);
            sim.gthr = vmin + 0.5;
        } else {
            sim.gthr = vmin + 1e-5 * (vmax - vmin).abs().max(f32::MIN_POSITIVE);
        }
        Ok(sim)
    }

    /// The GPU context.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// Global index of this simulator's first basis state (0 unless it holds a slice).
    fn slice_base(&self) -> u32 {
        ((self.slice.index as u64) << self.local) as u32
    }

    /// Mixer passes per layer `(first qubit, qubits, column bits)` within a chunk (the
    /// qubits from [`chunk_bits`](Self::chunk_bits) up are mixed by chunk pairs).
    pub fn mixer_passes(&self) -> &[(u32, u32, u32)] {
        &self.passes
    }

    /// log2 of the states per chunk of the state vector (`n` when it is one buffer).
    pub fn chunk_bits(&self) -> usize {
        self.m
    }

    /// Number of buffers the state is split over.
    pub fn num_chunks(&self) -> usize {
        self.state.len()
    }

    /// Whether the phase step runs inside the first mixer pass (default) or as its own
    /// kernel (`qaoa_phase.wgsl`, one more pass over the state per layer).
    pub fn set_fused_phase(&mut self, fused: bool) {
        self.fuse_phase = fused;
    }

    /// Number of phase levels when the phase comes from a table.
    pub fn num_levels(&self) -> Option<usize> {
        self.levels
    }

    /// The scaled cost diagonal `v_k` as the GPU computed it (`c_k = offset + step · v_k`),
    /// read back; with `(offset, step)`. For checks.
    pub fn read_cost(&self) -> Result<(Vec<f32>, f64, f64), QaoaError> {
        let mut v = Vec::with_capacity(1usize << self.local);
        for c in &self.cost {
            v.extend(self.ctx.read::<f32>(c, 0, 1usize << self.m)?);
        }
        Ok((v, self.offset, self.step))
    }

    /// The state after the last evaluation, read back (`2^n` complex f32, up to a global
    /// phase). For checks.
    pub fn read_state(&self) -> Result<Vec<[f32; 2]>, QaoaError> {
        let mut v = Vec::with_capacity(1usize << self.local);
        for c in &self.state {
            v.extend(self.ctx.read::<[f32; 2]>(c, 0, 1usize << self.m)?);
        }
        Ok(v)
    }

    /// [`read_state`](Self::read_state) after an evaluation; `NotEvaluated` before.
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    pub(crate) fn read_state_checked(&self) -> Result<Vec<[f32; 2]>, QaoaError> {
        if !self.evaluated {
            return Err(QaoaError::NotEvaluated);
        }
        self.read_state()
    }

    fn param_buffer(ctx: &GpuContext, slots: u64) -> wgpu::Buffer {
        ctx.device().create_buffer(&wgpu::BufferDescriptor {
            label: Some("qaoa params"),
            size: slots * SLOT,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    fn write_params(&mut self, slots: &[Params]) {
        if slots.len() as u64 > self.slots {
            self.slots = (slots.len() as u64).next_power_of_two();
            self.params = Self::param_buffer(&self.ctx, self.slots);
        }
        let mut bytes = vec![0u8; slots.len() * SLOT as usize];
        for (i, p) in slots.iter().enumerate() {
            let at = i * SLOT as usize;
            bytes[at..at + std::mem::size_of::<Params>()].copy_from_slice(bytemuck::bytes_of(p));
        }
        self.ctx.queue().write_buffer(&self.params, 0, &bytes);
    }

    /// A bind group for `pipe` with parameter slot `slot` at binding 0 and the buffers.
    fn bind(&self, pipe: &wgpu::ComputePipeline, slot: u64, buffers: &[(u32, &wgpu::Buffer)]) -> wgpu::BindGroup {
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &self.params,
                offset: slot * SLOT,
                size: NonZeroU64::new(std::mem::size_of::<Params>() as u64),
            }),
        }];
        for &(binding, buffer) in buffers {
            entries.push(wgpu::BindGroupEntry {
                binding,
                resource: buffer.as_entire_binding(),
            });
        }
        self.ctx.device().create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipe.get_bind_group_layout(0),
            entries: &entries,
        })
    }

    fn run(&mut self, angles: &Angles) -> Result<Evaluation, QaoaError> {
        let sums = self.layers(angles, None)?;
        Ok(self.evaluation(sums))
    }

    /// `⟨C⟩`, norm and ground-state probability from the sums
    /// `(Σ |ψ|² (v − vmin), Σ |ψ|², Σ_ground |ψ|²)` (of every slice, when split).
    pub(crate) fn evaluation(&self, sums: [f64; 3]) -> Evaluation {
        let [above, norm, ground] = sums;
        Evaluation {
            expectation: self.offset * norm + self.step * (self.vmin as f64 * norm + above),
            norm,
            ground_state_probability: ground,
        }
    }

    /// Prepares the state of `angles` on a slice ([`Slice`]), mixing the slice qubits
    /// through `exchange`, and returns this slice's sums for [`evaluation`](Self::evaluation).
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    pub(crate) fn evaluate_slice(
        &mut self,
        angles: &Angles,
        exchange: &mut ExchangeFn<'_>,
    ) -> Result<[f64; 3], QaoaError> {
        self.layers(angles, Some(exchange))
    }

    /// Applies the layers of `angles` and reduces: this simulator's
    /// `(Σ |ψ|² (v − vmin), Σ |ψ|², Σ_ground |ψ|²)`.
    fn layers(&mut self, angles: &Angles, mut exchange: Option<&mut ExchangeFn<'_>>) -> Result<[f64; 3], QaoaError> {
        angles.check()?;
        let p = angles.p();
        let n = self.n;
        let states = 1u64 << n;
        if self.slice.bits > 0 && exchange.is_none() {
            return Err(QaoaError::InvalidParameter {
                name: "exchange",
                reason: "a slice of a split state needs its partners' amplitudes".into(),
            });
        }
        // Phase tables (f64 on the CPU, then f32), one block of `levels` entries per layer.
        let levels = self.levels.unwrap_or(0);
        if levels > 0 {
            let mut table = vec![[0f32; 2]; p * levels];
            for (l, &g) in angles.gamma.iter().enumerate() {
                for m in 0..levels {
                    let (s, c) = (-g * self.step * (self.vmin as f64 + m as f64)).sin_cos();
                    let (x, y) = round_pair_f32(c, s);
                    table[l * levels + m] = [x, y];
                }
            }
            let bytes = (table.len() * 8) as u64;
            if self.table.size() < bytes {
                self.table = self.ctx.storage_zeroed("qaoa table", bytes.next_power_of_two());
            }
            self.ctx
                .queue()
                .write_buffer(&self.table, 0, bytemuck::cast_slice(&table));
        }
        let chunks = self.state.len();
        let per_chunk = 1u64 << self.m;
        let base = Params {
            n: n as u32,
            m: self.m as u32,
            base: self.slice_base(),
            vmin: self.vmin,
            gthr: self.gthr,
            amp: (states as f64).sqrt().recip() as f32,
            ..Default::default()
        };
        // One parameter slot and one dispatch per step: per layer, per chunk the phase
        // (unless fused) and the tiled mixer passes, then one pair pass per chunk pair for
        // every qubit >= m, then one exchange per slice qubit; then the reduction per chunk
        // and its finish.
        let mut slots: Vec<Params> = Vec::new();
        let mut steps: Vec<Step> = Vec::new();
        let fuse = self.fuse_phase;
        for l in 0..p {
            let phase = Params {
                mode: u32::from(levels == 0),
                init: u32::from(l == 0),
                offset: (l * levels) as u32,
                g: (angles.gamma[l] * self.step) as f32,
                ..base
            };
            let (s, c) = angles.beta[l].sin_cos();
            let (c, s) = round_pair_f32(c, s);
            for chunk in 0..chunks {
                let on_chunk = |p: Params| Params {
                    chunk: chunk as u32,
                    ..p
                };
                if !fuse {
                    steps.push(Step::Phase {
                        slot: slots.len(),
                        chunk,
                    });
                    slots.push(on_chunk(phase));
                }
                for (i, &(qb, k, cb)) in self.passes.iter().enumerate() {
                    let on_load = if fuse && i == 0 { phase } else { base };
                    steps.push(Step::Mixer {
                        slot: slots.len(),
                        chunk,
                        tiles: per_chunk >> (k + cb),
                    });
                    slots.push(on_chunk(Params {
                        qb,
                        k,
                        cb,
                        c,
                        s,
                        fuse: u32::from(fuse && i == 0),
                        ..on_load
                    }));
                }
            }
            for q in self.m..self.local {
                let bit = 1usize << (q - self.m);
                for lo in (0..chunks).filter(|c| c & bit == 0) {
                    steps.push(Step::Pair {
                        slot: slots.len(),
                        lo,
                        hi: lo | bit,
                    });
                    slots.push(Params { c, s, ..base });
                }
            }
            for bit in 0..self.slice.bits {
                steps.push(Step::Exchange { slot: slots.len(), bit });
                slots.push(Params { c, s, ..base });
            }
        }
        for chunk in 0..chunks {
            steps.push(Step::Reduce {
                slot: slots.len(),
                chunk,
            });
            slots.push(Params {
                chunk: chunk as u32,
                ..base
            });
        }
        steps.push(Step::Finish { slot: slots.len() });
        slots.push(Params {
            count: REDUCE_GROUPS * chunks as u32,
            ..base
        });
        self.write_params(&slots);
        // Device steps go into one submission; an exchange ends it (the state is read
        // back, swapped with the partner and mixed, one chunk at a time).
        let mut rest = &steps[..];
        while !rest.is_empty() {
            let run = rest
                .iter()
                .position(|s| matches!(s, Step::Exchange { .. }))
                .unwrap_or(rest.len());
            if run > 0 {
                let mut enc = self.ctx.device().create_command_encoder(&Default::default());
                {
                    let mut pass = enc.begin_compute_pass(&Default::default());
                    for &step in &rest[..run] {
                        self.encode(&mut pass, step)?;
                    }
                }
                self.ctx.queue().submit([enc.finish()]);
            }
            if let Some(&Step::Exchange { slot, bit }) = rest.get(run) {
                let ex = exchange.as_deref_mut().ok_or(QaoaError::NotEvaluated)?;
                self.mix_slice_qubit(slot, bit, ex)?;
                rest = &rest[run + 1..];
            } else {
                rest = &rest[run..];
            }
        }
        let r: Vec<f32> = self.ctx.read(&self.result, 0, 4)?;
        self.evaluated = true;
        Ok([r[0] as f64, r[1] as f64, r[2] as f64])
    }

    /// Records one device step into `pass`.
    fn encode(&self, pass: &mut wgpu::ComputePass<'_>, step: Step) -> Result<(), QaoaError> {
        let elem = grid(&self.ctx, (1u64 << self.m).div_ceil(WG as u64))?;
        type Dispatch<'b> = (
            &'b wgpu::ComputePipeline,
            usize,
            Vec<(u32, &'b wgpu::Buffer)>,
            (u32, u32),
        );
        let (pipe, slot, buffers, (x, y)): Dispatch<'_> = match step {
            Step::Phase { slot, chunk } => (
                &self.pipes.phase,
                slot,
                vec![(1, &self.table), (2, &self.cost[chunk]), (3, &self.state[chunk])],
                elem,
            ),
            Step::Mixer { slot, chunk, tiles } => (
                &self.pipes.mixer,
                slot,
                vec![(1, &self.state[chunk]), (2, &self.table), (3, &self.cost[chunk])],
                grid(&self.ctx, tiles)?,
            ),
            Step::Pair { slot, lo, hi } => (
                &self.pipes.pair,
                slot,
                vec![(1, &self.state[lo]), (2, &self.state[hi])],
                elem,
            ),
            Step::Reduce { slot, chunk } => (
                &self.pipes.expectation,
                slot,
                vec![(1, &self.cost[chunk]), (2, &self.state[chunk]), (3, &self.partials)],
                (REDUCE_GROUPS, 1),
            ),
            Step::Finish { slot } => (
                &self.pipes.finish_sum,
                slot,
                vec![(3, &self.partials), (4, &self.result)],
                (1, 1),
            ),
            Step::Exchange { .. } => unreachable!("exchanges run between submissions"),
        };
        let bg = self.bind(pipe, slot as u64, &buffers);
        pass.set_pipeline(pipe);
        pass.set_bind_group(0, &bg, &[]);
        pass.dispatch_workgroups(x, y, 1);
        Ok(())
    }

    /// RX on slice qubit `bit`: each chunk is read back, swapped with the partner's copy
    /// through `exchange`, uploaded, and combined elementwise by the pair kernel (own
    /// amplitude as `lo`, the partner's as `hi`: the butterfly is symmetric, and the
    /// partner's updated copy is discarded).
    fn mix_slice_qubit(&mut self, slot: usize, bit: usize, exchange: &mut ExchangeFn<'_>) -> Result<(), QaoaError> {
        let len = 1usize << self.m;
        let tmp = match &self.exchange {
            Some(b) => b.clone(),
            None => {
                let b = self.ctx.storage_zeroed("qaoa exchange", 8 * len as u64);
                self.exchange = Some(b.clone());
                b
            }
        };
        let mut other = vec![[0f32; 2]; len];
        for chunk in 0..self.state.len() {
            let own: Vec<[f32; 2]> = self.ctx.read(&self.state[chunk], 0, len)?;
            exchange(bit, &own, &mut other)?;
            self.ctx.queue().write_buffer(&tmp, 0, bytemuck::cast_slice(&other));
            let elem = grid(&self.ctx, (len as u64).div_ceil(WG as u64))?;
            let bg = self.bind(&self.pipes.pair, slot as u64, &[(1, &self.state[chunk]), (2, &tmp)]);
            let mut enc = self.ctx.device().create_command_encoder(&Default::default());
            {
                let mut pass = enc.begin_compute_pass(&Default::default());
                pass.set_pipeline(&self.pipes.pair);
                pass.set_bind_group(0, &bg, &[]);
                pass.dispatch_workgroups(elem.0, elem.1, 1);
            }
            self.ctx.queue().submit([enc.finish()]);
        }
        Ok(())
    }

    fn draw(&mut self, shots: usize, seed: u64) -> Result<Vec<u64>, QaoaError> {
        if !self.evaluated {
            return Err(QaoaError::NotEvaluated);
        }
        if shots == 0 {
            return Ok(Vec::new());
        }
        let states = 1u64 << self.local;
        let per_chunk = 1u64 << self.m;
        let chunks = self.state.len();
        let bs = per_chunk.min(1 << SAMPLE_BLOCK_BITS);
        let blocks = states / bs;
        let sums_buf = self.ctx.storage_zeroed("qaoa block sums", 4 * blocks);
        let base = Params {
            n: self.n as u32,
            m: self.m as u32,
            base: self.slice_base(),
            offset: bs as u32,
            count: shots as u32,
            ..Default::default()
        };
        let slots: Vec<Params> = (0..chunks as u32).map(|chunk| Params { chunk, ..base }).collect();
        self.write_params(&slots);
        let (x, y) = grid(&self.ctx, per_chunk / bs)?;
        let mut enc = self.ctx.device().create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            for (c, state) in self.state.iter().enumerate() {
                let bg = self.bind(&self.pipes.block_sums, c as u64, &[(1, state), (2, &sums_buf)]);
                pass.set_pipeline(&self.pipes.block_sums);
                pass.set_bind_group(0, &bg, &[]);
                pass.dispatch_workgroups(x, y, 1);
            }
        }
        self.ctx.queue().submit([enc.finish()]);
        let sums: Vec<f32> = self.ctx.read(&sums_buf, 0, blocks as usize)?;
        let mut cum: Vec<f64> = Vec::with_capacity(sums.len());
        let mut acc = 0.0;
        for &s in &sums {
            acc += s as f64;
            cum.push(acc);
        }
        let total = acc;
        let shot_list: Vec<Shot> = (0..shots as u64)
            .map(|s| {
                let u = Rng::stream(seed, s).next_f64() * total;
                let b = cum.partition_point(|&x| x <= u).min(cum.len() - 1);
                let before = if b == 0 { 0.0 } else { cum[b - 1] };
                Shot {
                    block: b as u32,
                    goal: (u - before) as f32,
                }
            })
            .collect();
        let shot_buf = self.ctx.storage("qaoa shots", &shot_list);
        let picks = self.ctx.storage_zeroed("qaoa picks", 4 * shots as u64);
        let (x, y) = grid(&self.ctx, (shots as u64).div_ceil(WG as u64))?;
        let mut enc = self.ctx.device().create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            for (c, state) in self.state.iter().enumerate() {
                let bg = self.bind(&self.pipes.pick, c as u64, &[(1, state), (3, &shot_buf), (4, &picks)]);
                pass.set_pipeline(&self.pipes.pick);
                pass.set_bind_group(0, &bg, &[]);
                pass.dispatch_workgroups(x, y, 1);
            }
        }
        self.ctx.queue().submit([enc.finish()]);
        let out: Vec<u32> = self.ctx.read(&picks, 0, shots)?;
        Ok(out.into_iter().map(u64::from).collect())
    }
}

impl Simulator for GpuSimulator {
    fn num_qubits(&self) -> usize {
        self.n
    }

    fn cost_range(&self) -> (f64, f64) {
        (self.min, self.max)
    }

    fn evaluate(&mut self, angles: &Angles) -> Result<Evaluation, QaoaError> {
        self.run(angles)
    }

    fn sample(&mut self, shots: usize, seed: u64) -> Result<Vec<u64>, QaoaError> {
        crate::qaoa::check_shots(shots)?;
        self.draw(shots, seed)
    }

    fn backend(&self) -> String {
        format!("gpu complex64 ({})", self.ctx.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Weights, erdos_renyi};
    use crate::gpu::GpuOptions;
    use crate::model::{Model, Qubo};
    use crate::qaoa::{CostDiagonal, CpuSimulator};
    use std::sync::mpsc::{Receiver, Sender, channel};
    use std::sync::{Barrier, Mutex};

    /// A device whose bindings hold `2^bits` amplitudes, or `None` without an adapter
    /// (a failure instead under QAM_REQUIRE_GPU, see `gpu::test_device`).
    fn small_binding_device(bits: usize) -> Option<Arc<GpuContext>> {
        crate::gpu::test_device(GpuContext::new(&GpuOptions {
            max_storage_binding: Some(8 << bits),
            ..Default::default()
        }))
        .map(Arc::new)
    }

    /// `⟨C⟩` etc. of a state split into `2^bits` slices, one simulator per thread, slices
    /// exchanging chunks over channels (as MPI ranks do with `MPI_Sendrecv`).
    fn split_evaluation(ctx: &Arc<GpuContext>, cost: &CostModel, bits: usize, angles: &Angles) -> (Evaluation, usize) {
        let ranks = 1usize << bits;
        let barrier = Barrier::new(ranks);
        let ranges = Mutex::new(vec![(0f32, 0f32); ranks]);
        let sums = Mutex::new(vec![[0f64; 3]; ranks]);
        // channel[to][from]: per-pair FIFO, so exchanges match in order.
        type Chunk = Vec<[f32; 2]>;
        let mut tx: Vec<Vec<Sender<Chunk>>> = Vec::new();
        let mut rx: Vec<Vec<Option<Receiver<Chunk>>>> = Vec::new();
        for _ in 0..ranks {
            let (t, r): (Vec<_>, Vec<_>) = (0..ranks).map(|_| channel()).unzip();
            tx.push(t);
            rx.push(r.into_iter().map(Some).collect());
        }
        let out = Mutex::new(None);
        std::thread::scope(|sc| {
            for (r, mut rx_r) in rx.into_iter().enumerate() {
                let (tx, barrier, ranges, sums, out) = (&tx, &barrier, &ranges, &sums, &out);
                let ctx = ctx.clone();
                sc.spawn(move || {
                    let mut range = |lo: f32, hi: f32| {
                        ranges.lock().unwrap()[r] = (lo, hi);
                        barrier.wait();
                        let all = ranges.lock().unwrap().clone();
                        barrier.wait();
                        Ok(all
                            .iter()
                            .fold((f32::INFINITY, f32::NEG_INFINITY), |a, b| (a.0.min(b.0), a.1.max(b.1))))
                    };
                    let slice = Slice { bits, index: r };
                    let mut sim = GpuSimulator::build(ctx, cost, Some(4), slice, &mut range).unwrap();
                    let mut exchange = |bit: usize, own: &[[f32; 2]], other: &mut [[f32; 2]]| {
                        let partner = r ^ (1 << bit);
                        tx[partner][r].send(own.to_vec()).unwrap();
                        let got = rx_r[partner].as_mut().unwrap().recv().unwrap();
                        other.copy_from_slice(&got);
                        Ok(())
                    };
                    let s = sim.evaluate_slice(angles, &mut exchange).unwrap();
                    sums.lock().unwrap()[r] = s;
                    barrier.wait();
                    if r == 0 {
                        let all = sums.lock().unwrap().clone();
                        let total = all
                            .iter()
                            .fold([0.0; 3], |a, b| [a[0] + b[0], a[1] + b[1], a[2] + b[2]]);
                        *out.lock().unwrap() = Some((sim.evaluation(total), sim.num_chunks()));
                    }
                    drop(rx_r.drain(..));
                });
            }
        });
        out.into_inner().unwrap().unwrap()
    }

    /// Slices of a split state (2 and 4 of them, each itself split over several bindings)
    /// give the CPU complex128 simulator's evaluation to f32 rounding, on an energy grid
    /// (level tables) and off it (phases from the energies).
    #[test]
    fn split_state_equals_cpu() {
        let Some(ctx) = small_binding_device(7) else {
            return;
        };
        let n = 12;
        let grid = erdos_renyi(n, 0.3, Weights::PlusMinusOne, 3).unwrap().model;
        let mut entries = Vec::new();
        for i in 0..n as u32 {
            entries.push((i, i, (i as f64 + 1.0).sqrt() - 2.5));
            for j in i + 1..n as u32 {
                if (i * 7 + j * 3) % 4 == 0 {
                    entries.push((i, j, ((i + 2 * j) as f64).sin()));
                }
            }
        }
        let dense = Model::Qubo(Qubo::from_entries(n, &entries, 0.25).unwrap());
        let angles = Angles::new(vec![0.31, -0.2], vec![0.4, 0.13]).unwrap();
        for model in [grid, dense] {
            let cost = CostModel::new(&model).unwrap();
            let mut cpu = CpuSimulator::<f64>::new(Arc::new(CostDiagonal::new(&cost).unwrap())).unwrap();
            let want = cpu.evaluate(&angles).unwrap();
            for bits in [1, 2] {
                let (got, chunks) = split_evaluation(&ctx, &cost, bits, &angles);
                assert_eq!(chunks, 1 << (n - bits - 7), "each slice spans several bindings");
                for (x, y, what) in [
                    (want.expectation, got.expectation, "expectation"),
                    (want.norm, got.norm, "norm"),
                    (want.ground_state_probability, got.ground_state_probability, "ground"),
                ] {
                    assert!(
                        (x - y).abs() <= 1e-4 * x.abs().max(1.0),
                        "{bits} slice bits: {what} {x} vs {y}"
                    );
                }
            }
        }
    }

    /// A slice without its partners is refused, not evaluated wrongly.
    #[test]
    fn slice_needs_an_exchange() {
        let Some(ctx) = small_binding_device(7) else {
            return;
        };
        let model = erdos_renyi(8, 0.4, Weights::PlusMinusOne, 1).unwrap().model;
        let cost = CostModel::new(&model).unwrap();
        let slice = Slice { bits: 1, index: 0 };
        let mut sim = GpuSimulator::build(ctx, &cost, None, slice, &mut |lo, hi| Ok((lo, hi))).unwrap();
        let angles = Angles::new(vec![0.3], vec![0.2]).unwrap();
        assert!(matches!(
            sim.evaluate(&angles),
            Err(QaoaError::InvalidParameter { name: "exchange", .. })
        ));
    }
}
