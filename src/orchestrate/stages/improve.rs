//! Stage 3, **improve** (`rounds` times): batches of agent-level QUBOs, one per cluster,
//! then one per pair of clusters with the most traffic between them, then one per pair of
//! pools joined by the most traffic, then the border moves of [`refine`](super::refine).
//!
//! Each subproblem has the agents of its set, up to `max_pools` candidate pools (their
//! current pools, the pools of their outside partners, the cheapest pools with room), and
//! a share of each pool's free capacity (split evenly between the batch's subproblems
//! using that pool), so answers of one batch never overfill a pool together. Traffic to
//! agents outside is a linear cost. The best repaired sample replaces the current placement
//! of its agents only if the exact objective of the whole plan drops. Rounds stop early
//! when one does not lower the objective.

use super::{Ctx, Progress, State};
use crate::batch::Subproblem;
use crate::model::{Couplings, Model};
use crate::orchestrate::OrchestrateError;
use crate::orchestrate::assign::{AssignProblem, build_assign_qubo};
use crate::orchestrate::cluster::Clustering;
use crate::orchestrate::decode::{Assignment, best_repaired};
use crate::orchestrate::refine::refine_moves;
use crate::orchestrate::validate::Instance;
use crate::rng::derive_seed;
use crate::solvers::SolveContext;
use rayon::prelude::*;
use std::collections::HashMap;
use std::time::Instant;

/// Runs the improvement rounds on `st`.
pub(in crate::orchestrate) fn run(
    ctx: &Ctx,
    st: &mut State,
    clustering: &Clustering,
    progress: &mut Progress,
) -> Result<(), OrchestrateError> {
    let cfg = ctx.cfg;
    let t0 = Instant::now();
    let mut subproblems = 0;
    let pairs_of_clusters = cluster_pairs(ctx.inst, clustering);
    for round in 0..cfg.rounds {
        if ctx.interrupted() {
            break;
        }
        let before = st.global.problem.objective(&st.global.placement);
        let r = round as u64 * 4;
        subproblems += improve_batch(ctx, st, &clustering.members, None, derive_seed(cfg.seed, 10 + r), false)?;
        subproblems += improve_batch(ctx, st, &pairs_of_clusters, None, derive_seed(cfg.seed, 11 + r), false)?;
        let (sets, pools) = pool_pairs(&st.global, 48);
        subproblems += improve_batch(ctx, st, &sets, Some(&pools), derive_seed(cfg.seed, 12 + r), false)?;
        refine_moves(&mut st.global, cfg.refine_passes);
        let after = st.global.problem.objective(&st.global.placement);
        if after >= before - 1e-9 * (1.0 + before.abs()) {
            break;
        }
    }
    progress.note_feasible(ctx, st);
    progress.record(
        "improve",
        t0,
        subproblems,
        Some(st.global.problem.objective(&st.global.placement)),
    );
    Ok(())
}

