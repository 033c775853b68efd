//! `cqm-sa`: simulated annealing that keeps constraints native.
//!
//! * One-hot groups are never broken: a group moves by **reassigning** its chosen variable
//!   (shift), other variables by single flips.
//! * Every other constraint's left-hand side is tracked incrementally; its violation is
//!   priced by a **multiplier that adapts** during the run (raised by 2% after every sweep
//!   in which the constraint is violated, lowered by 0.5% while it holds, within
//!   `[0.1, 1e4]` times its start value), so the search may cross infeasible regions but is
//!   pulled back to feasible ones.
//! * **Ejection chains** for tight knapsacks: a move that overloads a constraint may be
//!   followed (as one compound move, accepted or undone as a whole) by up to two repair
//!   steps that push another group out of the overloaded constraint to one of its best
//!   sampled alternatives (which includes the place the first group left, so swaps of two
//!   groups are covered) or flip a variable that relieves it.
//! * **Swaps**: two groups exchange places (each takes the variable of the other's first
//!   constraint, e.g. two agents trade pools), as one move.
//! * **Candidate lists** (objectives without negative couplings, e.g. generalized
//!   assignment): groups of more than 8 variables rank them by Lagrangian reduced
//!   cost ([`super::lagrange`]: objective plus capacity prices from subgradient steps); a
//!   shift tries one of the best `min(8, size / 2)` 3 times in 4 (else any), and a repair tries the 4 best
//!   before random alternatives. The same relaxation gives [`CqmSolution::bound`].
//! * **Team moves** (objectives with negative couplings, e.g. traffic between agents that
//!   share a pool): one move in 8 shifts a group to another place together with up to 8
//!   groups coupled to it in its current place.
//! * **Ejection-chain phase** (assignment-shaped models, e.g. generalized assignment: linear
//!   objective, every variable in a one-hot group and in exactly one `<=` capacity; see
//!   [`super::ejection`]): after every annealing cycle each chain improves its best state by
//!   shift / swap / ejection-chain descent under adaptive capacity penalties (strategic
//!   oscillation) until 50 weight updates in a row bring no better feasible state (at most
//!   20 updates without a time limit; up to 4,000 groups). Swaps and chains move a job only
//!   to its `max(10, places / 4)` places of least reduced cost (shifts try every place), and
//!   every infeasible local optimum is also repaired on a copy (the best feasible
//!   assignment near it is kept). At the start every chain builds the regret-greedy
//!   assignment by reduced cost (Martello-Toth), repairs what it overloads, improves it
//!   this way (each chain with its own random stream) and anneals its first cycle from the
//!   result at the restart temperature: a feasible plan within milliseconds on tight
//!   instances, and no chain spends its first cycle annealing from a random state.
//! * **Restarts**: the run is a sequence of annealing cycles (geometric temperature from hot
//!   to cold over `sweeps` sweeps); later cycles reheat less and start from the best feasible
//!   state found so far (even chains: all chains' best, odd chains: their own).
//!
//! Chains are independent and seeded by index (`rng::Rng::stream(seed, chain)`), cycles
//! run in lock-step epochs over the rayon pool, so with a fixed number of cycles the answer
//! does not depend on the thread count. With a time limit the run is *anytime*: it keeps
//! cycling until the limit (or the target energy) and returns the best feasible state found,
//! or, when none was, the least-violated one with every violated constraint named.

#![allow(clippy::needless_range_loop)] // index loops over parallel arrays read clearest here

use super::ejection::{self, Assign};
use super::{Cmp, ConstrainedModel, ConstraintViolation, CqmError, tolerance};
use crate::rng::Rng;
use crate::solvers::{SolveContext, StopReason};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Parameters of [`CqmSaSolver`].
#[derive(Clone, Debug)]
pub struct CqmSaParams {
    /// Independent chains (default 4); the answer depends on this, not on the thread count.
    pub chains: usize,
    /// Sweeps per annealing cycle; a sweep is one move attempt per movable group or free
    /// variable (default 1000).
    pub sweeps: usize,
    /// Cycles per chain when there is no time limit (default 4). With a time limit, cycles
    /// repeat until the limit or the target.
    pub cycles: usize,
    /// Seed.
    pub seed: u64,
    /// Wall-time budget; the run returns the best state found when it is spent.
    pub time_limit: Option<Duration>,
    /// Stop as soon as a feasible state with energy (minimisation sense) at or below this
    /// is found.
    pub target_energy: Option<f64>,
}

impl Default for CqmSaParams {
    fn default() -> Self {
        CqmSaParams {
            chains: 4,
            sweeps: 1000,
            cycles: 4,
            seed: 0,
            time_limit: None,
            target_energy: None,
        }
    }
}

impl CqmSaParams {
    /// Checks the parameters (errors name the field).
    pub fn validate(&self) -> Result<(), CqmError> {
        if self.chains == 0 {
            return Err(CqmError::Param {
                name: "chains",
                msg: "must be at least 1".into(),
            });
        }
        if self.sweeps == 0 {
            return Err(CqmError::Param {
                name: "sweeps",
                msg: "must be at least 1".into(),
            });
        }
        if self.cycles == 0 {
            return Err(CqmError::Param {
                name: "cycles",
                msg: "must be at least 1".into(),
            });
        }
        if let Some(t) = self.target_energy
            && t.is_nan()
        {
            return Err(CqmError::Param {
                name: "target_energy",
                msg: "is NaN".into(),
            });
        }
        Ok(())
    }
}

