//! Host side of the annealing kernels: uploads a problem, holds the replicas' state on the
//! device, and encodes sweeps, energies, exchanges and resampling as dispatches.

use super::coloring::{Coloring, greedy_coloring};
use super::fixed::FixedIsing;
use super::rng::seed_key;
use crate::gpu::{GpuContext, GpuError, buffer_entry};
use crate::model::Ising;
use bytemuck::{Pod, Zeroable};
use std::num::NonZeroU64;
use std::sync::Arc;

use crate::gpu::shaders::{self, Shader};

/// Every WGSL source of the annealing kernels as `(file name, full source)` at the
/// template constants' defaults (for validation without a device; the registry
/// [`crate::gpu::shaders`] lists every kernel of qam).
pub fn shader_sources() -> Vec<(&'static str, String)> {
    [
        shaders::ANNEAL_INIT,
        shaders::ANNEAL_ENERGY,
        shaders::ANNEAL_SWEEP_WG,
        shaders::ANNEAL_SWEEP_DENSE,
        shaders::ANNEAL_SWEEP_COLOR,
        shaders::PT_EXCHANGE,
        shaders::PA_RESAMPLE,
    ]
    .iter()
    .map(|s| (s.file, s.default_source()))
    .collect()
}

/// Dispatches per queue submission (keeps command buffers and the parameter ring bounded).
const MAX_DISPATCHES_PER_SUBMIT: usize = 1024;
/// Threads per workgroup of the workgroup-per-replica kernels.
const WG: usize = 256;

/// Which kernels sweep the replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Kernel {
    /// Chosen from the problem and device: on a GPU, `Dense` when colour classes are
    /// small (under 32 variables on average) and the matrix fits, `Workgroup` when a
    /// replica fits in workgroup memory, `Color` otherwise; on a CPU adapter (lavapipe)
    /// always `Color`, which measured fastest there.
    #[default]
    Auto,
    /// One workgroup per replica, state in workgroup memory, colour classes in parallel
    /// (n up to `max_compute_workgroup_storage_size / 4`).
    Workgroup,
    /// One workgroup per replica, sequential order, dense coupling matrix, flips pushed
    /// to all fields in parallel (dense problems; n^2 * 4 bytes must fit one binding).
    Dense,
    /// State in global memory, one dispatch per colour class per sweep, parallel over
    /// class members and replicas (any size, e.g. 1,000,000 variables).
    Color,
}

crate::names::named_enum!(serde Kernel, "kernel" {
    Auto = "auto": "Chosen from the problem (dense, workgroup or color)",
    Workgroup = "workgroup": "One workgroup per replica, state in workgroup memory, colour classes in parallel",
    Dense = "dense": "One workgroup per replica, dense couplings, sequential order",
    Color = "color": "State in global memory, one dispatch per colour class (any size)",
});

/// Mirrors `Params` in `anneal_common.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct Params {
    n: u32,
    num_replicas: u32,
    replica_base: u32,
    key: u32,
    sweep0: u32,
    num_sweeps: u32,
    color: u32,
    num_colors: u32,
    beta_stride: u32,
    num_temps: u32,
    round: u32,
    inv_scale: f32,
    h_off: u32,
    rp_off: u32,
    adj_off: u32,
    cp_off: u32,
    cv_off: u32,
    en_off: u32,
    slot_off: u32,
    at_off: u32,
    be_off: u32,
    par_off: u32,
    pre_off: u32,
    num_chains: u32,
    dbeta: f32,
    acc_off: u32,
    _pad1: u32,
    _pad2: u32,
}

/// What to set up on the device.
#[derive(Clone, Debug)]
pub struct EngineSpec {
    /// Total number of replicas.
    pub replicas: usize,
    /// β table: β of (replica r, sweep t) is `betas[t * beta_stride + slot[r]]`.
    pub betas: Vec<f64>,
    /// 1 for a per-sweep schedule (sa, pa), 0 for fixed temperatures (pt).
    pub beta_stride: u32,
    /// Tempering layout `(chains, temperatures)`: replica `c * M + t` starts at slot `t`.
    /// `None`: every replica uses slot 0.
    pub tempering: Option<(usize, usize)>,
    /// Population annealing: a second state buffer for resampling.
    pub population: bool,
    /// Keep all replicas in one group (one binding); error when they do not fit.
    pub single_group: bool,
    /// Seed of every random draw.
    pub seed: u64,
    /// Kernels to sweep with.
    pub kernel: Kernel,
    /// Sweeps per dispatch of the workgroup kernels (0 = default, 1; see
    /// `Engine::sweeps_per_dispatch` for why).
    pub sweeps_per_dispatch: u32,
    /// Starting states (±1), used cyclically; `None` draws them on the device.
    pub initial: Option<Vec<Vec<i8>>>,
}