/// One improvement pass over `subsets` (disjoint agent sets), in batches. Candidate pools
/// are `fixed_pools[s]` when given (disjoint between subsets), all pools with
/// `all_pools`, otherwise chosen by [`candidate_pools`]. Returns the number of
/// subproblems solved.
pub(super) fn improve_batch(
    ctx: &Ctx,
    st: &mut State,
    subsets: &[Vec<u32>],
    fixed_pools: Option<&[Vec<usize>]>,
    seed: u64,
    all_pools: bool,
) -> Result<usize, OrchestrateError> {
    let cfg = ctx.cfg;
    let inst = st.inst;
    let (aa, pp) = (inst.num_agents(), inst.num_pools());
    let mut owner = vec![u32::MAX; aa];
    let mut solved = 0;
    // Sets whose agents all share one pool with all their partners cost no traffic; their
    // subproblem could only trade placement cost, which the capacity left rarely allows
    // and the border refinement covers, so they are skipped (most sets at scale).
    let kept: Vec<Vec<u32>>;
    let subsets = if fixed_pools.is_none() && !all_pools {
        let g = &st.global;
        kept = subsets
            .iter()
            .filter(|set| {
                let first = g.placement[set[0] as usize];
                first.is_none()
                    || set.iter().any(|&a| {
                        let pa = g.placement[a as usize];
                        pa != first || g.adj.row(a as usize).0.iter().any(|&b| g.placement[b as usize] != pa)
                    })
            })
            .cloned()
            .collect();
        &kept[..]
    } else {
        subsets
    };
    for (chunk_index, chunk) in subsets.chunks(cfg.batch_size).enumerate() {
        if ctx.interrupted() {
            break;
        }
        for (s, set) in chunk.iter().enumerate() {
            for &a in set {
                owner[a as usize] = s as u32;
            }
        }
        let g = &st.global;
        // Candidate pools per subset.
        let cands: Vec<Vec<usize>> = chunk
            .par_iter()
            .enumerate()
            .map(|(s, set)| {
                if let Some(f) = fixed_pools {
                    return f[chunk_index * cfg.batch_size + s].clone();
                }
                if all_pools || pp <= cfg.max_pools {
                    return (0..pp).collect();
                }
                candidate_pools(g, set, &owner, s as u32, cfg.max_pools)
            })
            .collect();
        let mut users = vec![0usize; pp];
        for c in &cands {
            for &p in c {
                users[p] += 1;
            }
        }
        let built: Vec<(AssignProblem, Vec<Option<usize>>)> = chunk
            .par_iter()
            .enumerate()
            .map(|(s, set)| build_agent_subproblem(g, set, &owner, s as u32, &cands[s], &users))
            .collect();
        let qubos: Vec<_> = built
            .par_iter()
            .map(|(sub, _)| build_assign_qubo(sub, &cfg.penalties))
            .collect::<Result<Vec<_>, _>>()?;
        let batch: Vec<Subproblem> = qubos
            .iter()
            .zip(&built)
            .enumerate()
            .map(|(s, (aq, (_, warm)))| {
                Ok(Subproblem {
                    id: (chunk_index * cfg.batch_size + s) as u64,
                    warm_start: Some(aq.encode(warm)?),
                    model: Model::Qubo(aq.qubo.clone()),
                    seed: derive_seed(seed, (chunk_index * cfg.batch_size + s) as u64),
                })
            })
            .collect::<Result<_, OrchestrateError>>()?;
        let sets = ctx.backend.solve_batch(&batch, &SolveContext::default())?;
        solved += batch.len();
        drop(batch);
        let answers: Vec<Option<Vec<Option<usize>>>> = built
            .par_iter()
            .zip(qubos.par_iter())
            .zip(sets.par_iter())
            .map(|(((sub, warm), aq), set)| {
                let adj = Couplings::from_triplets(sub.num_items, sub.pairs.clone()).ok()?;
                let cands = set
                    .samples()
                    .iter()
                    .take(4)
                    .map(|s| aq.decode(&s.state))
                    .chain(std::iter::once(warm.clone()));
                best_repaired(sub, &adj, cands).map(|b| b.0)
            })
            .collect();
        // Apply in order, keeping only changes that lower the exact global objective.
        for (s, ans) in answers.into_iter().enumerate() {
            let Some(ans) = ans else { continue };
            let set = &chunk[s];
            let new: Vec<Option<usize>> = ans.iter().map(|p| p.map(|p| cands[s][p])).collect();
            try_apply(&mut st.global, set, &new);
        }
        for set in chunk {
            for &a in set {
                owner[a as usize] = u32::MAX;
            }
        }
    }
    Ok(solved)
}

/// Moves `set` to `new` if that lowers the global objective without overfilling any pool
/// more than before (reverting otherwise). Returns whether it was kept.
fn try_apply(g: &mut Assignment, set: &[u32], new: &[Option<usize>]) -> bool {
    let kk = g.problem.num_kinds;
    let old: Vec<Option<usize>> = set.iter().map(|&a| g.placement[a as usize]).collect();
    let mut touched: Vec<usize> = old.iter().chain(new).flatten().copied().collect();
    touched.sort_unstable();
    touched.dedup();
    let overflow = |g: &Assignment| -> f64 {
        touched
            .iter()
            .flat_map(|&p| (0..kk).map(move |k| (p, k)))
            .map(|(p, k)| (g.usage[p * kk + k] - g.problem.capacity[p * kk + k]).max(0.0))
            .sum()
    };
    let unplaced = |g: &Assignment| set.iter().filter(|&&a| g.placement[a as usize].is_none()).count();
    let (ov0, un0) = (overflow(g), unplaced(g));
    let mut delta = 0.0;
    for (&a, &p) in set.iter().zip(new) {
        delta += g.delta(a as usize, p);
        g.apply(a as usize, p);
    }
    let (ov1, un1) = (overflow(g), unplaced(g));
    let better_feas = un1 < un0 || (un1 == un0 && ov1 < ov0 - 1e-9);
    let same_feas = un1 == un0 && ov1 <= ov0 + 1e-9;
    if better_feas || (same_feas && delta < -1e-9 * (1.0 + delta.abs())) {
        return true;
    }
    for (&a, &p) in set.iter().zip(&old).rev() {
        g.apply(a as usize, p);
    }
    false
}

