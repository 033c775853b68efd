//! Size-capped graph partitioning: split the variables into clusters of at most
//! `max_cluster_size` while cutting as little coupling weight `sum |J_ij|` as possible.
//!
//! Two methods, both deterministic for a seed (sequential, no dependence on threads):
//!
//! - [`PartitionMethod::Multilevel`] (METIS-like): repeatedly contract a heavy-edge
//!   matching whose merged vertices stay within the cap, until no pair can merge; the
//!   vertices of the coarsest graph are the clusters. Then uncoarsen, projecting the
//!   clusters back level by level and running greedy boundary refinement at each level
//!   (move a boundary vertex to the neighbouring cluster it is most strongly coupled to
//!   when that lowers the cut and the cluster has room).
//! - [`PartitionMethod::LabelPropagation`]: size-constrained label propagation on the
//!   original graph (each vertex joins the neighbouring cluster it is most strongly
//!   coupled to, if it has room), then the same matching rounds on the cluster graph to
//!   merge small neighbouring clusters, then boundary refinement on the original graph.
//!
//! Both finish by packing clusters below half the cap together (merging clusters never
//! increases the cut), so the number of clusters stays close to `n / cap`.
//!
//! A second mode, [`balanced`], gives an **exact number of clusters** of about equal size
//! (each split within a tolerance of its targets, so also a lower size bound), grouped at
//! most `max_k` per parent: recursive multilevel k-way splits on the same coarsening and
//! boundary refinement, with a pluggable [`SplitStrategy`] for the coarsest graph
//! (orchestration plugs in k-way partition QUBOs on its batch solver). Decomposition uses
//! the size-capped mode (its sub-solvers need the cap), orchestration the balanced one.

mod balanced;
mod boundary;
mod coarsen;
mod graph;
mod labelprop;

pub use balanced::{BalancedParams, BalancedPartition, GrowSplit, SplitProblem, SplitStrategy, balanced};
pub use graph::Graph;

use super::DecomposeError;
use crate::rng::Rng;
use serde::Serialize;

/// How to partition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PartitionMethod {
    /// Multilevel heavy-edge coarsening with boundary refinement (METIS-like).
    #[default]
    Multilevel,
    /// Size-constrained label propagation, cluster merging, boundary refinement.
    LabelPropagation,
}

impl PartitionMethod {
    /// Name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            PartitionMethod::Multilevel => "multilevel",
            PartitionMethod::LabelPropagation => "label-prop",
        }
    }
}

/// Parameters of [`partition`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PartitionParams {
    /// Hard cap on the total vertex weight (number of variables) of a cluster; at least 2.
    pub max_cluster_size: usize,
    /// Algorithm.
    pub method: PartitionMethod,
    /// Seed of the visiting orders.
    pub seed: u64,
    /// Passes of boundary refinement per level (default 4).
    pub refine_passes: usize,
}

impl PartitionParams {
    /// Multilevel partitioning with the given cap, seed 0 and 4 refinement passes.
    pub fn new(max_cluster_size: usize) -> Self {
        PartitionParams {
            max_cluster_size,
            method: PartitionMethod::Multilevel,
            seed: 0,
            refine_passes: 4,
        }
    }
}

/// An assignment of variables to clusters `0..num_clusters`, with each cluster's members
/// listed in increasing order and each variable's position inside its cluster (its index
/// in the cluster's subproblem).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    assign: Vec<u32>,
    ptr: Vec<usize>,
    members: Vec<u32>,
    pos: Vec<u32>,
}

impl Partition {
    /// Builds a partition from any labelling; clusters are renumbered `0..k` in order of
    /// their smallest member, and empty labels disappear.
    pub fn from_labels(labels: &[u32]) -> Self {
        let n = labels.len();
        let max = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
        let mut renum = vec![u32::MAX; max];
        let mut k = 0u32;
        let mut assign = Vec::with_capacity(n);
        for &l in labels {
            let r = &mut renum[l as usize];
            if *r == u32::MAX {
                *r = k;
                k += 1;
            }
            assign.push(*r);
        }
        drop(renum);
        let k = k as usize;
        let mut ptr = vec![0usize; k + 1];
        for &c in &assign {
            ptr[c as usize + 1] += 1;
        }
        for c in 0..k {
            ptr[c + 1] += ptr[c];
        }
        let mut fill = ptr.clone();
        let mut members = vec![0u32; n];
        let mut pos = vec![0u32; n];
        for (v, &c) in assign.iter().enumerate() {
            let p = fill[c as usize];
            members[p] = v as u32;
            pos[v] = (p - ptr[c as usize]) as u32;
            fill[c as usize] += 1;
        }
        Partition {
            assign,
            ptr,
            members,
            pos,
        }
    }