/// One step of work for [`Engine::run`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// Random initial states (words with fields) from the seed.
    Init,
    /// `count` sweeps starting at global sweep index `sweep0`.
    Sweeps {
        /// First sweep index (selects β and the random numbers).
        sweep0: u32,
        /// Number of sweeps.
        count: u32,
    },
    /// Energy of every replica into the energy section.
    Energy,
    /// Tempering exchange round (pairs of parity `round % 2`).
    PtSwap {
        /// Round number.
        round: u32,
    },
    /// Record each chain's best state.
    PtBest,
    /// Population resampling for a β step of `dbeta` (needs `Energy` first).
    PaResample {
        /// Step number (selects the random draw).
        step: u32,
        /// β increase of this step.
        dbeta: f64,
    },
    /// Copy the resampled parents (needs `PaResample` first).
    PaCopy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Entry {
    InitSparse,
    InitDense,
    SweepWg,
    SweepDense,
    SweepColor,
    Energy,
    PtSwap,
    PtBest,
    PaResample,
    PaCopy,
}

struct Group {
    base: usize,
    count: usize,
    words: [wgpu::Buffer; 2],
    aux: wgpu::Buffer,
    best: wgpu::Buffer,
    bind: [wgpu::BindGroup; 2],
}

struct Dispatch {
    kernel: Entry,
    group: usize,
    parity: usize,
    params: Params,
    dims: (u32, u32),
}

/// Sections of the per-group `aux` buffer (u32 offsets).
#[derive(Clone, Copy, Debug, Default)]
struct AuxLayout {
    en: usize,
    slot: usize,
    at: usize,
    be: usize,
    par: usize,
    pre: usize,
    acc: usize,
    len: usize,
}

/// Replicas of one problem on one device, with the kernels that anneal them.
pub struct Engine {
    ctx: Arc<GpuContext>,
    n: usize,
    kernel: Kernel,
    nmax: usize,
    wgs: usize,
    fixed_scale: f64,
    exact: bool,
    coloring: Coloring,
    template: Params,
    aux_layout: AuxLayout,
    groups: Vec<Group>,
    bind0: wgpu::BindGroup,
    bind2: wgpu::BindGroup,
    betas_buf: wgpu::Buffer,
    layout: wgpu::PipelineLayout,
    params_buf: wgpu::Buffer,
    stride: u64,
    parity: usize,
    chains: usize,
    temps: usize,
    beta_count: usize,
    sweeps_per_dispatch: u32,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("n", &self.n)
            .field("kernel", &self.kernel)
            .field("groups", &self.group_sizes())
            .finish()
    }
}

