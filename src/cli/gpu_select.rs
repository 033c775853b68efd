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

/// The environment variables of the CPU QAOA simulator's tuning knobs and the
/// [`Tuning`](qam::qaoa::Tuning) key each fills.
pub const QAOA_TUNING_VARS: [(&str, &str); 4] = [
    ("QAM_QAOA_ISA", "isa"),
    ("QAM_QAOA_LOW_BITS", "low-bits"),
    ("QAM_QAOA_TILE_KIB", "tile-kib"),
    ("QAM_QAOA_ROW_BYTES", "row-bytes"),
];

/// The CPU QAOA simulator's tuning knobs from `QAM_QAOA_ISA` (`baseline|avx2|avx512`),
/// `QAM_QAOA_LOW_BITS`, `QAM_QAOA_TILE_KIB` and `QAM_QAOA_ROW_BYTES` (unset or empty: the
/// default). The one place the CLI reads them: every QAOA run of every command (`qaoa`,
/// `solve`/`bench` with `--solver qaoa` or `--sub-solver qaoa`, `serve`'s defaults) gets
/// its knobs from here. A value that does not parse or is out of range is an error naming
/// the variable.
pub fn qaoa_tuning() -> anyhow::Result<qam::qaoa::Tuning> {
    use anyhow::{anyhow, bail};
    use qam::names::Named;
    let var = |name: &str| -> anyhow::Result<Option<String>> {
        match std::env::var(name) {
            Ok(v) if v.trim().is_empty() => Ok(None),
            Ok(v) => Ok(Some(v.trim().to_string())),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => bail!("{name}: not valid UTF-8"),
        }
    };
    let num = |name: &str| -> anyhow::Result<Option<usize>> {
        var(name)?
            .map(|v| {
                v.parse::<usize>()
                    .map_err(|_| anyhow!("{name}={v}: expected a whole number of {}", unit(name)))
            })
            .transpose()
    };
    let isa = var("QAM_QAOA_ISA")?
        .map(|v| qam::qaoa::Isa::parse_name(&v.to_ascii_lowercase()).map_err(|e| anyhow!("QAM_QAOA_ISA={v}: {e}")))
        .transpose()?;
    let tuning = qam::qaoa::Tuning {
        isa,
        low_bits: num("QAM_QAOA_LOW_BITS")?,
        tile_kib: num("QAM_QAOA_TILE_KIB")?,
        row_bytes: num("QAM_QAOA_ROW_BYTES")?,
    };
    if let Err(qam::qaoa::QaoaError::InvalidParameter { name, reason }) = tuning.validate() {
        let var = QAOA_TUNING_VARS
            .iter()
            .find(|(_, key)| *key == name)
            .map_or(name, |(v, _)| v);
        bail!("{var}={}: {reason}", var_value(var));
    }
    Ok(tuning)
}

fn unit(var: &str) -> &'static str {
    match var {
        "QAM_QAOA_LOW_BITS" => "qubits",
        "QAM_QAOA_TILE_KIB" => "KiB",
        _ => "bytes",
    }
}

fn var_value(var: &str) -> String {
    std::env::var(var).unwrap_or_default().trim().to_string()
}

/// True when the user named an adapter (`--device` or `QAM_ADAPTER`): `auto` then uses
/// it even when it is a CPU implementation such as lavapipe.
pub fn explicit() -> bool {
    EXPLICIT.get().copied().unwrap_or(false)
}
