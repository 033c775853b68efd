//! Assignment QUBO: place `n` items (agents, or clusters of agents) in `m` pools.
//!
//! Variables: `x[i,p] = 1` when item `i` goes to pool `p` (index `i*m + p`), followed by
//! the slack bits of the capacity constraints. The energy is
//!
//! ```text
//! E(x, s) = sum_{i,p} c[i,p] x[i,p]                              placement cost (linear)
//!         + sum_{i<j} w[i,j] (1 - sum_p x[i,p] x[j,p])           communication between pools
//!         + A sum_i (1 - sum_p x[i,p])^2                         one-hot: exactly one pool
//!         + B sum_{p,k} (sum_i l'[i,k] x[i,p] + lo[p,k] + sum_b g_b s[p,k,b] - C'[p,k])^2
//! ```
//!
//! For one-hot `x`, the first two lines are the plan's objective: placement costs plus
//! `w[i,j]` for every communicating pair split across pools (`w = rate * comm_cost`;
//! traffic to agents outside the subproblem is folded into `c`). Capacity `sum_i l[i,k]
//! x[i,p] <= C[p,k]` is an equality with an integer slack `S = lo + sum_b g_b s_b` in
//! `[lo, C']`, binary-encoded with the bounded coefficients `g = 1, 2, 4, ..., 2^(b-2),
//! span - (2^(b-1) - 1)` (every integer in `[0, span]` is representable), where loads are
//! measured in units of `delta_k` (`l' = l / delta_k`, `C' = floor(C / delta_k)`), `delta_k`
//! being the greatest common divisor of the loads of kind `k` (on a 1e-3 grid; loads off the
//! grid are rounded up, which keeps QUBO-feasible plans truly feasible). `lo = max(0, C' -
//! sum_i l'[i,k])` and `span = C' - lo`, so no bit is spent on slack values no plan reaches.
//! Constraints no plan can violate (`sum_i l' <= C'`) get no term at all.
//!
//! Per-pool loads ([`AssignProblem::pool_load`]): `l[i,k]` becomes `l[i,p,k]`, the load of
//! item `i` in pool `p` (units over all pools' loads). A pool an item may not use
//! ([`AssignProblem::allowed`]) adds `F = 2 (A + S)` to the linear cost of its bit: clearing
//! such a bit always lowers the energy (it gains at most `A + S`), so the minimum never sets
//! one; samples that do decode as unplaced and are repaired.
//!
//! Penalty weights (automatic, [`PenaltySettings`]): with `S_i = max_p |c[i,p]| + sum_j
//! w[i,j]`, the most any single item can gain by breaking a constraint, and `S = max_i S_i`:
//! `A = 2 S` (leaving an item out gains at most `|c[i,p]|`, putting it in two pools at most
//! `sum_j w[i,j]`) and `B = 2 S` (one unit of overflow costs `B`, and moving one item into a
//! full pool gains at most `2 S`). Both are multiplied by `scale` (and by `anneal_scale`
//! above `exact_max_vars` variables, see [`PenaltySettings`]) and can be set outright.

use super::OrchestrateError;
use crate::model::{Couplings, ModelError, Qubo};

/// Penalty weights of a QUBO builder: `None` = automatic (documented per builder), times
/// `scale`.
///
/// The automatic weights are *rigorous*: large enough that the QUBO's minimum is the
/// constrained optimum (tests check this by brute force). That is what an exhaustive
/// solver needs, but such penalties dwarf the objective and freeze annealers (moving one
/// agent means crossing a barrier of several penalty units). So QUBOs with more than
/// `exact_max_vars` variables, which go to annealers, get the automatic weights times
/// `anneal_scale` as well (default 0.1, chosen on generated scenarios): their samples may
/// then break a constraint, which decoding repairs, and the orchestrator keeps the best
/// repaired sample or the warm start, so plans stay feasible.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PenaltySettings {
    /// Multiplier on the automatic weights (default 1).
    pub scale: f64,
    /// Extra multiplier on the automatic weights of QUBOs above `exact_max_vars` variables
    /// (default 0.1; 1 keeps rigorous weights everywhere).
    pub anneal_scale: f64,
    /// Size up to which QUBOs keep rigorous weights (default 20, the CPU backend's
    /// limit for exhaustive search).
    pub exact_max_vars: usize,
    /// Weight of the one-hot (exactly one pool / cluster / slot) penalty, overriding the
    /// automatic one.
    pub one_hot: Option<f64>,
    /// Weight of the capacity (or balance, or conflict/precedence) penalties, overriding the
    /// automatic one.
    pub constraint: Option<f64>,
}

