//! Size-constrained label propagation.

use super::boundary::Conn;
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
            let mut best = a;
            let mut best_w = conn.to(a);
            for &c in &conn.touched {
                if c == a || size[c as usize] + vw[v] > cap {
                    continue;
                }
                let w = conn.to(c);
                if w > best_w {
                    best = c;
                    best_w = w;
                }
            }
            if best != a {
                size[a as usize] -= vw[v];
                size[best as usize] += vw[v];
                labels[v] = best;
                moved += 1;
            }
        }
        if moved * 1000 < n {
            break;
        }
    }
    labels
}