/// Select: the kernel for `requested` on this device (resolving `Auto`), or the device
/// limit that rules the requested one out.
fn select_kernel(ctx: &GpuContext, n: usize, coloring: &Coloring, requested: Kernel) -> Result<Kernel, GpuError> {
    let lim = ctx.limits();
    let binding = lim.max_storage_buffer_binding_size.min(lim.max_buffer_size);
    let nmax = n.next_multiple_of(WG);
    let wg_bytes = 4 * nmax as u64;
    let wg_allowed = lim.max_compute_workgroup_storage_size as u64;
    let dense_bytes = 4 * (n as u64) * (n as u64);
    let dense_fits = dense_bytes <= binding && wg_bytes <= wg_allowed;
    let cpu_adapter = ctx.summary().device_type == "Cpu";
    let kernel = match requested {
        // On CPU implementations (lavapipe) every barrier is a coroutine switch of the
        // whole workgroup; the barrier-free colour kernel measured fastest there on
        // G22, bqp1000 and a 1,000,000-variable graph.
        Kernel::Auto if cpu_adapter => Kernel::Color,
        Kernel::Auto => {
            if wg_bytes <= wg_allowed {
                // Classes smaller than a few dozen leave most of a workgroup idle
                // and cost a barrier each; the dense kernel wins there.
                let avg_class = n as f64 / coloring.num_colors() as f64;
                if dense_fits && avg_class < 32.0 {
                    Kernel::Dense
                } else {
                    Kernel::Workgroup
                }
            } else {
                Kernel::Color
            }
        }
        b => b,
    };
    match kernel {
        Kernel::Workgroup | Kernel::Dense if wg_bytes > wg_allowed => Err(GpuError::limit(
            format!(
                "one replica of {n} variables in workgroup memory (kernel `{}`)",
                kernel.name()
            ),
            "max_compute_workgroup_storage_size",
            wg_bytes,
            wg_allowed,
        )),
        Kernel::Dense if dense_bytes > lim.max_storage_buffer_binding_size => Err(GpuError::limit(
            format!("the dense {n} x {n} coupling matrix (kernel `dense`)"),
            "max_storage_buffer_binding_size",
            dense_bytes,
            lim.max_storage_buffer_binding_size,
        )),
        _ => Ok(kernel),
    }
}

/// Offsets (u32 words) of the sections of the problem buffer.
#[derive(Clone, Copy, Debug)]
struct ProblemOffsets {
    h: usize,
    row_ptr: usize,
    adj: usize,
    class_ptr: usize,
    class_vars: usize,
}

/// Layout: the problem buffer `h | row_ptr | adj (col, val pairs) | class_ptr |
/// class_vars`, as u32 words, and where each section starts.
fn problem_data(fixed: &FixedIsing, coloring: &Coloring) -> (Vec<u32>, ProblemOffsets) {
    let n = fixed.h.len();
    let nnz = fixed.cols.len();
    let off = ProblemOffsets {
        h: 0,
        row_ptr: n,
        adj: 2 * n + 1,
        class_ptr: 2 * n + 1 + 2 * nnz,
        class_vars: 2 * n + 1 + 2 * nnz + coloring.class_ptr.len(),
    };
    let mut prob: Vec<u32> = Vec::with_capacity(off.class_vars + n);
    prob.extend(fixed.h.iter().map(|&x| x as u32));
    prob.extend(&fixed.row_ptr);
    for k in 0..nnz {
        prob.push(fixed.cols[k]);
        prob.push(fixed.vals[k] as u32);
    }
    prob.extend(&coloring.class_ptr);
    prob.extend(&coloring.class_vars);
    (prob, off)
}

/// Pipelines' bind group layouts: group 0 the problem (problem data, dense matrix, β
/// table), group 1 a replica group (words, resampled words, aux, best), group 2 the
/// parameter slot (dynamic uniform offset).
struct Layouts {
    problem: wgpu::BindGroupLayout,
    replicas: wgpu::BindGroupLayout,
    params: wgpu::BindGroupLayout,
    pipeline: wgpu::PipelineLayout,
}

impl Layouts {
    fn new(device: &wgpu::Device) -> Layouts {
        let problem = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("anneal problem"),
            entries: &[
                buffer_entry(0, wgpu::BufferBindingType::Storage { read_only: true }),
                buffer_entry(1, wgpu::BufferBindingType::Storage { read_only: true }),
                buffer_entry(2, wgpu::BufferBindingType::Storage { read_only: true }),
            ],
        });
        let replicas = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("anneal replicas"),
            entries: &[
                buffer_entry(0, wgpu::BufferBindingType::Storage { read_only: false }),
                buffer_entry(1, wgpu::BufferBindingType::Storage { read_only: false }),
                buffer_entry(2, wgpu::BufferBindingType::Storage { read_only: false }),
                buffer_entry(3, wgpu::BufferBindingType::Storage { read_only: false }),
            ],
        });
        let params_size = std::mem::size_of::<Params>() as u64;
        let params = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("anneal params"),
            entries: &[wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: true,
                    min_binding_size: NonZeroU64::new(params_size),
                },
                count: None,
            }],
        });
        let pipeline = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("anneal"),
            bind_group_layouts: &[Some(&problem), Some(&replicas), Some(&params)],
            immediate_size: 0,
        });
        Layouts {
            problem,
            replicas,
            params,
            pipeline,
        }
    }
}

