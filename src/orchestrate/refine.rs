//! Refinement across cluster borders: single-item moves with exact objective deltas.
//!
//! Subproblems see the rest of the plan as fixed, so an agent on a cluster border can be in
//! the wrong pool after every subproblem did its best. This pass visits every item in
//! order, computes the objective change of moving it to each pool with room (`O(degree +
//! pools)` per item from its traffic per pool), and makes the best improving move; passes
//! repeat until none improves (or `max_passes`). Capacities are never exceeded, so a
//! feasible plan stays feasible.

use super::decode::Assignment;

/// Runs the move passes; returns `(moves made, objective decrease)`.
pub fn refine_moves(a: &mut Assignment, max_passes: usize) -> (usize, f64) {
    let n = a.problem.num_items;
    let m = a.problem.num_pools;
    let mut rate_to = vec![0.0; m];
    let mut moves = 0;
    let mut gain = 0.0;
    for _ in 0..max_passes {
        let mut moved = false;
        for i in 0..n {
            let Some(cur) = a.placement[i] else { continue };
            let (cols, w) = a.adj.row(i);
            for (&j, &w) in cols.iter().zip(w) {
                if let Some(q) = a.placement[j as usize] {
                    rate_to[q] += w;
                }
            }
            let cost = &a.problem.cost[i * m..(i + 1) * m];
            let base = cost[cur] - rate_to[cur];
            let tol = 1e-9 * (1.0 + base.abs());
            let mut best: Option<(usize, f64)> = None;
            for q in 0..m {
                if q == cur {
                    continue;
                }
                let d = cost[q] - rate_to[q] - base;
                if d < -tol && best.is_none_or(|b| d < b.1) && a.fits(i, q) {
                    best = Some((q, d));
                }
            }
            for &j in cols {
                if let Some(q) = a.placement[j as usize] {
                    rate_to[q] = 0.0;
                }
            }
            if let Some((q, d)) = best {
                a.apply(i, Some(q));
                moves += 1;
                gain -= d;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    (moves, gain)
}
