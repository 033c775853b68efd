//! `qam info FILE`: size, density, weight range and degree statistics.

use super::output::{OutputKind, Sink};
use anyhow::Result;
use clap::Args;
use qam::io::{Format, ProblemKind, ReadOptions};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `qam info`.
#[derive(Args)]
pub struct InfoArgs {
    /// Problem file (`-`: standard input).
    file: PathBuf,
    /// Instance of a multi-instance bqp file (1-based; required when it holds several)
    /// [default: 1].
    #[arg(long)]
    instance: Option<usize>,
    /// Input format [default: from the extension, else the first line].
    #[arg(long, value_parser = super::parse_format)]
    format: Option<Format>,
    /// Result format.
    #[arg(long, value_enum, default_value_t = OutputKind::Text)]
    output: OutputKind,
    /// CPU threads for this command (a rayon pool of its own) [default: all cores, or
    /// RAYON_NUM_THREADS]. Accepted by every command for one meaning across them; the
    /// result does not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
}

fn range(it: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    it.fold(None, |acc, w| match acc {
        None => Some((w, w)),
        Some((lo, hi)) => Some((lo.min(w), hi.max(w))),
    })
}

/// Runs `qam info`.
pub fn run(args: InfoArgs) -> Result<ExitCode> {
    let p = super::input::read_problem(
        &args.file,
        ReadOptions {
            format: args.format,
            instance: args.instance,
        },
    )?;
    let m = &p.model;
    let n = m.num_variables();
    let c = m.couplings();
    let degrees: Vec<usize> = (0..n).map(|i| c.degree(i)).collect();
    let (dmin, dmax) = (
        degrees.iter().min().copied().unwrap_or(0),
        degrees.iter().max().copied().unwrap_or(0),
    );
    let dmean = if n > 0 {
        degrees.iter().sum::<usize>() as f64 / n as f64
    } else {
        0.0
    };
    let pairs = n as f64 * (n as f64 - 1.0) / 2.0;
    let density = if pairs > 0.0 {
        c.num_interactions() as f64 / pairs
    } else {
        0.0
    };
    let wr = range(c.iter_upper().map(|t| t.2));
    let lr = range(m.linear().iter().copied().filter(|&v| v != 0.0));
    let kind = match p.kind {
        ProblemKind::Minimize => "minimize".to_string(),
        ProblemKind::Maximize => "maximize (energy = -objective)".to_string(),
        ProblemKind::MaxCut { total_weight } => {
            format!("maxcut (total edge weight {total_weight}; cut = (W - E) / 2)")
        }
    };
    let v = json!({
        "file": super::input::label(&args.file),
        "kind": kind,
        "vartype": m.vartype().as_str(),
        "num_variables": n,
        "num_interactions": c.num_interactions(),
        "num_linear": m.linear().iter().filter(|&&v| v != 0.0).count(),
        "density": density,
        "coupling_range": wr.map(|r| [r.0, r.1]),
        "linear_range": lr.map(|r| [r.0, r.1]),
        "offset": m.offset(),
        "degree": {"min": dmin, "mean": dmean, "max": dmax},
        "memory_bytes": m.heap_bytes(),
    });
    let mut sink = Sink::open(None)?;
    match args.output {
        OutputKind::Json => sink.line(&v.to_string())?,
        OutputKind::Text => {
            let show = |r: Option<(f64, f64)>| r.map_or("none".to_string(), |(a, b)| format!("[{a}, {b}]"));
            sink.line(&format!("file:          {}", super::input::label(&args.file)))?;
            sink.line(&format!("kind:          {kind}"))?;
            sink.line(&format!("vartype:       {}", m.vartype().as_str()))?;
            sink.line(&format!("variables:     {n}"))?;
            sink.line(&format!(
                "couplings:     {} (density {:.6})",
                c.num_interactions(),
                density
            ))?;
            sink.line(&format!("linear terms:  {}", v["num_linear"]))?;
            sink.line(&format!("coupling range {}", show(wr)))?;
            sink.line(&format!("linear range   {}", show(lr)))?;
            sink.line(&format!("offset:        {}", m.offset()))?;
            sink.line(&format!("degree:        min {dmin}, mean {dmean:.2}, max {dmax}"))?;
            sink.line(&format!("memory:        {:.1} MB", m.heap_bytes() as f64 / 1e6))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
