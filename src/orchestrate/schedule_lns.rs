//! Large-neighbourhood search over the schedule: beats list scheduling where agents are
//! scarce, conflicts dense and horizons tight.
//!
//! A schedule is represented by a **sequence** (a precedence-consistent order of the
//! tasks) and an **agent per task** (one holding the task's capability). Decoding places
//! the tasks in sequence order, each at the earliest slot where its predecessors have
//! ended, its agent is free for its whole duration and no conflicting task already placed
//! overlaps it (serial schedule generation; gaps are filled). Every schedule decoded this
//! way satisfies precedence, conflicts, capabilities and one-task-per-agent by
//! construction, and the representation is complete: for any feasible schedule, its tasks
//! ordered by start with its agents decode to starts no later (by induction over the
//! order), so an optimal schedule is reachable. The horizon is priced: the search
//! minimises `(slots past the horizon, total completion time)` lexicographically.
//!
//! Objective: total completion time `sum_t (s_t + d_t)` (what [`super::schedule`] and the
//! plan metrics report). The search starts from the best of the given schedules (the list
//! schedule among them, so the result is never worse than it) and a shortest-task-first
//! list schedule, then runs `chains` independent chains of simulated annealing over these
//! neighbourhoods:
//!
//! - **shift**: one task to another place in the sequence (within its precedence range);
//! - **swap**: two tasks of the same agent or capability exchange places;
//! - **reassign**: one task to another capable agent (or to the one that lets it start
//!   first), possibly moved in the sequence at the same time;
//! - **reshuffle**: a window of 2-8 consecutive tasks re-ordered at random (a random
//!   topological order of the window), some of them re-assigned to the agent that lets
//!   them start first (destroy and greedy repair);
//! - **exact window**: every precedence-consistent order of a window of up to 5
//!   consecutive tasks is decoded and the best kept (an exact repair of the window).
//!
//! Instances small enough (at most [`EXACT_MAX_DECODES`] sequence x agent combinations)
//! are enumerated completely instead, which returns the optimum.
//!
//! Chains are seeded from the seed and their index only, and the best chain wins (lowest
//! index on ties): the same seed gives the same schedule whatever the thread count (with a
//! time limit, how far each chain gets depends on the machine). A chain stops early when
//! it reaches [`lower_bound`], which is then the proven optimum.

use super::OrchestrateError;
use super::validate::Instance;
use crate::rng::{Rng, derive_seed};
use rayon::prelude::*;
use std::time::{Duration, Instant};

/// Largest number of (sequence, agent assignment) combinations enumerated exhaustively.
pub const EXACT_MAX_DECODES: f64 = 200_000.0;

/// Settings of [`improve_schedule`].
#[derive(Clone, Debug, PartialEq)]
pub struct LnsParams {
    /// Independent chains (default 2; run in parallel, result independent of threads).
    pub chains: usize,
    /// Moves per chain when there is no time limit (default 4000).
    pub iterations: usize,
    /// Wall-time budget; `None`: stop after `iterations` moves per chain (the same answer
    /// on any machine). With a budget, chains run until it is spent.
    pub time_limit: Option<Duration>,
    /// Seed of every chain.
    pub seed: u64,
    /// Stop flag (a cancelled plan): chains end at their next check with their best.
    pub interrupt: Option<super::orchestrator::Interrupt>,
}

impl Default for LnsParams {
    fn default() -> Self {
        LnsParams {
            chains: 2,
            iterations: 4000,
            time_limit: None,
            seed: 0,
            interrupt: None,
        }
    }
}

/// What [`improve_schedule`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct LnsResult {
    /// Start slot of every task.
    pub start: Vec<usize>,
    /// Agent of every task (an index into the instance's agents).
    pub agent: Vec<usize>,
    /// Total completion time `sum_t (s_t + d_t)`, slots.
    pub total_completion_time: u64,
    /// Largest end slot.
    pub makespan: usize,
    /// Slots past the horizon, summed over tasks (0 when every task ends by it).
    pub horizon_excess: u64,
    /// [`lower_bound`] of the instance.
    pub lower_bound: u64,
    /// True when the schedule is proven optimal (it reached the bound, or the instance was
    /// enumerated completely).
    pub optimal: bool,
    /// Moves tried, over all chains.
    pub moves: u64,
}

