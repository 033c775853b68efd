//! Scheduling: tasks to time slots (and then to agents), as QUBOs over windows of tasks.
//!
//! Task `t` (duration `d_t`, capability `c_t`) may start at slots `e_t + o`, `o` in
//! `0..W_t`, where `e_t` is its earliest start given its predecessors (fixed ones: their
//! finish; ones in the same window: their `e + d`). Variable `y[t,o] = 1` when `t` starts
//! at `e_t + o`. The energy of a window is
//!
//! ```text
//! E(y) = sum_t (e_t + d_t) + sum_{t,o} o y[t,o]                     total completion time
//!      + A sum_t (1 - sum_o y[t,o])^2                               one start per task
//!      + P sum_{a before b} sum_{s_b < s_a + d_a} y[a,.] y[b,.]      precedence
//!      + P sum_{a conflicts b} sum_{overlapping} y[a,.] y[b,.]       conflicts
//!      + P sum_{t,o overlapping a fixed conflicting task} y[t,o]
//!      + C sum_{c,tau} (sum_{t: c_t = c, s_t <= tau < s_t + d_t} y + S_{c,tau} - R_{c,tau})^2
//! ```
//!
//! For a feasible one-hot `y` the energy is the total completion time `sum_t (s_t + d_t)`
//! (the makespan's usual proxy). `R_{c,tau}` is the number of agents with capability `c`
//! minus those busy with fixed tasks at slot `tau`; the slack `S` is binary-encoded as in
//! [`super::assign`], and slots no window can overfill get no term. Automatic weights: with
//! `W = max_t W_t`, the most a task can gain by breaking a constraint is below `W`, so
//! `A = P = C = 2 W + 2` (times `scale`, overridable through [`PenaltySettings`]: `one_hot`
//! sets `A`, `constraint` sets `P` and `C`).
//!
//! Tasks are taken in the order of the greedy list schedule and cut into windows of
//! `chunk` tasks, solved one after another (earlier windows fixed). Each window's samples
//! are decoded and repaired (a task whose start breaks a constraint moves to its earliest
//! feasible slot, in precedence order); the best of them and of the greedy schedule of
//! the window is kept.

use super::OrchestrateError;
use super::assign::{PenaltySettings, add_square, encode_slack, slack_coefficients};
use super::validate::Instance;
use crate::batch::{BatchSolver, Subproblem};
use crate::model::{Couplings, Qubo, SampleSet};

/// Occupancy of the time slots by scheduled tasks, and of the agents running them.
///
/// An agent runs one task at a time. A task is placed only where an agent with its
/// capability is free for its whole duration (agents with fewer capabilities first, then
/// the lowest index), so per-slot capacity holds exactly; the QUBO's per-capability
/// counts are the relaxation of this that windows see.
#[derive(Clone, Debug)]
pub struct SlotState {
    /// Start slot of each task, once scheduled.
    pub start: Vec<Option<usize>>,
    /// Agent running each task, once scheduled.
    pub agent: Vec<Option<usize>>,
    running: Vec<Vec<u32>>,
    capacity: Vec<u32>,
    /// Agents of each capability in preference order.
    pref: std::sync::Arc<Vec<Vec<u32>>>,
    busy: std::collections::HashMap<u32, Vec<(usize, usize)>>,
}

impl SlotState {
    /// Nothing scheduled; capacity of a capability = number of agents having it.
    pub fn new(inst: &Instance) -> Self {
        let mut ncaps = vec![0u32; inst.num_agents()];
        for agents in &inst.capability_agents {
            for &a in agents {
                ncaps[a as usize] += 1;
            }
        }
        let pref: Vec<Vec<u32>> = inst
            .capability_agents
            .iter()
            .map(|agents| {
                let mut v = agents.clone();
                v.sort_by_key(|&a| (ncaps[a as usize], a));
                v
            })
            .collect();
        SlotState {
            start: vec![None; inst.tasks.len()],
            agent: vec![None; inst.tasks.len()],
            running: vec![Vec::new(); inst.capabilities.len()],
            capacity: inst.capability_agents.iter().map(|a| a.len() as u32).collect(),
            pref: std::sync::Arc::new(pref),
            busy: std::collections::HashMap::new(),
        }
    }