/// Candidate pools of an agent set: its current pools, then the pools of its outside
/// partners by traffic, then the cheapest pools with room; at most `max` unless the current
/// pools alone are more.
fn candidate_pools(g: &Assignment, set: &[u32], owner: &[u32], me: u32, max: usize) -> Vec<usize> {
    let pp = g.problem.num_pools;
    let kk = g.problem.num_kinds;
    let mut cand: Vec<usize> = set.iter().filter_map(|&a| g.placement[a as usize]).collect();
    cand.sort_unstable();
    cand.dedup();
    let mut pull = vec![0.0; pp];
    let mut cost = vec![0.0; pp];
    for &a in set {
        let (cols, w) = g.adj.row(a as usize);
        for (&b, &w) in cols.iter().zip(w) {
            if owner[b as usize] != me
                && let Some(q) = g.placement[b as usize]
            {
                pull[q] += w;
            }
        }
        let c = &g.problem.cost[a as usize * pp..(a as usize + 1) * pp];
        for p in 0..pp {
            cost[p] += c[p];
        }
    }
    let mut by_pull: Vec<usize> = (0..pp).filter(|&p| pull[p] > 0.0 && !cand.contains(&p)).collect();
    by_pull.sort_by(|&a, &b| pull[b].total_cmp(&pull[a]).then(a.cmp(&b)));
    for p in by_pull {
        if cand.len() >= max.saturating_sub(2).max(1) {
            break;
        }
        cand.push(p);
    }
    let mut by_cost: Vec<usize> = (0..pp)
        .filter(|&p| !cand.contains(&p) && (0..kk).any(|k| g.usage[p * kk + k] < g.problem.capacity[p * kk + k]))
        .collect();
    by_cost.sort_by(|&a, &b| cost[a].total_cmp(&cost[b]).then(a.cmp(&b)));
    for p in by_cost {
        if cand.len() >= max {
            break;
        }
        cand.push(p);
    }
    cand
}

/// The agent-level subproblem of `set` over `cand` pools, and the current placement of its
/// agents in local pool indices.
fn build_agent_subproblem(
    g: &Assignment,
    set: &[u32],
    owner: &[u32],
    me: u32,
    cand: &[usize],
    users: &[usize],
) -> (AssignProblem, Vec<Option<usize>>) {
    let pp = g.problem.num_pools;
    let kk = g.problem.num_kinds;
    let (n, m) = (set.len(), cand.len());
    let local_pool: HashMap<usize, usize> = cand.iter().enumerate().map(|(i, &p)| (p, i)).collect();
    let local: HashMap<u32, u32> = set.iter().enumerate().map(|(i, &a)| (a, i as u32)).collect();
    let per_pool = !g.problem.pool_load.is_empty();
    let mut load = Vec::with_capacity(if per_pool { 0 } else { n * kk });
    let mut pool_load = Vec::with_capacity(if per_pool { n * m * kk } else { 0 });
    let mut allowed = Vec::with_capacity(if g.problem.allowed.is_empty() { 0 } else { n * m });
    let mut cost = Vec::with_capacity(n * m);
    let mut pairs = Vec::new();
    let mut own = vec![0.0; m * kk];
    for (i, &a) in set.iter().enumerate() {
        let a = a as usize;
        if per_pool {
            for &p in cand {
                pool_load.extend_from_slice(g.problem.load_in(a, p));
            }
        } else {
            load.extend_from_slice(g.problem.load_in(a, 0));
        }
        if !g.problem.allowed.is_empty() {
            allowed.extend(cand.iter().map(|&p| g.problem.allowed(a, p)));
        }
        if let Some(p) = g.placement[a]
            && let Some(&lp) = local_pool.get(&p)
        {
            let l = g.problem.load_in(a, p);
            for k in 0..kk {
                own[lp * kk + k] += l[k];
            }
        }
        let c = &g.problem.cost[a * pp..(a + 1) * pp];
        let base = cost.len();
        cost.extend(cand.iter().map(|&p| c[p]));
        let (cols, w) = g.adj.row(a);
        for (&b, &w) in cols.iter().zip(w) {
            if owner[b as usize] == me {
                let j = local[&b];
                if j > i as u32 {
                    pairs.push((i as u32, j, w));
                }
            } else {
                let q = g.placement[b as usize];
                for (lp, &p) in cand.iter().enumerate() {
                    if q != Some(p) {
                        cost[base + lp] += w;
                    }
                }
            }
        }
    }
    let capacity: Vec<f64> = (0..m * kk)
        .map(|x| {
            let (lp, k) = (x / kk, x % kk);
            let p = cand[lp];
            let free = g.problem.capacity[p * kk + k] - g.usage[p * kk + k];
            (own[x] + free / users[p].max(1) as f64).max(0.0)
        })
        .collect();
    let warm = set
        .iter()
        .map(|&a| g.placement[a as usize].and_then(|p| local_pool.get(&p).copied()))
        .collect();
    (
        AssignProblem {
            num_items: n,
            num_pools: m,
            num_kinds: kk,
            load,
            pool_load,
            allowed,
            cost,
            pairs,
            capacity,
        },
        warm,
    )
}

