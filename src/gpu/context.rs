//! One place that finds an adapter, opens a device with the adapter's own limits, caches
//! compiled pipelines, and moves typed data in and out of buffers.

use super::GpuError;
use bytemuck::Pod;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use wgpu::util::DeviceExt;

static SHARED_OPTIONS: OnceLock<GpuOptions> = OnceLock::new();
static SHARED: OnceLock<Result<Arc<GpuContext>, GpuError>> = OnceLock::new();

/// Which adapter to open: its index in [`enumerate_adapters`] (stable for one machine
/// and driver set) or a case-insensitive substring of its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdapterSelector {
    /// Position in [`enumerate_adapters`] (`index` in `qam devices`).
    Index(usize),
    /// First adapter whose name contains this (case-insensitive).
    Name(String),
    /// The adapter of an MPI rank with this index on its node: adapter
    /// `rank mod count` among [`rank_adapters`], so the ranks of a node spread over its
    /// GPUs.
    LocalRank(usize),
}

/// The adapters node-local ranks are spread over: the GPUs of the backend that shows the
/// most non-CPU adapters (one physical GPU seen through Vulkan and GL counts once); on a
/// machine with CPU adapters only, every adapter (lavapipe lists a Vulkan and a GL one).
pub fn rank_adapters(all: &[AdapterSummary]) -> Vec<&AdapterSummary> {
    let gpus: Vec<&AdapterSummary> = all.iter().filter(|a| a.device_type != "Cpu").collect();
    if gpus.is_empty() {
        return all.iter().collect();
    }
    let mut best: Vec<&AdapterSummary> = Vec::new();
    for a in &gpus {
        let same: Vec<&AdapterSummary> = gpus.iter().copied().filter(|b| b.backend == a.backend).collect();
        if same.len() > best.len() {
            best = same;
        }
    }
    best
}

impl AdapterSelector {
    /// Reads `"1"` as an index and anything else as a name substring; `None` for an empty
    /// string.
    pub fn parse(s: &str) -> Option<AdapterSelector> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        Some(match s.parse::<usize>() {
            Ok(i) => AdapterSelector::Index(i),
            Err(_) => AdapterSelector::Name(s.to_string()),
        })
    }
}

impl std::fmt::Display for AdapterSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdapterSelector::Index(i) => write!(f, "index {i}"),
            AdapterSelector::Name(n) => write!(f, "`{n}`"),
            AdapterSelector::LocalRank(r) => write!(f, "for local rank {r}"),
        }
    }
}

/// How to pick and open the device.
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// The adapter to open; `None` takes wgpu's high-performance choice. (The CLI fills
    /// this from `--device` or `QAM_ADAPTER`; the library reads no environment.)
    pub adapter: Option<AdapterSelector>,
    /// Lower `max_storage_buffer_binding_size` to this many bytes (to test how code
    /// splits or refuses large problems); `None` keeps the adapter's value.
    pub max_storage_binding: Option<u64>,
    /// Make "no adapter" an error wherever qam would otherwise fall back to the CPU
    /// (QAOA's `Device::Auto`); the CLI sets it from `QAM_REQUIRE_GPU`.
    pub require: bool,
}

/// What `qam devices` shows about an adapter.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdapterSummary {
    /// Position in [`enumerate_adapters`]: what [`AdapterSelector::Index`] selects.
    pub index: usize,
    /// Adapter name.
    pub name: String,
    /// Backend (Vulkan, Metal, Dx12, Gl).
    pub backend: String,
    /// Device type (DiscreteGpu, IntegratedGpu, Cpu, ...).
    pub device_type: String,
    /// Driver name and version.
    pub driver: String,
    /// Largest storage buffer binding, bytes.
    pub max_storage_buffer_binding_size: u64,
    /// Largest buffer, bytes.
    pub max_buffer_size: u64,
    /// Workgroups per dispatch dimension.
    pub max_compute_workgroups_per_dimension: u32,
    /// Invocations per workgroup.
    pub max_compute_invocations_per_workgroup: u32,
    /// Workgroup shared memory, bytes.
    pub max_compute_workgroup_storage_size: u32,
    /// Storage buffers per shader stage.
    pub max_storage_buffers_per_shader_stage: u32,
    /// Whether 64-bit floats are available in shaders.
    pub shader_f64: bool,
    /// Whether subgroup operations are available.
    pub subgroups: bool,
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle().with_env())
}