/// A lower bound on the total completion time: tasks grouped by capability; per group the
/// larger of `sum (head_t + d_t)` (`head_t`: longest chain of predecessors) and the optimum
/// of its durations on as many identical machines as agents hold the capability
/// (shortest first, round robin), ignoring everything else.
pub fn lower_bound(inst: &Instance) -> u64 {
    let head = heads(inst);
    let mut by_cap: Vec<Vec<usize>> = vec![Vec::new(); inst.capabilities.len()];
    for (t, spec) in inst.tasks.iter().enumerate() {
        by_cap[spec.capability].push(t);
    }
    let mut lb = 0u64;
    for (c, tasks) in by_cap.iter().enumerate() {
        if tasks.is_empty() {
            continue;
        }
        let chain: u64 = tasks.iter().map(|&t| (head[t] + inst.tasks[t].duration) as u64).sum();
        let m = inst.capability_agents[c].len().max(1);
        let mut d: Vec<u64> = tasks.iter().map(|&t| inst.tasks[t].duration as u64).collect();
        d.sort_unstable();
        let mut load = vec![0u64; m];
        let mut spt = 0u64;
        for (i, x) in d.iter().enumerate() {
            load[i % m] += x;
            spt += load[i % m];
        }
        lb += chain.max(spt);
    }
    lb
}

/// Longest chain of predecessors before each task (its earliest possible start).
fn heads(inst: &Instance) -> Vec<usize> {
    let mut head = vec![0usize; inst.tasks.len()];
    for &t in &inst.topo_order {
        for &p in &inst.tasks[t].preds {
            head[t] = head[t].max(head[p] + inst.tasks[p].duration);
        }
    }
    head
}

/// Marks a task whose agent is chosen while decoding (the capable agent that lets it start
/// first; fewer capabilities, then lower index, on ties).
const AUTO: usize = usize::MAX;

/// Reusable decoding buffers.
struct Decoder<'a> {
    inst: &'a Instance,
    /// Capable agents of each task's capability, preference order.
    pref: Vec<Vec<usize>>,
    start: Vec<usize>,
    placed: Vec<bool>,
    busy: Vec<Vec<(usize, usize)>>,
    cand: Vec<usize>,
    /// The sequence decoded last, its agents and the cost after each prefix.
    cur_seq: Vec<usize>,
    cur_agent: Vec<usize>,
    cum: Vec<Cost>,
}

/// Cost of a decoded schedule: (slots past the horizon, total completion time).
type Cost = (u64, u64);

impl<'a> Decoder<'a> {
    fn new(inst: &'a Instance) -> Self {
        let mut ncaps = vec![0usize; inst.num_agents()];
        for agents in &inst.capability_agents {
            for &a in agents {
                ncaps[a as usize] += 1;
            }
        }
        let pref = inst
            .capability_agents
            .iter()
            .map(|agents| {
                let mut v: Vec<usize> = agents.iter().map(|&a| a as usize).collect();
                v.sort_by_key(|&a| (ncaps[a], a));
                v
            })
            .collect();
        let n = inst.tasks.len();
        Decoder {
            inst,
            pref,
            start: vec![0; n],
            placed: vec![false; n],
            busy: vec![Vec::new(); inst.num_agents()],
            cand: Vec::new(),
            cur_seq: Vec::with_capacity(n),
            cur_agent: vec![usize::MAX; n],
            cum: vec![(0, 0)],
        }
    }

    /// Earliest start of task `t` at or after `est` on agent `a`, given what is placed.
    fn earliest_on(&mut self, t: usize, a: usize, est: usize) -> usize {
        let inst = self.inst;
        let d = inst.tasks[t].duration;
        self.cand.clear();
        self.cand.push(est);
        for &(_, e) in &self.busy[a] {
            if e > est {
                self.cand.push(e);
            }
        }
        for &o in &inst.tasks[t].conflicts {
            if self.placed[o] {
                let e = self.start[o] + inst.tasks[o].duration;
                if e > est {
                    self.cand.push(e);
                }
            }
        }
        self.cand.sort_unstable();
        self.cand.dedup();
        for i in 0..self.cand.len() {
            let s = self.cand[i];
            let e = s + d;
            if self.busy[a].iter().any(|&(bs, be)| bs < e && s < be) {
                continue;
            }
            if inst.tasks[t]
                .conflicts
                .iter()
                .any(|&o| self.placed[o] && self.start[o] < e && s < self.start[o] + inst.tasks[o].duration)
            {
                continue;
            }
            return s;
        }
        unreachable!("the last candidate is after every placed interval")
    }

