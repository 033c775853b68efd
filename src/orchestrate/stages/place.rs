//! Stage 2, **place**: the first placement of every agent.
//!
//! From scratch, each group of clusters (clusters of clusters, from the [`cluster`](super::cluster)
//! stage) is one QUBO placing its clusters whole into candidate pools with the capacity
//! left (coarse level), groups one after another; agents of clusters that fit nowhere are
//! placed one by one. Small scenarios (`<= direct_max_agents` agents and `<= max_pools`
//! pools) are instead solved as one agent-level QUBO over all pools. Re-plans start from
//! the previous plan instead (repaired where it no longer fits). Agents that fit nowhere
//! stay unplaced; the report names them as violations.

use super::improve::improve_batch;
use super::{Ctx, Progress, State};
use crate::batch::Subproblem;
use crate::model::{Couplings, Model};
use crate::orchestrate::OrchestrateError;
use crate::orchestrate::assign::{AssignProblem, build_assign_qubo};
use crate::orchestrate::baseline::greedy_assignment;
use crate::orchestrate::cluster::Clustering;
use crate::orchestrate::decode::{Assignment, best_repaired, repair_assignment};
use crate::orchestrate::plan::{Plan, ReplanReport};
use crate::rng::derive_seed;
use crate::solvers::SolveContext;
use std::collections::HashMap;
use std::time::Instant;

/// Where a re-plan starts: the previous placement by agent index, which agents the previous
/// plan knew, the re-plan report so far and the cost per moved agent.
#[derive(Default)]
pub(in crate::orchestrate) struct Start {
    /// Pool of each agent in the previous plan (`None`: no previous plan).
    pub prev: Option<Vec<Option<usize>>>,
    /// Whether the previous plan knew each agent.
    pub was_present: Vec<bool>,
    /// Joined / left counts (`None`: planning from scratch).
    pub replan: Option<ReplanReport>,
    /// Cost per moved agent (0 from scratch).
    pub move_cost: f64,
}

impl Start {
    /// Reads `previous` (if any) against the instance and resolves the move cost
    /// ([`OrchestratorConfig::move_cost`](crate::orchestrate::OrchestratorConfig::move_cost)).
    pub fn new(ctx: &Ctx, previous: Option<&Plan>) -> Self {
        let inst = ctx.inst;
        let aa = inst.num_agents();
        let mut replan = None;
        let mut was_present = vec![false; aa];
        let prev: Option<Vec<Option<usize>>> = previous.map(|plan| {
            let agent_pos: HashMap<&str, usize> = inst
                .agent_ids
                .iter()
                .enumerate()
                .map(|(i, a)| (a.as_str(), i))
                .collect();
            let pool_pos: HashMap<&str, usize> =
                inst.pool_ids.iter().enumerate().map(|(i, a)| (a.as_str(), i)).collect();
            let mut v = vec![None; aa];
            let mut left = 0;
            for pl in &plan.placements {
                match agent_pos.get(pl.agent.as_str()) {
                    Some(&a) => {
                        was_present[a] = true;
                        v[a] = pl.pool.as_deref().and_then(|p| pool_pos.get(p).copied());
                    }
                    None => left += 1,
                }
            }
            replan = Some(ReplanReport {
                joined: was_present.iter().filter(|&&s| !s).count(),
                left,
                ..Default::default()
            });
            v
        });
        let move_cost = match (&prev, ctx.cfg.move_cost) {
            (None, _) => 0.0,
            (Some(_), Some(m)) => m,
            (Some(_), None) => (0..aa)
                .map(|a| {
                    let c = inst.agent_cost(a);
                    let spread =
                        c.iter().fold(f64::MIN, |x: f64, &y| x.max(y)) - c.iter().fold(f64::MAX, |x: f64, &y| x.min(y));
                    spread + inst.traffic.row(a).1.iter().map(|w| w * inst.comm_cost).sum::<f64>()
                })
                .fold(0.0, f64::max),
        };
        Start {
            prev,
            was_present,
            replan,
            move_cost,
        }
    }
}