fn summary(index: usize, adapter: &wgpu::Adapter) -> AdapterSummary {
    let info = adapter.get_info();
    let l = adapter.limits();
    let f = adapter.features();
    AdapterSummary {
        index,
        name: info.name,
        backend: format!("{:?}", info.backend),
        device_type: format!("{:?}", info.device_type),
        driver: format!("{} {}", info.driver, info.driver_info).trim().to_string(),
        max_storage_buffer_binding_size: l.max_storage_buffer_binding_size,
        max_buffer_size: l.max_buffer_size,
        max_compute_workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
        max_compute_invocations_per_workgroup: l.max_compute_invocations_per_workgroup,
        max_compute_workgroup_storage_size: l.max_compute_workgroup_storage_size,
        max_storage_buffers_per_shader_stage: l.max_storage_buffers_per_shader_stage,
        shader_f64: f.contains(wgpu::Features::SHADER_F64),
        subgroups: f.contains(wgpu::Features::SUBGROUP),
    }
}

/// Every adapter wgpu can see (all backends), in a fixed order, for `qam devices`.
pub fn enumerate_adapters() -> Vec<AdapterSummary> {
    let adapters = pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()));
    adapters.iter().enumerate().map(|(i, a)| summary(i, a)).collect()
}

/// The adapter a selector names, or `None` for wgpu's high-performance default.
fn select(instance: &wgpu::Instance, wanted: Option<&AdapterSelector>) -> Result<(usize, wgpu::Adapter), GpuError> {
    let all = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    let listing = || {
        let names: Vec<String> = all
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{i}: {} [{:?}]", a.get_info().name, a.get_info().backend))
            .collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join("; ")
        }
    };
    let found = match wanted {
        Some(AdapterSelector::Index(i)) => all.get(*i).map(|a| (*i, a.clone())),
        Some(AdapterSelector::LocalRank(r)) => {
            let summaries: Vec<AdapterSummary> = all.iter().enumerate().map(|(i, a)| summary(i, a)).collect();
            let pool = rank_adapters(&summaries);
            (!pool.is_empty()).then(|| {
                let i = pool[r % pool.len()].index;
                (i, all[i].clone())
            })
        }
        Some(AdapterSelector::Name(name)) => {
            let needle = name.to_lowercase();
            all.iter()
                .enumerate()
                .find(|(_, a)| a.get_info().name.to_lowercase().contains(&needle))
                .map(|(i, a)| (i, a.clone()))
        }
        None => {
            let a = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            }))
            .map_err(|e| GpuError::NoAdapter(format!(" ({e})")))?;
            let info = a.get_info();
            let index = all.iter().position(|b| b.get_info() == info).unwrap_or(0);
            Some((index, a))
        }
    };
    match (found, wanted) {
        (Some(f), _) => Ok(f),
        (None, Some(w)) => Err(GpuError::NoSuchAdapter {
            wanted: w.to_string(),
            adapters: listing(),
        }),
        (None, None) => Err(GpuError::NoAdapter(String::new())),
    }
}

/// An open device with its queue, limits and pipeline cache. Cheap to share (`Arc`).
pub struct GpuContext {
    index: usize,
    adapter: wgpu::Adapter,
    device: wgpu::Device,
    queue: wgpu::Queue,
    limits: wgpu::Limits,
    pipelines: Mutex<HashMap<String, wgpu::ComputePipeline>>,
    errors: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext").field("adapter", &self.name()).finish()
    }
}