impl Default for PenaltySettings {
    fn default() -> Self {
        PenaltySettings {
            scale: 1.0,
            anneal_scale: 0.1,
            exact_max_vars: 20,
            one_hot: None,
            constraint: None,
        }
    }
}

impl PenaltySettings {
    /// The multiplier applied to automatic weights of a QUBO with `num_vars` variables.
    pub fn multiplier(&self, num_vars: usize) -> f64 {
        if num_vars > self.exact_max_vars {
            self.scale * self.anneal_scale
        } else {
            self.scale
        }
    }

    /// Resolves `(one_hot, constraint)` weights from automatic values for a QUBO with
    /// `num_vars` variables.
    pub fn resolve(&self, auto_one_hot: f64, auto_constraint: f64, num_vars: usize) -> (f64, f64) {
        let m = self.multiplier(num_vars);
        (
            self.one_hot.unwrap_or(auto_one_hot * m),
            self.constraint.unwrap_or(auto_constraint * m),
        )
    }

    /// Checks that weights are finite and positive.
    pub fn check(&self) -> Result<(), OrchestrateError> {
        let bad = |v: f64| !v.is_finite() || v <= 0.0;
        if bad(self.scale) || bad(self.anneal_scale) {
            return Err(OrchestrateError::InvalidParameter {
                name: "penalty_scale",
                reason: format!(
                    "scales must be finite and positive, got {} and {}",
                    self.scale, self.anneal_scale
                ),
            });
        }
        if self.one_hot.is_some_and(bad) || self.constraint.is_some_and(bad) {
            return Err(OrchestrateError::InvalidParameter {
                name: "penalty",
                reason: "penalty weights must be finite and positive".into(),
            });
        }
        Ok(())
    }
}

/// An assignment subproblem: `num_items` items into `num_pools` pools.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AssignProblem {
    /// Number of items.
    pub num_items: usize,
    /// Number of (candidate) pools.
    pub num_pools: usize,
    /// Number of resource kinds.
    pub num_kinds: usize,
    /// Loads when they are the same in every pool, `load[i*K + k]` (empty when
    /// `pool_load` is used). Read loads with [`AssignProblem::load_in`].
    pub load: Vec<f64>,
    /// Loads per pool, `pool_load[(i*m + p)*K + k]`, when an item's load depends on the
    /// pool; empty otherwise (then `load` applies everywhere).
    pub pool_load: Vec<f64>,
    /// Pools each item may go to, `allowed[i*m + p]`; empty: every pool.
    pub allowed: Vec<bool>,
    /// Linear cost of item `i` in pool `p`, `cost[i*m + p]` (placement cost, traffic to
    /// fixed agents outside the subproblem, move penalties).
    pub cost: Vec<f64>,
    /// Communicating pairs `(i, j, w)`, `i != j`: `w` is paid when `i` and `j` are in
    /// different pools.
    pub pairs: Vec<(u32, u32, f64)>,
    /// Capacity available to these items, `capacity[p*K + k]`.
    pub capacity: Vec<f64>,
}

impl AssignProblem {
    /// Loads of item `i` in pool `p`, one per kind.
    pub fn load_in(&self, i: usize, p: usize) -> &[f64] {
        let kk = self.num_kinds;
        if self.pool_load.is_empty() {
            &self.load[i * kk..(i + 1) * kk]
        } else {
            let x = (i * self.num_pools + p) * kk;
            &self.pool_load[x..x + kk]
        }
    }

