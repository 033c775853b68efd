//! One place that finds an adapter, opens a device with the adapter's own limits, caches
//! compiled pipelines, and moves typed data in and out of buffers.

use super::GpuError;
use bytemuck::Pod;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use wgpu::util::DeviceExt;

/// How to pick and open the device.
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// Adapter name substring (case-insensitive); default from `QAM_ADAPTER`.
    pub adapter_name: Option<String>,
    /// Lower `max_storage_buffer_binding_size` to this many bytes (to test how code
    /// splits or refuses large problems); `None` keeps the adapter's value.
    pub max_storage_binding: Option<u64>,
}

/// What `qam devices` shows about an adapter.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdapterSummary {
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

fn summary(adapter: &wgpu::Adapter) -> AdapterSummary {
    let info = adapter.get_info();
    let l = adapter.limits();
    let f = adapter.features();
    AdapterSummary {
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

/// Every adapter wgpu can see (all backends), for `qam devices`.
pub fn enumerate_adapters() -> Vec<AdapterSummary> {
    let adapters = pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()));
    adapters.iter().map(summary).collect()
}

/// An open device with its queue, limits and pipeline cache. Cheap to share (`Arc`).
pub struct GpuContext {
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
    /// Opens a device: the adapter named by `opts` / `QAM_ADAPTER`, else wgpu's
    /// high-performance choice. Requests the adapter's own limits (not wgpu's defaults,
    /// which cap buffers at 256 MiB) and the optional features qam can use.
    pub fn new(opts: &GpuOptions) -> Result<Self, GpuError> {
        let instance = instance();
        let wanted = opts
            .adapter_name
            .clone()
            .or_else(|| std::env::var("QAM_ADAPTER").ok().filter(|s| !s.is_empty()));
        let adapter = match &wanted {
            Some(name) => {
                let needle = name.to_lowercase();
                let all = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
                let names: Vec<String> = all.iter().map(|a| a.get_info().name).collect();
                all.into_iter()
                    .find(|a| a.get_info().name.to_lowercase().contains(&needle))
                    .ok_or_else(|| {
                        if names.is_empty() {
                            GpuError::NoAdapter(format!(" (none at all, so none matching `{name}`)"))
                        } else {
                            GpuError::NoMatch {
                                wanted: name.clone(),
                                adapters: names.clone(),
                            }
                        }
                    })?
            }
            None => pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            }))
            .map_err(|e| GpuError::NoAdapter(format!(" ({e})")))?,
        };
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
            adapter,
            device,
            queue,
            limits,
            pipelines: Mutex::default(),
            errors,
        })
    }

    /// The process-wide default context (opened once, with default options).
    pub fn shared() -> Result<Arc<GpuContext>, GpuError> {
        static SHARED: OnceLock<Result<Arc<GpuContext>, GpuError>> = OnceLock::new();
        SHARED
            .get_or_init(|| GpuContext::new(&GpuOptions::default()).map(Arc::new))
            .clone()
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
        let mut s = summary(&self.adapter);
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