    /// Decodes `seq` with `agent` (entries [`AUTO`] are chosen and written back). The
    /// prefix shared with the previous call (same tasks, same agents) is kept, not redone.
    fn decode(&mut self, seq: &[usize], agent: &mut [usize]) -> Cost {
        let inst = self.inst;
        let m = self.cur_seq.len();
        let mut i = 0;
        while i < m && i < seq.len() && seq[i] == self.cur_seq[i] && agent[seq[i]] == self.cur_agent[seq[i]] {
            i += 1;
        }
        // Undo the previous decode from position i (each agent's intervals are in
        // placement order, so the last one is the latest task's).
        for k in (i..m).rev() {
            let t = self.cur_seq[k];
            self.busy[self.cur_agent[t]].pop();
            self.placed[t] = false;
        }
        self.cur_seq.truncate(i);
        self.cum.truncate(i + 1);
        let (mut excess, mut total) = self.cum[i];
        for &t in &seq[i..] {
            let spec = &inst.tasks[t];
            let est = spec
                .preds
                .iter()
                .map(|&p| self.start[p] + inst.tasks[p].duration)
                .max()
                .unwrap_or(0);
            let (a, s) = if agent[t] == AUTO {
                let mut best = (usize::MAX, usize::MAX);
                for i in 0..self.pref[spec.capability].len() {
                    let a = self.pref[spec.capability][i];
                    let s = self.earliest_on(t, a, est);
                    if s < best.1 {
                        best = (a, s);
                        if s == est {
                            break;
                        }
                    }
                }
                agent[t] = best.0;
                best
            } else {
                (agent[t], self.earliest_on(t, agent[t], est))
            };
            self.busy[a].push((s, s + spec.duration));
            self.start[t] = s;
            self.placed[t] = true;
            self.cur_agent[t] = a;
            self.cur_seq.push(t);
            let end = (s + spec.duration) as u64;
            total += end;
            if let Some(h) = inst.horizon {
                excess += end.saturating_sub(h as u64);
            }
            self.cum.push((excess, total));
        }
        (excess, total)
    }
}

/// Static data of the search.
struct Ctx<'a> {
    inst: &'a Instance,
    succ: Vec<Vec<usize>>,
    /// Tasks of each capability.
    by_cap: Vec<Vec<usize>>,
    lb: u64,
}

impl Ctx<'_> {
    fn is_topological(&self, seq: &[usize], pos: &mut [usize]) -> bool {
        for (i, &t) in seq.iter().enumerate() {
            pos[t] = i;
        }
        seq.iter()
            .all(|&t| self.inst.tasks[t].preds.iter().all(|&p| pos[p] < pos[t]))
    }

    /// Positions a task removed from `seq` may be inserted at: after its last predecessor,
    /// up to its first successor (positions in `seq` without it).
    fn insert_range(&self, seq: &[usize], t: usize) -> (usize, usize) {
        let mut lo = 0;
        let mut hi = seq.len();
        for (i, &u) in seq.iter().enumerate() {
            if self.inst.tasks[t].preds.contains(&u) {
                lo = i + 1;
            }
            if hi == seq.len() && self.succ[t].contains(&u) {
                hi = i;
            }
        }
        (lo, hi.max(lo))
    }
}

/// Scalar of a cost for annealing: horizon excess weighs more than any completion time.
fn scalar(c: Cost, big: f64) -> f64 {
    c.0 as f64 * big + c.1 as f64
}

