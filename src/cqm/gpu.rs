//! The constrained annealer of `gpu-cqm-sa` in fixed point, and its CPU twin.
//!
//! `gpu-cqm-sa` runs many independent chains at once, one GPU invocation per chain
//! (`shaders/cqm_anneal.wgsl`, host code in [`crate::gpu::cqm`]). This module holds what
//! both sides share and the CPU twin of the kernel, which computes **exactly** the same
//! states (same counter-based random numbers, same integer and f32 operations in the same
//! order), so tests can compare a device with it state for state.
//!
//! The algorithm (per chain; a simpler relative of `cqm-sa`, without its swaps,
//! ejection chains and cross-chain restarts):
//!
//! * One-hot groups stay valid: a move **reassigns** a group (its chosen variable off, one
//!   of its other variables on) or **flips** a free binary variable; one move in four first
//!   tries a **swap**: two groups exchange places (each takes the variable of the other's
//!   *place*, the first constraint its chosen variable occurs in, e.g. two agents trade
//!   pools), as one move. Groups of one variable are fixed at 1.
//! * The objective (minimisation sense) and every other constraint's left-hand side are
//!   tracked incrementally in **fixed point**: objective values as `round(value * 2^a)`,
//!   constraint coefficients and right-hand sides as `round(value * 2^b)`, both `i32`, with
//!   the powers of two chosen so that nothing can overflow. Integer-coefficient models
//!   (GAP files) are represented exactly ([`CqmProgram::exact`]).
//! * Violations are priced by per-chain multipliers `lambda_c` (f32, objective units per
//!   constraint unit), which adapt after every sweep: times 1.02 while `c` is violated, times
//!   0.995 while it holds, within `[0.1, 1e4]` times the start value. A move's penalty change
//!   is `trunc(clamp(lambda_c * (v_new - v_old), ±2^28))` per constraint it touches (one f32
//!   product, then integers: nothing a compiler could fuse or reorder).
//! * Metropolis on the penalised change `d` (fixed point) at temperature `T_t` (per sweep,
//!   geometric from hot to cold): accept when `d <= 0` or
//!   `f32(d) < L[k] * T_t`, where `k` is 12 random bits and `L[k] = -ln((k + 0.5) / 4096)`
//!   is a table the host computes (so no transcendental runs on the device).
//! * Every chain keeps its best feasible state (checked after every move) or, until it has
//!   one, its least-violated state (checked after every sweep: least total fixed-point
//!   violation, then least objective). A run is `cycles` annealing cycles of `sweeps`
//!   sweeps; the first cycle starts from a random state at `0.3 x` the typical move size,
//!   later cycles restart each chain from its own best feasible state (if any) at `0.1 x`,
//!   all cooling to `0.001 x`.
//!
//! Random numbers: `pcg4d(chain, sweep, step, key)` ([`crate::gpu::anneal::reference`]),
//! `key = seed_key(seed)`; a chain's draws depend on its global index only, so the answer
//! does not depend on how chains are grouped into dispatches or threads.

#![allow(clippy::needless_range_loop)] // index loops over parallel arrays read clearest here

use super::{Cmp, ConstrainedModel, CqmError, CqmSaParams};
use crate::gpu::anneal::reference::{pcg4d, seed_key};
use rayon::prelude::*;

/// Entries of the `-ln u` table (12 random bits pick one).
pub const LOG_TABLE: usize = 4096;
/// Bound on the sum of absolute objective coefficients in fixed point (so every field,
/// objective value and objective change fits an `i32`).
pub const OBJ_LIMIT: f64 = (1u64 << 29) as f64;
/// Bound on each constraint's sum of absolute coefficients and right-hand side in fixed
/// point (so left-hand sides and violations fit an `i32` and convert to f32 exactly).
pub const CONS_LIMIT: f64 = (1u64 << 24) as f64;
/// A penalty change is clamped to `±PEN_CLAMP` before it becomes an integer.
pub const PEN_CLAMP: f32 = (1u32 << 28) as f32;
/// Multiplier growth while violated.
pub const LAMBDA_UP: f32 = 1.02;
/// Multiplier decay while satisfied.
pub const LAMBDA_DOWN: f32 = 0.995;
/// Per-chain scalars in [`ChainState::meta`].
pub const META: usize = 8;
/// `meta` slots: current objective (i32 bits), violated constraints, has a best feasible
/// state, its objective (i32 bits), has a least-violated state, its total violation, its
/// objective (i32 bits), accepted moves (wrapping).
pub mod meta {
    /// Current objective, fixed point (i32 bits).
    pub const F: usize = 0;
    /// Number of violated (non-one-hot) constraints now.
    pub const NVIOL: usize = 1;
    /// 1 when the chain has a best feasible state.
    pub const HAS_BEST: usize = 2;
    /// Objective of the best feasible state (i32 bits).
    pub const BEST_F: usize = 3;
    /// 1 when the chain has a least-violated state.
    pub const HAS_LEAST: usize = 4;
    /// Total fixed-point violation of the least-violated state (saturating).
    pub const LEAST_TOTAL: usize = 5;
    /// Objective of the least-violated state (i32 bits).
    pub const LEAST_F: usize = 6;
    /// Accepted moves (wrapping count).
    pub const ACCEPTED: usize = 7;
}
/// A unit code with this bit set is a group (`code & !GROUP_BIT`), else a free variable.
pub const GROUP_BIT: u32 = 0x8000_0000;
/// RNG sweep counter of the initial state's draws.
pub const INIT_SWEEP: u32 = u32::MAX;
/// No constraint (a variable in none).
pub const NO_PLACE: u32 = u32::MAX;

