//! Ejection-chain local search with adaptive capacity penalties for assignment-shaped
//! models (generalized assignment and its relatives), after Yagiura, Ibaraki & Glover
//! (2004), "An ejection chain approach for the generalized assignment problem".
//!
//! **Shape.** A model qualifies when its objective is linear, every variable belongs to a
//! one-hot group (a *job*), and every other constraint is a `<=` *capacity* with
//! non-negative coefficients in which each variable appears at most once, and each
//! variable in exactly one (its *place*; a job has at most one variable per place). GAP is
//! the example: jobs are agents, places are pools.
//!
//! **Search.** The state may overload places; it is scored by
//! `pcost = cost + sum_i alpha_i * max(0, load_i - cap_i)` with one weight per place.
//! [`Search::descend`] runs first-improvement descent over three neighbourhoods, in order:
//! *shift* (one job to another place), *swap* (two jobs in different places trade places)
//! and *ejection chains*: job `j1` leaves place `i1` for `i2`, pushing out `j2`, which goes
//! to `i3` pushing out `j3`, ..., and the last job goes to any place without pushing
//! anything out (back into `i1` closes a cycle); the chain is built greedily level by level
//! (the next ejected job is the one whose removal leaves the lowest partial `pcost` plus
//! its cheapest reinsertion cost, with a small beam), every prefix's best closure is
//! evaluated exactly, and the best closure is applied when it lowers `pcost`.
//! [`improve`] alternates descents with weight updates (*strategic oscillation*): at an
//! infeasible local optimum the weights of the overloaded places rise (by up to
//! [`ALPHA_UP`], in proportion to their excess), at a feasible one all weights fall by
//! [`ALPHA_DOWN`], so the search crosses the capacity boundary back and forth and keeps
//! the best feasible assignment it passes; every infeasible local optimum is also repaired
//! on a copy ([`Search::project`]), so rounds spent on the infeasible side still yield
//! feasible assignments near them.
//!
//! **Neighbourhood size.** [`Assign::rank`] narrows the places a swap or a chain may move
//! a job to (its best by a score such as the Lagrangian reduced cost), so a descent pass
//! costs about `jobs * k * jobs / places` move evaluations instead of `jobs^2`.
//!
//! **Feasibility.** [`construct`] builds a start by regret greedy ([`Assign::greedy`],
//! Martello-Toth) and repairs what it overloads ([`Search::repair`]: descent from the jobs
//! in overloaded places under weights that put the total overload before the cost).
//!
//! Costs are in the minimisation sense without the model's offset. Deterministic given
//! the [`Rng`]; no threads.

#![allow(clippy::needless_range_loop)] // index loops over parallel arrays read clearest here

use super::{Cmp, ConstrainedModel, tolerance};
use crate::rng::Rng;

const NONE: u32 = u32::MAX;

/// When each improvement of the best feasible cost was found, and the cost.
pub type Found = Vec<(std::time::Instant, f64)>;

/// Relative rise of an overloaded place's weight per infeasible local optimum (for the
/// most overloaded place; others in proportion to their excess).
pub const ALPHA_UP: f64 = 0.2;
/// Relative fall of every weight per feasible local optimum.
pub const ALPHA_DOWN: f64 = 0.1;
/// Ejections an ejection chain may make before its last (closing) insertion.
pub const CHAIN_DEPTH: usize = 3;
/// Most descents of one [`Search::repair`].
pub const REPAIR_ROUNDS: usize = 100;
/// Factor on an overloaded place's weight after a repair descent left it overloaded.
pub const REPAIR_RAISE: f64 = 2.0;
/// Continuations kept at each chain level (beam width per level).
const BEAM: [usize; CHAIN_DEPTH] = [2, 2, 1];

#[derive(Clone, Copy, Debug)]
struct Opt {
    place: u32,
    var: u32,
    cost: f64,
    w: f64,
}

/// An assignment-shaped model (see the [module docs](self)).
#[derive(Clone, Debug)]
pub struct Assign {
    opts: Vec<Vec<Opt>>,
    cap: Vec<f64>,
    tol: Vec<f64>,
    m: usize,
    /// `job * m + place -> option index` (`NONE` when the job has no variable there).
    opt_at: Vec<u32>,
    /// Cheapest option cost of each job.
    min_cost: Vec<f64>,
    /// Model constraint index of each place.
    place_constraint: Vec<usize>,
    /// Per job, the options a swap or an ejection chain may move it to, best first (all
    /// options until [`Assign::rank`] narrows them).
    near: Vec<Vec<u32>>,
    /// Number of model variables.
    nvars: usize,
    /// Weight per unit of overload that outweighs any cost change of a chain (4 jobs'
    /// worth of cost range per smallest positive use): the repair's weights.
    big: f64,
}