/// The global assignment problem (placement costs plus the move cost when re-planning;
/// traffic priced by `comm_cost`) and its agent adjacency.
pub(in crate::orchestrate) fn global_problem(ctx: &Ctx, start: &Start) -> (AssignProblem, Couplings) {
    let inst = ctx.inst;
    let (aa, pp) = (inst.num_agents(), inst.num_pools());
    let pairs: Vec<(u32, u32, f64)> = inst
        .traffic
        .iter_upper()
        .map(|(a, b, w)| (a as u32, b as u32, w * inst.comm_cost))
        .collect();
    let adj = inst.traffic.map_weights(|w| w * inst.comm_cost);
    let mut cost = inst.cost.clone();
    if let Some(prev) = &start.prev {
        for a in 0..aa {
            if let Some(q) = prev[a] {
                for p in 0..pp {
                    if p != q {
                        cost[a * pp + p] += start.move_cost;
                    }
                }
            }
        }
    }
    let problem = AssignProblem {
        num_items: aa,
        num_pools: pp,
        num_kinds: inst.num_kinds(),
        load: inst.load.clone(),
        pool_load: inst.pool_load.clone(),
        allowed: inst.allowed.clone(),
        cost,
        pairs,
        capacity: inst.capacity.clone(),
    };
    (problem, adj)
}

/// Runs the stage on `st` (every agent unplaced); returns how many agents the previous plan
/// had to give up (moved or unplaced by the repair).
pub(in crate::orchestrate) fn run(
    ctx: &Ctx,
    st: &mut State,
    clustering: &Clustering,
    start: &Start,
    progress: &mut Progress,
) -> Result<usize, OrchestrateError> {
    let t0 = Instant::now();
    let (aa, pp) = (ctx.inst.num_agents(), ctx.inst.num_pools());
    let mut subproblems = 0;
    let mut forced = 0;
    if let Some(prev) = &start.prev {
        for (a, p) in prev.iter().enumerate() {
            if let Some(p) = *p {
                st.global.apply(a, Some(p));
            }
        }
        let before: Vec<Option<usize>> = st.global.placement.clone();
        repair_assignment(&mut st.global);
        forced = (0..aa)
            .filter(|&a| start.was_present[a] && (prev[a].is_none() || before[a] != st.global.placement[a]))
            .count();
    } else if aa <= ctx.cfg.direct_max_agents && pp <= ctx.cfg.max_pools {
        let all: Vec<u32> = (0..aa as u32).collect();
        let greedy = greedy_assignment(ctx.inst);
        for (a, p) in greedy.iter().enumerate() {
            st.global.apply(a, *p);
        }
        subproblems += improve_batch(ctx, st, &[all], None, derive_seed(ctx.cfg.seed, 2), true)?;
    } else {
        subproblems += coarse_place(ctx, st, clustering)?;
    }
    // Agents that fit nowhere stay unplaced; the metrics report them as violations.
    repair_assignment(&mut st.global);
    progress.note_feasible(ctx, st);
    let stage = if start.prev.is_some() { "warm-start" } else { "place" };
    progress.record(
        stage,
        t0,
        subproblems,
        Some(st.global.problem.objective(&st.global.placement)),
    );
    Ok(forced)
}