/// The result of a [`CqmSaSolver`] run.
#[derive(Clone, Debug)]
pub struct CqmSolution {
    /// Best state (0/1 per variable).
    pub state: Vec<u8>,
    /// Objective in the minimisation sense at `state`.
    pub energy: f64,
    /// Objective in the model's own sense at `state`.
    pub objective: f64,
    /// True when every constraint holds at `state`.
    pub feasible: bool,
    /// Violated constraints at `state` (empty when feasible).
    pub violations: Vec<ConstraintViolation>,
    /// Annealing cycles run, over all chains.
    pub cycles: usize,
    /// Sweeps run, over all chains.
    pub sweeps: u64,
    /// Seconds from the start to the first feasible state (any chain), if one was found.
    pub time_to_feasible_s: Option<f64>,
    /// Wall time of the run, seconds.
    pub elapsed_s: f64,
    /// Why the run stopped.
    pub stop: StopReason,
    /// Lagrangian lower bound on the energy of every feasible state (minimisation sense,
    /// offset included; [`super::lagrange`]), when the objective is linear and the model
    /// has constraints besides its one-hot groups.
    pub bound: Option<f64>,
    /// Anytime trace: `(seconds since the start, energy)` each time the best feasible
    /// energy over all chains (minimisation sense, offset included) improved, in time
    /// order, strictly decreasing. The value in force at time `t` is what the same run
    /// stopped at `t` would have returned (chains are independent within a cycle).
    /// Improvements less than [`TRACE_RESOLUTION_S`] apart are folded into one entry at the
    /// later time (so an entry may be up to that late). The last entry is the answer's
    /// exact energy when `feasible`; empty when no feasible state was found.
    pub trace: Vec<(f64, f64)>,
}

/// Time resolution of [`CqmSolution::trace`], seconds: improvements that fall in the same
/// window of this length (counted from the start) make one entry.
pub const TRACE_RESOLUTION_S: f64 = 1e-3;

/// Merges per-chain improvement events `(seconds, energy)` into the running minimum over
/// all chains (see [`CqmSolution::trace`]); `answer` is the exact energy of the returned
/// state when it is feasible (it replaces the last value, which the chains track
/// incrementally), `None` when no feasible state was returned (the trace is then empty);
/// `end_s` is the time given to the answer when no event was recorded.
pub(crate) fn merge_trace(mut events: Vec<(f64, f64)>, answer: Option<f64>, end_s: f64) -> Vec<(f64, f64)> {
    let Some(answer) = answer else {
        return Vec::new();
    };
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (t, e) in events {
        if out.last().is_some_and(|&(_, le)| e >= le) {
            continue;
        }
        match out.last_mut() {
            Some(last) if (last.0 / TRACE_RESOLUTION_S).floor() == (t / TRACE_RESOLUTION_S).floor() => {
                *last = (t, e);
            }
            _ => out.push((t, e)),
        }
    }
    // The answer is judged on exact energies; entries are the chains' incremental ones
    // (equal for integer data, within rounding otherwise). Drop entries rounding put at or
    // below the answer, then end at the answer itself.
    while out.len() >= 2 && out[out.len() - 2].1 <= answer {
        out.pop();
    }
    match out.last_mut() {
        Some(last) => last.1 = answer,
        None => out.push((end_s, answer)),
    }
    out
}

/// The constrained annealer (see the [`cqm`](crate::cqm) module docs).
#[derive(Clone, Debug, Default)]
pub struct CqmSaSolver {
    /// Parameters.
    pub params: CqmSaParams,
}

const NONE: u32 = u32::MAX;
const LAMBDA_UP: f64 = 1.02;
const LAMBDA_DOWN: f64 = 0.995;
/// Multipliers stay within `[LAMBDA_FLOOR, 1e4]` times their start value.
const LAMBDA_FLOOR: f64 = 0.1;

/// The model compiled for the search (minimisation sense, one-hot constraints removed).
struct Compiled {
    n: usize,
    lin: Vec<f64>,
    adj: Vec<Vec<(u32, f64)>>,
    groups: Vec<Vec<u32>>,
    group_of: Vec<u32>,
    /// Movable units: `(true, g)` a group with at least two variables, `(false, v)` a free
    /// variable.
    units: Vec<(bool, u32)>,
    /// Non-one-hot constraints.
    sense: Vec<Cmp>,
    rhs: Vec<f64>,
    tol: Vec<f64>,
    vars: Vec<Vec<(u32, f64)>>,
    /// Occurrences of each variable in constraints: `occ_start[v]..occ_start[v+1]`.
    occ_start: Vec<usize>,
    occ: Vec<(u32, f64)>,
    lambda0: Vec<f64>,
    /// Typical objective change of a move (temperature scale).
    scale: f64,
    /// First constraint of each variable (`NONE` if none): the "place" a swap exchanges.
    primary: Vec<u32>,
    /// `(group, primary constraint) -> variable` for swaps.
    by_place: std::collections::HashMap<(u32, u32), u32>,
    /// Groups with at least two variables.
    movable_groups: Vec<u32>,
    /// Per group with more than [`CAND_MIN_GROUP`] variables: its [`CANDIDATES`] variables of
    /// least Lagrangian reduced cost, best first (empty for other groups, and for every group
    /// when team moves apply: the reduced costs ignore the couplings).
    cands: Vec<Vec<u32>>,
    /// True when some coupling is negative (variables that like to be on together, e.g.
    /// communicating agents in one pool): enables team moves.
    teams: bool,
}

/// Most groups a team move carries along with the group it starts from.
const TEAM_MAX: usize = 8;

/// Groups larger than this get a candidate list ([`Compiled::cands`]).
const CAND_MIN_GROUP: usize = 8;
/// Longest candidate list (a group of `k` variables gets `min(CANDIDATES, k / 2)`).
const CANDIDATES: usize = 8;
use super::lagrange::STEPS as LAGRANGE_STEPS;