/// Constraint senses as the kernel stores them.
fn sense_code(c: Cmp) -> u32 {
    match c {
        Cmp::Le => 0,
        Cmp::Eq => 1,
        Cmp::Ge => 2,
    }
}

/// Word offsets of the sections of [`CqmProgram::data`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Offsets {
    /// Objective linear coefficients (i32, `n`).
    pub lin: usize,
    /// Adjacency row starts (`n + 1`).
    pub adj_ptr: usize,
    /// Adjacency `(neighbour, q bits)` pairs.
    pub adj: usize,
    /// Group starts into `group_vars` (`G + 1`).
    pub group_ptr: usize,
    /// Variables of each group, concatenated.
    pub group_vars: usize,
    /// Unit codes (`U`): a group with at least two variables (`GROUP_BIT | g`) or a free
    /// variable.
    pub units: usize,
    /// Occurrence starts per variable (`n + 1`).
    pub occ_ptr: usize,
    /// Occurrences `(constraint, coefficient bits)` pairs.
    pub occ: usize,
    /// Per constraint 5 words: sense, rhs (i32), lambda start, floor, ceiling (f32 bits).
    pub cons: usize,
    /// The `-ln u` table (f32 bits, [`LOG_TABLE`]).
    pub log: usize,
}

/// A constrained model compiled to the kernel's fixed-point form (see the
/// [module docs](self)).
#[derive(Clone, Debug)]
pub struct CqmProgram {
    /// Variables.
    pub n: usize,
    /// One-hot groups (all, including single-variable ones).
    pub groups: usize,
    /// Movable units (groups of two or more variables, free variables): moves per sweep.
    pub units: usize,
    /// Groups of two or more variables (the first `movable_groups` units).
    pub movable_groups: usize,
    /// Non-one-hot constraints.
    pub constraints: usize,
    /// Objective fixed-point scale (a power of two).
    pub obj_scale: f64,
    /// Constraint fixed-point scale (a power of two).
    pub cons_scale: f64,
    /// True when no coefficient was rounded (integer models, dyadic fractions).
    pub exact: bool,
    /// Typical objective change of a move, fixed point (the temperature unit).
    pub temp_scale: f64,
    /// Every read-only section, as u32 words (layout in `off`).
    pub data: Vec<u32>,
    /// Where each section starts.
    pub off: Offsets,
    /// Objective sign (1 minimising, -1 maximising) and offset in the model's sense.
    sign: f64,
}

/// The power of two `2^k` with `max * 2^k <= limit` (k as large as that allows, within
/// ±1000); 1 for a zero or non-finite `max`.
fn pow2_scale(max: f64, limit: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let k = (limit / max).log2().floor().clamp(-1000.0, 1000.0) as i32;
    2f64.powi(k)
}