/// Pairs of pools joined by the most traffic (greedy matching, heaviest first) and, for each
/// pair, up to `max_items` agents of the two pools with the most traffic to the other one
/// (the agents whose swap can un-split a team). Pool pairs are disjoint, so these
/// subproblems get the pools' full remaining capacity.
fn pool_pairs(g: &Assignment, max_items: usize) -> (Vec<Vec<u32>>, Vec<Vec<usize>>) {
    let pp = g.problem.num_pools;
    let n = g.problem.num_items;
    let mut w = vec![0.0; pp * pp];
    for a in 0..n {
        let Some(p) = g.placement[a] else { continue };
        let (cols, ws) = g.adj.row(a);
        for (&b, &x) in cols.iter().zip(ws) {
            if let Some(q) = g.placement[b as usize]
                && q > p
            {
                w[p * pp + q] += x;
            }
        }
    }
    let mut edges: Vec<(usize, usize, f64)> = (0..pp)
        .flat_map(|p| (p + 1..pp).map(move |q| (p, q)))
        .map(|(p, q)| (p, q, w[p * pp + q]))
        .filter(|e| e.2 > 0.0)
        .collect();
    edges.sort_by(|a, b| b.2.total_cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
    let mut partner = vec![usize::MAX; pp];
    for (p, q, _) in edges {
        if partner[p] == usize::MAX && partner[q] == usize::MAX {
            partner[p] = q;
            partner[q] = p;
        }
    }
    // Traffic of each agent to its pool's partner pool.
    let mut score = vec![0.0; n];
    for (a, s) in score.iter_mut().enumerate() {
        let Some(p) = g.placement[a] else { continue };
        if partner[p] == usize::MAX {
            continue;
        }
        let (cols, ws) = g.adj.row(a);
        for (&b, &x) in cols.iter().zip(ws) {
            if g.placement[b as usize] == Some(partner[p]) {
                *s += x;
            }
        }
    }
    let mut sets = Vec::new();
    let mut pools = Vec::new();
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); pp];
    for (a, &sc) in score.iter().enumerate() {
        if sc > 0.0
            && let Some(p) = g.placement[a]
        {
            members[p].push(a as u32);
        }
    }
    for p in 0..pp {
        let q = partner[p];
        if q == usize::MAX || q < p {
            continue;
        }
        let mut set: Vec<u32> = members[p].iter().chain(&members[q]).copied().collect();
        set.sort_by(|&a, &b| score[b as usize].total_cmp(&score[a as usize]).then(a.cmp(&b)));
        set.truncate(max_items);
        set.sort_unstable();
        if set.len() >= 2 {
            sets.push(set);
            pools.push(vec![p, q]);
        }
    }
    (sets, pools)
}

/// Pairs of clusters joined by the most traffic (greedy matching, heaviest first), as agent
/// sets; clusters left unmatched are not included.
fn cluster_pairs(inst: &Instance, c: &Clustering) -> Vec<Vec<u32>> {
    let mut w: HashMap<(u32, u32), f64> = HashMap::new();
    for (a, b, r) in inst.traffic.iter_upper() {
        let (x, y) = (c.cluster_of[a], c.cluster_of[b]);
        if x != y {
            *w.entry((x.min(y), x.max(y))).or_default() += r;
        }
    }
    let mut edges: Vec<((u32, u32), f64)> = w.into_iter().collect();
    edges.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut used = vec![false; c.members.len()];
    let mut out = Vec::new();
    for ((x, y), _) in edges {
        if !used[x as usize] && !used[y as usize] {
            used[x as usize] = true;
            used[y as usize] = true;
            let mut set = c.members[x as usize].clone();
            set.extend_from_slice(&c.members[y as usize]);
            out.push(set);
        }
    }
    out
}