impl Compiled {
    fn new(m: &ConstrainedModel, rc: Option<&[f64]>) -> Self {
        let n = m.num_variables();
        let sign = m.to_energy(1.0);
        let lin: Vec<f64> = m.linear().iter().map(|&c| sign * c).collect();
        let mut adj = vec![Vec::new(); n];
        for (i, j, q) in m.quadratic() {
            adj[i].push((j as u32, sign * q));
            adj[j].push((i as u32, sign * q));
        }
        let groups: Vec<Vec<u32>> = m
            .one_hot_groups()
            .into_iter()
            .map(|g| g.into_iter().map(|v| v as u32).collect())
            .collect();
        let mut group_of = vec![NONE; n];
        for (g, vs) in groups.iter().enumerate() {
            for &v in vs {
                group_of[v as usize] = g as u32;
            }
        }
        let mut units = Vec::new();
        for (g, vs) in groups.iter().enumerate() {
            if vs.len() >= 2 {
                units.push((true, g as u32));
            }
        }
        for v in 0..n {
            if group_of[v] == NONE {
                units.push((false, v as u32));
            }
        }
        let one_hot: std::collections::HashSet<usize> = m.one_hot_constraints().iter().copied().collect();
        let (mut sense, mut rhs, mut tol, mut vars) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut occ_lists: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
        for (c, k) in m.constraints().iter().enumerate() {
            if one_hot.contains(&c) {
                continue;
            }
            let ci = sense.len() as u32;
            sense.push(k.sense);
            rhs.push(k.rhs);
            tol.push(tolerance(k.rhs));
            let vs: Vec<(u32, f64)> = k
                .terms
                .iter()
                .filter(|t| t.1 != 0.0)
                .map(|&(v, a)| (v as u32, a))
                .collect();
            for &(v, a) in &vs {
                occ_lists[v as usize].push((ci, a));
            }
            vars.push(vs);
        }
        let mut occ_start = vec![0];
        let mut occ = Vec::new();
        for l in &occ_lists {
            occ.extend_from_slice(l);
            occ_start.push(occ.len());
        }
        // Temperature scale: mean |objective change| of a random single move, estimated
        // from coefficients (deterministic).
        let mut sum = 0.0;
        let mut cnt = 0usize;
        for v in 0..n {
            let mut d = lin[v].abs();
            for &(_, q) in &adj[v] {
                d += 0.5 * q.abs();
            }
            sum += d;
            cnt += 1;
        }
        let mut scale = if cnt > 0 { sum / cnt as f64 } else { 1.0 };
        if !(scale > 0.0 && scale.is_finite()) {
            scale = 1.0;
        }
        // Multiplier start: a violation by one typical coefficient costs about `scale`.
        let lambda0 = vars
            .iter()
            .map(|vs| {
                let mean = vs.iter().map(|t| t.1.abs()).sum::<f64>() / vs.len().max(1) as f64;
                if mean > 0.0 { scale / mean } else { scale }
            })
            .collect();
        let primary: Vec<u32> = (0..n)
            .map(|v| {
                if occ_start[v] < occ_start[v + 1] {
                    occ[occ_start[v]].0
                } else {
                    NONE
                }
            })
            .collect();
        let mut by_place = std::collections::HashMap::new();
        for (g, vs) in groups.iter().enumerate() {
            for &v in vs {
                if primary[v as usize] != NONE {
                    by_place.entry((g as u32, primary[v as usize])).or_insert(v);
                }
            }
        }
        let movable_groups = (0..groups.len() as u32)
            .filter(|&g| groups[g as usize].len() >= 2)
            .collect();
        let teams = adj.iter().any(|a| a.iter().any(|&(_, q)| q < 0.0));
        let cands = groups
            .iter()
            .map(|vs| match rc {
                Some(rc) if vs.len() > CAND_MIN_GROUP && !teams => {
                    let mut c = vs.clone();
                    c.sort_by(|&a, &b| rc[a as usize].total_cmp(&rc[b as usize]).then(a.cmp(&b)));
                    c.truncate(CANDIDATES.min(vs.len() / 2));
                    c
                }
                _ => Vec::new(),
            })
            .collect();
        Compiled {
            teams,
            cands,
            primary,
            by_place,
            movable_groups,
            n,
            lin,
            adj,
            groups,
            group_of,
            units,
            sense,
            rhs,
            tol,
            vars,
            occ_start,
            occ,
            lambda0,
            scale,
        }
    }

    #[inline]
    fn occ_range(&self, v: usize) -> std::ops::Range<usize> {
        self.occ_start[v]..self.occ_start[v + 1]
    }
}

/// One chain's mutable state.
struct Chain {
    x: Vec<u8>,
    field: Vec<f64>,
    lhs: Vec<f64>,
    lambda: Vec<f64>,
    /// Variables currently 1, per constraint; `apos[k]` is the position of the occurrence
    /// `occ[k]` in its constraint's list (when the variable is 1).
    active: Vec<Vec<u32>>,
    apos: Vec<u32>,
    /// Chosen variable of each group.
    choice: Vec<u32>,
    f: f64,
    nviol: usize,
    rng: Rng,
    undo: Vec<u32>,
    best: Option<(Vec<u8>, f64)>,
    least: Option<(Vec<u8>, f64, f64)>,
    sweeps: u64,
    cycles: usize,
    first_feasible: Option<Instant>,
    /// Improvements of `best`: `(when, energy without offset)`.
    trace: Vec<(Instant, f64)>,
}

impl Chain {
    fn new(p: &Compiled, seed: u64, chain: u64) -> Self {
        let mut rng = Rng::stream(seed, chain);
        let mut x = vec![0u8; p.n];
        let mut choice = vec![0u32; p.groups.len()];
        for (g, vs) in p.groups.iter().enumerate() {
            let v = vs[rng.below(vs.len() as u64) as usize];
            choice[g] = v;
            x[v as usize] = 1;
        }
        for v in 0..p.n {
            if p.group_of[v] == NONE && rng.bit() {
                x[v] = 1;
            }
        }
        let mut c = Chain {
            x: Vec::new(),
            field: vec![0.0; p.n],
            lhs: vec![0.0; p.vars.len()],
            lambda: p.lambda0.clone(),
            active: vec![Vec::new(); p.vars.len()],
            apos: vec![NONE; p.occ.len()],
            choice,
            f: 0.0,
            nviol: 0,
            rng,
            undo: Vec::new(),
            best: None,
            least: None,
            sweeps: 0,
            cycles: 0,
            first_feasible: None,
            trace: Vec::new(),
        };
        c.load(p, &x);
        c
    }

