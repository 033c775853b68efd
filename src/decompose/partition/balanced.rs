//! Balanced partitioning with an exact number of clusters: the mode of the partitioner
//! that orchestration uses (clusters of agents of about equal size, grouped at most
//! `max_k` per parent).
//!
//! The graph is split recursively: a part that must hold `q` clusters is split into
//! `k = min(q, max_k)` children whose target weights are proportional to the clusters each
//! will hold (`T_c = weight * q_c / q`), breadth first, until every part holds one cluster.
//! Each split is multilevel, on the same pieces as the size-capped mode:
//!
//! 1. coarsen the part by capped heavy-edge matching (vertex weights `<= 2 weight / t`,
//!    leftovers paired) to about `t = clamp(8k, 24, 64)` vertices;
//! 2. start from greedy graph growing (breadth-first from the heaviest vertex, children
//!    filled to their targets in turn), repaired to the bounds; a [`SplitStrategy`] may
//!    propose more starting labelings (orchestration's: samples of a k-way partition QUBO on
//!    its batch solver); each is repaired and the one cutting least is kept;
//! 3. project back level by level with boundary refinement under the bounds; the finest
//!    level is repaired, so every child ends within `[floor((1 - tol) T_c),
//!    max(ceil(T_c), (1 + tol) T_c)]` (always at unit vertex weights).
//!
//! The splits of one depth go to the strategy as one batch. The parents of the clusters
//! are their groups. Deterministic for a seed: every split has its own seed
//! (`derive_seed(seed, part)`), whatever the thread count or batching.

use super::Graph;
use super::boundary::{Conn, UNASSIGNED, refine_within};
use super::coarsen::{Goal, coarsen};
use crate::decompose::DecomposeError;
use crate::rng::{Rng, derive_seed};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// Parameters of [`balanced`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BalancedParams {
    /// Exact number of clusters (at least 1, at most the number of vertices).
    pub clusters: usize,
    /// Most children per split (at least 2); the clusters of one parent form a group.
    pub max_k: usize,
    /// Size tolerance of every split, as a fraction of the target (default 0.1; in
    /// `[0, 1)`).
    pub tolerance: f64,
    /// Seed of the visiting orders (and of each split's strategy call).
    pub seed: u64,
    /// Passes of boundary refinement per level (default 4).
    pub refine_passes: usize,
}

impl BalancedParams {
    /// `clusters` clusters, at most 8 per split, tolerance 0.1, seed 0, 4 refinement passes.
    pub fn new(clusters: usize) -> Self {
        BalancedParams {
            clusters,
            max_k: 8,
            tolerance: 0.1,
            seed: 0,
            refine_passes: 4,
        }
    }

    fn check(&self, n: usize) -> Result<(), DecomposeError> {
        let bad = |name: &'static str, reason: String| Err(DecomposeError::InvalidParameter { name, reason });
        if self.clusters == 0 || (n > 0 && self.clusters > n) {
            return bad("clusters", format!("{} clusters of {n} vertices", self.clusters));
        }
        if self.max_k < 2 {
            return bad("max_k", format!("{} is below 2", self.max_k));
        }
        if !(0.0..1.0).contains(&self.tolerance) {
            return bad("tolerance", format!("{} is not in [0, 1)", self.tolerance));
        }
        Ok(())
    }
}

/// One split as a [`SplitStrategy`] sees it: the coarsest graph of the part, the target
/// weight of each child and the repaired greedy start.
#[derive(Clone, Copy, Debug)]
pub struct SplitProblem<'a> {
    /// The coarsened part (vertex weights: fine vertices merged into each).
    pub graph: &'a Graph,
    /// Target weight of each child (they sum to the part's weight).
    pub targets: &'a [f64],
    /// Child of each vertex in the greedy start.
    pub warm: &'a [u32],
    /// Seed of this split.
    pub seed: u64,
}