    /// True when item `i` may go to pool `p` (capacity aside).
    pub fn allowed(&self, i: usize, p: usize) -> bool {
        self.allowed.is_empty() || self.allowed[i * self.num_pools + p]
    }

    /// Objective of a placement (`None` = unplaced; an unplaced item pays all its pairs).
    pub fn objective(&self, placement: &[Option<usize>]) -> f64 {
        let m = self.num_pools;
        let mut e = 0.0;
        for (i, p) in placement.iter().enumerate() {
            if let Some(p) = p {
                e += self.cost[i * m + p];
            }
        }
        for &(i, j, w) in &self.pairs {
            let (a, b) = (placement[i as usize], placement[j as usize]);
            if a.is_none() || a != b {
                e += w;
            }
        }
        e
    }

    /// Usage of each pool and kind by a placement, `[p*K + k]`.
    pub fn usage(&self, placement: &[Option<usize>]) -> Vec<f64> {
        let kk = self.num_kinds;
        let mut u = vec![0.0; self.num_pools * kk];
        for (i, p) in placement.iter().enumerate() {
            if let Some(p) = *p {
                for (k, l) in self.load_in(i, p).iter().enumerate() {
                    u[p * kk + k] += l;
                }
            }
        }
        u
    }

    /// True when every item is placed in a pool it may use and no capacity is exceeded.
    pub fn is_feasible(&self, placement: &[Option<usize>]) -> bool {
        placement
            .iter()
            .enumerate()
            .all(|(i, p)| p.is_some_and(|p| self.allowed(i, p)))
            && self
                .usage(placement)
                .iter()
                .zip(&self.capacity)
                .all(|(u, c)| *u <= c + 1e-9 * (1.0 + c.abs()))
    }

    /// Sum of weights of pairs touching each item plus its largest |cost|: the most one item
    /// can gain by breaking a constraint.
    pub fn item_scales(&self) -> Vec<f64> {
        let m = self.num_pools;
        let mut s: Vec<f64> = (0..self.num_items)
            .map(|i| {
                self.cost[i * m..(i + 1) * m]
                    .iter()
                    .fold(0.0, |a: f64, &c| a.max(c.abs()))
            })
            .collect();
        for &(i, j, w) in &self.pairs {
            s[i as usize] += w.abs();
            s[j as usize] += w.abs();
        }
        s
    }

    /// Checks array lengths and values.
    pub fn check(&self) -> Result<(), OrchestrateError> {
        let (n, m, k) = (self.num_items, self.num_pools, self.num_kinds);
        let bad = |name: &'static str, reason: String| OrchestrateError::InvalidParameter { name, reason };
        let loads_ok = if self.pool_load.is_empty() {
            self.load.len() == n * k
        } else {
            self.pool_load.len() == n * m * k
        };
        if !loads_ok
            || self.cost.len() != n * m
            || self.capacity.len() != m * k
            || !(self.allowed.is_empty() || self.allowed.len() == n * m)
        {
            return Err(bad("assign_problem", "array lengths do not match the sizes".into()));
        }
        if let Some(v) = self
            .load
            .iter()
            .chain(&self.pool_load)
            .chain(&self.cost)
            .chain(&self.capacity)
            .find(|v| !v.is_finite())
        {
            return Err(bad("assign_problem", format!("non-finite value {v}")));
        }
        if let Some(&(i, j, _)) = self
            .pairs
            .iter()
            .find(|&&(i, j, w)| i as usize >= n || j as usize >= n || i == j || !w.is_finite())
        {
            return Err(bad("assign_problem", format!("bad pair ({i}, {j})")));
        }
        Ok(())
    }
}

/// One slack-encoded capacity constraint of an [`AssignQubo`].
#[derive(Clone, Debug, PartialEq)]
pub struct SlackConstraint {
    /// Pool (subproblem index).
    pub pool: usize,
    /// Resource kind.
    pub kind: usize,
    /// Capacity in units of `delta`: `C' = floor(C / delta)`.
    pub cap_units: i64,
    /// Smallest slack value any plan needs: `max(0, C' - sum_i l')`.
    pub lo: i64,
    /// Index of the first slack bit.
    pub first_bit: usize,
    /// Coefficients of the slack bits.
    pub coeffs: Vec<i64>,
}

