//! Hierarchical decomposition on a tile-planted spin glass whose ground energy is known:
//! `cargo run --release --example decompose_planted [SIDE]` (default 200, i.e. 40,000 spins).

use qam::decompose::{HierarchicalParams, HierarchicalQubo, HierarchicalSolver, HierarchyParams, Strategy};
use qam::generate::{TileClasses, tile_planted_2d};
use qam::solvers::Solver;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let side: usize = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(200);
    let planted = tile_planted_2d(side, side, TileClasses::default(), 1)?;
    let model = &planted.problem.model;
    println!(
        "{side} x {side} tile-planted lattice, ground energy {}",
        planted.ground_energy
    );

    // The levels a cluster size of 400 gives.
    let hier = HierarchicalQubo::build(model.to_ising(), &HierarchyParams::new(400))?;
    for level in hier.summary() {
        println!(
            "level {}: {} variables, {} couplings{}",
            level.level,
            level.num_variables,
            level.num_interactions,
            level.stats.map_or(String::new(), |s| format!(
                ", {} clusters, {:.1}% of |J| cut",
                s.num_clusters,
                100.0 * s.cut_fraction
            ))
        );
    }

    for strategy in [Strategy::Merge, Strategy::Refine] {
        let t = Instant::now();
        let solver = HierarchicalSolver::new(HierarchicalParams {
            cluster_size: Some(400),
            strategy,
            time_limit: Some(Duration::from_secs(10)),
            target_energy: Some(planted.ground_energy),
            seed: 1,
            ..Default::default()
        });
        let set = solver.solve(model)?;
        let e = set.first().ok_or("no sample")?.energy;
        println!(
            "{:?}: energy {e}, {:.3}% above the ground energy, {:.1} s, stop: {}",
            strategy,
            100.0 * (e - planted.ground_energy) / planted.ground_energy.abs(),
            t.elapsed().as_secs_f64(),
            set.info.extra["stop_reason"]
        );
    }
    Ok(())
}