impl Assign {
    /// The model's assignment shape, or `None` when it does not qualify (see the module
    /// docs) or when `jobs x places` exceeds `max_cells`.
    pub fn new(model: &ConstrainedModel, max_cells: usize) -> Option<Self> {
        if !model.quadratic().is_empty() {
            return None;
        }
        let n = model.num_variables();
        let groups = model.one_hot_groups();
        let mut job_of = vec![NONE; n];
        for (g, vs) in groups.iter().enumerate() {
            for &v in vs {
                job_of[v] = g as u32;
            }
        }
        if groups.is_empty() || job_of.contains(&NONE) {
            return None;
        }
        let one_hot: std::collections::HashSet<usize> = model.one_hot_constraints().iter().copied().collect();
        let mut place_of = vec![NONE; n];
        let mut w_of = vec![0.0; n];
        let (mut cap, mut tol, mut place_constraint) = (Vec::new(), Vec::new(), Vec::new());
        for (c, k) in model.constraints().iter().enumerate() {
            if one_hot.contains(&c) {
                continue;
            }
            if k.sense != Cmp::Le {
                return None;
            }
            let pi = cap.len() as u32;
            cap.push(k.rhs);
            tol.push(tolerance(k.rhs));
            place_constraint.push(c);
            for &(v, a) in &k.terms {
                if a == 0.0 {
                    continue;
                }
                if a < 0.0 || place_of[v] != NONE {
                    return None;
                }
                place_of[v] = pi;
                w_of[v] = a;
            }
        }
        let m = cap.len();
        if m == 0 || place_of.contains(&NONE) || groups.len().saturating_mul(m) > max_cells {
            return None;
        }
        let sign = model.to_energy(1.0);
        let mut opt_at = vec![NONE; groups.len() * m];
        let mut opts = Vec::with_capacity(groups.len());
        for (g, vs) in groups.iter().enumerate() {
            let mut o = Vec::with_capacity(vs.len());
            for &v in vs {
                let place = place_of[v];
                let cell = &mut opt_at[g * m + place as usize];
                if *cell != NONE {
                    return None;
                }
                *cell = o.len() as u32;
                o.push(Opt {
                    place,
                    var: v as u32,
                    cost: sign * model.linear()[v],
                    w: w_of[v],
                });
            }
            opts.push(o);
        }
        let min_cost: Vec<f64> = opts
            .iter()
            .map(|o| o.iter().map(|x| x.cost).fold(f64::INFINITY, f64::min))
            .collect();
        let span = opts
            .iter()
            .zip(&min_cost)
            .map(|(o, lo)| o.iter().map(|x| x.cost - lo).fold(0.0, f64::max))
            .fold(0.0, f64::max);
        let w_min = opts
            .iter()
            .flatten()
            .map(|o| o.w)
            .filter(|&w| w > 0.0)
            .fold(f64::INFINITY, f64::min);
        let big = if w_min.is_finite() {
            4.0 * (span + 1.0) / w_min
        } else {
            1.0
        };
        let near = opts.iter().map(|o| (0..o.len() as u32).collect()).collect();
        Some(Assign {
            opts,
            cap,
            tol,
            m,
            opt_at,
            min_cost,
            place_constraint,
            near,
            nvars: n,
            big,
        })
    }

    /// Narrows the places a swap or an ejection chain may move each job to: its `k`
    /// options of least `score` (one value per model variable, e.g. Lagrangian reduced
    /// costs; ties by option order). Shifts and a chain's closing insertion still try
    /// every option. Cuts a descent pass from about `jobs^2` move evaluations to about
    /// `jobs * k * jobs / places`.
    pub fn rank(&mut self, score: &[f64], k: usize) {
        for (o, near) in self.opts.iter().zip(&mut self.near) {
            near.clear();
            near.extend(0..o.len() as u32);
            near.sort_by(|&a, &b| {
                score[o[a as usize].var as usize]
                    .total_cmp(&score[o[b as usize].var as usize])
                    .then(a.cmp(&b))
            });
            near.truncate(k.max(1));
        }
    }