    /// Sets the state to `x` and recomputes everything from scratch.
    fn load(&mut self, p: &Compiled, x: &[u8]) {
        self.x = x.to_vec();
        for (g, vs) in p.groups.iter().enumerate() {
            self.choice[g] = *vs.iter().find(|&&v| x[v as usize] != 0).expect("one-hot state");
        }
        self.f = 0.0;
        for v in 0..p.n {
            self.field[v] = p.lin[v];
        }
        for v in 0..p.n {
            if x[v] != 0 {
                for &(j, q) in &p.adj[v] {
                    self.field[j as usize] += q;
                }
            }
        }
        for v in 0..p.n {
            if x[v] != 0 {
                // field includes q x_j for both ends: f = sum lin + 1/2 sum_{i,j} q
                self.f += 0.5 * (p.lin[v] + self.field[v]);
            }
        }
        for a in &mut self.active {
            a.clear();
        }
        self.apos.iter_mut().for_each(|a| *a = NONE);
        self.nviol = 0;
        for c in 0..p.vars.len() {
            let mut l = 0.0;
            for &(v, a) in &p.vars[c] {
                if x[v as usize] != 0 {
                    l += a;
                }
            }
            self.lhs[c] = l;
            if p.sense[c].violation(l, p.rhs[c]) > p.tol[c] {
                self.nviol += 1;
            }
        }
        for v in 0..p.n {
            if x[v] != 0 {
                for k in p.occ_range(v) {
                    let c = p.occ[k].0 as usize;
                    self.apos[k] = self.active[c].len() as u32;
                    self.active[c].push(v as u32);
                }
            }
        }
    }

    /// Flips `v`, returns the change of the penalised energy.
    #[inline]
    fn flip(&mut self, p: &Compiled, v: usize) -> f64 {
        let on = self.x[v] == 0;
        let s = if on { 1.0 } else { -1.0 };
        let df = s * self.field[v];
        self.x[v] ^= 1;
        for &(j, q) in &p.adj[v] {
            self.field[j as usize] += s * q;
        }
        let mut dp = 0.0;
        for k in p.occ_range(v) {
            let (c, a) = p.occ[k];
            let c = c as usize;
            let old = self.lhs[c];
            let new = old + s * a;
            let vo = p.sense[c].violation(old, p.rhs[c]);
            let vn = p.sense[c].violation(new, p.rhs[c]);
            dp += self.lambda[c] * (vn - vo);
            let was = vo > p.tol[c];
            let is = vn > p.tol[c];
            if was && !is {
                self.nviol -= 1;
            } else if is && !was {
                self.nviol += 1;
            }
            self.lhs[c] = new;
            if on {
                self.apos[k] = self.active[c].len() as u32;
                self.active[c].push(v as u32);
            } else {
                let pos = self.apos[k] as usize;
                self.apos[k] = NONE;
                let list = &mut self.active[c];
                list.swap_remove(pos);
                if pos < list.len() {
                    let w = list[pos] as usize;
                    for kw in p.occ_range(w) {
                        if p.occ[kw].0 as usize == c {
                            self.apos[kw] = pos as u32;
                            break;
                        }
                    }
                }
            }
        }
        self.f += df;
        self.undo.push(v as u32);
        df + dp
    }

    /// Moves group `g` to variable `b`; returns the penalised energy change.
    #[inline]
    fn shift(&mut self, p: &Compiled, g: usize, b: u32) -> f64 {
        let a = self.choice[g];
        let d = self.flip(p, a as usize) + self.flip(p, b as usize);
        self.choice[g] = b;
        d
    }

    fn rollback(&mut self, p: &Compiled) {
        while let Some(v) = self.undo.pop() {
            let v = v as usize;
            self.flip(p, v);
            self.undo.pop();
            let g = p.group_of[v];
            if g != NONE && self.x[v] != 0 {
                self.choice[g as usize] = v as u32;
            }
        }
    }

    /// A constraint among `v`'s that is violated now, if any (random start).
    fn violated_of(&mut self, p: &Compiled, v: usize) -> Option<usize> {
        let r = p.occ_range(v);
        let len = r.len();
        if len == 0 {
            return None;
        }
        let off = if len > 1 {
            self.rng.below(len as u64) as usize
        } else {
            0
        };
        for i in 0..len {
            let c = p.occ[r.start + (off + i) % len].0 as usize;
            if p.sense[c].violation(self.lhs[c], p.rhs[c]) > p.tol[c] {
                return Some(c);
            }
        }
        None
    }

    /// One repair step on violated constraint `c`: returns the energy change and the
    /// variable turned on (if any), or `None` when no repair applies.
    fn repair(&mut self, p: &Compiled, c: usize, avoid_group: u32, home: u32) -> Option<(f64, u32)> {
        let too_high = match p.sense[c] {
            Cmp::Le => true,
            Cmp::Ge => false,
            Cmp::Eq => self.lhs[c] > p.rhs[c],
        };
        if too_high {
            // push out an active variable with a positive coefficient
            let list = &self.active[c];
            if list.is_empty() {
                return None;
            }
            let w = list[self.rng.below(list.len() as u64) as usize] as usize;
            let g = p.group_of[w];
            if g == NONE {
                return Some((self.flip(p, w), NONE));
            }
            if g == avoid_group || p.groups[g as usize].len() < 2 {
                return None;
            }
            let b = self.best_alternative(p, g as usize, home)?;
            Some((self.shift(p, g as usize, b), b))
        } else {
            let vs = &p.vars[c];
            for _ in 0..8 {
                let (w, a) = vs[self.rng.below(vs.len() as u64) as usize];
                let w = w as usize;
                if self.x[w] != 0 || a <= 0.0 {
                    continue;
                }
                let g = p.group_of[w];
                if g == NONE {
                    return Some((self.flip(p, w), w as u32));
                }
                if g == avoid_group {
                    continue;
                }
                return Some((self.shift(p, g as usize, w as u32), w as u32));
            }
            None
        }
    }