impl CqmProgram {
    /// Compiles `m` (one-hot groups as detected or declared in the model). Errors when the
    /// model is too big for 32-bit indices.
    pub fn new(m: &ConstrainedModel) -> Result<Self, CqmError> {
        let n = m.num_variables();
        let sign = m.to_energy(1.0);
        let lin: Vec<f64> = m.linear().iter().map(|&c| sign * c).collect();
        let quad: Vec<(usize, usize, f64)> = m.quadratic().into_iter().map(|(i, j, q)| (i, j, sign * q)).collect();
        let total = lin.iter().map(|c| c.abs()).sum::<f64>() + quad.iter().map(|t| t.2.abs()).sum::<f64>();
        let obj_scale = pow2_scale(total, OBJ_LIMIT);
        let mut exact = true;
        let mut fx = |x: f64, s: f64| {
            let y = (x * s).round();
            if y != x * s {
                exact = false;
            }
            y as i32
        };
        let lin_fx: Vec<i32> = lin.iter().map(|&c| fx(c, obj_scale)).collect();
        let mut adj: Vec<Vec<(u32, i32)>> = vec![Vec::new(); n];
        for &(i, j, q) in &quad {
            let qf = fx(q, obj_scale);
            if qf != 0 {
                adj[i].push((j as u32, qf));
                adj[j].push((i as u32, qf));
            }
        }
        let groups: Vec<Vec<usize>> = m.one_hot_groups();
        let mut in_group = vec![false; n];
        for g in &groups {
            for &v in g {
                in_group[v] = true;
            }
        }
        let mut units: Vec<u32> = Vec::new();
        for (g, vs) in groups.iter().enumerate() {
            if vs.len() >= 2 {
                units.push(GROUP_BIT | g as u32);
            }
        }
        for v in 0..n {
            if !in_group[v] {
                units.push(v as u32);
            }
        }
        let one_hot: std::collections::HashSet<usize> = m.one_hot_constraints().iter().copied().collect();
        let cons: Vec<&super::Constraint> = m
            .constraints()
            .iter()
            .enumerate()
            .filter(|(c, _)| !one_hot.contains(c))
            .map(|(_, k)| k)
            .collect();
        let cons_max = cons
            .iter()
            .map(|k| k.terms.iter().map(|t| t.1.abs()).sum::<f64>().max(k.rhs.abs()))
            .fold(0.0, f64::max);
        let cons_scale = pow2_scale(cons_max, CONS_LIMIT);
        let mut occ: Vec<Vec<(u32, i32)>> = vec![Vec::new(); n];
        let mut cons_words: Vec<u32> = Vec::with_capacity(5 * cons.len());
        // temperature unit: mean |objective change| of a single move (as cqm-sa)
        let mut sum = 0.0;
        for v in 0..n {
            sum += lin[v].abs() + adj[v].iter().map(|t| 0.5 * (t.1 as f64).abs()).sum::<f64>() / obj_scale;
        }
        let mut scale_real = if n > 0 { sum / n as f64 } else { 1.0 };
        if !(scale_real > 0.0 && scale_real.is_finite()) {
            scale_real = 1.0;
        }
        let temp_scale = scale_real * obj_scale;
        for (c, k) in cons.iter().enumerate() {
            let mut abs_sum = 0.0;
            let mut cnt = 0usize;
            for &(v, a) in &k.terms {
                let af = fx(a, cons_scale);
                if af != 0 {
                    occ[v].push((c as u32, af));
                    abs_sum += (af as f64).abs();
                    cnt += 1;
                }
            }
            let rhs = fx(k.rhs, cons_scale);
            // a violation by one typical coefficient costs about one temperature unit
            let mean = if cnt > 0 { abs_sum / cnt as f64 } else { 0.0 };
            let l0 = if mean > 0.0 { temp_scale / mean } else { temp_scale };
            cons_words.extend([
                sense_code(k.sense),
                rhs as u32,
                (l0 as f32).to_bits(),
                ((l0 * 0.1) as f32).to_bits(),
                ((l0 * 1e4) as f32).to_bits(),
            ]);
        }
        let nnz: usize = adj.iter().map(Vec::len).sum();
        let nocc: usize = occ.iter().map(Vec::len).sum();
        let gv: usize = groups.iter().map(Vec::len).sum();
        let mut off = Offsets {
            lin: 0,
            ..Default::default()
        };
        off.adj_ptr = off.lin + n;
        off.adj = off.adj_ptr + n + 1;
        off.group_ptr = off.adj + 2 * nnz;
        off.group_vars = off.group_ptr + groups.len() + 1;
        off.units = off.group_vars + gv;
        off.occ_ptr = off.units + units.len();
        off.occ = off.occ_ptr + n + 1;
        off.cons = off.occ + 2 * nocc;
        off.log = off.cons + cons_words.len();
        let len = off.log + LOG_TABLE;
        if len > u32::MAX as usize / 2 {
            return Err(CqmError::Invalid(format!(
                "the model needs {len} words of problem data, more than 32-bit indices address"
            )));
        }
        let mut data: Vec<u32> = Vec::with_capacity(len);
        data.extend(lin_fx.iter().map(|&x| x as u32));
        let mut p = 0u32;
        data.push(0);
        for a in &adj {
            p += a.len() as u32;
            data.push(p);
        }
        for a in &adj {
            for &(j, q) in a {
                data.push(j);
                data.push(q as u32);
            }
        }
        let mut p = 0u32;
        data.push(0);
        for g in &groups {
            p += g.len() as u32;
            data.push(p);
        }
        for g in &groups {
            data.extend(g.iter().map(|&v| v as u32));
        }
        data.extend(&units);
        let mut p = 0u32;
        data.push(0);
        for o in &occ {
            p += o.len() as u32;
            data.push(p);
        }
        for o in &occ {
            for &(c, a) in o {
                data.push(c);
                data.push(a as u32);
            }
        }
        data.extend(&cons_words);
        for k in 0..LOG_TABLE {
            let u = (k as f64 + 0.5) / LOG_TABLE as f64;
            data.push((-u.ln() as f32).to_bits());
        }
        debug_assert_eq!(data.len(), len);
        Ok(CqmProgram {
            n,
            groups: groups.len(),
            units: units.len(),
            movable_groups: units.iter().filter(|&&u| u & GROUP_BIT != 0).count(),
            constraints: cons.len(),
            obj_scale,
            cons_scale,
            exact,
            temp_scale,
            data,
            off,
            sign,
        })
    }

