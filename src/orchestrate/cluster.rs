//! Clustering of agents: balanced clusters of the traffic graph that keep traffic inside
//! clusters, grouped at most `max_k` per parent, by the crate's one partitioner
//! ([`crate::decompose::partition::balanced`], exact cluster count, size bounds) with
//! k-way partition QUBOs as its splitting strategy ([`QuboSplit`]: every split's coarse
//! graph becomes a QUBO solved on the orchestrator's batch solver; its samples are
//! candidate starts next to the partitioner's greedy one, the one cutting least wins).
//!
//! The partition QUBO over nodes with weights `v_i`, edge weights `w_ij` and target weights
//! `T_c` (`sum_c T_c = sum_i v_i`) has `z[i,c] = 1` when node `i` is in cluster `c`
//! (index `i*k + c`):
//!
//! ```text
//! E(z) = sum_{i<j} w_ij (1 - sum_c z[i,c] z[j,c])       traffic between clusters (cut)
//!      + A sum_i (1 - sum_c z[i,c])^2                    one-hot
//!      + B sum_c (sum_i v_i z[i,c] - T_c)^2              balance
//! ```
//!
//! Automatic weights ([`PenaltySettings`]): with `W = sum w`, `V = sum v`,
//! `B = 4 k W / V^2` (a partition with everything in one cluster then pays about `4 W`, more
//! than any cut, while a 10% imbalance of two clusters costs about `0.08 W / k`; the soft
//! balance is then made hard by the partitioner's repair) or `B = 1` without traffic, and
//! `A = 2 max_i sum_j w_ij + 4 B max_i v_i max_c T_c` (more than what a node gains by
//! leaving every cluster, in states whose clusters are at most twice their target).

use super::OrchestrateError;
use super::assign::{PenaltySettings, add_square};
use crate::batch::{BatchSolver, Subproblem};
use crate::decompose::DecomposeError;
use crate::decompose::partition::{BalancedParams, BalancedPartition, Graph, SplitProblem, SplitStrategy, balanced};
use crate::model::Model;
use crate::model::{Couplings, Qubo};
use crate::solvers::SolveContext;
use rayon::prelude::*;
use std::sync::atomic::AtomicBool;

/// A balanced partition problem.
#[derive(Clone, Debug)]
pub struct PartitionProblem {
    /// Edge weights (symmetric).
    pub edges: Couplings,
    /// Node weights (positive).
    pub node_weight: Vec<f64>,
    /// Target weight of each cluster.
    pub targets: Vec<f64>,
}

impl PartitionProblem {
    /// Number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.node_weight.len()
    }
    /// Number of clusters.
    pub fn k(&self) -> usize {
        self.targets.len()
    }
    /// Weight of the edges cut by `parts` (nodes without a cluster cut all their edges).
    pub fn cut(&self, parts: &[Option<usize>]) -> f64 {
        self.edges
            .iter_upper()
            .filter(|&(i, j, _)| parts[i].is_none() || parts[i] != parts[j])
            .map(|(_, _, w)| w)
            .sum()
    }
    /// Weight in each cluster.
    pub fn loads(&self, parts: &[Option<usize>]) -> Vec<f64> {
        let mut l = vec![0.0; self.k()];
        for (i, p) in parts.iter().enumerate() {
            if let Some(c) = p {
                l[*c] += self.node_weight[i];
            }
        }
        l
    }
}

/// The QUBO of a [`PartitionProblem`].
#[derive(Clone, Debug)]
pub struct PartitionQubo {
    /// The model.
    pub qubo: Qubo,
    /// Nodes.
    pub n: usize,
    /// Clusters.
    pub k: usize,
    /// One-hot weight `A`.
    pub one_hot: f64,
    /// Balance weight `B`.
    pub balance: f64,
}