/// Coarse placement: each group's clusters placed whole by one QUBO, groups in order.
fn coarse_place(ctx: &Ctx, st: &mut State, clustering: &Clustering) -> Result<usize, OrchestrateError> {
    let cfg = ctx.cfg;
    let inst = st.inst;
    let (pp, kk) = (inst.num_pools(), inst.num_kinds());
    let mut solved = 0;
    for (g, clusters) in clustering.groups().into_iter().enumerate() {
        if ctx.interrupted() {
            break; // the agents left are placed greedily by the repair that follows
        }
        let n = clusters.len();
        let members: Vec<&Vec<u32>> = clusters.iter().map(|&c| &clustering.members[c as usize]).collect();
        let mut item_of: HashMap<u32, usize> = HashMap::new();
        for (i, m) in members.iter().enumerate() {
            for &a in m.iter() {
                item_of.insert(a, i);
            }
        }
        // Full-pool costs of each cluster: own costs + traffic to placed agents elsewhere.
        let mut full_cost = vec![0.0; n * pp];
        let mut load = vec![0.0; n * kk];
        let mut pair_w: HashMap<(u32, u32), f64> = HashMap::new();
        for (i, m) in members.iter().enumerate() {
            for &a in m.iter() {
                let a = a as usize;
                let c = &st.global.problem.cost[a * pp..(a + 1) * pp];
                for p in 0..pp {
                    full_cost[i * pp + p] += c[p];
                }
                // Smallest load over the pools the agent may use (candidate sizing).
                for k in 0..kk {
                    load[i * kk + k] += (0..pp)
                        .filter(|&p| inst.can_place(a, p))
                        .map(|p| inst.agent_load_in(a, p)[k])
                        .fold(f64::INFINITY, f64::min);
                }
                let (cols, w) = st.global.adj.row(a);
                for (&b, &w) in cols.iter().zip(w) {
                    if let Some(&j) = item_of.get(&b) {
                        if j > i {
                            *pair_w.entry((i as u32, j as u32)).or_default() += w;
                        }
                    } else if let Some(q) = st.global.placement[b as usize] {
                        for p in 0..pp {
                            if p != q {
                                full_cost[i * pp + p] += w;
                            }
                        }
                    }
                }
            }
        }
        // Candidate pools: lowest total cost among pools with room, enough capacity.
        let free: Vec<f64> = (0..pp * kk)
            .map(|x| (inst.capacity[x] - st.global.usage[x]).max(0.0))
            .collect();
        let mut order: Vec<usize> = (0..pp).filter(|&p| (0..kk).any(|k| free[p * kk + k] > 0.0)).collect();
        let score = |p: usize| (0..n).map(|i| full_cost[i * pp + p]).sum::<f64>();
        order.sort_by(|&a, &b| score(a).total_cmp(&score(b)).then(a.cmp(&b)));
        let need: Vec<f64> = (0..kk).map(|k| (0..n).map(|i| load[i * kk + k]).sum::<f64>()).collect();
        let mut cand = Vec::new();
        for &p in &order {
            let enough = (0..kk).all(|k| cand.iter().map(|&q: &usize| free[q * kk + k]).sum::<f64>() >= 1.3 * need[k]);
            if cand.len() >= cfg.max_pools && enough {
                break;
            }
            cand.push(p);
            if cand.len() >= 2 * cfg.max_pools {
                break;
            }
        }
        if cand.is_empty() {
            continue; // no room anywhere: the agents are placed (or reported) by repair
        }
        let m = cand.len();
        // Per-pool loads: a cluster's load in a pool is its members' sum there; it may
        // use the pool only if every member may.
        let (load, pool_load, allowed) = if inst.has_pool_loads() {
            let mut pl = vec![0.0; n * m * kk];
            let mut al = vec![true; n * m];
            for (i, mem) in members.iter().enumerate() {
                for (lp, &p) in cand.iter().enumerate() {
                    for &a in mem.iter() {
                        al[i * m + lp] &= inst.can_place(a as usize, p);
                        for (k, l) in inst.agent_load_in(a as usize, p).iter().enumerate() {
                            pl[(i * m + lp) * kk + k] += l;
                        }
                    }
                }
            }
            (Vec::new(), pl, al)
        } else {
            (load, Vec::new(), Vec::new())
        };
        let sub = AssignProblem {
            num_items: n,
            num_pools: m,
            num_kinds: kk,
            load,
            pool_load,
            allowed,
            cost: (0..n)
                .flat_map(|i| cand.iter().map(move |&p| (i, p)))
                .map(|(i, p)| full_cost[i * pp + p])
                .collect(),
            pairs: pair_w.into_iter().map(|((i, j), w)| (i, j, w)).collect::<Vec<_>>(),
            capacity: cand
                .iter()
                .flat_map(|&p| (0..kk).map(move |k| (p, k)))
                .map(|(p, k)| free[p * kk + k])
                .collect(),
        };
        let mut sub = sub;
        sub.pairs.sort_by_key(|a| (a.0, a.1));
        let adj = Couplings::from_triplets(n, sub.pairs.clone())?;
        // Warm start: clusters greedily, in order.
        let mut warm = Assignment::with_adjacency(&sub, adj.clone(), vec![None; n]);
        repair_assignment(&mut warm);
        let warm = warm.placement;
        let aq = build_assign_qubo(&sub, &cfg.penalties)?;
        let sp = Subproblem {
            id: 1_000_000 + g as u64,
            warm_start: Some(aq.encode(&warm)?),
            model: Model::Qubo(aq.qubo.clone()),
            seed: derive_seed(cfg.seed, 1_000_000 + g as u64),
        };
        let sets = ctx
            .backend
            .solve_batch(std::slice::from_ref(&sp), &SolveContext::default())?;
        solved += 1;
        let cands = sets[0]
            .samples()
            .iter()
            .take(4)
            .map(|s| aq.decode(&s.state))
            .chain(std::iter::once(warm));
        if let Some((best, _, _)) = best_repaired(&sub, &adj, cands) {
            for (i, p) in best.iter().enumerate() {
                if let Some(p) = p {
                    for &a in members[i].iter() {
                        st.global.apply(a as usize, Some(cand[*p]));
                    }
                }
            }
        }
        // Agents of clusters that did not fit: one by one where they fit best.
        for m in &members {
            for &a in m.iter() {
                if st.global.placement[a as usize].is_none()
                    && let Some((q, _)) = st.global.best_target(a as usize)
                {
                    st.global.apply(a as usize, Some(q));
                }
            }
        }
    }
    Ok(solved)
}