    /// Regret greedy construction (Martello & Toth's MTHG): while jobs are left, the job
    /// whose best option by `score` (one value per model variable, lower is better; e.g.
    /// Lagrangian reduced costs) is most ahead of its second best among the options that
    /// still fit their place's capacity goes to its best; a job with one fitting option
    /// goes first. Jobs that fit nowhere go, in index order, to the option that overloads
    /// least. Returns the 0/1 state (every variable of the model). Deterministic.
    pub fn greedy(&self, score: &[f64]) -> Vec<u8> {
        use std::collections::BinaryHeap;
        #[derive(PartialEq)]
        struct Key(f64, u32, u32); // regret, job, version
        impl Eq for Key {}
        impl PartialOrd for Key {
            fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(o))
            }
        }
        impl Ord for Key {
            fn cmp(&self, o: &Self) -> std::cmp::Ordering {
                self.0.total_cmp(&o.0).then(o.1.cmp(&self.1))
            }
        }
        let n = self.opts.len();
        let mut load = vec![0.0; self.m];
        let fits = |load: &[f64], o: &Opt| {
            load[o.place as usize] + o.w - self.cap[o.place as usize] <= self.tol[o.place as usize]
        };
        // best and second-best fitting option of job j, and the regret
        let eval = |load: &[f64], j: usize| -> Option<(u32, u32, f64)> {
            let (mut b, mut s) = ((NONE, f64::INFINITY), (NONE, f64::INFINITY));
            for (k, o) in self.opts[j].iter().enumerate() {
                if !fits(load, o) {
                    continue;
                }
                let v = score[o.var as usize];
                if v < b.1 {
                    s = b;
                    b = (k as u32, v);
                } else if v < s.1 {
                    s = (k as u32, v);
                }
            }
            (b.0 != NONE).then_some((b.0, s.0, s.1 - b.1))
        };
        let mut choice = vec![NONE; n];
        let mut plan: Vec<Option<(u32, u32)>> = vec![None; n];
        let mut version = vec![0u32; n];
        let mut watch: Vec<Vec<u32>> = vec![Vec::new(); self.m];
        let mut heap = BinaryHeap::with_capacity(n);
        let mut left = Vec::new();
        let place = |j: usize, k: u32| self.opts[j][k as usize].place as usize;
        for j in 0..n {
            match eval(&load, j) {
                Some((b, s, r)) => {
                    plan[j] = Some((b, s));
                    watch[place(j, b)].push(j as u32);
                    if s != NONE {
                        watch[place(j, s)].push(j as u32);
                    }
                    heap.push(Key(r, j as u32, 0));
                }
                None => left.push(j),
            }
        }
        while let Some(Key(_, j, ver)) = heap.pop() {
            let j = j as usize;
            if choice[j] != NONE || ver != version[j] {
                continue;
            }
            let (b, _) = plan[j].expect("planned");
            choice[j] = b;
            let o = self.opts[j][b as usize];
            let p = o.place as usize;
            load[p] += o.w;
            // jobs whose best or second option was in p and no longer fits: re-plan
            let list = std::mem::take(&mut watch[p]);
            let mut keep = Vec::with_capacity(list.len());
            for k in list {
                let k = k as usize;
                if choice[k] != NONE {
                    continue;
                }
                let Some((kb, ks)) = plan[k] else { continue };
                let uses = |c: u32| c != NONE && place(k, c) == p;
                if !(uses(kb) || uses(ks)) {
                    continue; // a stale entry
                }
                let still = [kb, ks]
                    .iter()
                    .all(|&c| !uses(c) || fits(&load, &self.opts[k][c as usize]));
                if still {
                    keep.push(k as u32);
                    continue;
                }
                version[k] += 1;
                match eval(&load, k) {
                    Some((nb, ns, r)) => {
                        plan[k] = Some((nb, ns));
                        for c in [nb, ns] {
                            if c != NONE {
                                let q = place(k, c);
                                if q == p {
                                    keep.push(k as u32);
                                } else {
                                    watch[q].push(k as u32);
                                }
                            }
                        }
                        heap.push(Key(r, k as u32, version[k]));
                    }
                    None => {
                        plan[k] = None;
                        left.push(k);
                    }
                }
            }
            watch[p] = keep;
        }
        left.sort_unstable();
        for j in left {
            let (mut bk, mut bx) = (0u32, (f64::INFINITY, f64::INFINITY));
            for (k, o) in self.opts[j].iter().enumerate() {
                let p = o.place as usize;
                let over = (load[p] + o.w - self.cap[p]).max(0.0);
                let key = (over, score[o.var as usize]);
                if key.0 < bx.0 || (key.0 == bx.0 && key.1 < bx.1) {
                    (bk, bx) = (k as u32, key);
                }
            }
            choice[j] = bk;
            let o = self.opts[j][bk as usize];
            load[o.place as usize] += o.w;
        }
        let mut x = vec![0u8; self.nvars];
        self.write_state(&choice, &mut x);
        x
    }

    /// Number of places (capacity constraints).
    pub fn places(&self) -> usize {
        self.m
    }

    /// Model constraint index of place `i`.
    pub fn place_constraint(&self, i: usize) -> usize {
        self.place_constraint[i]
    }

    /// Option index of each job in the 0/1 state `x` (which must keep every group at one).
    fn options_of(&self, x: &[u8]) -> Vec<u32> {
        self.opts
            .iter()
            .map(|o| o.iter().position(|op| x[op.var as usize] != 0).expect("one-hot state") as u32)
            .collect()
    }

    /// Writes the assignment `cur` (option per job) into the 0/1 state `x`.
    fn write_state(&self, cur: &[u32], x: &mut [u8]) {
        for (j, o) in self.opts.iter().enumerate() {
            for (k, op) in o.iter().enumerate() {
                x[op.var as usize] = (k as u32 == cur[j]) as u8;
            }
        }
    }
}

/// Local-search state over an [`Assign`] model.
pub struct Search<'a> {
    a: &'a Assign,
    cur: Vec<u32>,
    load: Vec<f64>,
    members: Vec<Vec<u32>>,
    pos: Vec<u32>,
    cost: f64,
    nviol: usize,
    /// Penalty weight per place.
    pub alpha: Vec<f64>,
    best: Option<(Vec<u32>, f64)>,
    /// When each new best feasible cost was found.
    found: Found,
}

impl<'a> Search<'a> {
    /// A search at the 0/1 state `x` (one-hot groups valid) with weights `alpha`.
    pub fn new(a: &'a Assign, x: &[u8], alpha: Vec<f64>) -> Self {
        let cur = a.options_of(x);
        let mut s = Search {
            a,
            load: vec![0.0; a.m],
            members: vec![Vec::new(); a.m],
            pos: vec![0; cur.len()],
            cost: 0.0,
            nviol: 0,
            alpha,
            best: None,
            found: Vec::new(),
            cur,
        };
        for j in 0..s.cur.len() {
            let o = a.opts[j][s.cur[j] as usize];
            s.load[o.place as usize] += o.w;
            s.cost += o.cost;
            s.pos[j] = s.members[o.place as usize].len() as u32;
            s.members[o.place as usize].push(j as u32);
        }
        s.nviol = (0..a.m).filter(|&i| s.over(i, s.load[i])).count();
        s.note();
        s
    }

    #[inline]
    fn over(&self, i: usize, l: f64) -> bool {
        l - self.a.cap[i] > self.a.tol[i]
    }

    #[inline]
    fn pen(&self, i: usize, l: f64) -> f64 {
        if self.over(i, l) {
            self.alpha[i] * (l - self.a.cap[i])
        } else {
            0.0
        }
    }