/// A random precedence-consistent order of `window` (tasks), using the order's own
/// precedence only (tasks outside the window stay where they are).
fn random_topological(inst: &Instance, window: &[usize], rng: &mut Rng) -> Vec<usize> {
    let mut left: Vec<usize> = window.to_vec();
    let mut out = Vec::with_capacity(window.len());
    while !left.is_empty() {
        let ready: Vec<usize> = (0..left.len())
            .filter(|&i| !inst.tasks[left[i]].preds.iter().any(|p| left.contains(p)))
            .collect();
        let i = ready[rng.below(ready.len() as u64) as usize];
        out.push(left.remove(i));
    }
    out
}

/// Every precedence-consistent order of `window`, by depth-first search (at most `max`).
fn all_topological(inst: &Instance, window: &[usize], max: usize) -> Vec<Vec<usize>> {
    fn go(inst: &Instance, left: &mut Vec<usize>, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>, max: usize) {
        if out.len() >= max {
            return;
        }
        if left.is_empty() {
            out.push(cur.clone());
            return;
        }
        for i in 0..left.len() {
            let t = left[i];
            if inst.tasks[t].preds.iter().any(|p| left.contains(p)) {
                continue;
            }
            left.remove(i);
            cur.push(t);
            go(inst, left, cur, out, max);
            cur.pop();
            left.insert(i, t);
        }
    }
    let mut out = Vec::new();
    go(inst, &mut window.to_vec(), &mut Vec::new(), &mut out, max);
    out
}

/// One chain of the search from `(seq, agent)`; returns its best.
fn chain(
    ctx: &Ctx,
    seq0: &[usize],
    agent0: &[usize],
    iterations: usize,
    deadline: Option<Instant>,
    interrupt: Option<&super::orchestrator::Interrupt>,
    seed: u64,
) -> (Cost, Vec<usize>, Vec<usize>, u64) {
    let inst = ctx.inst;
    let n = seq0.len();
    let mut rng = Rng::new(seed);
    let mut dec = Decoder::new(inst);
    let mut seq = seq0.to_vec();
    let mut agent = agent0.to_vec();
    let mut cost = dec.decode(&seq, &mut agent);
    let mut best = (cost, seq.clone(), agent.clone());
    let mut pos = vec![0usize; n];
    let total_dur: usize = inst.tasks.iter().map(|t| t.duration).sum();
    let big = (total_dur * n + 1) as f64;
    let mean_d = total_dur as f64 / n.max(1) as f64;
    // Temperature cycles: from t0 down to t1 over `cycle` moves, then back to the best.
    let (t0, t1) = (0.5 * mean_d, 0.02);
    let cycle = 2000usize;
    let mut moves = 0u64;
    let has_choice: Vec<usize> = (0..n)
        .filter(|&t| inst.capability_agents[inst.tasks[t].capability].len() > 1)
        .collect();
    let mut it = 0usize;
    loop {
        if best.0 == (0, ctx.lb) || n < 2 {
            break;
        }
        if it.is_multiple_of(16) && interrupt.is_some_and(|f| f.is_set()) {
            break;
        }
        match deadline {
            Some(d) => {
                if it.is_multiple_of(16) && Instant::now() >= d {
                    break;
                }
            }
            None => {
                if it >= iterations {
                    break;
                }
            }
        }
        let phase = (it % cycle) as f64 / cycle as f64;
        if it > 0 && it.is_multiple_of(cycle) {
            (cost, seq, agent) = best.clone();
        }
        it += 1;
        let temp = t0 * (t1 / t0).powf(phase);
        let mut new_seq = seq.clone();
        let mut new_agent = agent.clone();
        let op = rng.below(100);
        let new_cost = if op < 12 {
            // Exact window: every order of up to 5 consecutive tasks.
            let k = 3 + rng.below(3) as usize;
            let k = k.min(n);
            let i = rng.below((n - k + 1) as u64) as usize;
            let window: Vec<usize> = seq[i..i + k].to_vec();
            let orders = all_topological(inst, &window, 120);
            let mut bestw: Option<(Cost, Vec<usize>)> = None;
            for o in orders {
                if o == window {
                    continue;
                }
                new_seq[i..i + k].copy_from_slice(&o);
                let c = dec.decode(&new_seq, &mut new_agent);
                moves += 1;
                if bestw.as_ref().is_none_or(|(b, _)| c < *b) {
                    bestw = Some((c, o));
                }
            }
            match bestw {
                Some((c, o)) => {
                    new_seq[i..i + k].copy_from_slice(&o);
                    c
                }
                None => continue,
            }
        } else {
            if op < 45 {
                // Shift one task.
                let i = rng.below(n as u64) as usize;
                let t = new_seq.remove(i);
                let (lo, hi) = ctx.insert_range(&new_seq, t);
                let j = lo + rng.below((hi - lo + 1) as u64) as usize;
                new_seq.insert(j, t);
                if j == i {
                    continue;
                }
            } else if op < 60 {
                // Swap two tasks of the same agent or capability.
                let i = rng.below(n as u64) as usize;
                let t = new_seq[i];
                let peers: Vec<usize> = if rng.bit() {
                    (0..n).filter(|&u| u != t && agent[u] == agent[t]).collect()
                } else {
                    ctx.by_cap[inst.tasks[t].capability]
                        .iter()
                        .copied()
                        .filter(|&u| u != t)
                        .collect()
                };
                if peers.is_empty() {
                    continue;
                }
                let u = peers[rng.below(peers.len() as u64) as usize];
                let j = new_seq.iter().position(|&x| x == u).expect("u in seq");
                new_seq.swap(i, j);
                if !ctx.is_topological(&new_seq, &mut pos) {
                    continue;
                }
            } else if op < 80 {
                // Reassign one task (to a random capable agent or the first free one).
                if has_choice.is_empty() {
                    continue;
                }
                let t = has_choice[rng.below(has_choice.len() as u64) as usize];
                let agents = &inst.capability_agents[inst.tasks[t].capability];
                new_agent[t] = if rng.below(3) == 0 {
                    AUTO
                } else {
                    agents[rng.below(agents.len() as u64) as usize] as usize
                };
                if rng.bit() {
                    let i = new_seq.iter().position(|&x| x == t).expect("t in seq");
                    new_seq.remove(i);
                    let (lo, hi) = ctx.insert_range(&new_seq, t);
                    let j = lo + rng.below((hi - lo + 1) as u64) as usize;
                    new_seq.insert(j, t);
                }
            } else {
                // Reshuffle a window; some tasks to the agent that starts them first.
                let k = (2 + rng.below(7) as usize).min(n);
                let i = rng.below((n - k + 1) as u64) as usize;
                let window: Vec<usize> = new_seq[i..i + k].to_vec();
                let o = random_topological(inst, &window, &mut rng);
                new_seq[i..i + k].copy_from_slice(&o);
                for &t in &o {
                    if rng.below(4) == 0 {
                        new_agent[t] = AUTO;
                    }
                }
            }
            moves += 1;
            dec.decode(&new_seq, &mut new_agent)
        };
        let delta = scalar(new_cost, big) - scalar(cost, big);
        if delta <= 0.0 || rng.next_f64() < (-delta / temp).exp() {
            cost = new_cost;
            seq = new_seq;
            agent = new_agent;
            if cost < best.0 {
                best = (cost, seq.clone(), agent.clone());
            }
        }
    }
    (best.0, best.1, best.2, moves)
}

