//! `qam gen`: random instances written in any format.

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use qam::generate::{self, TileClasses, Weights};
use qam::io::{Format, check_overwrite, write_file};
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
    /// Gauge-transformed ferromagnet on a random regular graph (--degree, default 3) with a
    /// known ground energy (written to FILE.planted.json). Easy.
    PlantedFerro,
    /// Tile-planted frustrated spin glass on a periodic 2D lattice (n = rows x cols, both
    /// even); ground energy known exactly (FILE.planted.json). Hard for local search.
    TilePlanted,
    /// Generalized assignment (constrained model, .lp or .json): --agents N --pools M
    /// --gap-type c|d|e (Chu & Beasley recipes, capacities 80% of the mean use).
    Gap,
    /// Frustrated-loop planted spin glass (Hen et al. 2015) on a periodic 2D or 3D lattice
    /// (--dims, n = L^dims) with alpha n loops (--alpha, default 0.2); ground energy known
    /// exactly (FILE.planted.json). Hard for annealing.
    FrustratedLoops,
}

/// Arguments of `qam gen`.
#[derive(Args)]
pub struct GenArgs {
    /// Instance family (required) [default: none].
    #[arg(long, value_enum)]
    kind: Kind,
    /// Number of variables (required; `gap`: agents, also `--agents`; tile-planted: rows x
    /// cols; frustrated-loops: L^dims) [default: none].
    #[arg(long, alias = "agents")]
    n: usize,
    /// `gap`: number of pools (required for gap) [default: none].
    #[arg(long)]
    pools: Option<usize>,
    /// `gap`: generator type c, d or e.
    #[arg(long, default_value = "c")]
    gap_type: String,
    /// Mean degree (erdos-renyi; planted-ferro: the regular degree) [default: none;
    /// planted-ferro: 3].
    #[arg(long, conflicts_with = "density")]
    degree: Option<f64>,
    /// Edge probability (erdos-renyi) or entry density (dense) [default: dense: 1].
    #[arg(long)]
    density: Option<f64>,
    /// Edge weights (default: 1 for erdos-renyi and regular3, ±1 for torus).
    #[arg(long, value_parser = super::solvers::named::<Weights>())]
    weights: Option<Weights>,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output file (required); the format follows the extension (.qubo .gset .bqp .mtx
    /// .json; `.txt`: G-set for the graph kinds, OR-Library bqp for dense, like the
    /// distributions' files) [default: none].
    #[arg(long)]
    out: PathBuf,
    /// Output format, as `qam convert --to` (was `--format`) [default: from the
    /// extension of --out].
    #[arg(long, alias = "format", value_parser = super::parse_format)]
    to: Option<Format>,
    /// Overwrite an existing FILE (and FILE.planted.json); without it they are refused.
    #[arg(long)]
    force: bool,
    /// Plaquette class probabilities P1,P2,P3 of tile-planted (C1 (-1,-1,-1,+1),
    /// C2 (-2,-1,-1,+1), C3 (-2,-2,-1,+1)) [default: 0.4,0.3,0.3].
    #[arg(long, value_parser = parse_classes)]
    tile_classes: Option<TileClasses>,
    /// Lattice dimension of frustrated-loops (2 or 3).
    #[arg(long, default_value_t = 3)]
    dims: usize,
    /// Loops per spin of frustrated-loops.
    #[arg(long, default_value_t = 0.2)]
    alpha: f64,
    /// CPU threads for this command (a rayon pool of its own; GPU solvers are unaffected)
    /// [default: all cores, or RAYON_NUM_THREADS]. The same seed gives the same answer on
    /// any thread count.
    #[arg(long)]
    pub threads: Option<usize>,
}

fn parse_classes(s: &str) -> std::result::Result<TileClasses, String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|t| t.trim().parse::<f64>().map_err(|_| format!("`{t}` is not a number")))
        .collect::<std::result::Result<_, _>>()?;
    match v[..] {
        [a, b, c] => Ok(TileClasses([a, b, c])),
        _ => Err(format!("expected P1,P2,P3, found `{s}`")),
    }
}