    #[inline]
    fn opt(&self, j: usize) -> Opt {
        self.a.opts[j][self.cur[j] as usize]
    }

    /// Objective (minimisation sense, no offset) of the current assignment.
    pub fn cost(&self) -> f64 {
        self.cost
    }

    /// True when no place is overloaded.
    pub fn feasible(&self) -> bool {
        self.nviol == 0
    }

    /// The best feasible assignment seen so far (as a 0/1 state written into a copy of
    /// `template`) and its cost.
    pub fn best_state(&self, template: &[u8]) -> Option<(Vec<u8>, f64)> {
        self.best.as_ref().map(|(cur, c)| {
            let mut x = template.to_vec();
            self.a.write_state(cur, &mut x);
            (x, *c)
        })
    }

    /// Records the current assignment when it is feasible and better than the best.
    fn note(&mut self) {
        if self.nviol == 0
            && self
                .best
                .as_ref()
                .is_none_or(|(_, b)| self.cost < *b - 1e-9 * b.abs().max(1.0))
        {
            self.best = Some((self.cur.clone(), self.cost));
            self.found.push((std::time::Instant::now(), self.cost));
        }
    }

    /// Moves job `j` to option `o`.
    fn move_job(&mut self, j: usize, o: u32) {
        let old = self.opt(j);
        let new = self.a.opts[j][o as usize];
        let (i1, i2) = (old.place as usize, new.place as usize);
        // members
        let p = self.pos[j] as usize;
        self.members[i1].swap_remove(p);
        if p < self.members[i1].len() {
            let k = self.members[i1][p] as usize;
            self.pos[k] = p as u32;
        }
        self.pos[j] = self.members[i2].len() as u32;
        self.members[i2].push(j as u32);
        // loads
        for (i, dl) in [(i1, -old.w), (i2, new.w)] {
            let was = self.over(i, self.load[i]);
            self.load[i] += dl;
            let is = self.over(i, self.load[i]);
            if was && !is {
                self.nviol -= 1;
            } else if is && !was {
                self.nviol += 1;
            }
        }
        self.cost += new.cost - old.cost;
        self.cur[j] = o;
    }

    /// Penalty change of the load changes `dl` (places may repeat).
    fn pen_delta(&self, dl: &[(u32, f64)]) -> f64 {
        let mut d = 0.0;
        for (k, &(i, _)) in dl.iter().enumerate() {
            if dl[..k].iter().any(|&(h, _)| h == i) {
                continue;
            }
            let tot: f64 = dl[k..].iter().filter(|&&(h, _)| h == i).map(|&(_, x)| x).sum();
            let i = i as usize;
            d += self.pen(i, self.load[i] + tot) - self.pen(i, self.load[i]);
        }
        d
    }

    fn eps(&self) -> f64 {
        1e-9 * self.cost.abs().max(1.0)
    }

