//! Decoding and repair: sampled states become plans; violated constraints are repaired
//! greedily; what cannot be repaired is returned to the caller, which reports it as a
//! violation of the plan (nothing is dropped silently).
//!
//! Assignment repair ([`repair_assignment`]): while a pool exceeds a capacity, the move of
//! one of its items to a pool with room that raises the objective least is made; if no item
//! can move, the item whose removal costs least is unplaced. Then unplaced items go, one by
//! one, to the pool with room that raises the objective least; items that fit nowhere are
//! returned. Partition repair lives in the partitioner
//! ([`crate::decompose::partition::balanced`]), schedule repair next to its builder
//! ([`super::schedule`]); both follow the same rule.

use super::assign::AssignProblem;
use crate::model::Couplings;

/// A placement of an [`AssignProblem`] with its usage and item adjacency, supporting exact
/// objective deltas of single moves.
pub struct Assignment<'a> {
    /// The problem.
    pub problem: &'a AssignProblem,
    /// Symmetric item adjacency built from the pairs (weights summed).
    pub adj: Couplings,
    /// Pool of each item.
    pub placement: Vec<Option<usize>>,
    /// Usage `[p*K + k]`.
    pub usage: Vec<f64>,
}

impl<'a> Assignment<'a> {
    /// Wraps `placement` (length `num_items`, pools `< num_pools`).
    pub fn new(problem: &'a AssignProblem, placement: Vec<Option<usize>>) -> Self {
        let adj = Couplings::from_triplets(problem.num_items, problem.pairs.clone())
            .expect("pairs were checked by AssignProblem::check");
        Self::with_adjacency(problem, adj, placement)
    }

    /// Like [`new`](Self::new) with a prebuilt adjacency.
    pub fn with_adjacency(problem: &'a AssignProblem, adj: Couplings, placement: Vec<Option<usize>>) -> Self {
        let usage = problem.usage(&placement);
        Assignment {
            problem,
            adj,
            placement,
            usage,
        }
    }

    /// True when item `i` may use pool `q` and fits there given the current usage
    /// (excluding itself if it is already there).
    pub fn fits(&self, i: usize, q: usize) -> bool {
        let kk = self.problem.num_kinds;
        let here = self.placement[i] == Some(q);
        let load = self.problem.load_in(i, q);
        self.problem.allowed(i, q)
            && (0..kk).all(|k| {
                let l = load[k];
                let u = self.usage[q * kk + k] - if here { l } else { 0.0 };
                let c = self.problem.capacity[q * kk + k];
                u + l <= c + 1e-9 * (1.0 + c.abs())
            })
    }

    /// Objective change if item `i` moves to `to` (`None`: unplaced).
    pub fn delta(&self, i: usize, to: Option<usize>) -> f64 {
        let from = self.placement[i];
        if from == to {
            return 0.0;
        }
        let m = self.problem.num_pools;
        let c = |p: Option<usize>| p.map_or(0.0, |p| self.problem.cost[i * m + p]);
        let mut d = c(to) - c(from);
        let (cols, w) = self.adj.row(i);
        for (&j, &w) in cols.iter().zip(w) {
            let pj = self.placement[j as usize];
            let before = from.is_none() || from != pj;
            let after = to.is_none() || to != pj;
            d += w * (after as i32 - before as i32) as f64;
        }
        d
    }

    /// Moves item `i` to `to`, updating usage.
    pub fn apply(&mut self, i: usize, to: Option<usize>) {
        let kk = self.problem.num_kinds;
        if let Some(p) = self.placement[i] {
            for k in 0..kk {
                self.usage[p * kk + k] -= self.problem.load_in(i, p)[k];
            }
        }
        if let Some(p) = to {
            for k in 0..kk {
                self.usage[p * kk + k] += self.problem.load_in(i, p)[k];
            }
        }
        self.placement[i] = to;
    }

    /// True when some kind of pool `q` is over capacity.
    pub fn overflows(&self, q: usize) -> bool {
        let kk = self.problem.num_kinds;
        (0..kk).any(|k| {
            let c = self.problem.capacity[q * kk + k];
            self.usage[q * kk + k] > c + 1e-9 * (1.0 + c.abs())
        })
    }

    /// The pool with room for `i` whose move raises the objective least (lowest index on
    /// ties), with that change.
    pub fn best_target(&self, i: usize) -> Option<(usize, f64)> {
        let mut best: Option<(usize, f64)> = None;
        for q in 0..self.problem.num_pools {
            if self.placement[i] == Some(q) || !self.fits(i, q) {
                continue;
            }
            let d = self.delta(i, Some(q));
            if best.is_none_or(|(_, bd)| d < bd) {
                best = Some((q, d));
            }
        }
        best
    }
}

/// Repairs `a` in place (rule in the module docs); returns the items left unplaced.
pub fn repair_assignment(a: &mut Assignment) -> Vec<usize> {
    let n = a.problem.num_items;
    let m = a.problem.num_pools;
    // 0. Items in pools they may not use (per-pool loads) are unplaced first.
    if !a.problem.allowed.is_empty() {
        for i in 0..n {
            if a.placement[i].is_some_and(|q| !a.problem.allowed(i, q)) {
                a.apply(i, None);
            }
        }
    }
    // 1. Overflowing pools shed items.
    for q in 0..m {
        while a.overflows(q) {
            let members: Vec<usize> = (0..n).filter(|&i| a.placement[i] == Some(q)).collect();
            let best_move = members
                .iter()
                .filter_map(|&i| a.best_target(i).map(|(t, d)| (i, t, d)))
                .min_by(|x, y| x.2.total_cmp(&y.2));
            match best_move {
                Some((i, t, _)) => a.apply(i, Some(t)),
                None => {
                    let Some(&i) = members
                        .iter()
                        .min_by(|&&x, &&y| a.delta(x, None).total_cmp(&a.delta(y, None)))
                    else {
                        break;
                    };
                    a.apply(i, None);
                }
            }
        }
    }
    // 2. Unplaced items go where they fit best.
    let mut left = Vec::new();
    for i in 0..n {
        if a.placement[i].is_none() {
            match a.best_target(i) {
                Some((t, _)) => a.apply(i, Some(t)),
                None => left.push(i),
            }
        }
    }
    left
}

/// Decodes each state with `decode`, repairs it, and returns the placement with the fewest
/// unplaced items, then the lowest objective (`candidates` are extra placements to compare,
/// e.g. the current plan). Ties keep the earlier candidate.
pub fn best_repaired(
    problem: &AssignProblem,
    adj: &Couplings,
    states: impl Iterator<Item = Vec<Option<usize>>>,
) -> Option<(Vec<Option<usize>>, usize, f64)> {
    let mut best: Option<(Vec<Option<usize>>, usize, f64)> = None;
    for placement in states {
        let mut a = Assignment::with_adjacency(problem, adj.clone(), placement);
        let left = repair_assignment(&mut a).len();
        let obj = problem.objective(&a.placement);
        let better = match &best {
            None => true,
            Some((_, bl, bo)) => left < *bl || (left == *bl && obj < *bo - 1e-9 * (1.0 + bo.abs())),
        };
        if better {
            best = Some((a.placement, left, obj));
        }
    }
    best
}
