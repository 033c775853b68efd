//! `qam gen`: random instances written in any format.

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use qam::generate::{self, Weights};
use qam::io::{Format, write_file};
use std::path::PathBuf;
use std::process::ExitCode;

/// Instance families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Erdős–Rényi MaxCut graph (like G-set's random graphs); --degree or --density.
    ErdosRenyi,
    /// 2D toroidal grid with ±1 couplings (like G-set's toroidal graphs).
    Torus,
    /// Random 3-regular MaxCut graph.
    Regular3,
    /// Random QUBO with integer weights in [-100, 100] (like OR-Library bqp); --density.
    Dense,
}

/// `--weights` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum WeightsArg {
    /// All edge weights 1.
    One,
    /// Weights ±1.
    Pm1,
}

/// Arguments of `qam gen`.
#[derive(Args)]
pub struct GenArgs {
    /// Instance family.
    #[arg(long, value_enum)]
    kind: Kind,
    /// Number of variables.
    #[arg(long)]
    n: usize,
    /// Mean degree (erdos-renyi).
    #[arg(long, conflicts_with = "density")]
    degree: Option<f64>,
    /// Edge probability (erdos-renyi) or entry density (dense).
    #[arg(long)]
    density: Option<f64>,
    /// Edge weights (default: 1 for erdos-renyi and regular3, ±1 for torus).
    #[arg(long, value_enum)]
    weights: Option<WeightsArg>,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output file; the format follows the extension (.qubo .gset .bqp .mtx .json).
    #[arg(long)]
    out: PathBuf,
    /// Force the output format.
    #[arg(long, value_parser = super::parse_format)]
    format: Option<Format>,
}

/// Runs `qam gen`.
pub fn run(a: GenArgs) -> Result<ExitCode> {
    let w = |default: Weights| match a.weights {
        None => default,
        Some(WeightsArg::One) => Weights::One,
        Some(WeightsArg::Pm1) => Weights::PlusMinusOne,
    };
    if a.degree.is_some() && a.kind != Kind::ErdosRenyi {
        bail!("--degree applies to --kind erdos-renyi only");
    }
    let problem = match a.kind {
        Kind::ErdosRenyi => {
            let p = match (a.degree, a.density) {
                (Some(d), _) if !(0.0..=(a.n.max(2) - 1) as f64).contains(&d) => {
                    bail!("--degree {d} must be between 0 and n - 1 = {}", a.n.max(2) - 1)
                }
                (Some(d), _) => d / (a.n.max(2) - 1) as f64,
                (None, Some(p)) => p,
                (None, None) => bail!("erdos-renyi needs --degree D or --density P"),
            };
            generate::erdos_renyi(a.n, p, w(Weights::One), a.seed)?
        }
        Kind::Torus => generate::torus(a.n, w(Weights::PlusMinusOne), a.seed)?,
        Kind::Regular3 => generate::regular(a.n, 3, w(Weights::One), a.seed)?,
        Kind::Dense => generate::dense_qubo(a.n, a.density.unwrap_or(1.0), a.seed)?,
    };
    write_file(&a.out, &problem, a.format)?;
    eprintln!(
        "wrote {} ({} variables, {} couplings)",
        a.out.display(),
        problem.model.num_variables(),
        problem.model.num_interactions()
    );
    Ok(ExitCode::SUCCESS)
}
