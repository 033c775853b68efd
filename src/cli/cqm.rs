//! Constrained models on the command line: `qam solve FILE.lp` (routed here from
//! `solve`) and `qam gen --kind gap`.

use super::solve::SolveArgs;
use anyhow::{Result, bail};
use qam::cqm::{ConstrainedModel, CqmSaParams, CqmSaSolver, json, lp};
use qam::solvers::registry::SolverKind;
use serde_json::Value;
use std::path::Path;
use std::time::Instant;

/// Input formats of constrained models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CqmFormat {
    /// CPLEX LP.
    Lp,
    /// qam's constrained-model JSON (`"format": "qam-cqm"`).
    Json,
}

/// Whether a file (with no `--format`) is a constrained model: the `.lp` extension or JSON
/// tagged `"qam-cqm"`.
pub fn constrained_kind(file: &Path, bytes: &[u8]) -> Option<CqmFormat> {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("lp") => Some(CqmFormat::Lp),
        Some("json") if json::sniff(&String::from_utf8_lossy(&bytes[..bytes.len().min(1 << 16)])) => {
            Some(CqmFormat::Json)
        }
        _ => None,
    }
}

/// Reads a constrained model from `bytes`.
pub fn read(file: &Path, bytes: &[u8], kind: CqmFormat) -> Result<ConstrainedModel> {
    let name = file.display().to_string();
    let text = std::str::from_utf8(bytes).map_err(|e| anyhow::anyhow!("{name}: not UTF-8 text: {e}"))?;
    Ok(match kind {
        CqmFormat::Lp => lp::read_str(text, &name)?,
        CqmFormat::Json => json::read_str(text, &name)?,
    })
}

/// Solves a constrained model file with `cqm-sa` and returns the result line.
/// `--reads` is the number of chains, `--sweeps` the sweeps per annealing cycle; with
/// `--time-limit` cycles repeat until the limit, otherwise 4 cycles run.
pub fn solve(args: &SolveArgs, file: &Path, bytes: &[u8], kind: CqmFormat) -> Result<Value> {
    let t0 = Instant::now();
    let m = read(file, bytes, kind)?;
    let why = match args.solver {
        SolverKind::CqmSa => None,
        SolverKind::GpuCqmSa => None,
        SolverKind::Auto => Some("auto: cqm-sa (constrained model)".to_string()),
        other => bail!(
            "{}: --solver {} takes QUBO/Ising files; constrained models (.lp, qam-cqm JSON) use cqm-sa, gpu-cqm-sa or auto",
            file.display(),
            other
        ),
    };
    let p = &args.params;
    let time_limit = match p.time_limit {
        None => None,
        Some(t) => Some(qam::limits::time_limit(t).map_err(|e| anyhow::anyhow!("--time-limit: {e}"))?),
    };
    let params = CqmSaParams {
        chains: p.reads,
        sweeps: p.sweeps(),
        cycles: 4,
        seed: p.seed,
        time_limit,
        // --target is in the file's own sense
        target_energy: p.target.map(|v| m.to_energy(v)),
    };
    if let Some(why) = &why
        && !args.quiet
    {
        eprintln!("{}: {why}", file.display());
    }
    if args.solver == SolverKind::GpuCqmSa {
        return super::cqm_gpu::solve(file, &m, &params, t0);
    }
    let sol = CqmSaSolver::new(params.clone()).solve(&m)?;
    Ok(qam::cqm::result_json(
        &file.display().to_string(),
        &m,
        &params,
        &sol,
        t0.elapsed().as_secs_f64(),
        why.as_deref(),
    ))
}

/// `qam gen --kind gap`: writes a GAP instance as LP (or qam-cqm JSON for `.json`).
pub fn gen_gap(
    agents: usize,
    pools: Option<usize>,
    kind: &str,
    seed: u64,
    out: &Path,
) -> Result<std::process::ExitCode> {
    use qam::cqm::gap::{GapType, generate};
    let Some(pools) = pools else {
        bail!("--kind gap needs --pools M");
    };
    let Some(t) = GapType::from_name(kind) else {
        bail!("--gap-type must be c, d or e, not `{kind}`");
    };
    let m = generate(t, agents, pools, seed)?.to_model();
    let ext = out.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase());
    let text = match ext.as_deref() {
        Some("lp") => lp::write_string(&m)?,
        Some("json") => json::write_string(&m),
        _ => bail!("{}: --kind gap writes .lp or .json (qam-cqm)", out.display()),
    };
    qam::io::write_atomic(out, |w| w.write_all(text.as_bytes()))?;
    eprintln!(
        "wrote {} ({agents} agents x {pools} pools, type {}, {} variables, {} constraints)",
        out.display(),
        kind.to_ascii_uppercase(),
        m.num_variables(),
        m.constraints().len()
    );
    Ok(std::process::ExitCode::SUCCESS)
}
