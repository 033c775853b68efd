//! `qam devices`: list the GPU adapters wgpu can see, with the limits that matter.

use super::output::{OutputKind, Sink};
use anyhow::{Result, bail};
use clap::Args;
use std::process::ExitCode;

/// Arguments of `qam devices`.
#[derive(Args)]
pub struct DevicesArgs {
    /// Result format.
    #[arg(long, value_enum, default_value_t = OutputKind::Text)]
    output: OutputKind,
}

/// Runs `qam devices`.
pub fn run(args: DevicesArgs) -> Result<ExitCode> {
    let adapters = qam::gpu::enumerate_adapters();
    let mut sink = Sink::open(None)?;
    if adapters.is_empty() {
        if super::gpu_select::required() {
            bail!("no GPU adapter found and QAM_REQUIRE_GPU is set");
        }
        sink.line("no GPU adapter found (install a Vulkan driver, e.g. mesa-vulkan-drivers)")?;
        return Ok(ExitCode::SUCCESS);
    }
    for a in adapters {
        match args.output {
            OutputKind::Json => sink.line(&serde_json::to_string(&a)?)?,
            OutputKind::Text => {
                sink.line(&format!(
                    "{}: {} [{} {}] driver: {}",
                    a.index, a.name, a.backend, a.device_type, a.driver
                ))?;
                sink.line(&format!(
                    "    max storage binding {} MiB, max buffer {} MiB, workgroups/dim {}, invocations/wg {}, shared {} KiB, storage buffers/stage {}, f64 {}, subgroups {}",
                    a.max_storage_buffer_binding_size >> 20,
                    a.max_buffer_size >> 20,
                    a.max_compute_workgroups_per_dimension,
                    a.max_compute_invocations_per_workgroup,
                    a.max_compute_workgroup_storage_size >> 10,
                    a.max_storage_buffers_per_shader_stage,
                    a.shader_f64,
                    a.subgroups
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
