//! The stack of levels of a hierarchical decomposition.
//!
//! Level 0 is the model itself (as Ising). Its variables are partitioned into clusters of
//! at most `max_cluster_size`; level 1 has one spin `t_a` per cluster, meaning "keep
//! (`+1`) or flip (`-1`) cluster `a`'s current solution". For a level-`k` state `s` the
//! level-`k+1` model ([`merge_model`]) is exact:
//!
//! ```text
//! h'_a  = sum_{i in a} h_i s_i
//! J'_ab = sum_{i in a, j in b} J_ij s_i s_j         (the couplings that connect clusters)
//! c'    = c + sum_{i<j in the same cluster} J_ij s_i s_j
//! H_{k+1}(t) = H_k(s_i t_{a(i)})   for every t,   and  H_{k+1}(+1, ..., +1) = H_k(s).
//! ```
//!
//! Levels are added until one fits in a single subproblem. The stored model of a level
//! `k >= 1` is the one for the all-up state of level `k - 1` (the "reference" model: the
//! problem restricted to states constant on each cluster); solvers rebuild it from their
//! current solutions with [`merge_model`].

use super::DecomposeError;
use super::partition::{Graph, Partition, PartitionMethod, PartitionParams, PartitionStats, partition};
use crate::model::{Couplings, Ising, ModelError};
use crate::rng::derive_seed;
use serde::Serialize;
use std::borrow::Cow;
use std::time::Instant;

/// Most levels a hierarchy may have (each level shrinks the model at least twofold).
const MAX_LEVELS: usize = 64;

/// How to build a [`HierarchicalQubo`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HierarchyParams {
    /// Hard cap on the variables of a cluster (= of a subproblem); at least 2.
    pub max_cluster_size: usize,
    /// Partitioning algorithm.
    pub method: PartitionMethod,
    /// Seed; level `k` partitions with a seed derived from it and `k`.
    pub seed: u64,
    /// Boundary-refinement passes per coarsening level.
    pub refine_passes: usize,
}

impl HierarchyParams {
    /// Multilevel partitioning with the given cap and seed 0.
    pub fn new(max_cluster_size: usize) -> Self {
        HierarchyParams {
            max_cluster_size,
            method: PartitionMethod::Multilevel,
            seed: 0,
            refine_passes: 4,
        }
    }
}

/// One level of the stack.
#[derive(Clone, Debug)]
pub struct Level {
    num_variables: usize,
    num_interactions: usize,
    model: Option<Ising>,
    graph: Option<Graph>,
    partition: Option<Partition>,
    stats: Option<PartitionStats>,
    partition_s: f64,
}

impl Level {
    /// Variables at this level (clusters of the level below, for `k >= 1`).
    pub fn num_variables(&self) -> usize {
        self.num_variables
    }

    /// Couplings at this level (pairs of clusters of the level below that interact).
    pub fn num_interactions(&self) -> usize {
        self.num_interactions
    }

    /// Partition of this level's variables into the next level's (`None` at the top).
    pub fn partition(&self) -> Option<&Partition> {
        self.partition.as_ref()
    }

    /// Cluster sizes, cut weight and balance of [`partition`](Self::partition).
    pub fn stats(&self) -> Option<&PartitionStats> {
        self.stats.as_ref()
    }

    /// Seconds spent partitioning this level.
    pub fn partition_seconds(&self) -> f64 {
        self.partition_s
    }
}

/// Serializable summary of one level (for `qam decompose`).
#[derive(Clone, Debug, Serialize)]
pub struct LevelSummary {
    /// Level index (0 = the model).
    pub level: usize,
    /// Variables.
    pub num_variables: usize,
    /// Couplings.
    pub num_interactions: usize,
    /// Partition figures (absent at the top level).
    #[serde(flatten)]
    pub stats: Option<PartitionStats>,
    /// Seconds spent partitioning this level.
    pub partition_s: f64,
}