    /// Temperatures (fixed point, f32) of every sweep of a first cycle (`0..sweeps`) and of
    /// a restart cycle (`sweeps..2 * sweeps`).
    pub fn temperatures(&self, sweeps: usize) -> Vec<f32> {
        let cold = 1e-3 * self.temp_scale;
        let mut t = Vec::with_capacity(2 * sweeps);
        for hot in [0.3 * self.temp_scale, 0.1 * self.temp_scale] {
            let ratio = if sweeps > 1 {
                (cold / hot).powf(1.0 / (sweeps - 1) as f64)
            } else {
                1.0
            };
            for k in 0..sweeps {
                t.push((hot * ratio.powi(k as i32)) as f32);
            }
        }
        t
    }

    /// Words per chain of each chain buffer: `(words, constraint state, chain state)` =
    /// `(n, 2 K, G + 2 U + META)`.
    pub fn chain_words(&self) -> (usize, usize, usize) {
        (self.n, 2 * self.constraints, self.groups + 2 * self.units + META)
    }

    /// The 0/1 state whose units take the values `u` (a group unit: its chosen variable;
    /// a free variable: its bit); groups of one variable are set.
    pub fn state_from_units(&self, u: &[u32]) -> Vec<u8> {
        let d = &self.data;
        let mut x = vec![0u8; self.n];
        for g in 0..self.groups {
            let (a, b) = (
                d[self.off.group_ptr + g] as usize,
                d[self.off.group_ptr + g + 1] as usize,
            );
            if b - a == 1 {
                x[d[self.off.group_vars + a] as usize] = 1;
            }
        }
        for (i, &code) in d[self.off.units..self.off.units + self.units].iter().enumerate() {
            if code & GROUP_BIT != 0 {
                x[u[i] as usize] = 1;
            } else {
                x[code as usize] = u[i] as u8 & 1;
            }
        }
        x
    }

    /// The state a chain ends with as its answer: its best feasible state, else its least
    /// violated one, else its current state.
    pub fn chain_answer(&self, c: &ChainState) -> Vec<u8> {
        if c.meta[meta::HAS_BEST] != 0 {
            self.state_from_units(&c.best)
        } else if c.meta[meta::HAS_LEAST] != 0 {
            self.state_from_units(&c.least)
        } else {
            c.words.iter().map(|&w| (w & 1) as u8).collect()
        }
    }

    /// Objective (minimisation sense, no offset, model units) of a fixed-point value.
    pub fn energy_of_fixed(&self, f: i32) -> f64 {
        f as f64 / self.obj_scale
    }

    /// The sign that turns the model's objective into an energy (1 or -1).
    pub fn sign(&self) -> f64 {
        self.sign
    }
}

/// The answer among chains' states, judged on the model itself (f64): the feasible state
/// of least energy, else the state of least total violation (then least energy). Ties
/// keep the lower chain index. `None` for no states.
pub fn pick_answer(m: &ConstrainedModel, states: &[Vec<u8>]) -> Option<Vec<u8>> {
    let mut feasible: Option<(usize, f64)> = None;
    let mut least: Option<(usize, f64, f64)> = None;
    for (i, x) in states.iter().enumerate() {
        let e = m.energy(x);
        let viol: f64 = m.violations(x).iter().map(|v| v.amount).sum();
        if viol == 0.0 {
            if feasible.is_none_or(|(_, be)| e < be) {
                feasible = Some((i, e));
            }
        } else if least.is_none_or(|(_, lv, le)| viol < lv || (viol == lv && e < le)) {
            least = Some((i, viol, e));
        }
    }
    feasible
        .map(|(i, _)| i)
        .or(least.map(|(i, _, _)| i))
        .map(|i| states[i].clone())
}

