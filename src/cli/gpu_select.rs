//! Which GPU adapter this process uses: `--device`, else `QAM_ADAPTER`, else (under an
//! MPI launcher) the adapter of this rank's local rank, else wgpu's default. The CLI
//! reads the environment here and hands the choice to the library once, before any
//! device is opened; the device itself opens only when a GPU solver needs it.

use anyhow::{Result, bail};
use qam::gpu::{AdapterSelector, GpuContext, GpuOptions};

/// Environment variables MPI launchers set to the rank's index on its node (OpenMPI,
/// MPICH / Intel MPI, Slurm, PMIx).
const LOCAL_RANK_VARS: [&str; 4] = [
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "MPI_LOCALRANKID",
    "SLURM_LOCALID",
    "PMIX_LOCAL_RANK",
];

/// The rank's index on its node, when launched by an MPI launcher.
fn local_rank() -> Option<usize> {
    LOCAL_RANK_VARS
        .iter()
        .find_map(|v| std::env::var(v).ok().and_then(|s| s.trim().parse().ok()))
}

/// The adapter selection from `--device`, `QAM_ADAPTER` or the MPI local rank (in that
/// order); `None` leaves wgpu's default.
pub fn selection(device: Option<&str>) -> Result<Option<AdapterSelector>> {
    if let Some(d) = device {
        return match AdapterSelector::parse(d) {
            Some(sel) => Ok(Some(sel)),
            None => bail!("--device: empty value (give an index from `qam devices` or a name substring)"),
        };
    }
    if let Some(sel) = std::env::var("QAM_ADAPTER")
        .ok()
        .as_deref()
        .and_then(AdapterSelector::parse)
    {
        return Ok(Some(sel));
    }
    Ok(local_rank().map(AdapterSelector::LocalRank))
}

static EXPLICIT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Sets the library's shared device options (see [`selection`]).
pub fn configure(device: Option<&str>) -> Result<()> {
    let adapter = selection(device)?;
    let _ = EXPLICIT.set(matches!(
        adapter,
        Some(AdapterSelector::Index(_) | AdapterSelector::Name(_))
    ));
    GpuContext::set_shared_options(GpuOptions {
        adapter,
        require: required(),
        ..Default::default()
    });
    Ok(())
}

/// `QAM_REQUIRE_GPU` is set to a true value (see [`qam::gpu::env_flag`]): no adapter is
/// then an error instead of a CPU fallback.
pub fn required() -> bool {
    std::env::var("QAM_REQUIRE_GPU").is_ok_and(|v| qam::gpu::env_flag(&v))
}

/// The CPU QAOA simulator's tuning knobs from `QAM_QAOA_ISA` (`baseline|avx2|avx512`),
/// `QAM_QAOA_LOW_BITS`, `QAM_QAOA_TILE_KIB` and `QAM_QAOA_ROW_BYTES` (unset or
/// unparsable: the default).
pub fn qaoa_tuning() -> qam::qaoa::Tuning {
    let num = |k: &str| std::env::var(k).ok().and_then(|v| v.trim().parse::<usize>().ok());
    qam::qaoa::Tuning {
        isa: std::env::var("QAM_QAOA_ISA")
            .ok()
            .as_deref()
            .and_then(qam::qaoa::Isa::parse),
        low_bits: num("QAM_QAOA_LOW_BITS"),
        tile_kib: num("QAM_QAOA_TILE_KIB"),
        row_bytes: num("QAM_QAOA_ROW_BYTES"),
    }
}

/// True when the user named an adapter (`--device` or `QAM_ADAPTER`): `auto` then uses
/// it even when it is a CPU implementation such as lavapipe.
pub fn explicit() -> bool {
    EXPLICIT.get().copied().unwrap_or(false)
}