    /// The best (penalised) of up to 6 sampled alternatives for group `g`, plus the variable
    /// of `g` that shares a constraint with `home` (the swap partner).
    fn best_alternative(&mut self, p: &Compiled, g: usize, home: u32) -> Option<u32> {
        let vs = &p.groups[g];
        let cur = self.choice[g];
        let mut cands: [u32; 7] = [NONE; 7];
        let mut nc = 0;
        if home != NONE {
            let home_cons = p.occ_range(home as usize);
            'outer: for &v in vs {
                if v == cur {
                    continue;
                }
                for k in p.occ_range(v as usize) {
                    if home_cons.clone().any(|kh| p.occ[kh].0 == p.occ[k].0) {
                        cands[nc] = v;
                        nc += 1;
                        break 'outer;
                    }
                }
            }
        }
        // the best-ranked candidates first (up to 4), then random alternatives
        for &v in p.cands[g].iter() {
            if nc >= 4 {
                break;
            }
            if v != cur && !cands[..nc].contains(&v) {
                cands[nc] = v;
                nc += 1;
            }
        }
        let tries = if vs.len() <= 7 { vs.len() } else { 6 };
        for t in 0..tries {
            let v = if vs.len() <= 7 {
                vs[t]
            } else {
                vs[self.rng.below(vs.len() as u64) as usize]
            };
            if v != cur && !cands[..nc].contains(&v) && nc < 7 {
                cands[nc] = v;
                nc += 1;
            }
        }
        let mut best: Option<(f64, u32)> = None;
        for &b in &cands[..nc] {
            let mark = self.undo.len();
            let d = self.shift(p, g, b);
            // undo just this shift
            while self.undo.len() > mark {
                let v = self.undo.pop().expect("mark") as usize;
                self.flip(p, v);
                self.undo.pop();
            }
            self.choice[g] = cur;
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, b));
            }
        }
        best.map(|(_, b)| b)
    }

    /// Team move: group `g` moves to a variable of another place and takes along the groups
    /// it is coupled to by negative couplings that sit in its current place (teammates,
    /// at most [`TEAM_MAX`]), each to its variable of the new place; Metropolis on the whole.
    /// Returns false when no team move applies (nothing was changed).
    fn team_move(&mut self, p: &Compiled, t: f64) -> bool {
        let g = p.movable_groups[self.rng.below(p.movable_groups.len() as u64) as usize] as usize;
        let vs = &p.groups[g];
        let cur = self.choice[g];
        let mut b = vs[self.rng.below(vs.len() as u64 - 1) as usize];
        if b == cur {
            b = vs[vs.len() - 1];
        }
        let place = p.primary[b as usize];
        if place == NONE || place == p.primary[cur as usize] {
            return false;
        }
        let mut team: [(u32, u32); TEAM_MAX] = [(NONE, NONE); TEAM_MAX];
        let mut nt = 0;
        for &(j, q) in &p.adj[cur as usize] {
            if nt == TEAM_MAX {
                break;
            }
            let h = p.group_of[j as usize];
            if q >= 0.0 || self.x[j as usize] == 0 || h == NONE || h as usize == g {
                continue;
            }
            if let Some(&bh) = p.by_place.get(&(h, place))
                && bh != self.choice[h as usize]
                && !team[..nt].iter().any(|&(th, _)| th == h)
            {
                team[nt] = (h, bh);
                nt += 1;
            }
        }
        if nt == 0 {
            return false;
        }
        let mut d = self.shift(p, g, b);
        for &(h, bh) in &team[..nt] {
            d += self.shift(p, h as usize, bh);
        }
        if d <= 0.0 || self.rng.next_f64() < (-d / t).exp() {
            self.undo.clear();
        } else {
            self.rollback(p);
        }
        true
    }

    /// One move attempt at temperature `t` (Metropolis on the compound move).
    fn step(&mut self, p: &Compiled, t: f64) {
        self.undo.clear();
        if p.teams && p.movable_groups.len() >= 2 && self.rng.below(8) == 0 && self.team_move(p, t) {
            return;
        }
        // swap: two groups exchange places (each takes the other's constraint)
        if p.movable_groups.len() >= 2 && self.rng.below(4) == 0 {
            let ng = p.movable_groups.len() as u64;
            let g1 = p.movable_groups[self.rng.below(ng) as usize];
            let g2 = p.movable_groups[self.rng.below(ng) as usize];
            let (a1, a2) = (self.choice[g1 as usize], self.choice[g2 as usize]);
            let (p1, p2) = (p.primary[a1 as usize], p.primary[a2 as usize]);
            if g1 != g2
                && p1 != p2
                && p1 != NONE
                && p2 != NONE
                && let (Some(&b1), Some(&b2)) = (p.by_place.get(&(g1, p2)), p.by_place.get(&(g2, p1)))
            {
                let d = self.shift(p, g1 as usize, b1) + self.shift(p, g2 as usize, b2);
                if d <= 0.0 || self.rng.next_f64() < (-d / t).exp() {
                    self.undo.clear();
                } else {
                    self.rollback(p);
                }
                return;
            }
        }
        let (is_group, u) = p.units[self.rng.below(p.units.len() as u64) as usize];
        let mut d;
        let on: u32;
        let mut group = NONE;
        let mut home = NONE;
        if is_group {
            let g = u as usize;
            let vs = &p.groups[g];
            let cur = self.choice[g];
            // a shift tries a candidate-list pool 3 times in 4 (when the group has a list)
            let cl = &p.cands[g];
            let mut b = if !cl.is_empty() && self.rng.below(4) != 0 {
                cl[self.rng.below(cl.len() as u64) as usize]
            } else {
                cur
            };
            if b == cur {
                b = vs[self.rng.below(vs.len() as u64 - 1) as usize];
                if b == cur {
                    b = vs[vs.len() - 1];
                }
            }
            home = cur;
            group = u;
            d = self.shift(p, g, b);
            on = b;
        } else {
            d = self.flip(p, u as usize);
            on = u;
        }
        // ejection chain: up to two repairs of a constraint the move overloaded
        if self.nviol > 0 {
            let mut at = on as usize;
            for _ in 0..2 {
                let Some(c) = self.violated_of(p, at) else { break };
                match self.repair(p, c, group, home) {
                    Some((dr, w)) => {
                        d += dr;
                        if w == NONE {
                            break;
                        }
                        at = w as usize;
                    }
                    None => break,
                }
            }
        }
        if d <= 0.0 || self.rng.next_f64() < (-d / t).exp() {
            self.undo.clear();
        } else {
            self.rollback(p);
        }
    }

    fn record(&mut self) {
        if self.nviol == 0
            && self
                .best
                .as_ref()
                .is_none_or(|(_, bf)| self.f < *bf - 1e-12 * bf.abs().max(1.0))
        {
            self.best = Some((self.x.clone(), self.f));
            let now = Instant::now();
            self.trace.push((now, self.f));
            if self.first_feasible.is_none() {
                self.first_feasible = Some(now);
            }
        }
    }

    /// Ejection-chain phase ([`ejection::improve`]) from the chain's best feasible state
    /// (or its current one when it has none); keeps the result when it is better.
    fn intensify(&mut self, a: &Assign, ec: &EcWeights, ctl: &Control, from: Option<&[u8]>) {
        let from = match (from, &self.best) {
            (Some(x), _) => x.to_vec(),
            (None, Some((x, _))) => x.clone(),
            (None, None) => self.x.clone(),
        };
        let stop = || ctl.stopped();
        let (best, found) = ejection::improve(
            a,
            &from,
            &ec.alpha,
            &ec.floor,
            &mut self.rng,
            ec.rounds,
            ec.patience,
            &stop,
        );
        if let Some((y, c)) = best
            && self
                .best
                .as_ref()
                .is_none_or(|(_, bf)| c < *bf - 1e-12 * bf.abs().max(1.0))
        {
            let before = self.best.as_ref().map(|b| b.1);
            for (t, f) in found {
                if before.is_none_or(|bf| f < bf - 1e-12 * bf.abs().max(1.0)) {
                    self.trace.push((t, f));
                    if self.first_feasible.is_none() {
                        self.first_feasible = Some(t);
                    }
                }
            }
            self.best = Some((y, c));
        }
    }

    fn total_violation(&self, p: &Compiled) -> f64 {
        (0..p.vars.len())
            .map(|c| {
                let v = p.sense[c].violation(self.lhs[c], p.rhs[c]);
                if v > p.tol[c] { v } else { 0.0 }
            })
            .sum()
    }

    /// Runs one annealing cycle from `t_hot` to `t_cold`; returns false when stopped by
    /// the deadline or the stop flag.
    fn cycle(&mut self, p: &Compiled, sweeps: usize, t_hot: f64, t_cold: f64, ctl: &Control) -> bool {
        self.cycles += 1;
        let per_sweep = p.units.len();
        let ratio = if sweeps > 1 {
            (t_cold / t_hot).powf(1.0 / (sweeps - 1) as f64)
        } else {
            1.0
        };
        let mut t = t_hot;
        self.record();
        for _ in 0..sweeps {
            for _ in 0..per_sweep {
                self.step(p, t);
                if self.nviol == 0 {
                    self.record();
                }
            }
            self.sweeps += 1;
            // adapt multipliers
            for c in 0..p.vars.len() {
                let viol = p.sense[c].violation(self.lhs[c], p.rhs[c]) > p.tol[c];
                let l0 = p.lambda0[c];
                self.lambda[c] = if viol {
                    (self.lambda[c] * LAMBDA_UP).min(l0 * 1e4)
                } else {
                    (self.lambda[c] * LAMBDA_DOWN).max(l0 * LAMBDA_FLOOR)
                };
            }
            if self.best.is_none() {
                let tv = self.total_violation(p);
                if self
                    .least
                    .as_ref()
                    .is_none_or(|(_, lv, lf)| tv < *lv || (tv == *lv && self.f < *lf))
                {
                    self.least = Some((self.x.clone(), tv, self.f));
                }
            }
            t *= ratio;
            if ctl.stopped() {
                return false;
            }
            if let (Some(target), Some((_, bf))) = (ctl.target, &self.best)
                && *bf <= target
            {
                ctl.stop.store(true, Ordering::Relaxed);
                return false;
            }
        }
        true
    }
}