/// The format of a `.txt` output (the extension of the G-set and OR-Library files): G-set
/// for the graph kinds (MaxCut and planted spin glasses, Ising without fields), bqp for
/// `dense`. `None` for other extensions (the extension decides).
fn txt_format(out: &std::path::Path, kind: Kind) -> Option<Format> {
    let txt = out.extension().is_some_and(|e| e.eq_ignore_ascii_case("txt"));
    match kind {
        _ if !txt => None,
        Kind::Dense => Some(Format::Bqp),
        Kind::Gap => None,
        _ => Some(Format::Gset),
    }
}

/// Runs `qam gen`.
pub fn run(a: GenArgs) -> Result<ExitCode> {
    let w = |default: Weights| a.weights.unwrap_or(default);
    if a.degree.is_some() && a.kind != Kind::ErdosRenyi {
        bail!("--degree applies to --kind erdos-renyi only");
    }
    // Refuse before generating anything: neither file is touched without --force.
    check_overwrite(&a.out, a.force)?;
    if matches!(a.kind, Kind::PlantedFerro | Kind::TilePlanted | Kind::FrustratedLoops) {
        check_overwrite(&generate::sidecar_path(&a.out), a.force)?;
    }
    if a.kind == Kind::Gap {
        return super::cqm::gen_gap(a.n, a.pools, &a.gap_type, a.seed, &a.out);
    }
    let mut planted = None;
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
            Some(generate::erdos_renyi(a.n, p, w(Weights::One), a.seed)?)
        }
        Kind::Torus => Some(generate::torus(a.n, w(Weights::PlusMinusOne), a.seed)?),
        Kind::Regular3 => Some(generate::regular(a.n, 3, w(Weights::One), a.seed)?),
        Kind::Dense => Some(generate::dense_qubo(a.n, a.density.unwrap_or(1.0), a.seed)?),
        Kind::PlantedFerro => {
            let d = a.degree.unwrap_or(3.0);
            if d.fract() != 0.0 || d < 1.0 {
                bail!("--degree must be a positive integer for planted-ferro, not {d}");
            }
            planted = Some(generate::planted_ferro(a.n, d as usize, a.seed)?);
            None
        }
        Kind::Gap => bail!("gap was handled above"),
        Kind::TilePlanted => {
            let Some((rows, cols)) = generate::lattice_shape(a.n) else {
                bail!(
                    "--n {} is not rows x cols with both even and at least 4 (try a square such as 1000000)",
                    a.n
                );
            };
            planted = Some(generate::tile_planted_2d(
                rows,
                cols,
                a.tile_classes.unwrap_or_default(),
                a.seed,
            )?);
            None
        }
        Kind::FrustratedLoops => {
            planted = Some(generate::frustrated_loops(a.dims, a.n, a.alpha, a.seed)?);
            None
        }
    };
    let problem = match (&problem, &planted) {
        (Some(p), _) => p,
        (None, Some(p)) => &p.problem,
        (None, None) => bail!("no instance was generated"),
    };
    let format = a.to.or_else(|| txt_format(&a.out, a.kind));
    write_file(&a.out, problem, format)?;
    if let Some(p) = &planted {
        let format = format
            .or_else(|| Format::from_extension(&a.out))
            .unwrap_or(Format::Json);
        let side = p.write_sidecar(&a.out, format)?;
        eprintln!(
            "planted ground energy {} written to {}",
            p.ground_energy,
            side.display()
        );
    }
    eprintln!(
        "wrote {} ({} variables, {} couplings)",
        a.out.display(),
        problem.model.num_variables(),
        problem.model.num_interactions()
    );
    Ok(ExitCode::SUCCESS)
}
