//! Baselines every plan is compared with.
//!
//! - [`greedy_assignment`]: the usual online placement: agents in input order, each to the
//!   pool with room that adds the least objective (its placement cost plus the traffic to
//!   agents already placed elsewhere). Traffic-aware, but myopic: it cannot see agents that
//!   come later.
//! - [`greedy_schedule`](super::schedule::list_schedule): list scheduling, each ready task
//!   (longest remaining path first) at its earliest feasible slot.
//! - [`exact_assignment`]: the optimum by depth-first enumeration of all placements with
//!   capacity pruning and a cost lower bound, for small scenarios.
//!
//! Both use each agent's load in the pool tried and skip pools its per-pool load does not
//! list.

use super::validate::Instance;

/// Objective of a placement of the whole instance: placement costs plus `comm_cost` times
/// the traffic between agents in different pools (unplaced agents pay all their traffic).
pub fn assignment_objective(inst: &Instance, placement: &[Option<usize>]) -> (f64, f64) {
    let pp = inst.num_pools();
    let mut place = 0.0;
    for (a, p) in placement.iter().enumerate() {
        if let Some(p) = p {
            place += inst.cost[a * pp + p];
        }
    }
    let mut comm = 0.0;
    for (a, b, w) in inst.traffic.iter_upper() {
        let (x, y) = (placement[a], placement[b]);
        if x.is_none() || x != y {
            comm += w;
        }
    }
    (place, comm * inst.comm_cost)
}

/// Greedy online placement (see the module docs). Agents that fit nowhere stay `None`.
pub fn greedy_assignment(inst: &Instance) -> Vec<Option<usize>> {
    let order: Vec<usize> = (0..inst.num_agents()).collect();
    greedy_assignment_in(inst, &order)
}

/// Breadth-first order of the traffic graph (heaviest edges first from each agent,
/// components from the lowest index), so that agents that talk come one after another.
pub fn traffic_order(inst: &Instance) -> Vec<usize> {
    inst.traffic.bfs_order_heavy_first(0..inst.num_agents())
}

/// The greedy placement with agents taken in `order` (a stronger baseline with
/// [`traffic_order`]: team mates arrive together).
pub fn greedy_assignment_in(inst: &Instance, order: &[usize]) -> Vec<Option<usize>> {
    let (aa, pp, kk) = (inst.num_agents(), inst.num_pools(), inst.num_kinds());
    let mut placement: Vec<Option<usize>> = vec![None; aa];
    let mut usage = vec![0.0; pp * kk];
    let mut rate_to = vec![0.0; pp];
    for &a in order {
        let (cols, w) = inst.traffic.row(a);
        let mut placed_total = 0.0;
        for (&b, &r) in cols.iter().zip(w) {
            if let Some(q) = placement[b as usize] {
                rate_to[q] += r;
                placed_total += r;
            }
        }
        let mut best: Option<(usize, f64)> = None;
        for p in 0..pp {
            let cap = inst.pool_capacity(p);
            let load = inst.agent_load_in(a, p);
            let fits =
                inst.can_place(a, p) && (0..kk).all(|k| usage[p * kk + k] + load[k] <= cap[k] + 1e-9 * (1.0 + cap[k]));
            if !fits {
                continue;
            }
            let d = inst.cost[a * pp + p] + inst.comm_cost * (placed_total - rate_to[p]);
            if best.is_none_or(|(_, bd)| d < bd) {
                best = Some((p, d));
            }
        }
        for &b in cols {
            if let Some(q) = placement[b as usize] {
                rate_to[q] = 0.0;
            }
        }
        if let Some((p, _)) = best {
            placement[a] = Some(p);
            for (k, l) in inst.agent_load_in(a, p).iter().enumerate() {
                usage[p * kk + k] += l;
            }
        }
    }
    placement
}

/// The optimal placement (every agent placed, capacities respected) and its objective, by
/// exhaustive depth-first search; `None` when `pools^agents` exceeds `max_leaves` or no
/// feasible placement exists.
#[allow(clippy::needless_range_loop)] // parallel arrays indexed by pool and kind
pub fn exact_assignment(inst: &Instance, max_leaves: f64) -> Option<(Vec<usize>, f64)> {
    let (aa, pp) = (inst.num_agents(), inst.num_pools());
    if (pp as f64).powi(aa as i32) > max_leaves {
        return None;
    }
    let kk = inst.num_kinds();
    // Lower bound on the cost of agents a.. (traffic costs are non-negative).
    let mut tail_min = vec![0.0; aa + 1];
    for a in (0..aa).rev() {
        let c = inst.agent_cost(a);
        let m = (0..pp)
            .filter(|&p| inst.can_place(a, p))
            .map(|p| c[p])
            .fold(f64::INFINITY, f64::min);
        tail_min[a] = tail_min[a + 1] + m;
    }
    struct Search<'a> {
        inst: &'a Instance,
        tail_min: Vec<f64>,
        usage: Vec<f64>,
        cur: Vec<usize>,
        best: Option<(Vec<usize>, f64)>,
    }
    impl Search<'_> {
        fn go(&mut self, a: usize, partial: f64) {
            let inst = self.inst;
            let (pp, kk) = (inst.num_pools(), inst.num_kinds());
            if a == inst.num_agents() {
                if self.best.as_ref().is_none_or(|(_, b)| partial < *b - 1e-12) {
                    self.best = Some((self.cur.clone(), partial));
                }
                return;
            }
            if let Some((_, b)) = &self.best
                && partial + self.tail_min[a] >= *b - 1e-12
            {
                return;
            }
            for p in 0..pp {
                let cap = inst.pool_capacity(p);
                let load = inst.agent_load_in(a, p);
                if !inst.can_place(a, p)
                    || (0..kk).any(|k| self.usage[p * kk + k] + load[k] > cap[k] + 1e-9 * (1.0 + cap[k]))
                {
                    continue;
                }
                // Traffic to earlier agents in other pools.
                let (cols, w) = inst.traffic.row(a);
                let mut comm = 0.0;
                for (&b, &r) in cols.iter().zip(w) {
                    if (b as usize) < a && self.cur[b as usize] != p {
                        comm += r;
                    }
                }
                let load = inst.agent_load_in(a, p);
                for k in 0..kk {
                    self.usage[p * kk + k] += load[k];
                }
                self.cur.push(p);
                let step = inst.cost[a * pp + p] + inst.comm_cost * comm;
                self.go(a + 1, partial + step);
                self.cur.pop();
                for k in 0..kk {
                    self.usage[p * kk + k] -= load[k];
                }
            }
        }
    }
    let mut s = Search {
        inst,
        tail_min,
        usage: vec![0.0; pp * kk],
        cur: Vec::with_capacity(aa),
        best: None,
    };
    s.go(0, 0.0);
    s.best
}