/// Start weights and budget of the ejection-chain phase.
#[derive(Clone)]
struct EcWeights {
    alpha: Vec<f64>,
    floor: Vec<f64>,
    rounds: usize,
    patience: usize,
}

/// Largest `jobs x places` the ejection-chain phase takes on (its dense option index).
const EC_MAX_CELLS: usize = 1 << 20;
/// Most jobs (one-hot groups) the ejection-chain phase takes on (a descent pass costs
/// about `jobs * max(10, places / 4) * jobs / places` move evaluations).
const EC_MAX_JOBS: usize = 4000;
/// Fewest places per job a swap or an ejection chain tries ([`Assign::rank`]: a job's
/// places of least reduced cost; a quarter of the places when that is more).
const EC_NEAR: usize = 10;
/// Weight-update rounds without a better feasible assignment that end an ejection-chain
/// phase (after each annealing cycle, and for the one that improves each chain's greedy
/// start).
const EC_PATIENCE: usize = 50;
/// Most rounds of one ejection-chain phase without a time limit (with one, the patience
/// and the limit end it).
const EC_ROUNDS_UNTIMED: usize = 20;

struct Control<'a> {
    deadline: Option<Instant>,
    target: Option<f64>,
    stop: AtomicBool,
    /// The caller's interrupt flag ([`SolveContext::interrupt`]).
    interrupt: Option<&'a AtomicBool>,
}