    /// The first agent (preference order) with capability `c` free during `[s, e)`.
    pub fn free_agent(&self, c: usize, s: usize, e: usize) -> Option<usize> {
        self.pref[c]
            .iter()
            .find(|a| {
                self.busy
                    .get(a)
                    .is_none_or(|iv| iv.iter().all(|&(bs, be)| be <= s || e <= bs))
            })
            .map(|&a| a as usize)
    }

    /// Tasks of capability `c` running at slot `tau`.
    pub fn running(&self, c: usize, tau: usize) -> u32 {
        self.running[c].get(tau).copied().unwrap_or(0)
    }

    /// Agents with capability `c` (tasks that may run at once).
    pub fn capacity(&self, c: usize) -> u32 {
        self.capacity[c]
    }

    /// Earliest start allowed by the predecessors scheduled so far.
    pub fn est(&self, inst: &Instance, t: usize) -> usize {
        inst.tasks[t]
            .preds
            .iter()
            .filter_map(|&p| self.start[p].map(|s| s + inst.tasks[p].duration))
            .max()
            .unwrap_or(0)
    }

    /// True when `t` can start at `s`: predecessors scheduled and finished, no scheduled
    /// conflicting task overlaps, and capacity is left at every slot it runs.
    pub fn feasible(&self, inst: &Instance, t: usize, s: usize) -> bool {
        let spec = &inst.tasks[t];
        if spec
            .preds
            .iter()
            .any(|&p| self.start[p].is_none_or(|ps| ps + inst.tasks[p].duration > s))
        {
            return false;
        }
        let end = s + spec.duration;
        if spec
            .conflicts
            .iter()
            .any(|&o| self.start[o].is_some_and(|os| os < end && s < os + inst.tasks[o].duration))
        {
            return false;
        }
        (s..end).all(|tau| self.running(spec.capability, tau) < self.capacity[spec.capability])
            && self.free_agent(spec.capability, s, end).is_some()
    }

    /// Earliest feasible start at or after `from` (always exists once predecessors are
    /// scheduled: far enough in time every slot is free).
    pub fn earliest(&self, inst: &Instance, t: usize, from: usize) -> usize {
        let mut s = from.max(self.est(inst, t));
        if inst.tasks[t].preds.iter().any(|&p| self.start[p].is_none()) {
            return s; // caller error: predecessors first; nothing to search
        }
        // Past the last busy slot everything is free, so the search ends.
        let last = self.running.iter().map(|r| r.len()).max().unwrap_or(0);
        while s <= last && !self.feasible(inst, t, s) {
            s += 1;
        }
        s
    }

    /// Schedules `t` at `s`.
    pub fn place(&mut self, inst: &Instance, t: usize, s: usize) {
        let spec = &inst.tasks[t];
        let r = &mut self.running[spec.capability];
        if r.len() < s + spec.duration {
            r.resize(s + spec.duration, 0);
        }
        for x in &mut r[s..s + spec.duration] {
            *x += 1;
        }
        self.start[t] = Some(s);
        let a = self.free_agent(spec.capability, s, s + spec.duration);
        if let Some(a) = a {
            self.busy.entry(a as u32).or_default().push((s, s + spec.duration));
        }
        self.agent[t] = a;
    }
}

/// Longest path from each task to the end of the DAG, its own duration included.
pub fn bottom_levels(inst: &Instance) -> Vec<usize> {
    let mut bl: Vec<usize> = inst.tasks.iter().map(|t| t.duration).collect();
    for &t in inst.topo_order.iter().rev() {
        for &p in &inst.tasks[t].preds {
            bl[p] = bl[p].max(bl[t] + inst.tasks[p].duration);
        }
    }
    bl
}