impl GpuContext {
    /// Opens a device: the adapter named by `opts`, else wgpu's
    /// high-performance choice. Requests the adapter's own limits (not wgpu's defaults,
    /// which cap buffers at 256 MiB) and the optional features qam can use.
    pub fn new(opts: &GpuOptions) -> Result<Self, GpuError> {
        let instance = instance();
        let (index, adapter) = select(&instance, opts.adapter.as_ref())?;
        let name = adapter.get_info().name;
        let wanted_features = wgpu::Features::SUBGROUP | wgpu::Features::SHADER_INT64 | wgpu::Features::TIMESTAMP_QUERY;
        let required_limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("qam"),
            required_features: wanted_features & adapter.features(),
            required_limits: required_limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| GpuError::Device {
            adapter: name.clone(),
            reason: e.to_string(),
        })?;
        let errors: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        let mut limits = required_limits;
        if let Some(cap) = opts.max_storage_binding {
            limits.max_storage_buffer_binding_size = limits.max_storage_buffer_binding_size.min(cap);
        }
        Ok(GpuContext {
            index,
            adapter,
            device,
            queue,
            limits,
            pipelines: Mutex::default(),
            errors,
        })
    }

    /// Sets the options [`shared`](Self::shared) opens its device with. Only the first
    /// call counts, and only before `shared` was first called (the CLI calls it once at
    /// start-up with `--device` / `QAM_ADAPTER` / the MPI rank's adapter); returns whether
    /// it took effect.
    pub fn set_shared_options(opts: GpuOptions) -> bool {
        SHARED_OPTIONS.set(opts).is_ok() && SHARED.get().is_none()
    }

    /// The options [`shared`](Self::shared) opens (or opened) its device with: those given
    /// to [`set_shared_options`](Self::set_shared_options), else the defaults.
    pub fn shared_options() -> GpuOptions {
        SHARED_OPTIONS.get().cloned().unwrap_or_default()
    }

    /// The process-wide default context (opened once, with the options given to
    /// [`set_shared_options`](Self::set_shared_options), else the defaults).
    pub fn shared() -> Result<Arc<GpuContext>, GpuError> {
        SHARED
            .get_or_init(|| GpuContext::new(SHARED_OPTIONS.get_or_init(GpuOptions::default)).map(Arc::new))
            .clone()
    }

    /// Opens one context on every adapter in [`enumerate_adapters`] order that is not a
    /// duplicate view of an earlier one (same name and device id on another backend), for
    /// work split over several devices. Fails if none opens.
    pub fn open_all() -> Result<Vec<Arc<GpuContext>>, GpuError> {
        let all = enumerate_adapters();
        let mut out: Vec<Arc<GpuContext>> = Vec::new();
        let mut first_err = None;
        for a in &all {
            match GpuContext::new(&GpuOptions {
                adapter: Some(AdapterSelector::Index(a.index)),
                ..Default::default()
            }) {
                Ok(c) => out.push(Arc::new(c)),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if out.is_empty() {
            return Err(first_err.unwrap_or(GpuError::NoAdapter(String::new())));
        }
        Ok(out)
    }

    /// Index of this context's adapter in [`enumerate_adapters`].
    pub fn index(&self) -> usize {
        self.index
    }

    /// The wgpu device.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The device's queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// Adapter name, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)` or `NVIDIA H100 80GB HBM3`.
    pub fn name(&self) -> String {
        self.adapter.get_info().name
    }

    /// Adapter description for reports.
    pub fn summary(&self) -> AdapterSummary {
        let mut s = summary(self.index, &self.adapter);
        s.max_storage_buffer_binding_size = self.limits.max_storage_buffer_binding_size;
        s
    }

    /// Effective limits (the adapter's, possibly lowered by [`GpuOptions`]).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// Features enabled on the device.
    pub fn features(&self) -> wgpu::Features {
        self.device.features()
    }

    /// Errors if `bytes` does not fit one storage binding.
    pub fn check_binding(&self, what: &str, bytes: u64) -> Result<(), GpuError> {
        let allowed = self.limits.max_storage_buffer_binding_size;
        if bytes > allowed {
            return Err(GpuError::Limit {
                what: what.to_string(),
                limit: "max_storage_buffer_binding_size",
                needed: bytes,
                allowed,
            });
        }
        let max_buf = self.limits.max_buffer_size;
        if bytes > max_buf {
            return Err(GpuError::Limit {
                what: what.to_string(),
                limit: "max_buffer_size",
                needed: bytes,
                allowed: max_buf,
            });
        }
        Ok(())
    }

    /// A compute pipeline for `entry` in WGSL `source`, compiled once per `key` and cached
    /// (layout derived from the shader).
    pub fn pipeline(&self, key: &str, source: &str, entry: &str) -> wgpu::ComputePipeline {
        let mut cache = self.pipelines.lock().unwrap_or_else(|p| p.into_inner());
        let full_key = format!("{key}::{entry}");
        if let Some(p) = cache.get(&full_key) {
            return p.clone();
        }
        let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(key),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let p = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&full_key),
            layout: None,
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
        cache.insert(full_key, p.clone());
        p
    }

    /// Like [`pipeline`](Self::pipeline) but with an explicit pipeline layout (needed for
    /// dynamic uniform offsets). The cache key must identify the layout's structure too.
    pub fn pipeline_with_layout(
        &self,
        key: &str,
        source: &str,
        entry: &str,
        layout: &wgpu::PipelineLayout,
    ) -> wgpu::ComputePipeline {
        let mut cache = self.pipelines.lock().unwrap_or_else(|p| p.into_inner());
        let full_key = format!("{key}::{entry}::explicit");
        if let Some(p) = cache.get(&full_key) {
            return p.clone();
        }
        let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(key),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let p = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&full_key),
            layout: Some(layout),
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
        cache.insert(full_key, p.clone());
        p
    }

    /// A storage buffer initialised with `data` (also usable as copy source/destination).
    pub fn storage<T: Pod>(&self, label: &str, data: &[T]) -> wgpu::Buffer {
        // Zero-length bindings are invalid: keep at least 4 bytes.
        let bytes: &[u8] = bytemuck::cast_slice(data);
        let padded;
        let contents = if bytes.len() < 4 {
            padded = [bytes, &[0u8; 4][..4 - bytes.len()]].concat();
            &padded[..]
        } else {
            bytes
        };
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        })
    }

    /// A zero-filled storage buffer of `bytes` bytes (at least 4).
    pub fn storage_zeroed(&self, label: &str, bytes: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(4).next_multiple_of(4),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// A uniform buffer holding `value`.
    pub fn uniform<T: Pod>(&self, label: &str, value: &T) -> wgpu::Buffer {
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::bytes_of(value),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        })
    }

    /// Copies `count` elements of `T` starting at element `first` of `buffer` back to
    /// the host (waits for all submitted work). Reports any GPU error raised meanwhile.
    pub fn read<T: Pod>(&self, buffer: &wgpu::Buffer, first: u64, count: usize) -> Result<Vec<T>, GpuError> {
        let size = std::mem::size_of::<T>() as u64;
        let bytes = count as u64 * size;
        if bytes == 0 {
            return Ok(Vec::new());
        }
        let padded = bytes.next_multiple_of(4);
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("qam readback"),
            size: padded,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = self.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(buffer, first * size, &staging, 0, padded);
        self.queue.submit([enc.finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Runtime(e.to_string()))?;
        rx.recv()
            .map_err(|e| GpuError::Runtime(e.to_string()))?
            .map_err(|e| GpuError::Runtime(e.to_string()))?;
        let out = {
            let view = staging
                .get_mapped_range(..)
                .map_err(|e| GpuError::Runtime(e.to_string()))?;
            bytemuck::pod_collect_to_vec(&view[..bytes as usize])
        };
        staging.unmap();
        self.take_error()?;
        Ok(out)
    }

    /// Waits for all submitted work.
    pub fn wait(&self) -> Result<(), GpuError> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Runtime(e.to_string()))?;
        self.take_error()
    }

    /// Returns (and clears) the first error wgpu reported since the last call.
    pub fn take_error(&self) -> Result<(), GpuError> {
        let mut errs = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        if errs.is_empty() {
            return Ok(());
        }
        let first = errs.remove(0);
        errs.clear();
        Err(GpuError::Runtime(first))
    }
}
