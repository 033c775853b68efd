//! GPU runtime on wgpu: adapter selection, device with the adapter's own limits, a
//! pipeline cache, typed buffer upload and readback; the host code of each kernel family
//! (`anneal`: sa / pt / pa; `qaoa`: the state-vector simulator behind
//! [`crate::qaoa::GpuSimulator`]) and the one shader registry ([`shaders`]).
//!
//! Adapter choice ([`GpuOptions::adapter`]): an index from [`enumerate_adapters`]
//! (`qam devices` prints it) or a case-insensitive name substring. The CLI fills it from
//! `--device` or `QAM_ADAPTER`, and under MPI from the rank's local rank (rank r on a node
//! uses GPU adapter `r mod count`); the library itself reads no environment for it.
//!
//! Environment read by the CLI and tests (never by the library, which takes
//! [`GpuOptions`]):
//! - `QAM_ADAPTER=1` or `QAM_ADAPTER=H100`: the adapter, as `--device`.
//! - `QAM_REQUIRE_GPU=1` ([`GpuOptions::require`]) makes "no adapter" an error wherever
//!   qam would otherwise fall back to the CPU (`--solver auto`) or skip (tests). The test
//!   command sets it.
//! - `WGPU_BACKEND=vulkan|gl|metal|dx12` restricts the backends wgpu tries.
//!
//! On machines without a GPU, Mesa's lavapipe (`mesa-vulkan-drivers`) provides a Vulkan
//! adapter that runs the same kernels on the CPU (correct, not fast).

pub mod anneal;
mod context;
pub mod cqm;
pub(crate) mod qaoa;
pub mod shaders;

pub use context::{AdapterSelector, AdapterSummary, GpuContext, GpuOptions, enumerate_adapters, rank_adapters};

/// Errors of the GPU runtime.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GpuError {
    /// No adapter matched (or none exists).
    #[error(
        "no GPU adapter found{0}: install a Vulkan driver (e.g. `apt-get install mesa-vulkan-drivers libvulkan1` for the software one) or check QAM_ADAPTER"
    )]
    NoAdapter(String),
    /// An adapter was asked for (`--device`, `QAM_ADAPTER`) that does not exist.
    #[error("no GPU adapter {wanted}; adapters present: {adapters} (see `qam devices`)")]
    NoSuchAdapter {
        /// The selector as given (`index 3`, or a name).
        wanted: String,
        /// Every adapter as `index: name [backend]`.
        adapters: String,
    },
    /// The adapter refused to create a device.
    #[error("could not create a device on {adapter}: {reason}")]
    Device {
        /// Adapter name.
        adapter: String,
        /// wgpu's message.
        reason: String,
    },
    /// A buffer or dispatch would exceed a device limit; names the limit.
    #[error("{what} needs {needed} but the device limit `{limit}` is {allowed}")]
    Limit {
        /// What was being allocated or dispatched.
        what: String,
        /// The wgpu limit's name (e.g. `max_storage_buffer_binding_size`).
        limit: &'static str,
        /// Required amount.
        needed: u64,
        /// The device's value.
        allowed: u64,
    },
    /// A validation or out-of-memory error reported by wgpu while running a kernel.
    #[error("GPU error: {0}")]
    Runtime(String),
}

impl GpuError {
    /// [`GpuError::Limit`] for `what`, which needs `needed` where the device's `limit` allows
    /// `allowed`.
    pub(crate) fn limit(what: String, limit: &'static str, needed: u64, allowed: u64) -> Self {
        GpuError::Limit {
            what,
            limit,
            needed,
            allowed,
        }
    }
}

/// A compute-stage bind group layout entry for a buffer of type `ty` at `binding` (no dynamic
/// offset, no minimum size): what every kernel's layouts are made of.
pub(crate) fn buffer_entry(binding: u32, ty: wgpu::BufferBindingType) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// Whether an environment flag's value means "on": anything but empty, `0`, `no`,
/// `false` or `off` (case-insensitive), so `QAM_REQUIRE_GPU=no` means no. (The library
/// reads no environment; this is the rule the CLI and tests apply to the values they read.)
pub fn env_flag(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    !matches!(v.as_str(), "" | "0" | "no" | "false" | "off")
}

/// Unit tests only: `None` means "no adapter, skip", which is allowed only when
/// `QAM_REQUIRE_GPU` is off (the test command sets it, so there a missing adapter fails the
/// test instead of skipping it, as `tests/it/common::gpu` does for the integration tests).
#[cfg(test)]
pub(crate) fn test_device<T, E: std::fmt::Display>(got: Result<T, E>) -> Option<T> {
    match got {
        Ok(v) => Some(v),
        Err(e) => {
            let required = std::env::var("QAM_REQUIRE_GPU").is_ok_and(|v| env_flag(&v));
            assert!(!required, "QAM_REQUIRE_GPU is set but: {e}");
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}