/// Greedy list schedule (serial generation): among tasks whose predecessors are all
/// scheduled, the one with the longest remaining path (lowest index on ties) goes to its
/// earliest feasible slot. Returns the final slot state (starts and agents).
pub fn list_schedule(inst: &Instance) -> SlotState {
    let n = inst.tasks.len();
    let bl = bottom_levels(inst);
    let mut state = SlotState::new(inst);
    let mut missing: Vec<usize> = inst.tasks.iter().map(|t| t.preds.len()).collect();
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (t, spec) in inst.tasks.iter().enumerate() {
        for &p in &spec.preds {
            succ[p].push(t);
        }
    }
    let mut ready: std::collections::BinaryHeap<(usize, std::cmp::Reverse<usize>)> = (0..n)
        .filter(|&t| missing[t] == 0)
        .map(|t| (bl[t], std::cmp::Reverse(t)))
        .collect();
    while let Some((_, std::cmp::Reverse(t))) = ready.pop() {
        let s = state.earliest(inst, t, 0);
        state.place(inst, t, s);
        for &u in &succ[t] {
            missing[u] -= 1;
            if missing[u] == 0 {
                ready.push((bl[u], std::cmp::Reverse(u)));
            }
        }
    }
    state
}

/// One slack-encoded per-slot capacity constraint: `sum vars + lo + sum coeffs * bits = r`.
#[derive(Clone, Debug)]
struct SlotSlack {
    first_bit: usize,
    coeffs: Vec<i64>,
    lo: i64,
    r: i64,
    vars: Vec<usize>,
}

/// The QUBO of one window of tasks (see the module docs).
#[derive(Clone, Debug)]
pub struct ScheduleQubo {
    /// The model.
    pub qubo: Qubo,
    /// Tasks of the window (global indices), in precedence-consistent order.
    pub tasks: Vec<usize>,
    /// Earliest start of each window task.
    pub est: Vec<usize>,
    /// Window length of each task.
    pub len: Vec<usize>,
    /// First variable of each task.
    pub first: Vec<usize>,
    /// Slack-encoded slot constraints.
    slack: Vec<SlotSlack>,
    /// One-hot weight used.
    pub one_hot: f64,
    /// Constraint weight used.
    pub constraint: f64,
}