/// One chain's state, exactly as the kernel keeps it (the device's interleaved buffers
/// read back per chain compare equal to it).
#[derive(Clone, Debug, PartialEq)]
pub struct ChainState {
    /// Per variable `2 * field + x` (field: fixed-point objective local field).
    pub words: Vec<i32>,
    /// Per constraint its fixed-point left-hand side.
    pub lhs: Vec<i32>,
    /// Per constraint its multiplier (f32 bits, so equality is bitwise).
    pub lambda: Vec<u32>,
    /// Chosen variable of each group.
    pub choice: Vec<u32>,
    /// Unit values of the best feasible state.
    pub best: Vec<u32>,
    /// Unit values of the least-violated state.
    pub least: Vec<u32>,
    /// Scalars, see [`meta`].
    pub meta: [u32; META],
}

/// The per-chain operations of the kernel, on the CPU.
struct Twin<'a> {
    p: &'a CqmProgram,
    s: ChainState,
    f: i32,
    nviol: u32,
}

#[inline]
fn violation(sense: u32, lhs: i32, rhs: i32) -> i32 {
    match sense {
        0 => lhs.wrapping_sub(rhs).max(0),
        2 => rhs.wrapping_sub(lhs).max(0),
        _ => lhs.wrapping_sub(rhs).wrapping_abs(),
    }
}

/// `trunc(clamp(lambda * dv, ±PEN_CLAMP))`.
#[inline]
pub fn penalty(lambda: f32, dv: i32) -> i32 {
    (lambda * dv as f32).clamp(-PEN_CLAMP, PEN_CLAMP) as i32
}

/// The Metropolis test: accept `d` (fixed point) at temperature `temp` with random bits
/// `bits` (the top 12 pick the `-ln u` entry).
#[inline]
pub fn accept(d: i32, temp: f32, bits: u32, log_table: &[u32]) -> bool {
    if d <= 0 {
        return true;
    }
    let l = f32::from_bits(log_table[(bits >> 20) as usize]);
    (d as f32) < l * temp
}

impl<'a> Twin<'a> {
    fn d(&self, i: usize) -> u32 {
        self.p.data[i]
    }

    fn new(p: &'a CqmProgram) -> Self {
        Twin {
            p,
            s: ChainState {
                words: vec![0; p.n],
                lhs: vec![0; p.constraints],
                lambda: vec![0; p.constraints],
                choice: vec![0; p.groups],
                best: vec![0; p.units],
                least: vec![0; p.units],
                meta: [0; META],
            },
            f: 0,
            nviol: 0,
        }
    }

    /// Recomputes fields, objective, left-hand sides and violation count from the bits.
    fn rebuild(&mut self) {
        let (p, o) = (self.p, self.p.off);
        for v in 0..p.n {
            let bit = self.s.words[v] & 1;
            self.s.words[v] = (self.d(o.lin + v) as i32).wrapping_mul(2) | bit;
        }
        for k in 0..p.constraints {
            self.s.lhs[k] = 0;
        }
        let mut f: i32 = 0;
        for v in 0..p.n {
            if self.s.words[v] & 1 == 0 {
                continue;
            }
            f = f.wrapping_add(self.d(o.lin + v) as i32);
            for e in self.d(o.adj_ptr + v) as usize..self.d(o.adj_ptr + v + 1) as usize {
                let u = self.d(o.adj + 2 * e) as usize;
                let q = self.d(o.adj + 2 * e + 1) as i32;
                self.s.words[u] = self.s.words[u].wrapping_add(q.wrapping_mul(2));
                if u > v && self.s.words[u] & 1 == 1 {
                    f = f.wrapping_add(q);
                }
            }
            for e in self.d(o.occ_ptr + v) as usize..self.d(o.occ_ptr + v + 1) as usize {
                let c = self.d(o.occ + 2 * e) as usize;
                self.s.lhs[c] = self.s.lhs[c].wrapping_add(self.d(o.occ + 2 * e + 1) as i32);
            }
        }
        let mut nviol = 0u32;
        for k in 0..p.constraints {
            if violation(self.d(o.cons + 5 * k), self.s.lhs[k], self.d(o.cons + 5 * k + 1) as i32) > 0 {
                nviol += 1;
            }
        }
        self.f = f;
        self.nviol = nviol;
    }

