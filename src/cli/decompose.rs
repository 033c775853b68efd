//! `qam decompose FILE`: build and print the levels of a hierarchical decomposition; and
//! the flags of `--solver hierarchical`.

use super::output::{OutputKind, Sink};
use super::solvers::named;
use anyhow::Result;
use clap::Args;
use qam::decompose::{HierarchicalQubo, HierarchyParams, PartitionMethod, Strategy, SubSolverKind, SubStart};
use qam::io::{Format, ReadOptions};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Flags of `--solver hierarchical`.
#[derive(Args, Clone, Debug)]
pub struct HierarchicalArgs {
    /// Sub-solver for the clusters (hierarchical).
    #[arg(long, value_parser = named::<SubSolverKind>(), default_value_t = SubSolverKind::Sa)]
    pub sub_solver: SubSolverKind,
    /// Largest cluster / subproblem in variables (hierarchical) [default: 20 for exact and
    /// qaoa, 1000 for sa and greedy, 4096 for gpu-sa].
    #[arg(long)]
    pub cluster_size: Option<usize>,
    /// How cluster solutions are combined (hierarchical).
    #[arg(long, value_parser = named::<Strategy>(), default_value_t = Strategy::Merge)]
    pub strategy: Strategy,
    /// Partitioning algorithm (hierarchical).
    #[arg(long, value_parser = named::<PartitionMethod>(), default_value_t = PartitionMethod::Multilevel)]
    pub partitioner: PartitionMethod,
    /// Subproblems up to this many variables go to exhaustive search whatever the
    /// sub-solver (hierarchical; 0: never, so e.g. every level is solved by QAOA).
    #[arg(long, default_value_t = 12)]
    pub exact_below: usize,
    /// Reads per subproblem (hierarchical with sa or greedy).
    #[arg(long, default_value_t = 1)]
    pub sub_reads: usize,
    /// Sweeps per subproblem anneal (hierarchical with sa).
    #[arg(long, default_value_t = 1000)]
    pub sub_sweeps: usize,
    /// Most rounds (V-cycles or refinement rounds) (hierarchical) [default: 1000, or
    /// unlimited when --time-limit is given so that the time is used].
    #[arg(long)]
    pub rounds: Option<u64>,
    /// Stop after this many rounds in a row without gain; each such round re-partitions
    /// with a new seed (hierarchical) [default: 10, or unlimited when --time-limit is
    /// given so that the time is used].
    #[arg(long)]
    pub patience: Option<u64>,
    /// Start subproblem anneals from the current state (re-anneal from a cooler β, default
    /// range (β1/10, β1) with β1 neal's cold end, or --beta-range) or from random states
    /// (hierarchical).
    #[arg(long, value_parser = named::<SubStart>(), default_value_t = SubStart::Current)]
    pub sub_start: SubStart,
}

/// Arguments of `qam decompose`.
#[derive(Args)]
pub struct DecomposeArgs {
    /// Problem file (`-`: standard input).
    file: PathBuf,
    /// Largest cluster (variables).
    #[arg(long, default_value_t = 1000)]
    cluster_size: usize,
    /// Partitioning algorithm.
    #[arg(long, value_parser = named::<PartitionMethod>(), default_value_t = PartitionMethod::Multilevel)]
    partitioner: PartitionMethod,
    /// Seed of the partitioner.
    #[arg(long, default_value_t = 0)]
    seed: u64,
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
    /// CPU threads for this command (a rayon pool of its own; GPU solvers are unaffected)
    /// [default: all cores, or RAYON_NUM_THREADS]. The same seed gives the same answer on
    /// any thread count.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Runs `qam decompose`.
pub fn run(a: DecomposeArgs) -> Result<ExitCode> {
    let p = super::input::read_problem(
        &a.file,
        ReadOptions {
            format: a.format,
            instance: a.instance,
        },
    )?;
    let t0 = Instant::now();
    let method = a.partitioner;
    let hier = HierarchicalQubo::build(
        p.model.to_ising(),
        &HierarchyParams {
            max_cluster_size: a.cluster_size,
            method,
            seed: a.seed,
            refine_passes: 4,
        },
    )?;
    let elapsed = t0.elapsed().as_secs_f64();
    let levels = hier.summary();
    let mut sink = Sink::open(None)?;
    match a.output {
        OutputKind::Json => sink.line(
            &json!({
                "file": a.file.display().to_string(),
                "cluster_size": a.cluster_size,
                "partitioner": method.name(),
                "seed": a.seed,
                "elapsed_s": elapsed,
                "levels": levels,
            })
            .to_string(),
        )?,
        OutputKind::Text => {
            sink.line(&format!(
                "{}: {} levels, cluster size <= {}, {} partitioner, {:.3} s",
                a.file.display(),
                levels.len(),
                a.cluster_size,
                method.name(),
                elapsed
            ))?;
            for l in &levels {
                let head = format!(
                    "level {}: {} variables, {} couplings",
                    l.level, l.num_variables, l.num_interactions
                );
                match &l.stats {
                    Some(s) => sink.line(&format!(
                        "{head} -> {} clusters (size {}..{}, mean {:.1}, balance {:.3}), cut |w| {} of {} ({:.2}%), {:.3} s",
                        s.num_clusters,
                        s.min_size,
                        s.max_size,
                        s.mean_size,
                        s.balance,
                        s.cut_weight,
                        s.total_weight,
                        100.0 * s.cut_fraction,
                        l.partition_s
                    ))?,
                    None => sink.line(&format!("{head} (top: one subproblem)"))?,
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