    /// Number of variables.
    pub fn num_variables(&self) -> usize {
        self.assign.len()
    }

    /// Number of clusters.
    pub fn num_clusters(&self) -> usize {
        self.ptr.len() - 1
    }

    /// Cluster of each variable.
    pub fn assignment(&self) -> &[u32] {
        &self.assign
    }

    /// Cluster of variable `v`.
    #[inline]
    pub fn cluster_of(&self, v: usize) -> usize {
        self.assign[v] as usize
    }

    /// Position of variable `v` inside its cluster.
    #[inline]
    pub fn local_index(&self, v: usize) -> usize {
        self.pos[v] as usize
    }

    /// Members of cluster `c`, increasing.
    #[inline]
    pub fn cluster(&self, c: usize) -> &[u32] {
        &self.members[self.ptr[c]..self.ptr[c + 1]]
    }

    /// Size of the largest cluster.
    pub fn max_cluster_size(&self) -> usize {
        (0..self.num_clusters())
            .map(|c| self.ptr[c + 1] - self.ptr[c])
            .max()
            .unwrap_or(0)
    }

    /// Size, cut and balance figures of this partition of `g`.
    pub fn stats(&self, g: &Graph) -> PartitionStats {
        let k = self.num_clusters();
        let sizes: Vec<usize> = (0..k).map(|c| self.ptr[c + 1] - self.ptr[c]).collect();
        let n = self.num_variables();
        let mean = if k == 0 { 0.0 } else { n as f64 / k as f64 };
        let max = sizes.iter().copied().max().unwrap_or(0);
        let total = g.total_edge_weight();
        let cut = g.cut_weight(&self.assign);
        PartitionStats {
            num_clusters: k,
            min_size: sizes.iter().copied().min().unwrap_or(0),
            max_size: max,
            mean_size: mean,
            cut_weight: cut,
            total_weight: total,
            cut_fraction: if total > 0.0 { cut / total } else { 0.0 },
            balance: if mean > 0.0 { max as f64 / mean } else { 0.0 },
        }
    }

    /// Bytes held by the arrays.
    pub fn heap_bytes(&self) -> usize {
        self.assign.len() * 12 + self.ptr.len() * 8
    }
}

/// Figures of merit of a partition.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartitionStats {
    /// Number of clusters.
    pub num_clusters: usize,
    /// Smallest cluster size.
    pub min_size: usize,
    /// Largest cluster size (never above the cap).
    pub max_size: usize,
    /// Mean cluster size `n / num_clusters`.
    pub mean_size: f64,
    /// Sum of `|J_ij|` over couplings between different clusters.
    pub cut_weight: f64,
    /// Sum of `|J_ij|` over all couplings.
    pub total_weight: f64,
    /// `cut_weight / total_weight`.
    pub cut_fraction: f64,
    /// `max_size / mean_size` (1 = perfectly balanced).
    pub balance: f64,
}

/// Partitions `g` into clusters of total vertex weight at most `p.max_cluster_size`.
pub fn partition(g: &Graph, p: &PartitionParams) -> Result<Partition, DecomposeError> {
    let cap = p.max_cluster_size;
    if cap < 2 {
        return Err(DecomposeError::InvalidParameter {
            name: "cluster_size",
            reason: format!("{cap} is below 2"),
        });
    }
    if let Some(v) = g.vertex_weights().iter().position(|&w| w as usize > cap) {
        return Err(DecomposeError::InvalidParameter {
            name: "cluster_size",
            reason: format!("vertex {v} alone weighs {} > {cap}", g.vertex_weights()[v]),
        });
    }
    let cap = cap.min(u32::MAX as usize) as u32;
    let total: u64 = g.vertex_weights().iter().map(|&w| w as u64).sum();
    if total <= cap as u64 {
        return Ok(Partition::from_labels(&vec![0; g.n()]));
    }
    let mut rng = Rng::new(p.seed);
    let labels = match p.method {
        PartitionMethod::Multilevel => multilevel(g, cap, p.refine_passes, &mut rng),
        PartitionMethod::LabelPropagation => {
            let lp = labelprop::propagate(g, cap, 16, &mut rng);
            let lp = Partition::from_labels(&lp);
            let cg = g.contract(lp.assignment(), lp.num_clusters());
            let merged = coarsen_and_pack(&cg, cap, &mut rng);
            let mut labels: Vec<u32> = lp.assignment().iter().map(|&c| merged[c as usize]).collect();
            boundary::refine(g, &mut labels, cap, p.refine_passes);
            labels
        }
    };
    Ok(Partition::from_labels(&labels))
}