/// The QUBO of an [`AssignProblem`] and how to read and write its variables.
#[derive(Clone, Debug)]
pub struct AssignQubo {
    /// The model.
    pub qubo: Qubo,
    /// Items.
    pub num_items: usize,
    /// Pools.
    pub num_pools: usize,
    /// Load units per kind (`delta_k`).
    pub delta: Vec<f64>,
    /// Loads in units, `[(i*m + p)*K + k]` (rounded up; 0 in pools an item may not use).
    pub load_units: Vec<i64>,
    /// Pools each item may use, `[i*m + p]` (empty: all); bits of other pools carry a
    /// linear penalty `2 (A + S)` and decode as unplaced.
    pub allowed: Vec<bool>,
    /// Capacity constraints that got a penalty term.
    pub constraints: Vec<SlackConstraint>,
    /// One-hot weight `A` used.
    pub one_hot: f64,
    /// Capacity weight `B` used.
    pub capacity_weight: f64,
}

/// Greatest common divisor of values on a 1e-3 grid (`None` if a value is off the grid,
/// too large for the grid, or all are zero).
pub fn grid_gcd(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut g: u64 = 0;
    for v in values {
        if v == 0.0 {
            continue;
        }
        let scaled = v * 1000.0;
        if scaled > 1e15 || (scaled - scaled.round()).abs() > 1e-6 * scaled.abs().max(1.0) {
            return None;
        }
        let mut a = scaled.round() as u64;
        let mut b = g;
        while b != 0 {
            let t = a % b;
            a = b;
            b = t;
        }
        g = a;
    }
    (g > 0).then(|| g as f64 / 1000.0)
}

/// Bounded binary coefficients covering every integer in `[0, span]`.
pub fn slack_coefficients(span: i64) -> Vec<i64> {
    if span <= 0 {
        return Vec::new();
    }
    let bits = 64 - (span as u64).leading_zeros() as usize; // floor(log2 span) + 1
    let mut c: Vec<i64> = (0..bits - 1).map(|b| 1i64 << b).collect();
    c.push(span - ((1i64 << (bits - 1)) - 1));
    c
}

/// Bits (over `coeffs`) that sum to `value` (`0 <= value <= sum coeffs`), largest first.
pub fn encode_slack(coeffs: &[i64], value: i64) -> Vec<i8> {
    let mut bits = vec![0i8; coeffs.len()];
    let mut v = value.max(0);
    for b in (0..coeffs.len()).rev() {
        if coeffs[b] <= v {
            bits[b] = 1;
            v -= coeffs[b];
        }
    }
    bits
}

/// Adds the square of `(sum_v a_v z_v + c0)` times `weight` to linear/quadratic terms.
pub(crate) fn add_square(
    terms: &[(usize, f64)],
    c0: f64,
    weight: f64,
    linear: &mut [f64],
    quad: &mut Vec<(u32, u32, f64)>,
    offset: &mut f64,
) {
    for (a, &(v, cv)) in terms.iter().enumerate() {
        linear[v] += weight * (cv * cv + 2.0 * c0 * cv);
        for &(u, cu) in &terms[a + 1..] {
            quad.push((v as u32, u as u32, 2.0 * weight * cv * cu));
        }
    }
    *offset += weight * c0 * c0;
}