/// Builds the partition QUBO (formula and weights in the module docs).
pub fn build_partition_qubo(p: &PartitionProblem, pen: &PenaltySettings) -> Result<PartitionQubo, OrchestrateError> {
    pen.check()?;
    let (n, k) = (p.num_nodes(), p.k());
    if k == 0 || p.edges.num_variables() != n {
        return Err(OrchestrateError::InvalidParameter {
            name: "partition",
            reason: format!("{k} clusters over {n} nodes with {} edge rows", p.edges.num_variables()),
        });
    }
    let total_w: f64 = p.edges.iter_upper().map(|t| t.2).sum();
    let total_v: f64 = p.node_weight.iter().sum();
    let auto_b = if total_w > 0.0 && total_v > 0.0 {
        4.0 * k as f64 * total_w / (total_v * total_v)
    } else {
        1.0
    };
    let s_max = (0..n).map(|i| p.edges.row_sum(i).abs()).fold(0.0, f64::max);
    let v_max = p.node_weight.iter().fold(0.0, |a: f64, &b| a.max(b));
    let t_max = p.targets.iter().fold(0.0, |a: f64, &b| a.max(b));
    let nv = n * k;
    let mult = pen.multiplier(nv);
    let b_w = pen.constraint.unwrap_or(auto_b * mult);
    let a_w = pen
        .one_hot
        .unwrap_or((2.0 * s_max + 4.0 * b_w * v_max * t_max).max(1e-9) * mult);
    let mut linear = vec![0.0; nv];
    let mut quad = Vec::new();
    let mut offset = 0.0;
    for (i, j, w) in p.edges.iter_upper() {
        offset += w;
        for c in 0..k {
            quad.push(((i * k + c) as u32, (j * k + c) as u32, -w));
        }
    }
    for i in 0..n {
        offset += a_w;
        for c in 0..k {
            linear[i * k + c] -= a_w;
            for d in c + 1..k {
                quad.push(((i * k + c) as u32, (i * k + d) as u32, 2.0 * a_w));
            }
        }
    }
    for c in 0..k {
        let terms: Vec<(usize, f64)> = (0..n).map(|i| (i * k + c, p.node_weight[i])).collect();
        add_square(&terms, -p.targets[c], b_w, &mut linear, &mut quad, &mut offset);
    }
    let qubo = Qubo::new(linear, Couplings::from_triplets(nv, quad)?, offset)?;
    Ok(PartitionQubo {
        qubo,
        n,
        k,
        one_hot: a_w,
        balance: b_w,
    })
}

impl PartitionQubo {
    /// The state of a partition.
    pub fn encode(&self, parts: &[Option<usize>]) -> Vec<i8> {
        let mut z = vec![0i8; self.n * self.k];
        for (i, p) in parts.iter().enumerate() {
            if let Some(c) = p {
                z[i * self.k + c] = 1;
            }
        }
        z
    }
    /// The cluster of each node: the set one (the lowest index if several), `None` if none.
    pub fn decode(&self, z: &[i8]) -> Vec<Option<usize>> {
        (0..self.n)
            .map(|i| (0..self.k).find(|&c| z[i * self.k + c] != 0))
            .collect()
    }
}

/// Clusters of agents with their groups (clusters of clusters): the balanced partition.
pub type Clustering = BalancedPartition;

/// The k-way partition QUBO as the splitting strategy of the partitioner: each split's
/// coarse graph (at most 64 nodes, at most `max_k` children) becomes a
/// [`PartitionQubo`] warm-started from the greedy split; subproblems of one depth go to
/// `backend` in batches of at most `batch_size`; the four best samples of each are
/// proposed.
pub struct QuboSplit<'a> {
    /// Penalty weights of the QUBOs.
    pub penalties: &'a PenaltySettings,
    /// Where the QUBOs are solved.
    pub backend: &'a dyn BatchSolver,
    /// Most subproblems per backend call (at least 1).
    pub batch_size: usize,
}