/// Multilevel clustering: coarsen to a stop, pack, uncoarsen with refinement.
fn multilevel(g: &Graph, cap: u32, passes: usize, rng: &mut Rng) -> Vec<u32> {
    let (graphs, maps) = coarsen::coarsen(g, coarsen::Goal::capped(cap), rng);
    let coarsest = graphs.last().unwrap_or(g);
    let mut labels = pack(coarsest, &(0..coarsest.n() as u32).collect::<Vec<_>>(), cap);
    boundary::refine(coarsest, &mut labels, cap, passes);
    for level in (0..maps.len()).rev() {
        let fine = if level == 0 { g } else { &graphs[level - 1] };
        labels = maps[level].iter().map(|&c| labels[c as usize]).collect();
        boundary::refine(fine, &mut labels, cap, passes);
    }
    labels
}

/// Coarsens `g` to a stop and packs the result: the cluster of each vertex of `g`.
fn coarsen_and_pack(g: &Graph, cap: u32, rng: &mut Rng) -> Vec<u32> {
    let (graphs, maps) = coarsen::coarsen(g, coarsen::Goal::capped(cap), rng);
    let coarsest = graphs.last().unwrap_or(g);
    let mut labels = pack(coarsest, &(0..coarsest.n() as u32).collect::<Vec<_>>(), cap);
    for map in maps.iter().rev() {
        labels = map.iter().map(|&c| labels[c as usize]).collect();
    }
    labels
}

/// Packs clusters lighter than `cap / 2` together (next fit, in cluster order): merging
/// clusters never increases the cut, and it keeps the number of clusters near
/// `total / cap`. `labels` maps vertices of `g` to clusters; returns the new labels.
fn pack(g: &Graph, labels: &[u32], cap: u32) -> Vec<u32> {
    let k = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut weight = vec![0u64; k];
    for (v, &c) in labels.iter().enumerate() {
        weight[c as usize] += g.vertex_weights()[v] as u64;
    }
    let mut target: Vec<u32> = (0..k as u32).collect();
    let mut bin: Option<(u32, u64)> = None;
    for c in 0..k {
        let w = weight[c];
        if w == 0 || 2 * w > cap as u64 {
            continue;
        }
        match bin {
            Some((b, bw)) if bw + w <= cap as u64 => {
                target[c] = b;
                bin = Some((b, bw + w));
            }
            _ => bin = Some((c as u32, w)),
        }
    }
    labels.iter().map(|&c| target[c as usize]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Couplings;

    fn grid(rows: usize, cols: usize) -> Graph {
        let mut t = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                let v = (r * cols + c) as u32;
                if c + 1 < cols {
                    t.push((v, v + 1, 1.0));
                }
                if r + 1 < rows {
                    t.push((v, v + cols as u32, -1.0));
                }
            }
        }
        Graph::from_couplings(&Couplings::from_triplets(rows * cols, t).unwrap())
    }

    #[test]
    fn caps_hold_and_everything_is_assigned() {
        let g = grid(30, 30);
        for method in [PartitionMethod::Multilevel, PartitionMethod::LabelPropagation] {
            for cap in [2, 7, 20, 100] {
                let p = partition(
                    &g,
                    &PartitionParams {
                        method,
                        ..PartitionParams::new(cap)
                    },
                )
                .unwrap();
                assert_eq!(p.num_variables(), 900);
                assert!(p.max_cluster_size() <= cap, "{method:?} cap {cap}");
                let total: usize = (0..p.num_clusters()).map(|c| p.cluster(c).len()).sum();
                assert_eq!(total, 900);
                for c in 0..p.num_clusters() {
                    for (k, &v) in p.cluster(c).iter().enumerate() {
                        assert_eq!(p.cluster_of(v as usize), c);
                        assert_eq!(p.local_index(v as usize), k);
                    }
                }
                // Near n / cap clusters: at most one cluster is at most half full.
                let s = p.stats(&g);
                assert!(s.num_clusters <= 2 * 900 / cap + 1, "{method:?} cap {cap}: {s:?}");
                // A grid cut into blocks of ~cap cuts far less than a random split.
                if cap >= 20 {
                    assert!(s.cut_fraction < 0.5, "{method:?} cap {cap}: {s:?}");
                }
            }
        }
    }

    #[test]
    fn small_graph_is_one_cluster_and_bad_cap_errors() {
        let g = grid(3, 3);
        assert_eq!(partition(&g, &PartitionParams::new(9)).unwrap().num_clusters(), 1);
        assert!(partition(&g, &PartitionParams::new(1)).is_err());
    }

    #[test]
    fn same_seed_same_partition() {
        let g = grid(20, 25);
        let p = PartitionParams {
            seed: 9,
            ..PartitionParams::new(30)
        };
        assert_eq!(partition(&g, &p).unwrap(), partition(&g, &p).unwrap());
    }
}