/// Builds the QUBO of the window `tasks` (predecessors outside the window must be
/// scheduled in `fixed`), each task with `window` candidate slots.
pub fn build_schedule_qubo(
    inst: &Instance,
    fixed: &SlotState,
    tasks: &[usize],
    window: usize,
    pen: &PenaltySettings,
) -> Result<ScheduleQubo, OrchestrateError> {
    pen.check()?;
    if window == 0 {
        return Err(OrchestrateError::InvalidParameter {
            name: "schedule_window",
            reason: "must be at least 1".into(),
        });
    }
    let nt = tasks.len();
    let mut local = std::collections::HashMap::new();
    for (i, &t) in tasks.iter().enumerate() {
        local.insert(t, i);
    }
    // Earliest starts, in the given (precedence-consistent) order.
    let mut est = vec![0usize; nt];
    for (i, &t) in tasks.iter().enumerate() {
        let mut e = 0;
        for &p in &inst.tasks[t].preds {
            let f = match (local.get(&p), fixed.start[p]) {
                (Some(&j), _) => est[j] + inst.tasks[p].duration,
                (None, Some(s)) => s + inst.tasks[p].duration,
                (None, None) => {
                    return Err(OrchestrateError::InvalidParameter {
                        name: "schedule_window",
                        reason: format!("task {t}'s predecessor {p} is neither fixed nor in the window"),
                    });
                }
            };
            e = e.max(f);
        }
        est[i] = e;
    }
    let len = vec![window; nt];
    let mut first = vec![0usize; nt];
    let mut nv = 0;
    for i in 0..nt {
        first[i] = nv;
        nv += len[i];
    }
    // Slot capacity constraints.
    let mut slack = Vec::new();
    let mut by_cap: std::collections::BTreeMap<(usize, usize), Vec<usize>> = std::collections::BTreeMap::new();
    for (i, &t) in tasks.iter().enumerate() {
        let spec = &inst.tasks[t];
        for o in 0..len[i] {
            let s = est[i] + o;
            for tau in s..s + spec.duration {
                by_cap.entry((spec.capability, tau)).or_default().push(first[i] + o);
            }
        }
    }
    for ((c, tau), vars) in &by_cap {
        let mut distinct: Vec<usize> = vars.iter().map(|&v| first.partition_point(|&f| f <= v) - 1).collect();
        distinct.dedup();
        let count = distinct.len() as i64;
        let r = (fixed.capacity(*c) as i64 - fixed.running(*c, *tau) as i64).max(0);
        if count <= r {
            continue;
        }
        let lo = (r - count).max(0);
        let coeffs = slack_coefficients(r - lo);
        slack.push(SlotSlack {
            first_bit: nv,
            coeffs: coeffs.clone(),
            lo,
            r,
            vars: vars.clone(),
        });
        nv += coeffs.len();
    }
    let auto = 2.0 * window as f64 + 2.0;
    let (a_w, p_w) = pen.resolve(auto, auto, nv);
    let mut linear = vec![0.0; nv];
    let mut quad: Vec<(u32, u32, f64)> = Vec::new();
    let mut offset = 0.0;
    for (i, &t) in tasks.iter().enumerate() {
        let spec = &inst.tasks[t];
        offset += (est[i] + spec.duration) as f64 + a_w;
        for o in 0..len[i] {
            let v = first[i] + o;
            linear[v] += o as f64 - a_w;
            for o2 in o + 1..len[i] {
                quad.push((v as u32, (first[i] + o2) as u32, 2.0 * a_w));
            }
            // Fixed conflicting tasks.
            let (s, e) = (est[i] + o, est[i] + o + spec.duration);
            let clash = spec.conflicts.iter().any(|&x| {
                !local.contains_key(&x) && fixed.start[x].is_some_and(|xs| xs < e && s < xs + inst.tasks[x].duration)
            });
            if clash {
                linear[v] += p_w;
            }
        }
    }
    for (i, &t) in tasks.iter().enumerate() {
        let spec = &inst.tasks[t];
        for (j, &u) in tasks.iter().enumerate() {
            if j == i {
                continue;
            }
            let before = inst.tasks[u].preds.contains(&t); // t before u
            let conflict = j > i && spec.conflicts.contains(&u);
            if !before && !conflict {
                continue;
            }
            for o in 0..len[i] {
                let sa = est[i] + o;
                for o2 in 0..len[j] {
                    let sb = est[j] + o2;
                    let bad_prec = before && sb < sa + spec.duration;
                    let bad_conf = conflict && sa < sb + inst.tasks[u].duration && sb < sa + spec.duration;
                    if bad_prec || bad_conf {
                        quad.push(((first[i] + o) as u32, (first[j] + o2) as u32, p_w));
                    }
                }
            }
        }
    }
    for c in &slack {
        let mut terms: Vec<(usize, f64)> = c.vars.iter().map(|&v| (v, 1.0)).collect();
        terms.extend(c.coeffs.iter().enumerate().map(|(b, &g)| (c.first_bit + b, g as f64)));
        add_square(&terms, (c.lo - c.r) as f64, p_w, &mut linear, &mut quad, &mut offset);
    }
    let qubo = Qubo::new(linear, Couplings::from_triplets(nv, quad)?, offset)?;
    Ok(ScheduleQubo {
        qubo,
        tasks: tasks.to_vec(),
        est,
        len,
        first,
        slack,
        one_hot: a_w,
        constraint: p_w,
    })
}

impl ScheduleQubo {
    /// Start of each window task in `y` (`None`: no slot set; several: the earliest).
    pub fn decode(&self, y: &[i8]) -> Vec<Option<usize>> {
        (0..self.tasks.len())
            .map(|i| {
                (0..self.len[i])
                    .find(|&o| y[self.first[i] + o] != 0)
                    .map(|o| self.est[i] + o)
            })
            .collect()
    }

