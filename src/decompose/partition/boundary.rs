//! Greedy boundary refinement of a size-capped clustering.

use super::graph::Graph;

/// Label of a vertex not in any cluster yet (only while a balanced split is repaired).
pub(super) const UNASSIGNED: u32 = u32::MAX;

/// Coupling weight from one vertex to each neighbouring cluster (a sparse accumulator).
pub(super) struct Conn {
    weight: Vec<f64>,
    seen: Vec<bool>,
    /// Clusters touched by the current vertex.
    pub touched: Vec<u32>,
}

impl Conn {
    /// An accumulator over `k` clusters.
    pub fn new(k: usize) -> Self {
        Conn {
            weight: vec![0.0; k],
            seen: vec![false; k],
            touched: Vec::new(),
        }
    }

    /// Fills in the weight from `v` to each cluster its neighbours belong to (neighbours
    /// labelled [`UNASSIGNED`] count for none).
    pub fn gather(&mut self, g: &Graph, labels: &[u32], v: usize) {
        for &c in &self.touched {
            self.weight[c as usize] = 0.0;
            self.seen[c as usize] = false;
        }
        self.touched.clear();
        let (nb, w) = g.row(v);
        for (&u, &x) in nb.iter().zip(w) {
            let c = labels[u as usize];
            if c == UNASSIGNED {
                continue;
            }
            if !self.seen[c as usize] {
                self.seen[c as usize] = true;
                self.touched.push(c);
            }
            self.weight[c as usize] += x;
        }
    }

    /// Weight from the last gathered vertex to cluster `c` (0 when not adjacent).
    #[inline]
    pub fn to(&self, c: u32) -> f64 {
        self.weight[c as usize]
    }

    /// The touched cluster `c != a` with room for a vertex of weight `w` (`size[c] + w <=
    /// upper(c)`) that maximises `to(c) - offset`, if that exceeds `threshold` (the first
    /// such cluster in touch order on ties); otherwise `a`.
    pub fn best_with_room(
        &self,
        a: u32,
        size: &[u32],
        w: u32,
        upper: impl Fn(u32) -> u32,
        offset: f64,
        threshold: f64,
    ) -> u32 {
        let mut best = a;
        let mut best_score = threshold;
        for &c in &self.touched {
            if c == a || size[c as usize] + w > upper(c) {
                continue;
            }
            let score = self.to(c) - offset;
            if score > best_score {
                best = c;
                best_score = score;
            }
        }
        best
    }
}

/// Moves vertex `v` (weight `w`) to cluster `to`, keeping the cluster sizes; returns
/// whether it moved.
pub(super) fn move_to(labels: &mut [u32], size: &mut [u32], v: usize, w: u32, to: u32) -> bool {
    let from = labels[v];
    if from == to {
        return false;
    }
    size[from as usize] -= w;
    size[to as usize] += w;
    labels[v] = to;
    true
}

/// Up to `passes` sweeps over the vertices: each vertex moves to the neighbouring cluster
/// with the largest cut reduction `w(v, B) - w(v, A)`, if positive and `B` has room for
/// it under `cap`. Never breaks the cap; the cut decreases strictly with every move.
pub(super) fn refine(g: &Graph, labels: &mut [u32], cap: u32, passes: usize) {
    refine_within(g, labels, |_| cap, |_| 0, passes);
}

/// [`refine`] with a weight range per cluster: a vertex of weight `w` leaves cluster `A`
/// only if `size(A) - w >= lower(A)` and joins `B` only if `size(B) + w <= upper(B)`.
/// Every vertex must be labelled.
pub(super) fn refine_within(
    g: &Graph,
    labels: &mut [u32],
    upper: impl Fn(u32) -> u32 + Copy,
    lower: impl Fn(u32) -> u32,
    passes: usize,
) {
    let k = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
    let vw = g.vertex_weights();
    let mut size = vec![0u32; k];
    for (v, &c) in labels.iter().enumerate() {
        size[c as usize] += vw[v];
    }
    let mut conn = Conn::new(k);
    for _ in 0..passes {
        let mut moved = 0usize;
        for v in 0..g.n() {
            let a = labels[v];
            let (nb, _) = g.row(v);
            if size[a as usize] < lower(a) + vw[v] || nb.iter().all(|&u| labels[u as usize] == a) {
                continue;
            }
            conn.gather(g, labels, v);
            let internal = conn.to(a);
            let best = conn.best_with_room(a, &size, vw[v], upper, internal, 1e-12 * (1.0 + internal.abs()));
            moved += usize::from(move_to(labels, &mut size, v, vw[v], best));
        }
        if moved == 0 {
            break;
        }
    }
}
