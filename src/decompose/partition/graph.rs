//! Weighted undirected graph in CSR form, the input of the partitioners.

use crate::model::Couplings;

/// Undirected graph with non-negative edge weights and integer vertex weights, in
/// compressed sparse row form (each edge stored in both endpoint rows, no self-loops).
///
/// Edge weights are coupling magnitudes `|J_ij|` (summed when vertices are merged); the
/// weight of a vertex is the number of original variables it stands for, so a cluster's
/// weight is its size.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    xadj: Vec<usize>,
    adj: Vec<u32>,
    ew: Vec<f64>,
    vw: Vec<u32>,
}

impl Graph {
    /// The graph of a model's couplings: one vertex of weight 1 per variable, edge weights
    /// `|J_ij|`.
    pub fn from_couplings(c: &Couplings) -> Self {
        let (row_ptr, cols, vals) = c.csr();
        Graph {
            xadj: row_ptr.to_vec(),
            adj: cols.to_vec(),
            ew: vals.iter().map(|w| w.abs()).collect(),
            vw: vec![1; c.num_variables()],
        }
    }

    /// Builds a graph from raw CSR arrays (rows must not contain `v` itself; both
    /// directions of each edge present with equal weights).
    pub fn from_csr(xadj: Vec<usize>, adj: Vec<u32>, ew: Vec<f64>, vw: Vec<u32>) -> Self {
        debug_assert_eq!(xadj.len(), vw.len() + 1);
        debug_assert_eq!(adj.len(), ew.len());
        Graph { xadj, adj, ew, vw }
    }

    /// Number of vertices.
    pub fn n(&self) -> usize {
        self.vw.len()
    }

    /// Number of stored adjacency entries (twice the number of edges).
    pub fn nnz(&self) -> usize {
        self.adj.len()
    }

    /// Neighbours of `v` and the edge weight to each.
    #[inline]
    pub fn row(&self, v: usize) -> (&[u32], &[f64]) {
        let (a, b) = (self.xadj[v], self.xadj[v + 1]);
        (&self.adj[a..b], &self.ew[a..b])
    }

    /// Vertex weights.
    pub fn vertex_weights(&self) -> &[u32] {
        &self.vw
    }

    /// Sum of all edge weights, each edge once.
    pub fn total_edge_weight(&self) -> f64 {
        self.ew.iter().sum::<f64>() / 2.0
    }

    /// Sum of the weights of edges whose endpoints lie in different parts of `assign`.
    pub fn cut_weight(&self, assign: &[u32]) -> f64 {
        let mut cut = 0.0;
        for v in 0..self.n() {
            let (c, w) = self.row(v);
            for (&u, &x) in c.iter().zip(w) {
                if assign[u as usize] != assign[v] {
                    cut += x;
                }
            }
        }
        cut / 2.0
    }

    /// Merges the vertices mapped to the same id by `map` (ids `0..nc`): vertex weights
    /// add up, parallel edges are summed, edges inside a group vanish. O(n + nnz).
    pub fn contract(&self, map: &[u32], nc: usize) -> Graph {
        let n = self.n();
        // Bucket the fine vertices by coarse id (counting sort).
        let mut start = vec![0usize; nc + 1];
        for &c in map {
            start[c as usize + 1] += 1;
        }
        for c in 0..nc {
            start[c + 1] += start[c];
        }
        let mut members = vec![0u32; n];
        let mut fill = start.clone();
        for (v, &c) in map.iter().enumerate() {
            members[fill[c as usize]] = v as u32;
            fill[c as usize] += 1;
        }
        drop(fill);
        let mut vw = vec![0u32; nc];
        let mut xadj = Vec::with_capacity(nc + 1);
        xadj.push(0);
        let mut adj: Vec<u32> = Vec::new();
        let mut ew: Vec<f64> = Vec::new();
        // slot[c] = position of coarse neighbour c in the row being built (usize::MAX: absent).
        let mut slot = vec![usize::MAX; nc];
        for c in 0..nc {
            let row_start = adj.len();
            for &v in &members[start[c]..start[c + 1]] {
                let v = v as usize;
                vw[c] += self.vw[v];
                let (nb, w) = self.row(v);
                for (&u, &x) in nb.iter().zip(w) {
                    let cu = map[u as usize] as usize;
                    if cu == c {
                        continue;
                    }
                    match slot[cu] {
                        usize::MAX => {
                            slot[cu] = adj.len();
                            adj.push(cu as u32);
                            ew.push(x);
                        }
                        p => ew[p] += x,
                    }
                }
            }
            for &u in &adj[row_start..] {
                slot[u as usize] = usize::MAX;
            }
            xadj.push(adj.len());
        }
        Graph { xadj, adj, ew, vw }
    }

    /// The subgraph induced by `nodes` (vertex `i` of the result is `nodes[i]`; vertex
    /// weights kept). `local[v]` must be the position of `v` in `nodes` for every member
    /// and `member(v)` say whether `v` is one. O(sum of the members' degrees).
    pub fn induced(&self, nodes: &[u32], local: &[u32], member: impl Fn(usize) -> bool) -> Graph {
        let mut xadj = Vec::with_capacity(nodes.len() + 1);
        xadj.push(0);
        let mut adj = Vec::new();
        let mut ew = Vec::new();
        for &v in nodes {
            let (nb, w) = self.row(v as usize);
            for (&u, &x) in nb.iter().zip(w) {
                if member(u as usize) {
                    adj.push(local[u as usize]);
                    ew.push(x);
                }
            }
            xadj.push(adj.len());
        }
        let vw = nodes.iter().map(|&v| self.vw[v as usize]).collect();
        Graph { xadj, adj, ew, vw }
    }

    /// The edges as [`Couplings`] (weights `w_ij`, each edge once).
    pub fn to_couplings(&self) -> Couplings {
        let mut t = Vec::with_capacity(self.adj.len() / 2);
        for v in 0..self.n() {
            let (nb, w) = self.row(v);
            for (&u, &x) in nb.iter().zip(w) {
                if u as usize > v {
                    t.push((v as u32, u, x));
                }
            }
        }
        Couplings::from_triplets(self.n(), t).expect("indices of a graph are in range")
    }

    /// Sum of the weights of the edges at `v`.
    pub fn weighted_degree(&self, v: usize) -> f64 {
        self.row(v).1.iter().sum()
    }

    /// The same graph with every vertex weight set to 1 (a coarse graph seen as the model
    /// of the next level, where each cluster is one variable).
    pub fn with_unit_weights(mut self) -> Graph {
        self.vw.iter_mut().for_each(|w| *w = 1);
        self
    }

    /// Bytes held by the arrays.
    pub fn heap_bytes(&self) -> usize {
        self.xadj.len() * 8 + self.adj.len() * 4 + self.ew.len() * 8 + self.vw.len() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_sums_parallel_edges() {
        // Path 0-1-2-3 with weights 1, -2, 3; merge {0,1} and {2,3}.
        let c = Couplings::from_triplets(4, vec![(0, 1, 1.0), (1, 2, -2.0), (2, 3, 3.0), (0, 3, 0.5)]).unwrap();
        let g = Graph::from_couplings(&c);
        assert_eq!(g.total_edge_weight(), 6.5);
        let map = [0, 0, 1, 1];
        assert_eq!(g.cut_weight(&map), 2.5);
        let h = g.contract(&map, 2);
        assert_eq!(h.n(), 2);
        assert_eq!(h.vertex_weights(), &[2, 2]);
        assert_eq!(h.row(0), (&[1u32][..], &[2.5][..]));
        assert_eq!(h.row(1), (&[0u32][..], &[2.5][..]));
    }
}