/// Exhaustive search over every precedence-consistent sequence and agent assignment
/// (complete: see the module docs); `None` when there are more than
/// [`EXACT_MAX_DECODES`] combinations.
fn exhaustive(inst: &Instance) -> Option<(Cost, Vec<usize>, Vec<usize>)> {
    let n = inst.tasks.len();
    let mut combos = 1.0f64;
    for t in 0..n {
        combos *= (t + 1) as f64 * inst.capability_agents[inst.tasks[t].capability].len() as f64;
    }
    if combos > EXACT_MAX_DECODES {
        return None;
    }
    let all: Vec<usize> = inst.topo_order.clone();
    let orders = all_topological(inst, &all, usize::MAX);
    let mut dec = Decoder::new(inst);
    let mut best: Option<(Cost, Vec<usize>, Vec<usize>)> = None;
    let choices: Vec<&Vec<u32>> = (0..n)
        .map(|t| &inst.capability_agents[inst.tasks[t].capability])
        .collect();
    let mut idx = vec![0usize; n];
    loop {
        let agent: Vec<usize> = (0..n).map(|t| choices[t][idx[t]] as usize).collect();
        for o in &orders {
            let mut a = agent.clone();
            let c = dec.decode(o, &mut a);
            if best.as_ref().is_none_or(|(b, _, _)| c < *b) {
                best = Some((c, o.clone(), a));
            }
        }
        // Next agent assignment (odometer).
        let mut t = 0;
        loop {
            if t == n {
                return best;
            }
            idx[t] += 1;
            if idx[t] < choices[t].len() {
                break;
            }
            idx[t] = 0;
            t += 1;
        }
    }
}