impl Control<'_> {
    fn interrupted(&self) -> bool {
        self.interrupt.is_some_and(|f| f.load(Ordering::Relaxed))
    }

    fn stopped(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return true;
        }
        if self.interrupted() {
            self.stop.store(true, Ordering::Relaxed);
            return true;
        }
        if let Some(d) = self.deadline
            && Instant::now() >= d
        {
            self.stop.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }
}

impl CqmSaSolver {
    /// A solver with these parameters.
    pub fn new(params: CqmSaParams) -> Self {
        CqmSaSolver { params }
    }

    /// Solves `m`; `initial` optionally gives a starting state for every chain (must keep
    /// one-hot groups valid; errors otherwise).
    pub fn solve(&self, m: &ConstrainedModel) -> Result<CqmSolution, CqmError> {
        self.solve_from(m, None)
    }

    /// [`solve`](Self::solve) with an optional starting state (0/1 per variable) for every
    /// chain, e.g. a plan to improve; it must keep every one-hot group at exactly one.
    pub fn solve_from(&self, m: &ConstrainedModel, initial: Option<&[u8]>) -> Result<CqmSolution, CqmError> {
        self.solve_with(m, initial, &SolveContext::default())
    }

    /// [`solve_from`](Self::solve_from) under run-time controls, as the QUBO solvers take
    /// them: `ctx.interrupt` stops the run within one sweep (it returns its best state so
    /// far with [`StopReason::Interrupted`]), `ctx.progress` gets the best feasible
    /// energy (minimisation sense, offset included) after every cycle. The time limit and
    /// target stay those of the parameters.
    pub fn solve_with(
        &self,
        m: &ConstrainedModel,
        initial: Option<&[u8]>,
        ctx: &SolveContext,
    ) -> Result<CqmSolution, CqmError> {
        let prm = &self.params;
        prm.validate()?;
        let start = Instant::now();
        let lagrange = super::lagrange::lagrangian_bound(m, LAGRANGE_STEPS);
        let rc = lagrange.as_ref().map(|l| l.reduced_costs(m));
        let p = Compiled::new(m, rc.as_deref());
        // ejection-chain phase for assignment-shaped models: weights start at the
        // Lagrangian prices (the places are the compiled constraints, in the same order),
        // never below a tenth of the annealer's start multipliers
        let mut assign = Assign::new(m, EC_MAX_CELLS).filter(|_| p.groups.len() <= EC_MAX_JOBS);
        if let (Some(a), Some(rc)) = (&mut assign, &rc) {
            let k = EC_NEAR.max(a.places() / 4);
            a.rank(rc, k);
        }
        let ec = assign.as_ref().map(|a| {
            let floor: Vec<f64> = (0..a.places()).map(|i| LAMBDA_FLOOR * p.lambda0[i]).collect();
            let alpha = (0..a.places())
                .map(|i| {
                    let u = lagrange.as_ref().map_or(0.0, |l| l.multipliers[a.place_constraint(i)]);
                    u.max(floor[i])
                })
                .collect();
            EcWeights {
                alpha,
                floor,
                rounds: if prm.time_limit.is_some() {
                    usize::MAX
                } else {
                    EC_ROUNDS_UNTIMED
                },
                patience: EC_PATIENCE,
            }
        });
        if let Some(x) = initial {
            if x.len() != p.n {
                return Err(CqmError::Param {
                    name: "initial",
                    msg: format!("has {} entries for {} variables", x.len(), p.n),
                });
            }
            for (g, vs) in p.groups.iter().enumerate() {
                let k = vs.iter().filter(|&&v| x[v as usize] != 0).count();
                if k != 1 {
                    return Err(CqmError::Param {
                        name: "initial",
                        msg: format!(
                            "one-hot group `{}` has {k} variables set",
                            m.constraints()[m.one_hot_constraints()[g]].name
                        ),
                    });
                }
            }
        }
        let ctl = Control {
            deadline: prm.time_limit.map(|d| start + d),
            target: prm.target_energy.map(|t| t - m.offset() * m.to_energy(1.0)),
            stop: AtomicBool::new(false),
            interrupt: ctx.interrupt,
        };
        let offset = m.offset() * m.to_energy(1.0);
        let mut chains: Vec<Chain> = (0..prm.chains)
            .map(|c| {
                let mut ch = Chain::new(&p, prm.seed, c as u64);
                if let Some(x) = initial {
                    ch.load(&p, x);
                }
                ch
            })
            .collect();
        // temperatures relative to the typical move size: first cycle from 0.3, restarts
        // (and runs from a given state) from 0.1, all down to 0.001
        let (k_hot, k_re, k_cold) = (0.3, 0.1, 1e-3);
        let t_hot = if initial.is_some() {
            k_re * p.scale
        } else {
            k_hot * p.scale
        };
        let t_cold = k_cold * p.scale;
        // the regret-greedy assignment by reduced cost, repaired and improved by each
        // chain's ejection-chain phase, starts every chain
        let greedy_start = rc.as_deref().filter(|_| initial.is_none() && assign.is_some());
        let mut epoch = 0usize;
        let stop_reason;
        loop {
            let hot = if epoch == 0 { t_hot } else { k_re * p.scale };
            if p.units.is_empty() {
                for ch in &mut chains {
                    ch.record();
                    let tv = ch.total_violation(&p);
                    ch.least = Some((ch.x.clone(), tv, ch.f));
                }
                stop_reason = StopReason::Completed;
                break;
            }
            let done: Vec<bool> = chains
                .par_iter_mut()
                .map(|ch| {
                    let mut h = hot;
                    if epoch == 0
                        && let (Some(a), Some(ec), Some(rc)) = (&assign, &ec, greedy_start)
                    {
                        // every chain anneals from its improved greedy assignment, reheated
                        // only as much as a restart
                        let stop = || ctl.stopped();
                        let (x, _) = ejection::construct(a, rc, &ec.alpha, &mut ch.rng, &stop);
                        ch.intensify(a, ec, &ctl, Some(&x));
                        if let Some((b, _)) = &ch.best {
                            let b = b.clone();
                            ch.load(&p, &b);
                            h = k_re * p.scale;
                        }
                    }
                    let ok = ch.cycle(&p, prm.sweeps, h, t_cold, &ctl);
                    if ok && let (Some(a), Some(ec)) = (&assign, &ec) {
                        ch.intensify(a, ec, &ctl, None);
                    }
                    ok && !ctl.stop.load(Ordering::Relaxed)
                })
                .collect();
            epoch += 1;
            if let Some(bf) = chains
                .iter()
                .filter_map(|c| c.best.as_ref().map(|b| b.1))
                .min_by(f64::total_cmp)
            {
                ctx.best_energy(bf + offset);
            }
            if done.iter().any(|d| !d) || ctl.stop.load(Ordering::Relaxed) || ctl.interrupted() {
                let hit = ctl.target.is_some()
                    && chains
                        .iter()
                        .any(|c| c.best.as_ref().is_some_and(|(_, f)| Some(*f) <= ctl.target));
                stop_reason = if ctl.interrupted() {
                    StopReason::Interrupted
                } else if hit {
                    StopReason::Target
                } else {
                    StopReason::TimeLimit
                };
                break;
            }
            if prm.time_limit.is_none() && epoch >= prm.cycles {
                stop_reason = StopReason::Completed;
                break;
            }
            // restarts: even chains from the best of all, odd chains from their own best
            let global = chains
                .iter()
                .filter_map(|c| c.best.as_ref())
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(x, _)| x.clone());
            for (i, ch) in chains.iter_mut().enumerate() {
                let from = if i % 2 == 0 {
                    global.clone()
                } else {
                    ch.best.as_ref().map(|b| b.0.clone())
                };
                if let Some(x) = from {
                    ch.load(&p, &x);
                }
            }
        }
        // Pick the answer: best feasible (exact energies), else least violated.
        let mut answer: Option<(Vec<u8>, f64)> = None;
        for ch in &chains {
            if let Some((x, _)) = &ch.best {
                let e = m.energy(x);
                if m.is_feasible(x) && answer.as_ref().is_none_or(|(_, be)| e < *be) {
                    answer = Some((x.clone(), e));
                }
            }
        }
        let state = match answer {
            Some((x, _)) => x,
            None => {
                let mut least: Option<(Vec<u8>, f64, f64)> = None;
                for ch in &chains {
                    let cand = match &ch.least {
                        Some(l) => l.clone(),
                        None => (ch.x.clone(), ch.total_violation(&p), ch.f),
                    };
                    if least
                        .as_ref()
                        .is_none_or(|(_, lv, lf)| cand.1 < *lv || (cand.1 == *lv && cand.2 < *lf))
                    {
                        least = Some(cand);
                    }
                }
                least.expect("at least one chain").0
            }
        };
        let violations = m.violations(&state);
        let first = chains.iter().filter_map(|c| c.first_feasible).min();
        let energy = m.energy(&state);
        let events = chains
            .iter()
            .flat_map(|c| c.trace.iter())
            .map(|&(t, f)| (t.duration_since(start).as_secs_f64(), f + offset))
            .collect();
        let trace = merge_trace(
            events,
            violations.is_empty().then_some(energy),
            start.elapsed().as_secs_f64(),
        );
        Ok(CqmSolution {
            trace,
            energy,
            objective: m.objective(&state),
            feasible: violations.is_empty(),
            violations,
            state,
            cycles: chains.iter().map(|c| c.cycles).sum(),
            sweeps: chains.iter().map(|c| c.sweeps).sum(),
            time_to_feasible_s: first.map(|t| t.duration_since(start).as_secs_f64()),
            elapsed_s: start.elapsed().as_secs_f64(),
            stop: stop_reason,
            bound: lagrange.filter(|l| l.valid).map(|l| l.bound),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_trace_keeps_the_running_minimum_over_chains() {
        // two chains, interleaved in time
        let ev = vec![
            (0.010, 50.0),
            (0.020, 40.0),
            (0.030, 45.0),
            (0.015, 48.0),
            (0.050, 30.0),
            (0.040, 35.0),
        ];
        let t = merge_trace(ev, Some(30.0), 1.0);
        assert_eq!(
            t,
            vec![
                (0.010, 50.0),
                (0.015, 48.0),
                (0.020, 40.0),
                (0.040, 35.0),
                (0.050, 30.0)
            ]
        );
        // improvements within one resolution window fold into the later one
        let ev = vec![(0.0101, 9.0), (0.0104, 8.0), (0.0107, 7.0), (0.0201, 6.0)];
        assert_eq!(merge_trace(ev, Some(6.0), 1.0), vec![(0.0107, 7.0), (0.0201, 6.0)]);
        // no feasible answer: empty, whatever was recorded
        assert!(merge_trace(vec![(0.1, 3.0)], None, 1.0).is_empty());
        // feasible answer, nothing recorded: one entry at the end
        assert_eq!(merge_trace(Vec::new(), Some(2.0), 0.5), vec![(0.5, 2.0)]);
        // incremental energies a rounding error off the exact answer end at the answer
        let ev = vec![(0.1, 10.0), (0.2, 4.999_999_999_8), (0.3, 4.999_999_999_7)];
        assert_eq!(merge_trace(ev, Some(5.0), 1.0), vec![(0.1, 10.0), (0.2, 5.0)]);
    }
}