    /// Best shift of job `j`: `(delta pcost, option)`.
    fn best_shift(&self, j: usize) -> Option<(f64, u32)> {
        let o1 = self.opt(j);
        let i1 = o1.place as usize;
        let l1 = self.load[i1];
        let out = self.pen(i1, l1 - o1.w) - self.pen(i1, l1);
        let mut best: Option<(f64, u32)> = None;
        for (k, o2) in self.a.opts[j].iter().enumerate() {
            let i2 = o2.place as usize;
            if i2 == i1 {
                continue;
            }
            let l2 = self.load[i2];
            let d = o2.cost - o1.cost + out + self.pen(i2, l2 + o2.w) - self.pen(i2, l2);
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, k as u32));
            }
        }
        best
    }

    /// Best swap of job `j1` with a job in another place: `(delta, partner, o1', o2')`.
    fn best_swap(&self, j1: usize) -> Option<(f64, u32, u32, u32)> {
        let m = self.a.m;
        let o1 = self.opt(j1);
        let i1 = o1.place as usize;
        let l1 = self.load[i1];
        let p1 = self.pen(i1, l1);
        let mut best: Option<(f64, u32, u32, u32)> = None;
        for &k1 in &self.a.near[j1] {
            let n1 = self.a.opts[j1][k1 as usize];
            let i2 = n1.place as usize;
            if i2 == i1 {
                continue;
            }
            let l2 = self.load[i2];
            let p2 = self.pen(i2, l2);
            for &j2 in &self.members[i2] {
                let j2 = j2 as usize;
                let k2 = self.a.opt_at[j2 * m + i1];
                if k2 == NONE {
                    continue;
                }
                let o2 = self.opt(j2);
                let n2 = self.a.opts[j2][k2 as usize];
                let d = n1.cost - o1.cost + n2.cost - o2.cost + self.pen(i1, l1 - o1.w + n2.w) - p1
                    + self.pen(i2, l2 - o2.w + n1.w)
                    - p2;
                if best.is_none_or(|b| d < b.0) {
                    best = Some((d, j2 as u32, k1, k2));
                }
            }
        }
        best
    }

    /// Best ejection chain started by job `j1` (see the module docs): `(delta, moves)`.
    fn best_chain(&self, j1: usize) -> Option<(f64, Vec<(u32, u32)>)> {
        let o1 = self.opt(j1);
        let mut plan = Vec::with_capacity(CHAIN_DEPTH + 1);
        let mut dl = vec![(o1.place, -o1.w)];
        let mut best: Option<(f64, Vec<(u32, u32)>)> = None;
        self.chain_level(j1, o1.place, j1, -o1.cost, &mut dl, &mut plan, 0, &mut best);
        best
    }

    /// One level of the chain: `jc` is out of its place, `partial` the cost change so far
    /// (without penalties), `dl` the load changes, `plan` the moves made so far.
    #[allow(clippy::too_many_arguments)]
    fn chain_level(
        &self,
        j1: usize,
        i1: u32,
        jc: usize,
        partial: f64,
        dl: &mut Vec<(u32, f64)>,
        plan: &mut Vec<(u32, u32)>,
        level: usize,
        best: &mut Option<(f64, Vec<(u32, u32)>)>,
    ) {
        let used = |i: u32, dl: &[(u32, f64)]| dl.iter().any(|&(h, _)| h == i);
        // closures: jc to a place of the chain's not yet touched (or back into i1)
        for (k, o) in self.a.opts[jc].iter().enumerate() {
            if (used(o.place, dl) && !(o.place == i1 && level > 0)) || (jc == j1 && o.place == i1) {
                continue;
            }
            dl.push((o.place, o.w));
            let d = partial + o.cost + self.pen_delta(dl);
            dl.pop();
            if best.as_ref().is_none_or(|b| d < b.0) {
                let mut moves = plan.clone();
                moves.push((jc as u32, k as u32));
                *best = Some((d, moves));
            }
        }
        if level == CHAIN_DEPTH {
            return;
        }
        // continuations: jc into place i, pushing out jk; keep the BEAM[level] best by
        // partial pcost plus jk's cheapest reinsertion
        let width = BEAM[level];
        let mut top: [(f64, u32, u32, u32); 4] = [(f64::INFINITY, NONE, NONE, NONE); 4];
        for &k in &self.a.near[jc] {
            let o = self.a.opts[jc][k as usize];
            let i = o.place;
            if used(i, dl) {
                continue;
            }
            for &jk in &self.members[i as usize] {
                let ok = self.opt(jk as usize);
                dl.push((i, o.w - ok.w));
                let score = partial + o.cost - ok.cost + self.pen_delta(dl) + self.a.min_cost[jk as usize];
                dl.pop();
                if score < top[width - 1].0 {
                    let mut p = width - 1;
                    while p > 0 && top[p - 1].0 > score {
                        top[p] = top[p - 1];
                        p -= 1;
                    }
                    top[p] = (score, k, jk, i);
                }
            }
        }
        for &(score, k, jk, i) in &top[..width] {
            if !score.is_finite() {
                break;
            }
            let o = self.a.opts[jc][k as usize];
            let ok = self.opt(jk as usize);
            dl.push((i, o.w - ok.w));
            plan.push((jc as u32, k));
            self.chain_level(
                j1,
                i1,
                jk as usize,
                partial + o.cost - ok.cost,
                dl,
                plan,
                level + 1,
                best,
            );
            plan.pop();
            dl.pop();
        }
    }

    /// First-improvement descent on `pcost` over shifts, swaps and ejection chains until
    /// no move lowers it or `stop()` says so (asked every 64 jobs); returns the number of
    /// moves applied.
    pub fn descend(&mut self, rng: &mut Rng, stop: &dyn Fn() -> bool) -> usize {
        self.descend_from(rng, stop, false, true)
    }

    /// Capacity repair: while a place is overloaded, descent on `pcost` over the moves that
    /// start at a job in an overloaded place (shifts and swaps; ejection chains too once a
    /// descent moved nothing); at a local minimum that is still overloaded
    /// the weights of the overloaded places rise by [`REPAIR_RAISE`] (breakout: the cheapest
    /// relief per unit of overload comes first, and a place's overload may move to places
    /// that can absorb it) and the descent goes on, at most [`REPAIR_ROUNDS`] times (the
    /// weights stop rising a million times above the model's repair weight, at which one
    /// unit of overload outweighs the cost range of any chain). The weights are restored
    /// afterwards. Returns true when the assignment is feasible.
    pub fn repair(&mut self, rng: &mut Rng, stop: &dyn Fn() -> bool) -> bool {
        if self.feasible() {
            return true;
        }
        let saved = self.alpha.clone();
        let mut chains = false;
        for _ in 0..REPAIR_ROUNDS {
            // shifts and swaps first (cheap); chains once a round moves nothing
            chains |= self.descend_from(rng, stop, true, chains) == 0;
            if self.feasible() || stop() {
                break;
            }
            // breakout: a place still overloaded at a local minimum weighs more, so its
            // overload may move to places that can absorb it
            for i in 0..self.a.m {
                if self.over(i, self.load[i]) {
                    self.alpha[i] = (self.alpha[i].max(self.a.big * 1e-6) * REPAIR_RAISE).min(self.a.big * 1e6);
                }
            }
        }
        self.alpha = saved;
        self.feasible()
    }

    /// At an overloaded assignment: repairs a copy of it ([`repair`](Self::repair)) and
    /// records the result when it is the best feasible assignment so far; the search
    /// itself stays where it is. Strategic oscillation spends most rounds on the
    /// infeasible side when the weights start low (at the Lagrangian prices); this turns
    /// each of those local optima into a feasible assignment near it.
    pub fn project(&mut self, rng: &mut Rng, stop: &dyn Fn() -> bool) {
        if self.feasible() {
            return;
        }
        let mut t = Search {
            a: self.a,
            cur: self.cur.clone(),
            load: self.load.clone(),
            members: self.members.clone(),
            pos: self.pos.clone(),
            cost: self.cost,
            nviol: self.nviol,
            alpha: self.alpha.clone(),
            best: None,
            found: Vec::new(),
        };
        if t.repair(rng, stop)
            && let (Some((cur, c)), Some(&(at, _))) = (t.best.take(), t.found.last())
            && self.best.as_ref().is_none_or(|(_, b)| c < *b - 1e-9 * b.abs().max(1.0))
        {
            self.best = Some((cur, c));
            self.found.push((at, c));
        }
    }

    /// [`descend`](Self::descend); with `only_over`, moves start only at jobs in
    /// overloaded places and the descent ends as soon as none is; without `chains`, shifts
    /// and swaps only.
    fn descend_from(&mut self, rng: &mut Rng, stop: &dyn Fn() -> bool, only_over: bool, chains: bool) -> usize {
        let n = self.cur.len();
        let mut order: Vec<u32> = (0..n as u32).collect();
        let mut applied = 0;
        let skip = |s: &Self, j: usize| {
            only_over && {
                let i = s.opt(j).place as usize;
                !s.over(i, s.load[i])
            }
        };
        loop {
            if only_over && self.feasible() {
                return applied;
            }
            rng.shuffle(&mut order);
            let mut improved = false;
            for (idx, &j) in order.iter().enumerate() {
                if idx % 64 == 63 && stop() {
                    return applied;
                }
                let j = j as usize;
                if skip(self, j) {
                    continue;
                }
                if let Some((d, o)) = self.best_shift(j)
                    && d < -self.eps()
                {
                    self.move_job(j, o);
                    self.note();
                    applied += 1;
                    improved = true;
                    continue;
                }
                if let Some((d, j2, k1, k2)) = self.best_swap(j)
                    && d < -self.eps()
                {
                    self.move_job(j, k1);
                    self.move_job(j2 as usize, k2);
                    self.note();
                    applied += 1;
                    improved = true;
                }
            }
            if !improved && chains {
                if stop() {
                    return applied;
                }
                for (idx, &j) in order.iter().enumerate() {
                    if idx % 64 == 63 && stop() {
                        return applied;
                    }
                    let j = j as usize;
                    if skip(self, j) {
                        continue;
                    }
                    if let Some((d, moves)) = self.best_chain(j)
                        && d < -self.eps()
                    {
                        for (jm, o) in moves {
                            self.move_job(jm as usize, o);
                        }
                        self.note();
                        applied += 1;
                        improved = true;
                    }
                }
            }
            if !improved || stop() {
                return applied;
            }
        }
    }

    /// Weight update after a local optimum (see the module docs).
    pub fn adapt(&mut self, floor: &[f64]) {
        if self.nviol > 0 {
            let excess: Vec<f64> = (0..self.a.m).map(|i| (self.load[i] - self.a.cap[i]).max(0.0)).collect();
            let mx = excess.iter().copied().fold(0.0, f64::max);
            for i in 0..self.a.m {
                if excess[i] > 0.0 {
                    self.alpha[i] *= 1.0 + ALPHA_UP * excess[i] / mx;
                }
            }
        } else {
            for i in 0..self.a.m {
                self.alpha[i] = (self.alpha[i] * (1.0 - ALPHA_DOWN)).max(floor[i]);
            }
        }
    }
}