/// Improves a schedule by large-neighbourhood search (see the module docs). `starts` are
/// schedules to start from (each `(start, agent)` per task, e.g. the list schedule and the
/// QUBO windows' schedule); entries that are not feasible on agents (missing agent,
/// incapable agent) are completed by the decoder. The result is never worse than the best
/// of them in `(horizon excess, total completion time)`.
pub fn improve_schedule(
    inst: &Instance,
    starts: &[(Vec<usize>, Vec<Option<usize>>)],
    params: &LnsParams,
) -> Result<LnsResult, OrchestrateError> {
    if params.chains == 0 || params.chains > 1024 {
        return Err(OrchestrateError::InvalidParameter {
            name: "lns_chains",
            reason: format!("{} is not in 1..=1024", params.chains),
        });
    }
    let n = inst.tasks.len();
    let lb = lower_bound(inst);
    if n == 0 {
        return Ok(LnsResult {
            start: Vec::new(),
            agent: Vec::new(),
            total_completion_time: 0,
            makespan: 0,
            horizon_excess: 0,
            lower_bound: 0,
            optimal: true,
            moves: 0,
        });
    }
    let t_start = Instant::now();
    let deadline = params.time_limit.map(|d| t_start + d);
    let mut succ = vec![Vec::new(); n];
    let mut by_cap = vec![Vec::new(); inst.capabilities.len()];
    for (t, spec) in inst.tasks.iter().enumerate() {
        for &p in &spec.preds {
            succ[p].push(t);
        }
        by_cap[spec.capability].push(t);
    }
    let ctx = Ctx { inst, succ, by_cap, lb };
    let mut dec = Decoder::new(inst);
    let finish = |cost: Cost, seq: &[usize], agent: Vec<usize>, optimal: bool, moves: u64| {
        let mut dec = Decoder::new(inst);
        let mut agent = agent;
        let c = dec.decode(seq, &mut agent);
        debug_assert_eq!(c, cost);
        let start = dec.start.clone();
        let makespan = (0..n).map(|t| start[t] + inst.tasks[t].duration).max().unwrap_or(0);
        LnsResult {
            start,
            agent,
            total_completion_time: c.1,
            makespan,
            horizon_excess: c.0,
            lower_bound: lb,
            optimal: optimal || (c.0 == 0 && c.1 == lb),
            moves,
        }
    };
    if let Some((c, seq, agent)) = exhaustive(inst) {
        return Ok(finish(c, &seq, agent, true, 0));
    }
    // Starting points: the given schedules (ordered by start) and shortest-first.
    let mut best: Option<(Cost, Vec<usize>, Vec<usize>)> = None;
    let capable = |t: usize, a: Option<usize>| {
        a.filter(|&a| {
            inst.capability_agents[inst.tasks[t].capability]
                .binary_search(&(a as u32))
                .is_ok()
        })
        .unwrap_or(AUTO)
    };
    let mut candidates: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
    for (start, agent) in starts {
        if start.len() != n || agent.len() != n {
            return Err(OrchestrateError::InvalidParameter {
                name: "schedule",
                reason: format!("a starting schedule has {} starts for {n} tasks", start.len()),
            });
        }
        // Order by start, then by topological position (keeps precedence with zero gaps).
        let mut topo_pos = vec![0usize; n];
        for (i, &t) in inst.topo_order.iter().enumerate() {
            topo_pos[t] = i;
        }
        let mut seq: Vec<usize> = (0..n).collect();
        seq.sort_by_key(|&t| (start[t], topo_pos[t]));
        let mut pos = vec![0usize; n];
        if !ctx.is_topological(&seq, &mut pos) {
            seq = inst.topo_order.clone();
        }
        candidates.push((seq, (0..n).map(|t| capable(t, agent[t])).collect()));
    }
    {
        // Shortest task first among ready tasks, longest remaining path on ties.
        let bl = super::schedule::bottom_levels(inst);
        let mut missing: Vec<usize> = inst.tasks.iter().map(|t| t.preds.len()).collect();
        let mut ready: std::collections::BinaryHeap<(std::cmp::Reverse<usize>, usize, std::cmp::Reverse<usize>)> = (0
            ..n)
            .filter(|&t| missing[t] == 0)
            .map(|t| (std::cmp::Reverse(inst.tasks[t].duration), bl[t], std::cmp::Reverse(t)))
            .collect();
        let mut seq = Vec::with_capacity(n);
        while let Some((_, _, std::cmp::Reverse(t))) = ready.pop() {
            seq.push(t);
            for &u in &ctx.succ[t] {
                missing[u] -= 1;
                if missing[u] == 0 {
                    ready.push((std::cmp::Reverse(inst.tasks[u].duration), bl[u], std::cmp::Reverse(u)));
                }
            }
        }
        candidates.push((seq, vec![AUTO; n]));
    }
    for (seq, mut agent) in candidates {
        let c = dec.decode(&seq, &mut agent);
        if best.as_ref().is_none_or(|(b, _, _)| c < *b) {
            best = Some((c, seq, agent));
        }
    }
    let (c0, seq0, agent0) = best.expect("at least the shortest-first start");
    if c0 == (0, lb) {
        return Ok(finish(c0, &seq0, agent0, true, 0));
    }
    let results: Vec<(Cost, Vec<usize>, Vec<usize>, u64)> = (0..params.chains)
        .into_par_iter()
        .map(|k| {
            chain(
                &ctx,
                &seq0,
                &agent0,
                params.iterations,
                deadline,
                params.interrupt.as_ref(),
                derive_seed(params.seed, k as u64),
            )
        })
        .collect();
    let moves = results.iter().map(|r| r.3).sum();
    let (c, seq, agent, _) = results
        .into_iter()
        .fold(None::<(Cost, Vec<usize>, Vec<usize>, u64)>, |acc, r| match acc {
            Some(a) if a.0 <= r.0 => Some(a),
            _ => Some(r),
        })
        .expect("at least one chain");
    let (c, seq, agent) = if c <= c0 { (c, seq, agent) } else { (c0, seq0, agent0) };
    Ok(finish(c, &seq, agent, false, moves))
}