    /// The state of given starts (starts outside a window set no bit), slack bits set to
    /// make satisfied slot constraints exact.
    pub fn encode(&self, starts: &[usize]) -> Vec<i8> {
        let mut y = vec![0i8; self.qubo.num_variables()];
        for (i, &s) in starts.iter().enumerate() {
            if s >= self.est[i] && s < self.est[i] + self.len[i] {
                y[self.first[i] + s - self.est[i]] = 1;
            }
        }
        for c in &self.slack {
            let used: i64 = c.vars.iter().map(|&v| y[v] as i64).sum();
            let value = (c.r - used - c.lo).clamp(0, c.coeffs.iter().sum());
            for (b, bit) in encode_slack(&c.coeffs, value).into_iter().enumerate() {
                y[c.first_bit + b] = bit;
            }
        }
        y
    }
}

/// Places the window tasks at `starts` where feasible, else at their earliest feasible
/// slot, in window order; returns the starts and their total completion time.
pub fn repair_window(
    inst: &Instance,
    state: &mut SlotState,
    tasks: &[usize],
    starts: &[Option<usize>],
) -> (Vec<usize>, f64) {
    let mut out = Vec::with_capacity(tasks.len());
    let mut total = 0.0;
    for (i, &t) in tasks.iter().enumerate() {
        let s = match starts[i] {
            Some(s) if state.feasible(inst, t, s) => s,
            _ => state.earliest(inst, t, 0),
        };
        state.place(inst, t, s);
        total += (s + inst.tasks[t].duration) as f64;
        out.push(s);
    }
    (out, total)
}

/// Result of [`schedule`].
#[derive(Clone, Debug)]
pub struct ScheduleResult {
    /// Start of every task.
    pub start: Vec<usize>,
    /// Agent of every task.
    pub agent: Vec<Option<usize>>,
    /// Windows solved.
    pub subproblems: usize,
    /// Windows where a decoded QUBO sample beat the greedy schedule of the window.
    pub qubo_wins: usize,
}

/// Schedules every task, window by window through `backend` (see the module docs).
pub fn schedule(
    inst: &Instance,
    backend: &dyn BatchSolver,
    chunk: usize,
    window: usize,
    pen: &PenaltySettings,
    seed: u64,
) -> Result<ScheduleResult, OrchestrateError> {
    let n = inst.tasks.len();
    let greedy: Vec<usize> = list_schedule(inst)
        .start
        .into_iter()
        .map(|s| s.expect("every task scheduled"))
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&t| (greedy[t], t));
    let mut state = SlotState::new(inst);
    let mut subproblems = 0;
    let mut qubo_wins = 0;
    for (ci, tasks) in order.chunks(chunk.max(1)).enumerate() {
        let sq = build_schedule_qubo(inst, &state, tasks, window, pen)?;
        // Greedy for this window, as warm start and fallback.
        let mut gstate = state.clone();
        let gstarts: Vec<Option<usize>> = vec![None; tasks.len()];
        let (gs, gcost) = repair_window(inst, &mut gstate, tasks, &gstarts);
        let sp = Subproblem {
            id: ci as u64,
            warm_start: Some(sq.encode(&gs)),
            model: crate::model::Model::Qubo(sq.qubo.clone()),
            seed: crate::rng::derive_seed(seed, ci as u64),
        };
        let ctx = crate::solvers::SolveContext::default();
        let sets: Vec<SampleSet> = backend.solve_batch(std::slice::from_ref(&sp), &ctx)?;
        subproblems += 1;
        let mut best = (gstate, gcost, false);
        for s in sets[0].samples().iter().take(4) {
            let mut st = state.clone();
            let (_, cost) = repair_window(inst, &mut st, tasks, &sq.decode(&s.state));
            if cost < best.1 - 1e-9 {
                best = (st, cost, true);
            }
        }
        qubo_wins += usize::from(best.2);
        state = best.0;
    }
    Ok(ScheduleResult {
        start: state
            .start
            .into_iter()
            .map(|s| s.expect("every task scheduled"))
            .collect(),
        agent: state.agent,
        subproblems,
        qubo_wins,
    })
}