impl SplitStrategy for QuboSplit<'_> {
    fn propose(&self, batch: &[SplitProblem<'_>]) -> Result<Vec<Vec<Vec<u32>>>, DecomposeError> {
        let qubo_err = |e: OrchestrateError| match e {
            OrchestrateError::Model(m) => DecomposeError::Model(m),
            OrchestrateError::Solve(s) => DecomposeError::Solve(s),
            other => DecomposeError::InvalidParameter {
                name: "penalties",
                reason: other.to_string(),
            },
        };
        let mut out = Vec::with_capacity(batch.len());
        for (ci, chunk) in batch.chunks(self.batch_size.max(1)).enumerate() {
            let qubos: Vec<PartitionQubo> = chunk
                .par_iter()
                .map(|sp| {
                    let p = PartitionProblem {
                        edges: sp.graph.to_couplings(),
                        node_weight: sp.graph.vertex_weights().iter().map(|&w| w as f64).collect(),
                        targets: sp.targets.to_vec(),
                    };
                    build_partition_qubo(&p, self.penalties)
                })
                .collect::<Result<_, _>>()
                .map_err(qubo_err)?;
            let subs: Vec<Subproblem> = chunk
                .iter()
                .zip(&qubos)
                .enumerate()
                .map(|(i, (sp, pq))| {
                    let warm: Vec<Option<usize>> = sp.warm.iter().map(|&c| Some(c as usize)).collect();
                    Subproblem {
                        id: (ci * self.batch_size.max(1) + i) as u64,
                        model: Model::Qubo(pq.qubo.clone()),
                        warm_start: Some(pq.encode(&warm)),
                        seed: sp.seed,
                    }
                })
                .collect();
            let sets = self.backend.solve_batch(&subs, &SolveContext::default())?;
            for (pq, set) in qubos.iter().zip(&sets) {
                out.push(
                    set.samples()
                        .iter()
                        .take(4)
                        .map(|s| {
                            pq.decode(&s.state)
                                .into_iter()
                                .map(|c| c.map_or(u32::MAX, |c| c as u32))
                                .collect()
                        })
                        .collect(),
                );
            }
        }
        Ok(out)
    }
}

/// The partitioner's parameters for clusters of about `cluster_size` of `n` nodes:
/// exactly `ceil(n / cluster_size)` clusters (at least 1), at most `max_k` per split (at
/// least 2), each split within 10% of its targets.
pub fn cluster_params(n: usize, cluster_size: usize, max_k: usize, seed: u64) -> BalancedParams {
    BalancedParams {
        max_k: max_k.max(2),
        seed,
        ..BalancedParams::new(n.div_ceil(cluster_size.max(1)).max(1))
    }
}

/// Hierarchical balanced clustering of `graph` (traffic weights `>= 0`, unit node weights)
/// into `ceil(n / cluster_size)` clusters of about `cluster_size` nodes, at most `max_k`
/// children per split (`cluster_params`), with `QuboSplit` on `backend` (batches of
/// at most `batch_size`).
pub fn hierarchical(
    graph: &Couplings,
    cluster_size: usize,
    max_k: usize,
    pen: &PenaltySettings,
    backend: &dyn BatchSolver,
    seed: u64,
    batch_size: usize,
) -> Result<Clustering, OrchestrateError> {
    let params = cluster_params(graph.num_variables(), cluster_size, max_k, seed);
    let split = QuboSplit {
        penalties: pen,
        backend,
        batch_size,
    };
    cluster(graph, &params, &split, None)
}

/// Balanced clustering of `graph` by the partitioner with `split`; `interrupt`, once set,
/// stops the splitting between depths (the parts still open become clusters, larger than
/// asked).
pub fn cluster(
    graph: &Couplings,
    params: &BalancedParams,
    split: &QuboSplit,
    interrupt: Option<&AtomicBool>,
) -> Result<Clustering, OrchestrateError> {
    split.penalties.check()?;
    balanced(&Graph::from_couplings(graph), params, split, interrupt).map_err(|e| match e {
        DecomposeError::Solve(s) => OrchestrateError::Solve(s),
        DecomposeError::Model(m) => OrchestrateError::Model(m),
        other => OrchestrateError::InvalidParameter {
            name: "cluster_size",
            reason: other.to_string(),
        },
    })
}