/// A model and its stack of coarser levels (see the module docs).
#[derive(Clone, Debug)]
pub struct HierarchicalQubo<'a> {
    base: Cow<'a, Ising>,
    levels: Vec<Level>,
    params: HierarchyParams,
}

impl<'a> HierarchicalQubo<'a> {
    /// Builds the levels of `base` (borrowed or owned) until one has at most
    /// `max_cluster_size` variables.
    pub fn build(base: Cow<'a, Ising>, params: &HierarchyParams) -> Result<Self, DecomposeError> {
        let cap = params.max_cluster_size;
        if cap < 2 {
            return Err(DecomposeError::InvalidParameter {
                name: "cluster_size",
                reason: format!("{cap} is below 2"),
            });
        }
        let mut levels: Vec<Level> = Vec::new();
        let mut graph = Graph::from_couplings(base.j());
        let mut model: Option<Ising> = None;
        for k in 0..MAX_LEVELS {
            let current: &Ising = model.as_ref().unwrap_or(&base);
            let n = current.num_variables();
            let nnz = if k == 0 {
                current.j().num_interactions()
            } else {
                graph.nnz() / 2
            };
            if n <= cap {
                levels.push(Level {
                    num_variables: n,
                    num_interactions: nnz,
                    model,
                    graph: (k > 0).then_some(graph),
                    partition: None,
                    stats: None,
                    partition_s: 0.0,
                });
                return Ok(HierarchicalQubo {
                    base,
                    levels,
                    params: *params,
                });
            }
            let t0 = Instant::now();
            let p = partition(
                &graph,
                &PartitionParams {
                    max_cluster_size: cap,
                    method: params.method,
                    seed: derive_seed(params.seed, k as u64),
                    refine_passes: params.refine_passes,
                },
            )?;
            let partition_s = t0.elapsed().as_secs_f64();
            if p.num_clusters() >= n {
                return Err(DecomposeError::InvalidParameter {
                    name: "cluster_size",
                    reason: format!("level {k} ({n} variables) could not be coarsened with clusters of {cap}"),
                });
            }
            let stats = p.stats(&graph);
            let next_graph = graph.contract(p.assignment(), p.num_clusters()).with_unit_weights();
            let next_model = merge_model(current, &p, &vec![1; n])?;
            levels.push(Level {
                num_variables: n,
                num_interactions: nnz,
                model: model.take(),
                graph: (k > 0).then_some(graph),
                partition: Some(p),
                stats: Some(stats),
                partition_s,
            });
            graph = next_graph;
            model = Some(next_model);
        }
        Err(DecomposeError::InvalidParameter {
            name: "cluster_size",
            reason: format!("more than {MAX_LEVELS} levels needed"),
        })
    }

    /// The model (level 0).
    pub fn base(&self) -> &Ising {
        &self.base
    }

    /// The levels, finest first; the last one has no partition.
    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    /// Number of levels.
    pub fn depth(&self) -> usize {
        self.levels.len()
    }

    /// The parameters the hierarchy was built with.
    pub fn params(&self) -> &HierarchyParams {
        &self.params
    }

    /// The reference model of level `k` (level 0: the model itself). Panics when `k` is
    /// not below [`depth`](Self::depth).
    pub fn model(&self, k: usize) -> &Ising {
        if k == 0 {
            &self.base
        } else {
            self.levels[k].model.as_ref().expect("levels above 0 store their model")
        }
    }

    /// Partition of level `k` into the variables of level `k + 1` (`None` at the top).
    pub fn partition(&self, k: usize) -> Option<&Partition> {
        self.levels.get(k).and_then(|l| l.partition.as_ref())
    }