/// Share of the orchestrator's time budget given to the schedule search:
/// `tasks / (tasks + agents)`, clamped to [0.1, 0.9] (0 without tasks).
pub fn schedule_share(inst: &Instance) -> f64 {
    let (t, a) = (inst.tasks.len() as f64, inst.num_agents() as f64);
    if t == 0.0 { 0.0 } else { (t / (t + a)).clamp(0.1, 0.9) }
}

/// The orchestrator's schedule stage after the QUBO windows: [`improve_schedule`] from the
/// windows' schedule and the list schedule, with `time_limit` (without one: 2 chains of
/// `clamp(4e6 / tasks, 100, 2000)` moves, the same answer on any machine).
pub fn polish_schedule(
    inst: &Instance,
    windows: super::schedule::ScheduleResult,
    time_limit: Option<Duration>,
    seed: u64,
    interrupt: Option<&super::orchestrator::Interrupt>,
) -> Result<super::schedule::ScheduleResult, OrchestrateError> {
    let ls = super::schedule::list_schedule(inst);
    let list = (ls.start.iter().map(|s| s.unwrap_or(0)).collect(), ls.agent.clone());
    // Without a budget: 2,000 moves per chain, fewer for very many tasks (a move decodes
    // up to every task).
    let params = LnsParams {
        time_limit,
        seed,
        iterations: (4_000_000 / inst.tasks.len().max(1)).clamp(100, 2000),
        interrupt: interrupt.cloned(),
        ..LnsParams::default()
    };
    let r = improve_schedule(inst, &[(windows.start.clone(), windows.agent.clone()), list], &params)?;
    Ok(super::schedule::ScheduleResult {
        start: r.start,
        agent: r.agent.into_iter().map(Some).collect(),
        subproblems: windows.subproblems,
        qubo_wins: windows.qubo_wins,
    })
}