/// Builds the assignment QUBO (formula and penalty rule in the module docs).
pub fn build_assign_qubo(p: &AssignProblem, pen: &PenaltySettings) -> Result<AssignQubo, OrchestrateError> {
    p.check()?;
    pen.check()?;
    let (n, m, kk) = (p.num_items, p.num_pools, p.num_kinds);
    let s_max = p.item_scales().into_iter().fold(0.0, f64::max).max(1e-9);

    // Units per kind (over the loads in every pool).
    let per_pool = !p.pool_load.is_empty();
    let loads_of = |k: usize| {
        let all = if per_pool { &p.pool_load } else { &p.load };
        all.iter().skip(k).step_by(kk.max(1)).copied()
    };
    let mut delta = vec![1.0; kk];
    for (k, d) in delta.iter_mut().enumerate() {
        *d = match grid_gcd(loads_of(k)) {
            Some(g) => g,
            None => {
                let max = loads_of(k).fold(0.0, f64::max);
                if max > 0.0 { max / 64.0 } else { 1.0 }
            }
        };
    }
    // Units of item i in pool q, `[(i*m + q)*K + k]` (0 in pools the item may not use).
    let load_units: Vec<i64> = (0..n * m * kk)
        .map(|x| {
            let (i, q, k) = (x / (m * kk), (x / kk) % m, x % kk);
            if !p.allowed(i, q) {
                return 0;
            }
            (p.load_in(i, q)[k] / delta[k] - 1e-9).ceil().max(0.0) as i64
        })
        .collect();

    let nx = n * m;
    let mut constraints = Vec::new();
    let mut next = nx;
    for pool in 0..m {
        for k in 0..kk {
            let cap = p.capacity[pool * kk + k].max(0.0);
            let cap_units = (cap / delta[k] + 1e-9).floor() as i64;
            let total: i64 = (0..n).map(|i| load_units[(i * m + pool) * kk + k]).sum();
            if total <= cap_units {
                continue;
            }
            let lo = (cap_units - total).max(0);
            let coeffs = slack_coefficients(cap_units - lo);
            constraints.push(SlackConstraint {
                pool,
                kind: k,
                cap_units,
                lo,
                first_bit: next,
                coeffs: coeffs.clone(),
            });
            next += coeffs.len();
        }
    }
    let nv = next;
    let (a_w, b_w) = pen.resolve(2.0 * s_max, 2.0 * s_max, nv);
    // A pool an item may not use: setting its bit costs more than anything it can gain.
    let forbid_w = 2.0 * (a_w + s_max);
    let mut linear = vec![0.0; nv];
    let mut quad: Vec<(u32, u32, f64)> = Vec::new();
    let mut offset = 0.0;
    for i in 0..n {
        for pool in 0..m {
            linear[i * m + pool] += p.cost[i * m + pool];
            if !p.allowed(i, pool) {
                linear[i * m + pool] += forbid_w;
            }
        }
        // A (1 - sum_p x)^2 = A (1 - sum_p x + 2 sum_{p<q} x_p x_q)
        offset += a_w;
        for pool in 0..m {
            linear[i * m + pool] -= a_w;
            for q in pool + 1..m {
                quad.push(((i * m + pool) as u32, (i * m + q) as u32, 2.0 * a_w));
            }
        }
    }
    for &(i, j, w) in &p.pairs {
        offset += w;
        for pool in 0..m {
            quad.push(((i as usize * m + pool) as u32, (j as usize * m + pool) as u32, -w));
        }
    }
    for c in &constraints {
        let mut terms: Vec<(usize, f64)> = (0..n)
            .map(|i| (i, load_units[(i * m + c.pool) * kk + c.kind]))
            .filter(|&(_, u)| u > 0)
            .map(|(i, u)| (i * m + c.pool, u as f64))
            .collect();
        terms.extend(c.coeffs.iter().enumerate().map(|(b, &g)| (c.first_bit + b, g as f64)));
        add_square(
            &terms,
            (c.lo - c.cap_units) as f64,
            b_w,
            &mut linear,
            &mut quad,
            &mut offset,
        );
    }
    let quadratic = Couplings::from_triplets(nv, quad)?;
    let qubo = Qubo::new(linear, quadratic, offset)?;
    Ok(AssignQubo {
        qubo,
        num_items: n,
        num_pools: m,
        delta,
        load_units,
        allowed: p.allowed.clone(),
        constraints,
        one_hot: a_w,
        capacity_weight: b_w,
    })
}