    /// Random state of chain `cg` (global index), multipliers at their start, no records.
    fn init(&mut self, cg: u32, key: u32) {
        let (p, o) = (self.p, self.p.off);
        for v in 0..p.n {
            self.s.words[v] = 0;
        }
        for g in 0..p.groups {
            let a = self.d(o.group_ptr + g);
            let len = self.d(o.group_ptr + g + 1) - a;
            let r = pcg4d([cg, INIT_SWEEP, g as u32, key])[0];
            let v = self.d(o.group_vars + (a + r % len) as usize);
            self.s.choice[g] = v;
            self.s.words[v as usize] = 1;
        }
        for i in 0..p.units {
            let code = self.d(o.units + i);
            if code & GROUP_BIT == 0 {
                let r = pcg4d([cg, INIT_SWEEP - 1, code, key])[0];
                self.s.words[code as usize] = (r & 1) as i32;
            }
        }
        for k in 0..p.constraints {
            self.s.lambda[k] = self.d(o.cons + 5 * k + 2);
        }
        self.rebuild();
        self.s.meta = [0; META];
        self.record_best();
    }

    /// Restart from the chain's best feasible state (if it has one); multipliers and
    /// records kept.
    fn restart(&mut self) {
        let (p, o) = (self.p, self.p.off);
        if self.s.meta[meta::HAS_BEST] == 0 {
            return;
        }
        for v in 0..p.n {
            self.s.words[v] = 0;
        }
        for g in 0..p.groups {
            let a = self.d(o.group_ptr + g) as usize;
            if self.d(o.group_ptr + g + 1) as usize - a == 1 {
                let v = self.d(o.group_vars + a);
                self.s.choice[g] = v;
                self.s.words[v as usize] = 1;
            }
        }
        for i in 0..p.units {
            let code = self.d(o.units + i);
            let u = self.s.best[i];
            if code & GROUP_BIT != 0 {
                self.s.choice[(code & !GROUP_BIT) as usize] = u;
                self.s.words[u as usize] = 1;
            } else {
                self.s.words[code as usize] = (u & 1) as i32;
            }
        }
        self.rebuild();
    }

    fn units_now(&self, i: usize) -> u32 {
        let code = self.d(self.p.off.units + i);
        if code & GROUP_BIT != 0 {
            self.s.choice[(code & !GROUP_BIT) as usize]
        } else {
            (self.s.words[code as usize] & 1) as u32
        }
    }

    fn record_best(&mut self) {
        if self.nviol == 0 && (self.s.meta[meta::HAS_BEST] == 0 || self.f < self.s.meta[meta::BEST_F] as i32) {
            self.s.meta[meta::HAS_BEST] = 1;
            self.s.meta[meta::BEST_F] = self.f as u32;
            for i in 0..self.p.units {
                self.s.best[i] = self.units_now(i);
            }
        }
    }

    /// Flips `v`; returns the change of the penalised energy (fixed point, wrapping).
    fn flip(&mut self, v: usize) -> i32 {
        let o = self.p.off;
        let w = self.s.words[v];
        let s: i32 = if w & 1 == 0 { 1 } else { -1 };
        let df = s.wrapping_mul(w >> 1);
        self.s.words[v] = w ^ 1;
        for e in self.d(o.adj_ptr + v) as usize..self.d(o.adj_ptr + v + 1) as usize {
            let u = self.d(o.adj + 2 * e) as usize;
            let q = self.d(o.adj + 2 * e + 1) as i32;
            self.s.words[u] = self.s.words[u].wrapping_add(s.wrapping_mul(q).wrapping_mul(2));
        }
        let mut dp: i32 = 0;
        for e in self.d(o.occ_ptr + v) as usize..self.d(o.occ_ptr + v + 1) as usize {
            let c = self.d(o.occ + 2 * e) as usize;
            let a = self.d(o.occ + 2 * e + 1) as i32;
            let sense = self.d(o.cons + 5 * c);
            let rhs = self.d(o.cons + 5 * c + 1) as i32;
            let old = self.s.lhs[c];
            let new = old.wrapping_add(s.wrapping_mul(a));
            self.s.lhs[c] = new;
            let vo = violation(sense, old, rhs);
            let vn = violation(sense, new, rhs);
            if vn != vo {
                dp = dp.wrapping_add(penalty(f32::from_bits(self.s.lambda[c]), vn.wrapping_sub(vo)));
            }
            self.nviol = self
                .nviol
                .wrapping_add(u32::from(vn > 0))
                .wrapping_sub(u32::from(vo > 0));
        }
        self.f = self.f.wrapping_add(df);
        df.wrapping_add(dp)
    }

    /// The first constraint `v` occurs in ([`NO_PLACE`] if none).
    fn place(&self, v: u32) -> u32 {
        let o = self.p.off;
        let a = self.d(o.occ_ptr + v as usize);
        if a < self.d(o.occ_ptr + v as usize + 1) {
            self.d(o.occ + 2 * a as usize)
        } else {
            NO_PLACE
        }
    }