    /// The couplings of level `k` that connect different clusters, as
    /// `(i, j, J_ij, cluster(i), cluster(j))` with `i < j` (none at the top level). These
    /// are the terms that become the couplings of level `k + 1`.
    pub fn cut_couplings(&self, k: usize) -> impl Iterator<Item = (usize, usize, f64, usize, usize)> + '_ {
        let p = self.partition(k);
        let model = p.map(|_| self.model(k));
        model.into_iter().flat_map(move |m| {
            let p = p.expect("a model is only taken with a partition");
            m.j().iter_upper().filter_map(move |(i, j, w)| {
                let (a, b) = (p.cluster_of(i), p.cluster_of(j));
                (a != b).then_some((i, j, w, a, b))
            })
        })
    }

    /// A colouring of the clusters of level `k` such that clusters of the same colour are
    /// never coupled (greedy, in cluster order): subproblems of one colour can be solved
    /// at the same time and their improvements add up exactly. Returns one colour per
    /// cluster.
    pub fn cluster_colors(&self, k: usize) -> Vec<u32> {
        let Some(g) = self.levels.get(k + 1).and_then(|l| l.graph.as_ref()) else {
            return Vec::new();
        };
        greedy_coloring(g)
    }

    /// Summaries of all levels, finest first.
    pub fn summary(&self) -> Vec<LevelSummary> {
        self.levels
            .iter()
            .enumerate()
            .map(|(k, l)| LevelSummary {
                level: k,
                num_variables: l.num_variables,
                num_interactions: l.num_interactions,
                stats: l.stats.clone(),
                partition_s: l.partition_s,
            })
            .collect()
    }
}

/// Smallest colour not used by an already coloured neighbour, vertex by vertex.
fn greedy_coloring(g: &Graph) -> Vec<u32> {
    let n = g.n();
    let mut color = vec![u32::MAX; n];
    let mut used: Vec<usize> = Vec::new();
    for v in 0..n {
        let (nb, _) = g.row(v);
        for &u in nb {
            let c = color[u as usize];
            if c != u32::MAX {
                if used.len() <= c as usize {
                    used.resize(c as usize + 1, usize::MAX);
                }
                used[c as usize] = v;
            }
        }
        color[v] = (0..)
            .find(|&c| used.get(c as usize) != Some(&v))
            .expect("a free colour exists");
    }
    color
}

/// The Ising model of the level above `model` for the state `spins` (±1): one spin per
/// cluster of `p`, flipping cluster `a` when `-1` (see the module docs). Exact: its energy
/// at `t` is `model`'s energy at `spins_i * t_{cluster(i)}`. O(n + couplings).
pub fn merge_model(model: &Ising, p: &Partition, spins: &[i8]) -> Result<Ising, ModelError> {
    let k = p.num_clusters();
    let mut h = vec![0.0; k];
    for (i, &hi) in model.h().iter().enumerate() {
        h[p.cluster_of(i)] += hi * spins[i] as f64;
    }
    let mut offset = model.offset();
    let mut pairs: Vec<(u32, u32, f64)> = Vec::new();
    for (i, j, w) in model.j().iter_upper() {
        let (a, b) = (p.cluster_of(i), p.cluster_of(j));
        let v = w * (spins[i] * spins[j]) as f64;
        if a == b {
            offset += v;
        } else {
            pairs.push((a as u32, b as u32, v));
        }
    }
    Ising::new(h, Couplings::from_triplets(k, pairs)?, offset)
}

/// Applies a level-above state: `spins_i *= flips[cluster(i)]`.
pub fn apply_flips(p: &Partition, spins: &mut [i8], flips: &[i8]) {
    for (i, s) in spins.iter_mut().enumerate() {
        *s *= flips[p.cluster_of(i)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coloring_is_proper() {
        let c =
            Couplings::from_triplets(5, vec![(0, 1, 1.0), (1, 2, 1.0), (2, 0, 1.0), (2, 3, 1.0), (3, 4, 1.0)]).unwrap();
        let g = Graph::from_couplings(&c);
        let col = greedy_coloring(&g);
        for (i, j, _) in c.iter_upper() {
            assert_ne!(col[i], col[j]);
        }
        assert_eq!(*col.iter().max().unwrap(), 2);
    }
}
