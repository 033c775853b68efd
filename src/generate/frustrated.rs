//! Frustrated-loop planted instances on periodic 2D/3D lattices.
//!
//! The construction of Hen, Job, Albash, Rønnow, Troyer and Lidar, "Probing for quantum
//! speedup in spin-glass problems with planted solutions", Phys. Rev. A 92, 042325 (2015),
//! on a periodic square (`dims = 2`) or simple cubic (`dims = 3`) lattice of side `L`
//! (`N = L^dims` spins, spin `(x, y, z)` is variable `x + L y + L^2 z`):
//!
//! 1. Draw `M = round(alpha N)` loops. A loop is a non-backtracking random walk on the
//!    lattice from a random vertex until it first revisits a vertex; the cycle it closed
//!    is the loop. Loops shorter than 4 edges are dropped and drawn again.
//! 2. On each loop, every coupling is ferromagnetic in the planted (all-up) state,
//!    `J_ij = -1`, except one bond chosen at random, `J_ij = +1`. The loop is frustrated
//!    (one bond must be broken), and the all-up state breaks only that one, so it
//!    minimises the loop's energy `2 - length`.
//! 3. Couplings of loops that share an edge add up (integers; edges that cancel to 0 are
//!    dropped). The Hamiltonian is the sum of the loop terms, each minimised by the
//!    all-up state, so its ground energy is exactly `sum over loops of (2 - length)`.
//! 4. A random gauge `J_ij -> J_ij g_i g_j` hides the planted state (it becomes `g`).
//!
//! `alpha` sets the density of loops; hardness for annealing peaks at moderate values
//! (the paper's peak on Chimera is near 0.2–0.3).

use super::planted::{Planted, gauge};
use super::{GenError, invalid};
use crate::io::Problem;
use crate::rng::Rng;
use std::collections::HashMap;

/// Longest walk before a loop is abandoned and drawn again (a safeguard; loops on these
/// lattices close after a few to a few tens of steps).
const MAX_WALK: usize = 10_000;

/// The lattice side `L` with `L^dims = n`, if there is one (`L >= 3`).
pub fn lattice_side(n: usize, dims: usize) -> Option<usize> {
    if !(2..=3).contains(&dims) {
        return None;
    }
    let guess = (n as f64).powf(1.0 / dims as f64).round() as usize;
    (guess.saturating_sub(1)..=guess + 1).find(|&l| l >= 3 && l.checked_pow(dims as u32) == Some(n))
}

/// A frustrated-loop planted instance on a periodic lattice of `n = L^dims` spins
/// (`dims` 2 or 3, `L >= 3`) with `round(alpha n)` loops; see the [`generate`](crate::generate) module docs.
pub fn frustrated_loops(dims: usize, n: usize, alpha: f64, seed: u64) -> Result<Planted, GenError> {
    if !(2..=3).contains(&dims) {
        return Err(invalid("dims", format!("must be 2 or 3, not {dims}")));
    }
    let side = lattice_side(n, dims).ok_or_else(|| {
        invalid(
            "n",
            format!("{n} is not L^{dims} for an integer side L >= 3 (e.g. 27000 = 30^3, 1000000 = 100^3)"),
        )
    })?;
    if n > u32::MAX as usize {
        return Err(invalid("n", format!("{n} spins exceed 2^32 - 1")));
    }
    if !alpha.is_finite() || alpha <= 0.0 || alpha > 100.0 {
        return Err(invalid("alpha", format!("must be in (0, 100], not {alpha}")));
    }
    let loops = ((alpha * n as f64).round() as usize).max(1);
    let mut rng = Rng::new(seed);
    let neighbour = |v: usize, dir: usize| -> usize {
        // dir / 2: axis, dir % 2: +1 or -1 (periodic).
        let axis = dir / 2;
        let stride = side.pow(axis as u32);
        let coord = v / stride % side;
        let moved = if dir.is_multiple_of(2) {
            (coord + 1) % side
        } else {
            (coord + side - 1) % side
        };
        v - coord * stride + moved * stride
    };
    let mut weights: HashMap<(u32, u32), i64> = HashMap::new();
    let mut ground_energy = 0i64;
    let mut lengths = 0usize;
    let mut path: Vec<usize> = Vec::new();
    let mut seen: HashMap<usize, usize> = HashMap::new();
    let mut drawn = 0;
    let mut attempts = 0usize;
    while drawn < loops {
        attempts += 1;
        if attempts > 1000 * loops + 1000 {
            return Err(invalid("alpha", "could not draw enough loops (lattice too small?)"));
        }
        path.clear();
        seen.clear();
        let mut v = rng.below(n as u64) as usize;
        let mut last_dir: Option<usize> = None;
        let cycle_start = loop {
            if let Some(&k) = seen.get(&v) {
                break Some(k);
            }
            if path.len() > MAX_WALK {
                break None;
            }
            seen.insert(v, path.len());
            path.push(v);
            // Non-backtracking: never the reverse of the last step.
            let dir = loop {
                let d = rng.below(2 * dims as u64) as usize;
                if last_dir.is_none_or(|l| d != (l ^ 1)) {
                    break d;
                }
            };
            last_dir = Some(dir);
            v = neighbour(v, dir);
        };
        let Some(k) = cycle_start else { continue };
        let cycle = &path[k..];
        if cycle.len() < 4 {
            continue;
        }
        let broken = rng.below(cycle.len() as u64) as usize;
        for (e, &a) in cycle.iter().enumerate() {
            let b = cycle[(e + 1) % cycle.len()];
            let key = (a.min(b) as u32, a.max(b) as u32);
            *weights.entry(key).or_insert(0) += if e == broken { 1 } else { -1 };
        }
        ground_energy += 2 - cycle.len() as i64;
        lengths += cycle.len();
        drawn += 1;
    }
    let mut edges: Vec<(u32, u32, f64)> = weights
        .into_iter()
        .filter(|&(_, w)| w != 0)
        .map(|((a, b), w)| (a, b, w as f64))
        .collect();
    edges.sort_unstable_by_key(|e| (e.0, e.1));
    let g = gauge(n, &mut edges, &mut rng);
    let problem = Problem::maxcut(n, &edges)?;
    Ok(Planted {
        problem,
        ground_energy: ground_energy as f64,
        ground_state: g,
        kind: format!("frustrated-loops-{dims}d"),
        params: serde_json::json!({
            "dims": dims, "side": side, "n": n, "alpha": alpha, "loops": loops,
            "mean_loop_length": lengths as f64 / loops as f64, "seed": seed,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides() {
        assert_eq!(lattice_side(27_000, 3), Some(30));
        assert_eq!(lattice_side(1_000_000, 3), Some(100));
        assert_eq!(lattice_side(1_000_000, 2), Some(1000));
        assert_eq!(lattice_side(16, 2), Some(4));
        assert_eq!(lattice_side(8, 3), None);
        assert_eq!(lattice_side(26, 3), None);
        assert!(frustrated_loops(4, 81, 0.2, 1).is_err());
        assert!(frustrated_loops(2, 15, 0.2, 1).is_err());
        assert!(frustrated_loops(2, 16, f64::NAN, 1).is_err());
    }

    /// Every coupling sits on a lattice edge (degree at most 2 dims).
    #[test]
    fn couplings_on_lattice_edges() {
        let p = frustrated_loops(3, 216, 0.3, 5).unwrap();
        let c = p.problem.model.couplings();
        assert!((0..216).all(|i| c.degree(i) <= 6));
        assert!(p.ground_energy < 0.0);
    }
}