    /// The first variable of group `g` whose place is `place`.
    fn in_place(&self, g: usize, place: u32) -> Option<u32> {
        let o = self.p.off;
        (self.d(o.group_ptr + g)..self.d(o.group_ptr + g + 1))
            .map(|i| self.d(o.group_vars + i as usize))
            .find(|&v| self.place(v) == place)
    }

    /// The swap move: groups `units[r0 % M]` and `units[r1 % M]` exchange places. `None`
    /// when it does not apply (then the step makes an ordinary move).
    fn swap(&mut self, r: [u32; 4], temp: f32) -> Option<bool> {
        let (p, o) = (self.p, self.p.off);
        let m = p.movable_groups as u32;
        let g1 = (self.d(o.units + (r[0] % m) as usize) & !GROUP_BIT) as usize;
        let g2 = (self.d(o.units + (r[1] % m) as usize) & !GROUP_BIT) as usize;
        let (a1, a2) = (self.s.choice[g1], self.s.choice[g2]);
        let (p1, p2) = (self.place(a1), self.place(a2));
        if g1 == g2 || p1 == p2 || p1 == NO_PLACE || p2 == NO_PLACE {
            return None;
        }
        let b1 = self.in_place(g1, p2)?;
        let b2 = self.in_place(g2, p1)?;
        let d = self
            .flip(a1 as usize)
            .wrapping_add(self.flip(b1 as usize))
            .wrapping_add(self.flip(a2 as usize))
            .wrapping_add(self.flip(b2 as usize));
        let ok = accept(d, temp, r[2], &p.data[o.log..o.log + LOG_TABLE]);
        if ok {
            self.s.choice[g1] = b1;
            self.s.choice[g2] = b2;
        } else {
            for v in [b2, a2, b1, a1] {
                self.flip(v as usize);
            }
        }
        Some(ok)
    }

    /// One move of chain `cg` at sweep `t`, step `step`, temperature `temp`.
    fn step(&mut self, cg: u32, t: u32, step: u32, key: u32, temp: f32) {
        let (p, o) = (self.p, self.p.off);
        let r = pcg4d([cg, t, step, key]);
        let swapped = if p.movable_groups >= 2 && r[3] & 3 == 0 {
            self.swap(r, temp)
        } else {
            None
        };
        if let Some(ok) = swapped {
            if ok {
                self.s.meta[meta::ACCEPTED] = self.s.meta[meta::ACCEPTED].wrapping_add(1);
                self.record_best();
            }
            return;
        }
        let code = self.d(o.units + (r[0] % p.units as u32) as usize);
        let log = &p.data[o.log..o.log + LOG_TABLE];
        let accepted;
        if code & GROUP_BIT != 0 {
            let g = (code & !GROUP_BIT) as usize;
            let a = self.d(o.group_ptr + g);
            let len = self.d(o.group_ptr + g + 1) - a;
            let cur = self.s.choice[g];
            let mut b = self.d(o.group_vars + (a + r[1] % (len - 1)) as usize);
            if b == cur {
                b = self.d(o.group_vars + (a + len - 1) as usize);
            }
            let d = self.flip(cur as usize).wrapping_add(self.flip(b as usize));
            accepted = accept(d, temp, r[2], log);
            if accepted {
                self.s.choice[g] = b;
            } else {
                self.flip(b as usize);
                self.flip(cur as usize);
            }
        } else {
            let d = self.flip(code as usize);
            accepted = accept(d, temp, r[2], log);
            if !accepted {
                self.flip(code as usize);
            }
        }
        if accepted {
            self.s.meta[meta::ACCEPTED] = self.s.meta[meta::ACCEPTED].wrapping_add(1);
            self.record_best();
        }
    }

    /// After a sweep: adapt the multipliers; without a feasible record, keep the least
    /// violated state.
    fn end_sweep(&mut self) {
        let (p, o) = (self.p, self.p.off);
        let mut total: u32 = 0;
        for k in 0..p.constraints {
            let v = violation(self.d(o.cons + 5 * k), self.s.lhs[k], self.d(o.cons + 5 * k + 1) as i32);
            let l = f32::from_bits(self.s.lambda[k]);
            let nl = if v > 0 {
                total = total.saturating_add(v as u32).min(i32::MAX as u32);
                (l * LAMBDA_UP).min(f32::from_bits(self.d(o.cons + 5 * k + 4)))
            } else {
                (l * LAMBDA_DOWN).max(f32::from_bits(self.d(o.cons + 5 * k + 3)))
            };
            self.s.lambda[k] = nl.to_bits();
        }
        let m = &self.s.meta;
        if m[meta::HAS_BEST] == 0
            && (m[meta::HAS_LEAST] == 0
                || total < m[meta::LEAST_TOTAL]
                || (total == m[meta::LEAST_TOTAL] && self.f < m[meta::LEAST_F] as i32))
        {
            self.s.meta[meta::HAS_LEAST] = 1;
            self.s.meta[meta::LEAST_TOTAL] = total;
            self.s.meta[meta::LEAST_F] = self.f as u32;
            for i in 0..p.units {
                self.s.least[i] = self.units_now(i);
            }
        }
    }

