//! Clustering: balanced k-way partitions of the traffic graph that minimise the traffic
//! between clusters, as QUBOs, hierarchically for large k (clusters of clusters).
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
//! balance is then made hard by the repair) or `B = 1` without traffic, and
//! `A = 2 max_i sum_j w_ij + 4 B max_i v_i max_c T_c` (more than what a node gains by
//! leaving every cluster, in states whose clusters are at most twice their target).
//!
//! Large graphs are coarsened first (heavy-edge matching, node weights add up) to at most
//! `max(24, 8k)` (at most 64) nodes; the QUBO is solved on the coarse graph, and the
//! partition is projected back level by level, each level refined by boundary moves that
//! lower the cut and keep every cluster under `max(ceil(T_c), 1.1 T_c)`. For more than
//! `max_k` clusters, the graph is split into `max_k` parts (targets proportional to the
//! clusters each part will hold), and each part recursively (breadth first; all parts of one
//! depth form one batch for the backend).

use super::OrchestrateError;
use super::assign::{PenaltySettings, add_square};
use crate::batch::{BatchSolver, Subproblem};
use crate::model::Model;
use crate::model::{Couplings, Qubo};
use crate::rng::{Rng, derive_seed};
use crate::solvers::SolveContext;
use rayon::prelude::*;

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
    /// Upper weight bound of cluster `c`: `max(ceil(T_c), (1 + tol) T_c)`.
    pub fn upper(&self, c: usize, tol: f64) -> f64 {
        self.targets[c].ceil().max(self.targets[c] * (1.0 + tol))
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

/// Weight from node `i` to each cluster.
fn link(p: &PartitionProblem, parts: &[Option<usize>], i: usize, buf: &mut [f64]) {
    buf.iter_mut().for_each(|x| *x = 0.0);
    let (cols, w) = p.edges.row(i);
    for (&j, &w) in cols.iter().zip(w) {
        if let Some(c) = parts[j as usize] {
            buf[c] += w;
        }
    }
}

/// Repairs a partition: every node gets a cluster, no cluster exceeds its upper bound and
/// none stays below `floor((1 - tol) T_c)` (`tol`), moving the nodes whose move raises the
/// cut least; then refines. Nodes heavier
/// than any remaining room go to the least loaded cluster (the bound may then be exceeded
/// on coarse graphs; at unit weights it never is).
pub fn repair_partition(p: &PartitionProblem, parts: &mut [Option<usize>], tol: f64) {
    let (n, k) = (p.num_nodes(), p.k());
    let mut loads = p.loads(parts);
    let mut buf = vec![0.0; k];
    for i in 0..n {
        if parts[i].is_none() {
            link(p, parts, i, &mut buf);
            let room = (0..k)
                .filter(|&c| loads[c] + p.node_weight[i] <= p.upper(c, tol) + 1e-9)
                .max_by(|&a, &b| buf[a].total_cmp(&buf[b]).then(b.cmp(&a)));
            let c = room.unwrap_or_else(|| {
                (0..k)
                    .min_by(|&a, &b| (loads[a] - p.targets[a]).total_cmp(&(loads[b] - p.targets[b])))
                    .expect("k >= 1")
            });
            parts[i] = Some(c);
            loads[c] += p.node_weight[i];
        }
    }
    // Overfull clusters shed nodes, those whose move costs least first.
    for c in 0..k {
        if loads[c] <= p.upper(c, tol) + 1e-9 {
            continue;
        }
        let best_move = |i: usize, parts: &[Option<usize>], loads: &[f64], buf: &mut [f64]| {
            link(p, parts, i, buf);
            (0..k)
                .filter(|&d| d != c && loads[d] + p.node_weight[i] <= p.upper(d, tol) + 1e-9)
                .map(|d| (d, buf[d] - buf[c]))
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        };
        let mut cands: Vec<(usize, f64)> = (0..n)
            .filter(|&i| parts[i] == Some(c))
            .filter_map(|i| best_move(i, parts, &loads, &mut buf).map(|(_, g)| (i, g)))
            .collect();
        cands.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for (i, _) in cands {
            if loads[c] <= p.upper(c, tol) + 1e-9 {
                break;
            }
            if let Some((d, _)) = best_move(i, parts, &loads, &mut buf) {
                parts[i] = Some(d);
                loads[c] -= p.node_weight[i];
                loads[d] += p.node_weight[i];
            }
        }
    }
    // Underfull clusters (below `floor((1 - tol) T_c)`) take the nodes whose move costs least
    // from clusters that stay at or above their own lower bound.
    let lower = |c: usize| (p.targets[c] * (1.0 - tol)).floor();
    for c in 0..k {
        if loads[c] >= lower(c) - 1e-9 {
            continue;
        }
        let mut cands: Vec<(usize, f64)> = (0..n)
            .filter_map(|i| {
                let d = parts[i]?;
                if d == c {
                    return None;
                }
                link(p, parts, i, &mut buf);
                Some((i, buf[c] - buf[d]))
            })
            .collect();
        cands.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for (i, _) in cands {
            if loads[c] >= lower(c) - 1e-9 {
                break;
            }
            let d = parts[i].expect("placed above");
            let v = p.node_weight[i];
            if loads[d] - v >= lower(d) - 1e-9 && loads[c] + v <= p.upper(c, tol) + 1e-9 {
                parts[i] = Some(c);
                loads[d] -= v;
                loads[c] += v;
            }
        }
    }
    refine_partition(p, parts, tol, 4);
}

/// Boundary refinement: moves nodes to the neighbouring cluster with the largest positive
/// cut gain while the destination stays under its upper bound and the source at or above
/// `floor((1 - tol) T_c)`; `passes` sweeps at most.
pub fn refine_partition(p: &PartitionProblem, parts: &mut [Option<usize>], tol: f64, passes: usize) {
    let (n, k) = (p.num_nodes(), p.k());
    let mut loads = p.loads(parts);
    let mut buf = vec![0.0; k];
    for _ in 0..passes {
        let mut moved = false;
        for i in 0..n {
            let Some(c) = parts[i] else { continue };
            link(p, parts, i, &mut buf);
            let mut best = (c, 1e-12 * (1.0 + buf[c].abs()));
            let floor_c = (p.targets[c] * (1.0 - tol)).floor();
            if loads[c] - p.node_weight[i] < floor_c - 1e-9 {
                continue;
            }
            for d in 0..k {
                if d != c && loads[d] + p.node_weight[i] <= p.upper(d, tol) + 1e-9 {
                    let gain = buf[d] - buf[c];
                    if gain > best.1 {
                        best = (d, gain);
                    }
                }
            }
            if best.0 != c {
                parts[i] = Some(best.0);
                loads[c] -= p.node_weight[i];
                loads[best.0] += p.node_weight[i];
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
}

/// One coarsening level: the finer problem and its fine node -> coarse node map.
struct Level {
    map: Vec<u32>,
    fine: PartitionProblem,
}

/// Heavy-edge matching (random visit order), then pairing of leftover nodes when matching
/// alone shrinks the graph by less than 10%.
fn coarsen(p: &PartitionProblem, max_w: f64, rng: &mut Rng) -> Option<(Vec<u32>, PartitionProblem)> {
    let n = p.num_nodes();
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let mut mate = vec![u32::MAX; n];
    for &u in &order {
        if mate[u] != u32::MAX {
            continue;
        }
        let (cols, w) = p.edges.row(u);
        let mut best: Option<(usize, f64)> = None;
        for (&v, &w) in cols.iter().zip(w) {
            let v = v as usize;
            if mate[v] == u32::MAX
                && v != u
                && p.node_weight[u] + p.node_weight[v] <= max_w
                && best.is_none_or(|b| w > b.1)
            {
                best = Some((v, w));
            }
        }
        if let Some((v, _)) = best {
            mate[u] = v as u32;
            mate[v] = u as u32;
        }
    }
    let matched = mate.iter().filter(|&&m| m != u32::MAX).count() / 2;
    if (matched as f64) < 0.1 * n as f64 {
        let mut pending: Option<usize> = None;
        for &u in &order {
            if mate[u] != u32::MAX {
                continue;
            }
            match pending {
                Some(v) if p.node_weight[u] + p.node_weight[v] <= max_w => {
                    mate[u] = v as u32;
                    mate[v] = u as u32;
                    pending = None;
                }
                _ => pending = Some(u),
            }
        }
    }
    let mut map = vec![u32::MAX; n];
    let mut nc = 0u32;
    for &u in &order {
        if map[u] != u32::MAX {
            continue;
        }
        map[u] = nc;
        if mate[u] != u32::MAX {
            map[mate[u] as usize] = nc;
        }
        nc += 1;
    }
    if nc as usize >= n {
        return None;
    }
    let mut vw = vec![0.0; nc as usize];
    for i in 0..n {
        vw[map[i] as usize] += p.node_weight[i];
    }
    let trip: Vec<(u32, u32, f64)> = p
        .edges
        .iter_upper()
        .filter(|&(i, j, _)| map[i] != map[j])
        .map(|(i, j, w)| (map[i], map[j], w))
        .collect();
    let edges = Couplings::from_triplets(nc as usize, trip).expect("coarse indices are in range");
    Some((
        map,
        PartitionProblem {
            edges,
            node_weight: vw,
            targets: p.targets.clone(),
        },
    ))
}

/// Greedy graph-growing start: breadth-first order from the heaviest node, clusters filled
/// to their targets in turn.
fn grow(p: &PartitionProblem) -> Vec<Option<usize>> {
    let n = p.num_nodes();
    let mut starts: Vec<usize> = (0..n).collect();
    starts.sort_by(|&a, &b| p.edges.row_sum(b).total_cmp(&p.edges.row_sum(a)).then(a.cmp(&b)));
    let order = p.edges.bfs_order_heavy_first(starts);
    let mut parts = vec![None; n];
    let mut c = 0;
    let mut load = 0.0;
    for u in order {
        if c + 1 < p.k() && load + p.node_weight[u] / 2.0 > p.targets[c] {
            c += 1;
            load = 0.0;
        }
        parts[u] = Some(c);
        load += p.node_weight[u];
    }
    parts
}

/// A partition problem prepared for its QUBO solve.
struct Prepared {
    levels: Vec<Level>,
    problem: PartitionProblem,
    pq: PartitionQubo,
    warm: Vec<Option<usize>>,
}

const TOL: f64 = 0.1;

fn prepare(p: PartitionProblem, pen: &PenaltySettings, seed: u64) -> Result<Prepared, OrchestrateError> {
    let k = p.k();
    let target_n = (8 * k).clamp(24, 64);
    let total_v: f64 = p.node_weight.iter().sum();
    let max_w = 2.0 * total_v / target_n as f64;
    let mut rng = Rng::stream(seed, 0);
    let mut levels: Vec<Level> = Vec::new();
    let mut cur = p;
    while cur.num_nodes() > target_n {
        match coarsen(&cur, max_w.max(1.0), &mut rng) {
            Some((map, next)) => {
                levels.push(Level { map, fine: cur });
                cur = next;
            }
            None => break,
        }
    }
    let pq = build_partition_qubo(&cur, pen)?;
    let mut warm = grow(&cur);
    repair_partition(&cur, &mut warm, TOL);
    Ok(Prepared {
        levels,
        problem: cur,
        pq,
        warm,
    })
}

fn finish(prep: Prepared, samples: &crate::model::SampleSet) -> Vec<usize> {
    let p = &prep.problem;
    let mut best: Option<(Vec<Option<usize>>, f64)> = None;
    let mut candidates: Vec<Vec<Option<usize>>> = samples
        .samples()
        .iter()
        .take(4)
        .map(|s| prep.pq.decode(&s.state))
        .collect();
    candidates.push(prep.warm.clone());
    for mut parts in candidates {
        repair_partition(p, &mut parts, TOL);
        let cut = p.cut(&parts);
        if best.as_ref().is_none_or(|b| cut < b.1 - 1e-12) {
            best = Some((parts, cut));
        }
    }
    let mut parts = best.expect("at least the warm start").0;
    // Project back, refining at every level; the finest level is repaired (hard balance).
    let num_levels = prep.levels.len();
    for (li, level) in prep.levels.into_iter().rev().enumerate() {
        let fine = level.fine;
        parts = level.map.iter().map(|&c| parts[c as usize]).collect();
        if li + 1 == num_levels {
            repair_partition(&fine, &mut parts, TOL);
        } else {
            refine_partition(&fine, &mut parts, TOL, 4);
        }
    }
    parts.into_iter().map(|c| c.expect("repaired")).collect()
}

/// Partitions one problem through `backend` (coarsen, solve the QUBO, project, refine).
pub fn partition(
    p: PartitionProblem,
    pen: &PenaltySettings,
    backend: &dyn BatchSolver,
    seed: u64,
) -> Result<Vec<usize>, OrchestrateError> {
    let prep = prepare(p, pen, seed)?;
    let sp = Subproblem {
        id: 0,
        warm_start: Some(prep.pq.encode(&prep.warm)),
        model: Model::Qubo(prep.pq.qubo.clone()),
        seed,
    };
    let sets = backend.solve_batch(std::slice::from_ref(&sp), &SolveContext::default())?;
    Ok(finish(prep, &sets[0]))
}

/// Clusters of agents, with their parents (groups: clusters of clusters).
#[derive(Clone, Debug, Default)]
pub struct Clustering {
    /// Cluster of each node.
    pub cluster_of: Vec<u32>,
    /// Nodes of each cluster.
    pub members: Vec<Vec<u32>>,
    /// Group (parent part in the hierarchy) of each cluster.
    pub group_of: Vec<u32>,
    /// Number of groups.
    pub num_groups: usize,
    /// Depth of the hierarchy (1 for a single k-way split, 0 for one cluster).
    pub depth: usize,
    /// Partition subproblems solved.
    pub subproblems: usize,
}

impl Clustering {
    /// Clusters of each group, in cluster order.
    pub fn groups(&self) -> Vec<Vec<u32>> {
        let mut g = vec![Vec::new(); self.num_groups];
        for (c, &p) in self.group_of.iter().enumerate() {
            g[p as usize].push(c as u32);
        }
        g
    }
}

struct Part {
    nodes: Vec<u32>,
    want: usize,
    parent: usize,
}

/// Hierarchical balanced clustering of `graph` (unit node weights) into clusters of about
/// `cluster_size` nodes, at most `max_k` children per split (see the module docs). Batches
/// per depth go through `backend`; batches of at most `batch_size` subproblems.
pub fn hierarchical(
    graph: &Couplings,
    cluster_size: usize,
    max_k: usize,
    pen: &PenaltySettings,
    backend: &dyn BatchSolver,
    seed: u64,
    batch_size: usize,
) -> Result<Clustering, OrchestrateError> {
    let n = graph.num_variables();
    let max_k = max_k.max(2);
    let size = cluster_size.max(1);
    let mut parts = vec![Part {
        nodes: (0..n as u32).collect(),
        want: n.div_ceil(size).max(1),
        parent: usize::MAX,
    }];
    let mut open: Vec<usize> = if parts[0].want > 1 { vec![0] } else { Vec::new() };
    let mut depth = 0;
    let mut subproblems = 0;
    let mut part_of = vec![0u32; n];
    let mut local = vec![0u32; n];
    while !open.is_empty() {
        depth += 1;
        for &pi in &open {
            for (li, &v) in parts[pi].nodes.iter().enumerate() {
                part_of[v as usize] = pi as u32;
                local[v as usize] = li as u32;
            }
        }
        // Build each open part's problem.
        let problems: Vec<PartitionProblem> = open
            .par_iter()
            .map(|&pi| {
                let part = &parts[pi];
                let k = part.want.min(max_k);
                let wants: Vec<usize> = (0..k).map(|c| part.want / k + usize::from(c < part.want % k)).collect();
                let m = part.nodes.len() as f64;
                let targets: Vec<f64> = wants.iter().map(|&q| m * q as f64 / part.want as f64).collect();
                let mut trip = Vec::new();
                for (li, &v) in part.nodes.iter().enumerate() {
                    let (cols, w) = graph.row(v as usize);
                    for (&u, &w) in cols.iter().zip(w) {
                        if part_of[u as usize] == pi as u32 && u > v {
                            trip.push((li as u32, local[u as usize], w));
                        }
                    }
                }
                PartitionProblem {
                    edges: Couplings::from_triplets(part.nodes.len(), trip).expect("local indices"),
                    node_weight: vec![1.0; part.nodes.len()],
                    targets,
                }
            })
            .collect();
        let seeds: Vec<u64> = open.iter().map(|&pi| derive_seed(seed, pi as u64)).collect();
        let prepared: Vec<Prepared> = problems
            .into_par_iter()
            .zip(seeds.par_iter())
            .map(|(p, &s)| prepare(p, pen, s))
            .collect::<Result<_, _>>()?;
        let mut results: Vec<Vec<usize>> = Vec::with_capacity(prepared.len());
        let mut rest = prepared.into_iter();
        let mut start = 0;
        loop {
            let chunk: Vec<Prepared> = rest.by_ref().take(batch_size.max(1)).collect();
            if chunk.is_empty() {
                break;
            }
            let end = start + chunk.len();
            let batch: Vec<Subproblem> = chunk
                .iter()
                .zip(&seeds[start..end])
                .zip(start..end)
                .map(|((pr, &s), id)| Subproblem {
                    id: id as u64,
                    model: Model::Qubo(pr.pq.qubo.clone()),
                    warm_start: Some(pr.pq.encode(&pr.warm)),
                    seed: s,
                })
                .collect();
            let sets = backend.solve_batch(&batch, &SolveContext::default())?;
            subproblems += batch.len();
            let done: Vec<Vec<usize>> = chunk
                .into_par_iter()
                .zip(sets.par_iter())
                .map(|(pr, set)| finish(pr, set))
                .collect();
            results.extend(done);
            start = end;
        }
        let mut next_open = Vec::new();
        for (&pi, assign) in open.iter().zip(results) {
            let k = parts[pi].want.min(max_k);
            let want = parts[pi].want;
            let mut children: Vec<Vec<u32>> = vec![Vec::new(); k];
            for (li, &c) in assign.iter().enumerate() {
                children[c].push(parts[pi].nodes[li]);
            }
            for (c, nodes) in children.into_iter().enumerate() {
                let q = (want / k + usize::from(c < want % k)).min(nodes.len()).max(1);
                let id = parts.len();
                parts.push(Part {
                    nodes,
                    want: q,
                    parent: pi,
                });
                if q > 1 {
                    next_open.push(id);
                }
            }
            parts[pi].nodes = Vec::new();
        }
        open = next_open;
    }
    // Leaves in depth-first order (siblings stay next to each other).
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); parts.len()];
    for (i, p) in parts.iter().enumerate().skip(1) {
        children[p.parent].push(i);
    }
    let mut leaves = Vec::new();
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        if children[i].is_empty() {
            leaves.push(i);
        } else {
            stack.extend(children[i].iter().rev());
        }
    }
    let mut cluster_of = vec![0u32; n];
    let mut members = Vec::new();
    let mut group_of = Vec::new();
    let mut group_ids: std::collections::HashMap<usize, u32> = std::collections::HashMap::new();
    for &leaf in &leaves {
        let nodes = std::mem::take(&mut parts[leaf].nodes);
        if nodes.is_empty() && leaf != 0 {
            continue;
        }
        let c = members.len() as u32;
        for &v in &nodes {
            cluster_of[v as usize] = c;
        }
        members.push(nodes);
        let parent = parts[leaf].parent;
        let next = group_ids.len() as u32;
        group_of.push(*group_ids.entry(parent).or_insert(next));
    }
    Ok(Clustering {
        cluster_of,
        members,
        group_of,
        num_groups: group_ids.len(),
        depth,
        subproblems,
    })
}
