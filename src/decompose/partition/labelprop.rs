//! Size-constrained label propagation.

use super::boundary::{Conn, move_to};
use super::graph::Graph;
use crate::rng::Rng;

/// Label propagation from singletons: in random order, each vertex joins the cluster its
/// neighbours couple it to most strongly (its own cluster wins ties), if that cluster has
/// room under `cap`. Stops after `rounds` rounds or when a round moves fewer than 0.1% of
/// the vertices. Returns the cluster label of each vertex.
pub(super) fn propagate(g: &Graph, cap: u32, rounds: usize, rng: &mut Rng) -> Vec<u32> {
    let n = g.n();
    let vw = g.vertex_weights();
    let mut labels: Vec<u32> = (0..n as u32).collect();
    let mut size: Vec<u32> = vw.to_vec();
    let mut order: Vec<u32> = (0..n as u32).collect();
    rng.shuffle(&mut order);
    let mut conn = Conn::new(n);
    for _ in 0..rounds {
        let mut moved = 0usize;
        for &v in &order {
            let v = v as usize;
            if g.row(v).0.is_empty() {
                continue;
            }
            let a = labels[v];
            conn.gather(g, &labels, v);
            let best = conn.best_with_room(a, &size, vw[v], |_| cap, 0.0, conn.to(a));
            moved += usize::from(move_to(&mut labels, &mut size, v, vw[v], best));
        }
        if moved * 1000 < n {
            break;
        }
    }
    labels
}