impl Engine {
    /// Uploads `ising` and allocates `spec.replicas` replicas (split into groups that each
    /// fit one storage binding, unless `spec.single_group`).
    ///
    /// Errors name the device limit that a buffer or the workgroup memory would exceed.
    /// The steps: select the kernel (`select_kernel`), lay out the problem
    /// (`problem_data`) and the replica groups, create the layouts (`Layouts`),
    /// buffers and bind groups; pipelines compile on first use.
    pub fn new(ctx: Arc<GpuContext>, ising: &Ising, spec: &EngineSpec) -> Result<Self, GpuError> {
        let n = ising.num_variables();
        if n == 0 {
            return Err(GpuError::Runtime("the problem has no variables".into()));
        }
        if spec.replicas == 0 {
            return Err(GpuError::Runtime("no replicas requested".into()));
        }
        let fixed = FixedIsing::new(ising).ok_or_else(|| {
            GpuError::limit(
                "coupling indices".into(),
                "u32 index range",
                ising.j().num_interactions() as u64 * 2,
                u32::MAX as u64,
            )
        })?;
        let lim = ctx.limits().clone();
        let binding = lim.max_storage_buffer_binding_size.min(lim.max_buffer_size);
        let coloring = greedy_coloring(ising.j());

        let nmax = n.next_multiple_of(WG);
        let kernel = select_kernel(&ctx, n, &coloring, spec.kernel)?;

        let (prob, offsets) = problem_data(&fixed, &coloring);
        ctx.check_binding(
            &format!("the problem data ({n} variables, {} couplings)", fixed.cols.len() / 2),
            4 * prob.len() as u64,
        )?;
        let betas: Vec<f32> = spec.betas.iter().map(|&b| b as f32).collect();
        ctx.check_binding(&format!("the β table ({} values)", betas.len()), 4 * betas.len() as u64)?;

        // Groups.
        let per_replica = 4 * n as u64;
        let max_count = (binding / per_replica).min(65535) as usize;
        if max_count == 0 {
            return Err(GpuError::limit(
                format!("the state of one replica ({n} variables, 4 bytes each)"),
                "max_storage_buffer_binding_size",
                per_replica,
                binding,
            ));
        }
        if spec.single_group && spec.replicas > max_count {
            return Err(GpuError::limit(
                format!(
                    "the state of {} replicas x {n} variables (4 bytes each), which tempering and population annealing keep in one binding",
                    spec.replicas
                ),
                "max_storage_buffer_binding_size",
                per_replica * spec.replicas as u64,
                binding,
            ));
        }
        let (chains, temps) = spec.tempering.unwrap_or((0, 0));
        if chains > 0 {
            ctx.check_binding(
                &format!("the best states of {chains} chains x {n} variables"),
                4 * (chains * n) as u64,
            )?;
        }

        let device = ctx.device();
        let params_size = std::mem::size_of::<Params>() as u64;
        let Layouts {
            problem: bgl0,
            replicas: bgl1,
            params: bgl2,
            pipeline: layout,
        } = Layouts::new(device);
        let prob_buf = ctx.storage("anneal prob", &prob);
        let jmat_buf = if kernel == Kernel::Dense {
            ctx.storage("anneal jmat", &fixed.dense())
        } else {
            ctx.storage_zeroed("anneal jmat (unused)", 4)
        };
        let betas_buf = ctx.storage("anneal betas", &betas);
        let bind0 = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("anneal problem"),
            layout: &bgl0,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: prob_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: jmat_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: betas_buf.as_entire_binding(),
                },
            ],
        });
        let stride = (params_size).next_multiple_of(lim.min_uniform_buffer_offset_alignment as u64);
        let params_buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("anneal params"),
            size: stride * MAX_DISPATCHES_PER_SUBMIT as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bind2 = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("anneal params"),
            layout: &bgl2,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &params_buf,
                    offset: 0,
                    size: NonZeroU64::new(params_size),
                }),
            }],
        });

        // Every group uses the aux layout of the largest group, so one template fits all.
        let aux_layout = aux_layout(max_count.min(spec.replicas), chains, temps);
        let mut groups = Vec::new();
        let mut base = 0;
        while base < spec.replicas {
            let count = max_count.min(spec.replicas - base);
            let words_a = ctx.storage_zeroed("anneal words", per_replica * count as u64);
            let words_b = if spec.population {
                ctx.storage_zeroed("anneal words (resampled)", per_replica * count as u64)
            } else {
                ctx.storage_zeroed("anneal words (unused)", 4)
            };
            let mut aux = vec![0u32; aux_layout.len];
            if let Some((c, m)) = spec.tempering {
                for r in 0..count {
                    aux[aux_layout.slot + r] = ((base + r) % m) as u32;
                }
                for k in 0..c * m {
                    aux[aux_layout.at + k] = k as u32;
                }
                for k in 0..c {
                    aux[aux_layout.be + k] = f32::INFINITY.to_bits();
                }
            }
            let aux = ctx.storage("anneal aux", &aux);
            let best = if chains > 0 {
                ctx.storage_zeroed("anneal best", 4 * (chains * n) as u64)
            } else {
                ctx.storage_zeroed("anneal best (unused)", 4)
            };
            let make = |w0: &wgpu::Buffer, w1: &wgpu::Buffer| {
                device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("anneal replicas"),
                    layout: &bgl1,
                    entries: &[
                        wgpu::BindGroupEntry {
                            binding: 0,
                            resource: w0.as_entire_binding(),
                        },
                        wgpu::BindGroupEntry {
                            binding: 1,
                            resource: w1.as_entire_binding(),
                        },
                        wgpu::BindGroupEntry {
                            binding: 2,
                            resource: aux.as_entire_binding(),
                        },
                        wgpu::BindGroupEntry {
                            binding: 3,
                            resource: best.as_entire_binding(),
                        },
                    ],
                })
            };
            let bind = [make(&words_a, &words_b), make(&words_b, &words_a)];
            groups.push(Group {
                base,
                count,
                words: [words_a, words_b],
                aux,
                best,
                bind,
            });
            base += count;
        }
        if let Some(init) = &spec.initial {
            if init.is_empty() {
                return Err(GpuError::Runtime("no initial states given".into()));
            }
            for g in &groups {
                let mut w: Vec<i32> = Vec::with_capacity(g.count * n);
                for r in g.base..g.base + g.count {
                    w.extend(fixed.words(&init[r % init.len()]));
                }
                ctx.queue().write_buffer(&g.words[0], 0, bytemuck::cast_slice(&w));
            }
        }
        let template = Params {
            n: n as u32,
            key: seed_key(spec.seed),
            num_colors: coloring.num_colors() as u32,
            beta_stride: spec.beta_stride,
            num_temps: temps as u32,
            inv_scale: (1.0 / fixed.scale) as f32,
            h_off: offsets.h as u32,
            rp_off: offsets.row_ptr as u32,
            adj_off: offsets.adj as u32,
            cp_off: offsets.class_ptr as u32,
            cv_off: offsets.class_vars as u32,
            en_off: aux_layout.en as u32,
            slot_off: aux_layout.slot as u32,
            at_off: aux_layout.at as u32,
            be_off: aux_layout.be as u32,
            par_off: aux_layout.par as u32,
            pre_off: aux_layout.pre as u32,
            acc_off: aux_layout.acc as u32,
            num_chains: chains as u32,
            ..Default::default()
        };
        // Invocations per workgroup of the workgroup kernels: enough for the largest colour
        // class (sparse) or for all columns (dense), between 32 and 256.
        let width = if kernel == Kernel::Dense {
            n
        } else {
            (0..coloring.num_colors())
                .map(|c| coloring.class(c).len())
                .max()
                .unwrap_or(1)
        };
        let wgs = width.next_power_of_two().clamp(32, WG);
        Ok(Engine {
            ctx,
            n,
            kernel,
            nmax,
            wgs,
            fixed_scale: fixed.scale,
            exact: fixed.exact,
            coloring,
            template,
            aux_layout,
            groups,
            bind0,
            bind2,
            betas_buf,
            layout,
            params_buf,
            stride,
            parity: 0,
            chains,
            temps,
            beta_count: betas.len(),
            sweeps_per_dispatch: spec.sweeps_per_dispatch,
        })
    }

    /// The kernels in use (never `Auto`).
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Number of colour classes of the interaction graph.
    pub fn num_colors(&self) -> usize {
        self.coloring.num_colors()
    }

    /// The colouring the kernels use.
    pub fn coloring(&self) -> &Coloring {
        &self.coloring
    }

    /// Fixed-point scale of fields and couplings on the device.
    pub fn scale(&self) -> f64 {
        self.fixed_scale
    }

    /// True when the device holds the model without rounding.
    pub fn exact(&self) -> bool {
        self.exact
    }

    /// Replicas per group (one storage binding each).
    pub fn group_sizes(&self) -> Vec<usize> {
        self.groups.iter().map(|g| g.count).collect()
    }

    /// Adapter name.
    pub fn device_name(&self) -> String {
        self.ctx.name()
    }

    /// Index of the device's adapter in [`crate::gpu::enumerate_adapters`].
    pub fn device_index(&self) -> usize {
        self.ctx.index()
    }

    fn pipeline(&self, kernel: Entry) -> wgpu::ComputePipeline {
        let (shader, entry): (Shader, &str) = match kernel {
            Entry::InitSparse => (shaders::ANNEAL_INIT, "init_sparse"),
            Entry::InitDense => (shaders::ANNEAL_INIT, "init_dense"),
            Entry::SweepWg => (shaders::ANNEAL_SWEEP_WG, "sweep_wg_sparse"),
            Entry::SweepDense => (shaders::ANNEAL_SWEEP_DENSE, "sweep_wg_dense"),
            Entry::SweepColor => (shaders::ANNEAL_SWEEP_COLOR, "sweep_color"),
            Entry::Energy => (shaders::ANNEAL_ENERGY, "energy"),
            Entry::PtSwap => (shaders::PT_EXCHANGE, "pt_swap"),
            Entry::PtBest => (shaders::PT_EXCHANGE, "pt_best"),
            Entry::PaResample => (shaders::PA_RESAMPLE, "pa_resample"),
            Entry::PaCopy => (shaders::PA_RESAMPLE, "pa_copy"),
        };
        let sized = [("NMAX", self.nmax as u32), ("WGS", self.wgs as u32)];
        let values: &[(&str, u32)] = if shader.constants.is_empty() { &[] } else { &sized };
        let source = shader
            .source(values)
            .unwrap_or_else(|e| unreachable!("the annealing shaders declare NMAX and WGS: {e}"));
        self.ctx
            .pipeline_with_layout(&shader.key(values), &source, entry, &self.layout)
    }

    fn check_sweeps(&self, sweep0: u32, count: u32) -> Result<(), GpuError> {
        let last = sweep0 as u64 + count as u64;
        let needed = if self.template.beta_stride == 0 {
            self.temps.max(1) as u64
        } else {
            last
        };
        if count > 0 && needed > self.beta_count as u64 {
            return Err(GpuError::Runtime(format!(
                "sweeps {sweep0}..{last} need {needed} β values but the table has {}",
                self.beta_count
            )));
        }
        Ok(())
    }

    /// Encodes and submits `ops` (in order, in as few submissions as the dispatch bound
    /// allows) without waiting for them.
    pub fn run(&mut self, ops: &[Op]) -> Result<(), GpuError> {
        let mut dispatches: Vec<Dispatch> = Vec::new();
        let spread = |len: usize| (len.div_ceil(64)).clamp(1, 65535) as u32;
        for op in ops {
            for (gi, g) in self.groups.iter().enumerate() {
                let mut p = self.template;
                p.num_replicas = g.count as u32;
                p.replica_base = g.base as u32;
                let count = g.count as u32;
                let mut push = |kernel: Entry, params: Params, dims: (u32, u32)| {
                    dispatches.push(Dispatch {
                        kernel,
                        group: gi,
                        parity: self.parity,
                        params,
                        dims,
                    })
                };
                match *op {
                    Op::Init => {
                        let k = if self.kernel == Kernel::Dense {
                            Entry::InitDense
                        } else {
                            Entry::InitSparse
                        };
                        push(k, p, (spread(self.n), count));
                    }
                    Op::Sweeps { sweep0, count: k } => {
                        self.check_sweeps(sweep0, k)?;
                        match self.kernel {
                            Kernel::Color => {
                                for t in sweep0..sweep0 + k {
                                    for c in 0..self.coloring.num_colors() {
                                        let mut q = p;
                                        q.sweep0 = t;
                                        q.num_sweeps = 1;
                                        q.color = c as u32;
                                        push(Entry::SweepColor, q, (spread(self.coloring.class(c).len()), count));
                                    }
                                }
                            }
                            b => {
                                let kernel = if b == Kernel::Dense {
                                    Entry::SweepDense
                                } else {
                                    Entry::SweepWg
                                };
                                let per = self.sweeps_per_dispatch();
                                let mut t = sweep0;
                                while t < sweep0 + k {
                                    let m = per.min(sweep0 + k - t);
                                    let mut q = p;
                                    q.sweep0 = t;
                                    q.num_sweeps = m;
                                    push(kernel, q, (count, 1));
                                    t += m;
                                }
                            }
                        }
                    }
                    Op::Energy => push(Entry::Energy, p, (count, 1)),
                    Op::PtSwap { round } => {
                        let mut q = p;
                        q.round = round;
                        push(Entry::PtSwap, q, ((self.chains as u32).div_ceil(64).max(1), 1));
                    }
                    Op::PtBest => push(Entry::PtBest, p, (self.chains.max(1) as u32, 1)),
                    Op::PaResample { step, dbeta } => {
                        let mut q = p;
                        q.round = step;
                        q.dbeta = dbeta as f32;
                        push(Entry::PaResample, q, (1, 1));
                    }
                    Op::PaCopy => push(Entry::PaCopy, p, (spread(self.n), count)),
                }
            }
            if *op == Op::PaCopy {
                self.parity ^= 1;
            }
        }
        for chunk in dispatches.chunks(MAX_DISPATCHES_PER_SUBMIT) {
            self.submit(chunk);
        }
        self.ctx.take_error()
    }

    /// Sweeps per dispatch of the workgroup kernels: the spec's, default 1.
    ///
    /// On lavapipe (Mesa 22.3), workgroup kernels that loop over many sweeps inside one
    /// dispatch lost field updates after about 30 sweeps (n = 300, 50 colour classes) or
    /// 4-16 sweeps (dense, n = 2000), while the same sweeps one per dispatch are exact (see
    /// the `long_runs_stay_exact` test). Until that is understood, one sweep per dispatch
    /// is the default; dispatches are cheap next to a sweep of a replica per workgroup.
    fn sweeps_per_dispatch(&self) -> u32 {
        self.sweeps_per_dispatch.max(1)
    }

    fn submit(&self, dispatches: &[Dispatch]) {
        let mut bytes = vec![0u8; self.stride as usize * dispatches.len()];
        for (k, d) in dispatches.iter().enumerate() {
            let at = k * self.stride as usize;
            bytes[at..at + std::mem::size_of::<Params>()].copy_from_slice(bytemuck::bytes_of(&d.params));
        }
        self.ctx.queue().write_buffer(&self.params_buf, 0, &bytes);
        let mut pipelines: Vec<(Entry, wgpu::ComputePipeline)> = Vec::new();
        for d in dispatches {
            if !pipelines.iter().any(|(k, _)| *k == d.kernel) {
                pipelines.push((d.kernel, self.pipeline(d.kernel)));
            }
        }
        let mut enc = self.ctx.device().create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("anneal"),
                timestamp_writes: None,
            });
            pass.set_bind_group(0, &self.bind0, &[]);
            for (k, d) in dispatches.iter().enumerate() {
                let pipe = &pipelines
                    .iter()
                    .find(|(kk, _)| *kk == d.kernel)
                    .expect("collected above")
                    .1;
                pass.set_pipeline(pipe);
                pass.set_bind_group(1, &self.groups[d.group].bind[d.parity], &[]);
                pass.set_bind_group(2, &self.bind2, &[(k as u64 * self.stride) as u32]);
                pass.dispatch_workgroups(d.dims.0, d.dims.1, 1);
            }
        }
        self.ctx.queue().submit([enc.finish()]);
    }

    /// Replaces the β table (same length as at creation), e.g. an adapted tempering
    /// ladder; applies to work submitted afterwards.
    pub fn set_betas(&self, betas: &[f64]) -> Result<(), GpuError> {
        if betas.len() != self.beta_count {
            return Err(GpuError::Runtime(format!(
                "β table of {} values given, {} expected",
                betas.len(),
                self.beta_count
            )));
        }
        let b: Vec<f32> = betas.iter().map(|&x| x as f32).collect();
        self.ctx
            .queue()
            .write_buffer(&self.betas_buf, 0, bytemuck::cast_slice(&b));
        Ok(())
    }

    /// Waits for all submitted work.
    pub fn wait(&self) -> Result<(), GpuError> {
        self.ctx.wait()
    }

    /// The words (`2 * field + bit`, fixed point) of every replica.
    pub fn words(&self) -> Result<Vec<Vec<i32>>, GpuError> {
        let mut out = Vec::new();
        for g in &self.groups {
            let w: Vec<i32> = self.ctx.read(&g.words[self.parity], 0, g.count * self.n)?;
            out.extend(w.chunks(self.n).map(|c| c.to_vec()));
        }
        Ok(out)
    }

    /// The ±1 states of every replica.
    pub fn states(&self) -> Result<Vec<Vec<i8>>, GpuError> {
        Ok(self
            .words()?
            .into_iter()
            .map(|w| w.iter().map(|&x| if x & 1 == 1 { 1 } else { -1 }).collect())
            .collect())
    }

    fn read_aux(&self, g: &Group, off: usize, len: usize) -> Result<Vec<u32>, GpuError> {
        self.ctx.read(&g.aux, off as u64, len)
    }

    /// Energies (without offset) from the last [`Op::Energy`], every replica.
    pub fn energies(&self) -> Result<Vec<f32>, GpuError> {
        let mut out = Vec::new();
        for g in &self.groups {
            let e = self.read_aux(g, self.aux_layout.en, g.count)?;
            out.extend(e.into_iter().map(f32::from_bits));
        }
        Ok(out)
    }

    /// Tempering: best energy (without offset) and best ±1 state of every chain.
    pub fn best(&self) -> Result<(Vec<f32>, Vec<Vec<i8>>), GpuError> {
        let g = &self.groups[0];
        let e: Vec<f32> = self
            .read_aux(g, self.aux_layout.be, self.chains)?
            .into_iter()
            .map(f32::from_bits)
            .collect();
        let bits: Vec<u32> = self.ctx.read(&g.best, 0, self.chains * self.n)?;
        let states = bits
            .chunks(self.n)
            .map(|c| c.iter().map(|&b| if b == 1 { 1 } else { -1 }).collect())
            .collect();
        Ok((e, states))
    }

    /// Tempering: best energies only (a small read, for target checks).
    pub fn best_energies(&self) -> Result<Vec<f32>, GpuError> {
        let g = &self.groups[0];
        Ok(self
            .read_aux(g, self.aux_layout.be, self.chains)?
            .into_iter()
            .map(f32::from_bits)
            .collect())
    }

    /// Tempering: accepted exchanges per `(chain, pair)`, summed over chains (length M - 1).
    pub fn swap_counts(&self) -> Result<Vec<u64>, GpuError> {
        let g = &self.groups[0];
        let m = self.temps;
        let raw = self.read_aux(g, self.aux_layout.acc, self.chains * m)?;
        let mut out = vec![0u64; m.saturating_sub(1)];
        for c in 0..self.chains {
            for (t, o) in out.iter_mut().enumerate() {
                *o += raw[c * m + t] as u64;
            }
        }
        Ok(out)
    }

    /// Population annealing: the parents chosen by the last resampling.
    pub fn parents(&self) -> Result<Vec<u32>, GpuError> {
        let g = &self.groups[0];
        self.read_aux(g, self.aux_layout.par, g.count)
    }
}

fn aux_layout(count: usize, chains: usize, temps: usize) -> AuxLayout {
    let mut l = AuxLayout::default();
    let mut at = 0;
    let mut take = |len: usize| {
        let o = at;
        at += len;
        o
    };
    l.en = take(count);
    l.slot = take(count);
    l.at = take(chains * temps);
    l.be = take(chains);
    l.par = take(count);
    l.pre = take(count);
    l.acc = take(chains * temps);
    l.len = at.max(1);
    l
}