impl AssignQubo {
    /// The 0/1 state of a placement, with slack bits set to make every satisfied capacity
    /// equality exact (`None` items have no bit set).
    pub fn encode(&self, placement: &[Option<usize>]) -> Result<Vec<i8>, ModelError> {
        if placement.len() != self.num_items {
            return Err(ModelError::InvalidState(format!(
                "placement of {} items for {} items",
                placement.len(),
                self.num_items
            )));
        }
        let m = self.num_pools;
        let kk = self.delta.len();
        let mut x = vec![0i8; self.qubo.num_variables()];
        for (i, p) in placement.iter().enumerate() {
            if let Some(p) = *p {
                if p >= m {
                    return Err(ModelError::IndexOutOfRange { index: p, n: m });
                }
                x[i * m + p] = 1;
            }
        }
        for c in &self.constraints {
            let used: i64 = placement
                .iter()
                .enumerate()
                .filter(|(_, p)| **p == Some(c.pool))
                .map(|(i, _)| self.load_units[(i * m + c.pool) * kk + c.kind])
                .sum();
            let slack = (c.cap_units - used - c.lo).clamp(0, c.coeffs.iter().sum());
            for (b, v) in encode_slack(&c.coeffs, slack).into_iter().enumerate() {
                x[c.first_bit + b] = v;
            }
        }
        Ok(x)
    }

    /// Reads the placement part of a state: the set pool of each item, `None` when no pool
    /// is set (pools the item may not use are ignored); when several are set, the one with
    /// the lowest linear coefficient.
    pub fn decode(&self, state: &[i8]) -> Vec<Option<usize>> {
        let m = self.num_pools;
        let lin = self.qubo.linear();
        (0..self.num_items)
            .map(|i| {
                (0..m)
                    .filter(|&p| state[i * m + p] != 0 && (self.allowed.is_empty() || self.allowed[i * m + p]))
                    .min_by(|&a, &b| lin[i * m + a].total_cmp(&lin[i * m + b]).then(a.cmp(&b)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_coefficients_cover_every_value() {
        for span in 0..200i64 {
            let c = slack_coefficients(span);
            assert_eq!(c.iter().sum::<i64>(), span);
            for v in 0..=span {
                let bits = encode_slack(&c, v);
                let got: i64 = bits.iter().zip(&c).map(|(&b, &g)| b as i64 * g).sum();
                assert_eq!(got, v, "span {span} value {v}");
            }
        }
    }

    #[test]
    fn grid_gcd_finds_load_units() {
        assert_eq!(grid_gcd([4.0, 6.0, 10.0].into_iter()), Some(2.0));
        assert_eq!(grid_gcd([0.5, 1.5, 0.0].into_iter()), Some(0.5));
        assert_eq!(grid_gcd([0.0].into_iter()), None);
        assert_eq!(grid_gcd([1.0 / 3.0].into_iter()), None);
    }

    #[test]
    fn energy_of_one_hot_feasible_states_is_the_objective() {
        let p = AssignProblem {
            num_items: 3,
            num_pools: 2,
            num_kinds: 1,
            load: vec![1.0, 2.0, 2.0],
            cost: vec![1.0, 2.0, 3.0, 1.0, 0.5, 0.25],
            pairs: vec![(0, 1, 0.5), (1, 2, 2.0)],
            capacity: vec![3.0, 4.0],
            ..Default::default()
        };
        let aq = build_assign_qubo(&p, &PenaltySettings::default()).unwrap();
        for code in 0..8u32 {
            let pl: Vec<Option<usize>> = (0..3).map(|i| Some((code >> i & 1) as usize)).collect();
            let x = aq.encode(&pl).unwrap();
            assert_eq!(aq.decode(&x), pl);
            if p.is_feasible(&pl) {
                assert!((aq.qubo.energy(&x) - p.objective(&pl)).abs() < 1e-9);
            } else {
                assert!(aq.qubo.energy(&x) > p.objective(&pl) + aq.capacity_weight - 1e-9);
            }
        }
    }
}