/// A starting assignment: [`Assign::greedy`] by `score` (one value per model variable),
/// then [`Search::repair`] of whatever the greedy pass overloaded (`alpha`: the
/// weights below the repair's). Returns the 0/1 state and whether it is feasible.
pub fn construct(a: &Assign, score: &[f64], alpha: &[f64], rng: &mut Rng, stop: &dyn Fn() -> bool) -> (Vec<u8>, bool) {
    let mut x = a.greedy(score);
    let mut s = Search::new(a, &x, alpha.to_vec());
    let ok = s.repair(rng, stop);
    a.write_state(&s.cur, &mut x);
    (x, ok)
}

/// Improves the feasible-or-not 0/1 state `x` by `rounds` rounds of descent and weight
/// updates (see the module docs), starting from the weights `alpha` (floored at `floor`);
/// stops early when `stop()` says so or when `patience` rounds in a row found no better
/// feasible assignment. Returns the best feasible state seen (possibly `x` itself) and its
/// cost (minimisation sense, no offset), or `None` when none was feasible, and when each
/// improvement of the best feasible cost was found (`x` itself first, when feasible).
#[allow(clippy::too_many_arguments)]
pub fn improve(
    a: &Assign,
    x: &[u8],
    alpha: &[f64],
    floor: &[f64],
    rng: &mut Rng,
    rounds: usize,
    patience: usize,
    stop: &dyn Fn() -> bool,
) -> (Option<(Vec<u8>, f64)>, Found) {
    let mut s = Search::new(a, x, alpha.iter().zip(floor).map(|(&u, &f)| u.max(f)).collect());
    let mut since = 0;
    for _ in 0..rounds {
        let before = s.best.as_ref().map(|b| b.1);
        s.descend(rng, stop);
        if stop() {
            break;
        }
        s.project(rng, stop);
        s.adapt(floor);
        if s.best.as_ref().map(|b| b.1) == before {
            since += 1;
            if since >= patience {
                break;
            }
        } else {
            since = 0;
        }
    }
    (s.best_state(x), s.found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cqm::gap::{GapType, generate};

    fn full_cost(m: &ConstrainedModel, x: &[u8]) -> f64 {
        m.energy(x) - m.to_energy(m.offset())
    }

    #[test]
    fn incremental_state_matches_the_model_after_every_move() {
        let m = generate(GapType::D, 30, 5, 7).unwrap().to_model();
        let a = Assign::new(&m, 1 << 20).unwrap();
        let mut rng = Rng::new(3);
        let mut x = vec![0u8; m.num_variables()];
        for j in 0..30 {
            x[j * 5 + rng.below(5) as usize] = 1;
        }
        let mut s = Search::new(&a, &x, vec![5.0; 5]);
        s.descend(&mut rng, &|| false);
        let mut y = x.clone();
        a.write_state(&s.cur, &mut y);
        assert!((s.cost() - full_cost(&m, &y)).abs() < 1e-9);
        assert_eq!(s.feasible(), m.is_feasible(&y));
        for i in 0..5 {
            let c = &m.constraints()[a.place_constraint(i)];
            assert!((c.lhs(&y) - s.load[i]).abs() < 1e-9);
            for (p, &j) in s.members[i].iter().enumerate() {
                assert_eq!(s.opt(j as usize).place as usize, i);
                assert_eq!(s.pos[j as usize] as usize, p);
            }
        }
        // a local optimum: no shift, swap or chain lowers pcost
        for j in 0..30 {
            assert!(s.best_shift(j).is_none_or(|(d, _)| d >= -s.eps()));
            assert!(s.best_swap(j).is_none_or(|b| b.0 >= -s.eps()));
            assert!(s.best_chain(j).is_none_or(|b| b.0 >= -s.eps()));
        }
    }

    #[test]
    fn chain_deltas_are_exact() {
        let m = generate(GapType::C, 24, 4, 2).unwrap().to_model();
        let a = Assign::new(&m, 1 << 20).unwrap();
        let mut x = vec![0u8; m.num_variables()];
        for j in 0..24 {
            x[j * 4 + j % 4] = 1;
        }
        let s = Search::new(&a, &x, vec![3.0, 0.5, 7.0, 1.0]);
        let pcost = |s: &Search| s.cost() + (0..4).map(|i| s.pen(i, s.load[i])).sum::<f64>();
        let base = pcost(&s);
        for j in 0..24 {
            if let Some((d, moves)) = s.best_chain(j) {
                let mut t = Search::new(&a, &x, s.alpha.clone());
                for (jm, o) in moves {
                    t.move_job(jm as usize, o);
                }
                assert!(
                    (pcost(&t) - base - d).abs() < 1e-9,
                    "job {j}: {} vs {d}",
                    pcost(&t) - base
                );
            }
            if let Some((d, j2, k1, k2)) = s.best_swap(j) {
                let mut t = Search::new(&a, &x, s.alpha.clone());
                t.move_job(j, k1);
                t.move_job(j2 as usize, k2);
                assert!((pcost(&t) - base - d).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn improve_reaches_the_brute_force_optimum_of_small_gaps() {
        let (mut feasible, mut hits) = (0, 0);
        for seed in 0..12 {
            let kind = [GapType::C, GapType::D, GapType::E][seed as usize % 3];
            let m = generate(kind, 8, 3, seed).unwrap().to_model();
            let Some((_, opt)) = m.brute_force(1e6).unwrap() else {
                continue;
            };
            let a = Assign::new(&m, 1 << 20).unwrap();
            let mut x = vec![0u8; m.num_variables()];
            for j in 0..8 {
                x[j * 3] = 1;
            }
            let mut rng = Rng::new(seed);
            let u = vec![1.0; 3];
            let (best, found) = improve(&a, &x, &u, &[0.1; 3], &mut rng, 200, 200, &|| false);
            let (y, c) = best.expect("feasible");
            assert_eq!(found.last().map(|f| f.1), Some(c));
            assert!(found.windows(2).all(|w| w[1].1 < w[0].1));
            assert!(m.is_feasible(&y));
            assert!((c - full_cost(&m, &y)).abs() < 1e-9);
            assert!(m.energy(&y) >= opt, "seed {seed}: below the optimum");
            feasible += 1;
            hits += (m.energy(&y) == opt) as usize;
        }
        // a heuristic: from the worst start (everything in one pool) it must reach the
        // optimum on most instances
        assert!(feasible >= 6 && hits * 4 >= feasible * 3, "{hits} optima of {feasible}");
    }

    #[test]
    fn greedy_places_each_job_at_its_best_score_when_everything_fits() {
        let mut g = generate(GapType::C, 20, 4, 1).unwrap();
        g.b = vec![1e6; 4];
        let m = g.to_model();
        let a = Assign::new(&m, 1 << 20).unwrap();
        let mut rng = Rng::new(5);
        let score: Vec<f64> = (0..m.num_variables()).map(|_| rng.next_f64()).collect();
        let x = a.greedy(&score);
        for j in 0..20 {
            let best = (0..4)
                .min_by(|&p, &q| score[j * 4 + p].total_cmp(&score[j * 4 + q]))
                .unwrap();
            assert_eq!(x[j * 4..j * 4 + 4].iter().sum::<u8>(), 1, "job {j}");
            assert_eq!(x[j * 4 + best], 1, "job {j}");
        }
    }

    #[test]
    fn repair_makes_tight_instances_feasible_where_the_greedy_pass_does_not() {
        // capacities cut to 85% of the generator's (tighter than its 80% of the mean use):
        // the regret greedy by cost often overloads a pool; the repair (a local search, not
        // complete) must end feasible on all but at most one in 20 of the instances brute
        // force proves feasible, among them several the greedy pass left overloaded
        let (mut checked, mut greedy_failed, mut repaired, mut failed) = (0, 0, 0, 0);
        for seed in 0..60 {
            let kind = [GapType::C, GapType::D, GapType::E][seed as usize % 3];
            let mut g = generate(kind, 10, 3, seed).unwrap();
            for b in &mut g.b {
                *b = (*b * 0.85).floor();
            }
            let m = g.to_model();
            if m.brute_force(1e6).unwrap().is_none() {
                continue;
            }
            checked += 1;
            let a = Assign::new(&m, 1 << 20).unwrap();
            let score = m.linear().to_vec();
            let x = a.greedy(&score);
            let greedy_ok = m.is_feasible(&x);
            greedy_failed += !greedy_ok as usize;
            let (y, ok) = construct(&a, &score, &[1.0; 3], &mut Rng::new(seed), &|| false);
            assert_eq!(ok, m.is_feasible(&y), "seed {seed}");
            for j in 0..10 {
                assert_eq!(y[j * 3..j * 3 + 3].iter().sum::<u8>(), 1);
            }
            if greedy_ok {
                assert_eq!(x, y, "seed {seed}: a feasible greedy start is kept");
            }
            repaired += (ok && !greedy_ok) as usize;
            failed += !ok as usize;
        }
        assert!(
            checked >= 20 && repaired * 2 >= checked && failed * 20 <= checked,
            "{checked} feasible instances: greedy overloaded {greedy_failed}, repaired {repaired}, failed {failed}"
        );
    }

    #[test]
    fn projection_records_a_feasible_assignment_and_leaves_the_search_in_place() {
        let m = generate(GapType::D, 30, 5, 7).unwrap().to_model();
        let a = Assign::new(&m, 1 << 20).unwrap();
        let mut x = vec![0u8; m.num_variables()];
        for j in 0..30 {
            x[j * 5] = 1; // everything in pool 0: far over its capacity
        }
        let mut s = Search::new(&a, &x, vec![0.5; 5]);
        assert!(!s.feasible() && s.best.is_none());
        let (cur, load, cost) = (s.cur.clone(), s.load.clone(), s.cost());
        s.project(&mut Rng::new(1), &|| false);
        assert_eq!((&s.cur, &s.load, s.cost()), (&cur, &load, cost));
        let (y, c) = s.best_state(&x).expect("a feasible projection");
        assert!(m.is_feasible(&y));
        assert!((c - full_cost(&m, &y)).abs() < 1e-9);
        assert_eq!(s.found.last().map(|f| f.1), Some(c));
    }

    #[test]
    fn narrowed_neighbourhoods_keep_exact_deltas_and_use_only_near_places() {
        let m = generate(GapType::D, 24, 6, 4).unwrap().to_model();
        let mut a = Assign::new(&m, 1 << 20).unwrap();
        let score = m.linear().to_vec();
        a.rank(&score, 2);
        let mut x = vec![0u8; m.num_variables()];
        for j in 0..24 {
            x[j * 6 + j % 6] = 1;
        }
        let s = Search::new(&a, &x, vec![2.0; 6]);
        let pcost = |s: &Search| s.cost() + (0..6).map(|i| s.pen(i, s.load[i])).sum::<f64>();
        let base = pcost(&s);
        for j in 0..24 {
            assert_eq!(a.near[j].len(), 2);
            let worst_near = a.near[j]
                .iter()
                .map(|&k| score[a.opts[j][k as usize].var as usize])
                .fold(f64::MIN, f64::max);
            let others = (0..6u32).filter(|k| !a.near[j].contains(k));
            assert!(
                others
                    .map(|k| score[a.opts[j][k as usize].var as usize])
                    .all(|v| v >= worst_near)
            );
            if let Some((d, j2, k1, k2)) = s.best_swap(j) {
                assert!(a.near[j].contains(&k1));
                let mut t = Search::new(&a, &x, s.alpha.clone());
                t.move_job(j, k1);
                t.move_job(j2 as usize, k2);
                assert!((pcost(&t) - base - d).abs() < 1e-9);
            }
            if let Some((d, moves)) = s.best_chain(j) {
                let mut t = Search::new(&a, &x, s.alpha.clone());
                for (i, &(jm, o)) in moves.iter().enumerate() {
                    // every move but the closing one goes to a near place
                    assert!(i + 1 == moves.len() || a.near[jm as usize].contains(&o));
                    t.move_job(jm as usize, o);
                }
                assert!((pcost(&t) - base - d).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn models_of_other_shapes_are_refused() {
        let text =
            "Minimize\n obj: x + y + [ 2 x * y ] / 2\nSubject To\n g: x + y = 1\n c: x + y <= 1\nBinary\n x y\nEnd\n";
        let m = crate::cqm::lp::read_str(text, "q.lp").unwrap();
        assert!(Assign::new(&m, 100).is_none(), "quadratic objective");
        let text = "Minimize\n obj: x + y\nSubject To\n g: x + y = 1\n c: x + y >= 1\nBinary\n x y\nEnd\n";
        let m = crate::cqm::lp::read_str(text, "q.lp").unwrap();
        assert!(Assign::new(&m, 100).is_none(), ">= constraint");
        let m = generate(GapType::C, 10, 3, 1).unwrap().to_model();
        assert!(Assign::new(&m, 29).is_none(), "too many cells");
        assert!(Assign::new(&m, 30).is_some());
    }
}