/// Proposes starting labelings for the splits of one depth (one batch).
pub trait SplitStrategy: Sync {
    /// For each problem of `batch`, labelings of its vertices (child index, or `u32::MAX`
    /// for none); possibly none. Each is repaired to the bounds; the one cutting least
    /// (the greedy start on ties) is kept.
    fn propose(&self, batch: &[SplitProblem<'_>]) -> Result<Vec<Vec<Vec<u32>>>, DecomposeError>;
}

/// The plain multilevel split: greedy growing, repair and refinement only.
#[derive(Clone, Copy, Debug, Default)]
pub struct GrowSplit;

impl SplitStrategy for GrowSplit {
    fn propose(&self, batch: &[SplitProblem<'_>]) -> Result<Vec<Vec<Vec<u32>>>, DecomposeError> {
        Ok(vec![Vec::new(); batch.len()])
    }
}

/// Clusters with their groups, from [`balanced`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BalancedPartition {
    /// Cluster of each vertex.
    pub cluster_of: Vec<u32>,
    /// Vertices of each cluster, increasing; clusters of one group are adjacent.
    pub members: Vec<Vec<u32>>,
    /// Group (parent in the split hierarchy) of each cluster.
    pub group_of: Vec<u32>,
    /// Number of groups.
    pub num_groups: usize,
    /// Depth of the hierarchy (1 for a single split, 0 for one cluster).
    pub depth: usize,
    /// Splits made (problems given to the strategy).
    pub splits: usize,
    /// Whether the interrupt stopped the splitting early (parts still open became
    /// clusters, so there are fewer, larger clusters than asked).
    pub interrupted: bool,
}

impl BalancedPartition {
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

/// Weight bounds of the children of one split.
struct Bounds {
    targets: Vec<f64>,
    upper: Vec<u32>,
    lower: Vec<u32>,
}

impl Bounds {
    fn new(targets: Vec<f64>, tol: f64) -> Self {
        let upper = targets
            .iter()
            .map(|&t| (t.ceil().max(t * (1.0 + tol)) + 1e-9).floor() as u32)
            .collect();
        let lower = targets
            .iter()
            .map(|&t| (t * (1.0 - tol) + 1e-9).floor() as u32)
            .collect();
        Bounds { targets, upper, lower }
    }

    fn k(&self) -> usize {
        self.targets.len()
    }
}

/// One split prepared: coarse levels (fine graph, map to the next coarser level), the
/// coarsest graph and its repaired greedy start.
struct Prepared {
    levels: Vec<(Graph, Vec<u32>)>,
    coarse: Graph,
    bounds: Bounds,
    warm: Vec<u32>,
    seed: u64,
}

/// Partitions `g` into exactly `p.clusters` balanced clusters (see the module docs),
/// asking `strategy` for starting labelings of every split. `interrupt`, when set, stops
/// the splitting between depths: the parts still open become clusters.
pub fn balanced(
    g: &Graph,
    p: &BalancedParams,
    strategy: &dyn SplitStrategy,
    interrupt: Option<&AtomicBool>,
) -> Result<BalancedPartition, DecomposeError> {
    let n = g.n();
    p.check(n)?;
    let max_k = p.max_k;
    let mut parts = vec![Part {
        nodes: (0..n as u32).collect(),
        want: p.clusters,
        parent: usize::MAX,
    }];
    let mut open: Vec<usize> = if p.clusters > 1 { vec![0] } else { Vec::new() };
    let (mut depth, mut splits, mut interrupted) = (0, 0, false);
    let mut part_of = vec![0u32; n];
    let mut local = vec![0u32; n];
    while !open.is_empty() {
        if interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
            interrupted = true;
            break;
        }
        depth += 1;
        for &pi in &open {
            for (li, &v) in parts[pi].nodes.iter().enumerate() {
                part_of[v as usize] = pi as u32;
                local[v as usize] = li as u32;
            }
        }
        let prepared: Vec<Prepared> = open
            .par_iter()
            .map(|&pi| {
                let part = &parts[pi];
                let k = part.want.min(max_k);
                let sub = g.induced(&part.nodes, &local, |u| part_of[u] == pi as u32);
                let weight: f64 = sub.vertex_weights().iter().map(|&w| w as f64).sum();
                let targets = (0..k)
                    .map(|c| weight * child_want(part.want, k, c) as f64 / part.want as f64)
                    .collect();
                prepare(sub, Bounds::new(targets, p.tolerance), derive_seed(p.seed, pi as u64))
            })
            .collect();
        let problems: Vec<SplitProblem> = prepared
            .iter()
            .map(|pr| SplitProblem {
                graph: &pr.coarse,
                targets: &pr.bounds.targets,
                warm: &pr.warm,
                seed: pr.seed,
            })
            .collect();
        let proposals = strategy.propose(&problems)?;
        if proposals.len() != problems.len() {
            return Err(DecomposeError::InvalidParameter {
                name: "strategy",
                reason: format!("{} proposals for {} splits", proposals.len(), problems.len()),
            });
        }
        splits += problems.len();
        drop(problems);
        let results: Vec<Vec<u32>> = prepared
            .into_par_iter()
            .zip(proposals)
            .map(|(pr, props)| finish(pr, props, p.refine_passes))
            .collect();
        let mut next_open = Vec::new();
        for (&pi, assign) in open.iter().zip(results) {
            let want = parts[pi].want;
            let k = want.min(max_k);
            let mut children: Vec<Vec<u32>> = vec![Vec::new(); k];
            for (li, &c) in assign.iter().enumerate() {
                children[c as usize].push(parts[pi].nodes[li]);
            }
            for (c, nodes) in children.into_iter().enumerate() {
                let q = child_want(want, k, c).min(nodes.len()).max(1);
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
    Ok(leaves(parts, n, depth, splits, interrupted))
}

/// Clusters child `c` of `k` gets when a part holding `want` clusters is split.
fn child_want(want: usize, k: usize, c: usize) -> usize {
    want / k + usize::from(c < want % k)
}

/// The leaves of the split tree in depth-first order (siblings stay next to each other).
fn leaves(mut parts: Vec<Part>, n: usize, depth: usize, splits: usize, interrupted: bool) -> BalancedPartition {
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); parts.len()];
    for (i, p) in parts.iter().enumerate().skip(1) {
        children[p.parent].push(i);
    }
    let mut order = Vec::new();
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        if children[i].is_empty() {
            order.push(i);
        } else {
            stack.extend(children[i].iter().rev());
        }
    }
    let mut out = BalancedPartition {
        cluster_of: vec![0; n],
        depth,
        splits,
        interrupted,
        ..Default::default()
    };
    let mut group_ids: std::collections::HashMap<usize, u32> = std::collections::HashMap::new();
    for leaf in order {
        let mut nodes = std::mem::take(&mut parts[leaf].nodes);
        if nodes.is_empty() && leaf != 0 {
            continue;
        }
        nodes.sort_unstable();
        let c = out.members.len() as u32;
        for &v in &nodes {
            out.cluster_of[v as usize] = c;
        }
        out.members.push(nodes);
        let next = group_ids.len() as u32;
        out.group_of.push(*group_ids.entry(parts[leaf].parent).or_insert(next));
    }
    out.num_groups = group_ids.len();
    out
}

/// Coarsens the part and builds its repaired greedy start.
fn prepare(g: Graph, bounds: Bounds, seed: u64) -> Prepared {
    let k = bounds.k();
    let stop_at = (8 * k).clamp(24, 64);
    let weight: f64 = g.vertex_weights().iter().map(|&w| w as f64).sum();
    let cap = ((2.0 * weight / stop_at as f64).floor() as u32).max(1);
    let goal = Goal {
        cap,
        stop_at,
        pair_leftovers: true,
    };
    let mut rng = Rng::stream(seed, 0);
    let (graphs, maps) = coarsen(&g, goal, &mut rng);
    // levels[i] = (graph at level i, map from level i to level i + 1).
    let mut fine = Some(g);
    let mut levels = Vec::with_capacity(maps.len());
    let mut coarse_graphs = graphs.into_iter();
    for map in maps {
        let next = coarse_graphs.next().expect("one graph per map");
        levels.push((fine.replace(next).expect("a finer graph"), map));
    }
    let coarse = fine.expect("the coarsest graph");
    let mut warm = grow(&coarse, &bounds.targets);
    repair(&coarse, &mut warm, &bounds, 4);
    Prepared {
        levels,
        coarse,
        bounds,
        warm,
        seed,
    }
}

/// Picks the best repaired start, projects it back with refinement, repairs the finest
/// level. Returns the child of each vertex of the part.
fn finish(prep: Prepared, proposals: Vec<Vec<u32>>, passes: usize) -> Vec<u32> {
    let Prepared {
        levels,
        coarse,
        bounds,
        warm,
        ..
    } = prep;
    let mut best: Option<(Vec<u32>, f64)> = None;
    let n = coarse.n();
    for mut labels in proposals
        .into_iter()
        .filter(|l| l.len() == n)
        .chain(std::iter::once(warm))
    {
        for l in labels.iter_mut() {
            if *l as usize >= bounds.k() {
                *l = UNASSIGNED;
            }
        }
        repair(&coarse, &mut labels, &bounds, passes);
        let cut = coarse.cut_weight(&labels);
        if best.as_ref().is_none_or(|b| cut < b.1 - 1e-12) {
            best = Some((labels, cut));
        }
    }
    let mut labels = best.expect("at least the greedy start").0;
    let num_levels = levels.len();
    for (li, (fine, map)) in levels.into_iter().rev().enumerate() {
        labels = map.iter().map(|&c| labels[c as usize]).collect();
        if li + 1 == num_levels {
            repair(&fine, &mut labels, &bounds, passes);
        } else {
            refine_within(
                &fine,
                &mut labels,
                |c| bounds.upper[c as usize],
                |c| bounds.lower[c as usize],
                passes,
            );
        }
    }
    labels
}

/// Greedy graph growing: breadth-first order (neighbours by decreasing edge weight) from
/// the vertex with the largest weighted degree; children filled to their targets in turn.
fn grow(g: &Graph, targets: &[f64]) -> Vec<u32> {
    let n = g.n();
    let mut starts: Vec<usize> = (0..n).collect();
    let deg: Vec<f64> = (0..n).map(|v| g.weighted_degree(v)).collect();
    starts.sort_by(|&a, &b| deg[b].total_cmp(&deg[a]).then(a.cmp(&b)));
    let order = g.to_couplings().bfs_order_heavy_first(starts);
    let vw = g.vertex_weights();
    let mut labels = vec![0u32; n];
    let (mut c, mut load) = (0usize, 0.0);
    for v in order {
        if c + 1 < targets.len() && load + vw[v] as f64 / 2.0 > targets[c] {
            c += 1;
            load = 0.0;
        }
        labels[v] = c as u32;
        load += vw[v] as f64;
    }
    labels
}

/// Repairs a labelling to the bounds: every vertex gets a child (the one with room it is
/// most strongly coupled to; the least loaded relative to its target when none has
/// room), overfull children shed the vertices whose move raises the cut least, underfull
/// ones take the vertices whose move raises it least from children that stay at or above
/// their own lower bound; then boundary refinement. A vertex heavier than any room left
/// can break an upper bound on coarse graphs; at unit weights the bounds always hold.
fn repair(g: &Graph, labels: &mut [u32], b: &Bounds, passes: usize) {
    let (n, k) = (g.n(), b.k());
    let vw = g.vertex_weights();
    let mut load = vec![0u32; k];
    for (v, &c) in labels.iter().enumerate() {
        if c != UNASSIGNED {
            load[c as usize] += vw[v];
        }
    }
    let mut conn = Conn::new(k);
    for v in 0..n {
        if labels[v] != UNASSIGNED {
            continue;
        }
        conn.gather(g, labels, v);
        let room = (0..k)
            .filter(|&c| load[c] + vw[v] <= b.upper[c])
            .max_by(|&x, &y| conn.to(x as u32).total_cmp(&conn.to(y as u32)).then(y.cmp(&x)));
        let c = room.unwrap_or_else(|| {
            (0..k)
                .min_by(|&x, &y| (load[x] as f64 - b.targets[x]).total_cmp(&(load[y] as f64 - b.targets[y])))
                .expect("k >= 1")
        });
        labels[v] = c as u32;
        load[c] += vw[v];
    }
    // Overfull children shed vertices, those whose move costs least first.
    for c in 0..k {
        if load[c] <= b.upper[c] {
            continue;
        }
        let best_move = |v: usize, labels: &[u32], load: &[u32], conn: &mut Conn| {
            conn.gather(g, labels, v);
            (0..k)
                .filter(|&d| d != c && load[d] + vw[v] <= b.upper[d])
                .map(|d| (d, conn.to(d as u32) - conn.to(c as u32)))
                .max_by(|x, y| x.1.total_cmp(&y.1).then(y.0.cmp(&x.0)))
        };
        let mut cands: Vec<(usize, f64)> = (0..n)
            .filter(|&v| labels[v] == c as u32)
            .filter_map(|v| best_move(v, labels, &load, &mut conn).map(|(_, gain)| (v, gain)))
            .collect();
        cands.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        for (v, _) in cands {
            if load[c] <= b.upper[c] {
                break;
            }
            if let Some((d, _)) = best_move(v, labels, &load, &mut conn) {
                labels[v] = d as u32;
                load[c] -= vw[v];
                load[d] += vw[v];
            }
        }
    }
    // Underfull children take vertices from children that stay at or above their bound.
    for c in 0..k {
        if load[c] >= b.lower[c] {
            continue;
        }
        let mut cands: Vec<(usize, f64)> = (0..n)
            .filter(|&v| labels[v] != c as u32)
            .map(|v| {
                conn.gather(g, labels, v);
                (v, conn.to(c as u32) - conn.to(labels[v]))
            })
            .collect();
        cands.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        for (v, _) in cands {
            if load[c] >= b.lower[c] {
                break;
            }
            let d = labels[v] as usize;
            if load[d] >= b.lower[d] + vw[v] && load[c] + vw[v] <= b.upper[c] {
                labels[v] = c as u32;
                load[d] -= vw[v];
                load[c] += vw[v];
            }
        }
    }
    refine_within(g, labels, |c| b.upper[c as usize], |c| b.lower[c as usize], passes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Couplings;

    /// `teams` cliques of `size` vertices (weight 10 inside), joined in a ring by one
    /// weight-1 edge each.
    fn teams(teams: usize, size: usize) -> Graph {
        let mut t = Vec::new();
        for g in 0..teams {
            let base = (g * size) as u32;
            for i in 0..size as u32 {
                for j in i + 1..size as u32 {
                    t.push((base + i, base + j, 10.0));
                }
            }
            let next = (((g + 1) % teams) * size) as u32;
            t.push((base + size as u32 - 1, next, 1.0));
        }
        Graph::from_couplings(&Couplings::from_triplets(teams * size, t).unwrap())
    }

    #[test]
    fn exact_count_within_bounds_and_groups_at_most_max_k() {
        let g = teams(40, 25);
        for (clusters, max_k) in [(40, 4), (40, 8), (7, 3), (100, 8)] {
            let p = BalancedParams {
                max_k,
                seed: 3,
                ..BalancedParams::new(clusters)
            };
            let b = balanced(&g, &p, &GrowSplit, None).unwrap();
            assert_eq!(b.members.len(), clusters, "{clusters}/{max_k}");
            let mut seen = vec![false; g.n()];
            for (c, m) in b.members.iter().enumerate() {
                for &v in m {
                    assert!(!seen[v as usize]);
                    seen[v as usize] = true;
                    assert_eq!(b.cluster_of[v as usize], c as u32);
                }
            }
            assert!(seen.iter().all(|&s| s));
            let mut per_group = vec![0usize; b.num_groups];
            for &gr in &b.group_of {
                per_group[gr as usize] += 1;
            }
            assert!(per_group.iter().all(|&x| x >= 1 && x <= max_k), "{per_group:?}");
            // Sizes: 10% per level, compounding over the depth.
            let mean = g.n() as f64 / clusters as f64;
            let slack = 1.1f64.powi(b.depth as i32);
            for m in &b.members {
                let s = m.len() as f64;
                assert!(
                    s <= (mean * slack).ceil() + 1.0 && s >= (mean / slack).floor() - 1.0,
                    "{s} vs {mean}"
                );
            }
        }
    }

    #[test]
    fn teams_are_found_when_the_count_matches() {
        // 40 teams of 25, 40 clusters: the only cheap balanced cut keeps every team whole
        // (cut = the 40 ring edges, 40 of 12,040).
        let g = teams(40, 25);
        let b = balanced(&g, &BalancedParams::new(40), &GrowSplit, None).unwrap();
        let cut = g.cut_weight(&b.cluster_of);
        let total = g.total_edge_weight();
        assert!(cut / total < 0.05, "cut {cut} of {total}");
    }

    #[test]
    fn same_seed_same_answer_and_interrupt_stops_early() {
        let g = teams(30, 10);
        let p = BalancedParams {
            max_k: 2,
            ..BalancedParams::new(30)
        };
        let a = balanced(&g, &p, &GrowSplit, None).unwrap();
        assert_eq!(a, balanced(&g, &p, &GrowSplit, None).unwrap());
        assert!(!a.interrupted);
        let stop = AtomicBool::new(true);
        let b = balanced(&g, &p, &GrowSplit, Some(&stop)).unwrap();
        assert!(b.interrupted);
        assert_eq!(b.members.len(), 1);
        assert_eq!(b.members[0].len(), 300);
    }

    #[test]
    fn bad_parameters_are_named() {
        let g = teams(3, 4);
        for (p, name) in [
            (BalancedParams::new(0), "clusters"),
            (BalancedParams::new(13), "clusters"),
            (
                BalancedParams {
                    max_k: 1,
                    ..BalancedParams::new(3)
                },
                "max_k",
            ),
            (
                BalancedParams {
                    tolerance: 1.0,
                    ..BalancedParams::new(3)
                },
                "tolerance",
            ),
        ] {
            match balanced(&g, &p, &GrowSplit, None) {
                Err(DecomposeError::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{other:?}"),
            }
        }
    }
}
