//! Heavy-edge matching under a weight cap, and the coarsening loop built on it.

use super::graph::Graph;
use crate::rng::Rng;

/// Most coarsening levels before giving up (each level shrinks the graph by at least 1%).
const MAX_LEVELS: usize = 200;

/// When coarsening stops.
#[derive(Clone, Copy, Debug)]
pub(super) struct Goal {
    /// No coarse vertex weighs more than this.
    pub cap: u32,
    /// Stop once the graph has at most this many vertices (0: only when matching stalls).
    pub stop_at: usize,
    /// When a matching round pairs fewer than 10% of the vertices (sparse or disconnected
    /// graphs), also pair the leftover unmatched vertices in visiting order (weights
    /// permitting), so the graph keeps shrinking towards `stop_at`.
    pub pair_leftovers: bool,
}

impl Goal {
    /// Coarsen until matching stalls; never pair unconnected vertices.
    pub fn capped(cap: u32) -> Self {
        Goal {
            cap,
            stop_at: 0,
            pair_leftovers: false,
        }
    }
}

/// Coarsens `g` by repeated capped heavy-edge matching until the graph has at most
/// `goal.stop_at` vertices or a round merges fewer than 1% of the vertices. Returns the
/// coarse graphs (level 1, 2, ...) and, for each, the map from the vertices of the level
/// below to its vertices. No coarse vertex weighs more than `goal.cap`.
pub(super) fn coarsen(g: &Graph, goal: Goal, rng: &mut Rng) -> (Vec<Graph>, Vec<Vec<u32>>) {
    let mut graphs: Vec<Graph> = Vec::new();
    let mut maps: Vec<Vec<u32>> = Vec::new();
    for _ in 0..MAX_LEVELS {
        let cur = graphs.last().unwrap_or(g);
        if cur.n() <= goal.stop_at {
            break;
        }
        let (map, nc) = match_heavy_edges(cur, goal, rng);
        if nc == cur.n() {
            break;
        }
        let stalled = (nc as f64) > 0.99 * cur.n() as f64;
        let coarse = cur.contract(&map, nc);
        graphs.push(coarse);
        maps.push(map);
        if stalled {
            break;
        }
    }
    (graphs, maps)
}

/// One round of heavy-edge matching: visit the vertices in random order; an unmatched
/// vertex is matched with the unmatched neighbour of highest rating `w^2 / (vw_u vw_v)`
/// (heavy edges first, light vertices preferred, KaHIP's "expansion*2") whose combined
/// weight fits the cap (then leftovers paired, see [`Goal::pair_leftovers`]). Returns the
/// map to coarse ids (numbered in vertex order) and their count.
fn match_heavy_edges(g: &Graph, goal: Goal, rng: &mut Rng) -> (Vec<u32>, usize) {
    let n = g.n();
    let cap = goal.cap;
    let vw = g.vertex_weights();
    let mut order: Vec<u32> = (0..n as u32).collect();
    rng.shuffle(&mut order);
    const NONE: u32 = u32::MAX;
    let mut mate = vec![NONE; n];
    let mut matched = 0usize;
    for &v in &order {
        let v = v as usize;
        if mate[v] != NONE {
            continue;
        }
        let mut best = NONE;
        let mut best_rating = 0.0f64;
        let (nb, w) = g.row(v);
        for (&u, &x) in nb.iter().zip(w) {
            let ui = u as usize;
            if mate[ui] != NONE || vw[v] + vw[ui] > cap {
                continue;
            }
            let rating = x * x / (vw[v] as f64 * vw[ui] as f64);
            if best == NONE || rating > best_rating {
                best = u;
                best_rating = rating;
            }
        }
        if best == NONE {
            mate[v] = v as u32;
        } else {
            mate[v] = best;
            mate[best as usize] = v as u32;
            matched += 1;
        }
    }
    if goal.pair_leftovers && (matched as f64) < 0.1 * n as f64 {
        let mut pending: Option<usize> = None;
        for &v in &order {
            let v = v as usize;
            if mate[v] != v as u32 {
                continue;
            }
            match pending {
                Some(u) if vw[u] + vw[v] <= cap => {
                    mate[u] = v as u32;
                    mate[v] = u as u32;
                    pending = None;
                }
                _ => pending = Some(v),
            }
        }
    }
    drop(order);
    let mut map = vec![NONE; n];
    let mut nc = 0u32;
    for v in 0..n {
        if map[v] != NONE {
            continue;
        }
        map[v] = nc;
        let m = mate[v] as usize;
        if m != v {
            map[m] = nc;
        }
        nc += 1;
    }
    (map, nc as usize)
}