    fn finish(mut self) -> ChainState {
        self.s.meta[meta::F] = self.f as u32;
        self.s.meta[meta::NVIOL] = self.nviol;
        self.s
    }
}

/// The CPU twin of the kernel: every chain of a run of `params.cycles` cycles (no time
/// limit or target: those cut the device run between dispatches), chain `c` with global
/// index `c`. Chains run in parallel on the rayon pool; the result does not depend on the
/// thread count.
pub fn twin_run(p: &CqmProgram, params: &CqmSaParams) -> Result<Vec<ChainState>, CqmError> {
    params.validate()?;
    let key = seed_key(params.seed);
    let temps = p.temperatures(params.sweeps);
    Ok((0..params.chains as u32)
        .into_par_iter()
        .map(|cg| {
            let mut t = Twin::new(p);
            t.init(cg, key);
            for cycle in 0..params.cycles {
                if cycle > 0 {
                    t.restart();
                }
                let base = if cycle == 0 { 0 } else { params.sweeps };
                for k in 0..params.sweeps {
                    let sweep = (cycle * params.sweeps + k) as u32;
                    let temp = temps[base + k];
                    if p.units > 0 {
                        for step in 0..p.units as u32 {
                            t.step(cg, sweep, step, key, temp);
                        }
                    }
                    t.end_sweep();
                }
            }
            t.finish()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cqm::Sense;

    fn knapsack() -> ConstrainedModel {
        // maximise 5a + 4b + 3c + 2d with 4a + 3b + 2c + d <= 6, one of {e, f}
        let mut m = ConstrainedModel::new(Sense::Maximize);
        let v: Vec<usize> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|n| m.add_variable(n).unwrap())
            .collect();
        for (i, c) in [5.0, 4.0, 3.0, 2.0, 1.0, 0.0].into_iter().enumerate() {
            m.add_linear(v[i], c);
        }
        m.add_quadratic(v[0], v[4], -2.0);
        m.add_constraint(
            "cap",
            vec![(v[0], 4.0), (v[1], 3.0), (v[2], 2.0), (v[3], 1.0)],
            Cmp::Le,
            6.0,
        )
        .unwrap();
        m.add_one_hot("pick", &[v[4], v[5]]).unwrap();
        m
    }

    #[test]
    fn integer_models_compile_exactly_and_rebuild_matches_the_model() {
        let m = knapsack();
        let p = CqmProgram::new(&m).unwrap();
        assert!(p.exact);
        assert_eq!((p.n, p.groups, p.units, p.constraints), (6, 1, 5, 1));
        let mut t = Twin::new(&p);
        for cg in 0..16 {
            t.init(cg, 7);
            let x: Vec<u8> = t.s.words.iter().map(|&w| (w & 1) as u8).collect();
            assert_eq!(x[4] + x[5], 1);
            assert_eq!(p.energy_of_fixed(t.f), m.energy(&x) - m.to_energy(m.offset()));
            assert_eq!(t.nviol as usize, m.violations(&x).len());
            assert_eq!(t.s.lhs[0] as f64 / p.cons_scale, m.constraints()[0].lhs(&x));
        }
    }

    #[test]
    fn flips_are_undone_exactly() {
        let p = CqmProgram::new(&knapsack()).unwrap();
        let mut t = Twin::new(&p);
        t.init(3, 9);
        let before = (t.s.clone(), t.f, t.nviol);
        for v in [0usize, 2, 3, 1] {
            t.flip(v);
        }
        for v in [1usize, 3, 2, 0] {
            t.flip(v);
        }
        assert_eq!((t.s.clone(), t.f, t.nviol), before);
    }

    #[test]
    fn twin_finds_the_knapsack_optimum() {
        let m = knapsack();
        let p = CqmProgram::new(&m).unwrap();
        let params = CqmSaParams {
            chains: 4,
            sweeps: 200,
            cycles: 2,
            ..Default::default()
        };
        let chains = twin_run(&p, &params).unwrap();
        let states: Vec<Vec<u8>> = chains.iter().map(|c| p.chain_answer(c)).collect();
        let best = pick_answer(&m, &states).unwrap();
        let (_, e) = m.brute_force(1e6).unwrap().unwrap();
        assert!(m.is_feasible(&best));
        assert_eq!(m.energy(&best), e);
    }
}
