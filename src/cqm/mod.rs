//! Constrained binary models ("CQM"): binary variables, one-hot ("one of k") groups, a
//! quadratic objective with offset, and named linear constraints, solved natively (the
//! constraints stay constraints during the search instead of becoming QUBO penalties).
//!
//! ```
//! use qam::cqm::{ConstrainedModel, Sense, Cmp};
//! // minimise 3 a + 2 b + c  subject to  a + b + c = 1 (one-hot), 2 a + b <= 1
//! let mut m = ConstrainedModel::new(Sense::Minimize);
//! let a = m.add_variable("a").unwrap();
//! let b = m.add_variable("b").unwrap();
//! let c = m.add_variable("c").unwrap();
//! m.add_linear(a, 3.0);
//! m.add_linear(b, 2.0);
//! m.add_linear(c, 1.0);
//! m.add_one_hot("pick", &[a, b, c]).unwrap();
//! m.add_constraint("cap", vec![(a, 2.0), (b, 1.0)], Cmp::Le, 1.0).unwrap();
//! assert_eq!(m.energy(&[0, 0, 1]), 1.0);
//! assert!(m.violations(&[1, 0, 0]).iter().any(|v| v.constraint == "cap"));
//! ```
//!
//! Conventions: states are `0/1` per variable (`u8`). The objective is
//! `offset + sum_i c_i x_i + sum_{i<j} q_ij x_i x_j`, in the model's own [`Sense`];
//! [`ConstrainedModel::energy`] is always in the minimisation sense (the objective itself
//! when minimising, its negation when maximising), like a QUBO energy.
//!
//! Files: [`lp`] reads and writes the CPLEX LP subset (binary variables only), [`json`]
//! qam's own JSON; `anneal` is the constrained annealer (`cqm-sa`); [`gap`] generates
//! generalized-assignment instances.

mod anneal;
pub mod ejection;
pub mod gap;
pub mod gpu;
pub mod json;
pub mod lagrange;
pub mod lp;

/// The stop reason every solver reports (re-exported: `cqm-sa` has no kinds of its own).
pub use crate::solvers::StopReason;
pub(crate) use anneal::merge_trace;
pub use anneal::{CqmSaParams, CqmSaSolver, CqmSolution, TRACE_RESOLUTION_S};

use std::collections::HashMap;
use std::fmt;

/// Constraint satisfaction tolerance: `lhs <= rhs + FEAS_TOL * max(1, |rhs|)` counts as met.
pub const FEAS_TOL: f64 = 1e-9;

/// Errors building, reading or solving constrained models.
#[derive(Debug, thiserror::Error)]
pub enum CqmError {
    /// A model-building call was given something invalid.
    #[error("invalid model: {0}")]
    Invalid(String),
    /// A file (or text) could not be parsed; names the file and the 1-based line
    /// (`FILE:LINE: what`, or `FILE: what` when the error is about the whole file).
    #[error("{file}{}: {msg}", line_suffix(*.line))]
    Parse {
        /// File name as given.
        file: String,
        /// 1-based line number (0 when the error is about the whole file).
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// The model cannot be written in the requested format.
    #[error("cannot write: {0}")]
    Write(String),
    /// Invalid solver parameter (names the parameter).
    #[error("invalid parameter `{name}`: {msg}")]
    Param {
        /// Parameter name.
        name: &'static str,
        /// What is wrong.
        msg: String,
    },
    /// I/O error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// `:LINE`, or nothing for line 0 (an error about the whole file).
fn line_suffix(line: usize) -> String {
    if line == 0 { String::new() } else { format!(":{line}") }
}

/// Direction of the objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sense {
    /// Minimise the objective.
    Minimize,
    /// Maximise the objective.
    Maximize,
}

/// Sense of a linear constraint `lhs (<=|=|>=) rhs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Cmp {
    /// `lhs <= rhs`.
    #[serde(rename = "<=")]
    Le,
    /// `lhs = rhs`.
    #[serde(rename = "=")]
    Eq,
    /// `lhs >= rhs`.
    #[serde(rename = ">=")]
    Ge,
}

impl Cmp {
    /// `"<="`, `"="` or `">="`.
    pub fn as_str(self) -> &'static str {
        match self {
            Cmp::Le => "<=",
            Cmp::Eq => "=",
            Cmp::Ge => ">=",
        }
    }

    /// How far `lhs` is from satisfying `lhs (self) rhs` (0 when satisfied).
    #[inline]
    pub fn violation(self, lhs: f64, rhs: f64) -> f64 {
        match self {
            Cmp::Le => (lhs - rhs).max(0.0),
            Cmp::Ge => (rhs - lhs).max(0.0),
            Cmp::Eq => (lhs - rhs).abs(),
        }
    }
}

impl fmt::Display for Cmp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A named linear constraint `sum_k a_k x_{v_k} (sense) rhs`.
#[derive(Clone, Debug, PartialEq)]
pub struct Constraint {
    /// Unique name.
    pub name: String,
    /// `(variable index, coefficient)`, one entry per variable, in insertion order.
    pub terms: Vec<(usize, f64)>,
    /// `<=`, `=` or `>=`.
    pub sense: Cmp,
    /// Right-hand side.
    pub rhs: f64,
}

impl Constraint {
    /// Left-hand side at `state`.
    pub fn lhs(&self, state: &[u8]) -> f64 {
        self.terms
            .iter()
            .map(|&(v, a)| if state[v] != 0 { a } else { 0.0 })
            .sum()
    }

    /// Violation amount at `state` (0 when satisfied within [`FEAS_TOL`]).
    pub fn violation(&self, state: &[u8]) -> f64 {
        let v = self.sense.violation(self.lhs(state), self.rhs);
        if v <= tolerance(self.rhs) { 0.0 } else { v }
    }
}

/// Absolute tolerance for a constraint with right-hand side `rhs`.
#[inline]
pub fn tolerance(rhs: f64) -> f64 {
    FEAS_TOL * rhs.abs().max(1.0)
}

/// One violated constraint at a state.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ConstraintViolation {
    /// Constraint name.
    pub constraint: String,
    /// Left-hand side at the state.
    pub lhs: f64,
    /// `"<="`, `"="` or `">="`.
    pub sense: Cmp,
    /// Right-hand side.
    pub rhs: f64,
    /// How far the constraint is from holding (> 0).
    pub amount: f64,
}

/// A constrained binary model (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq)]
pub struct ConstrainedModel {
    sense: Sense,
    names: Vec<String>,
    index: HashMap<String, usize>,
    linear: Vec<f64>,
    /// `(i, j) -> q_ij` with `i < j`.
    quadratic: HashMap<(usize, usize), f64>,
    offset: f64,
    constraints: Vec<Constraint>,
    constraint_index: HashMap<String, usize>,
    /// Constraints that are one-hot groups (`sum x = 1`, unit coefficients, disjoint).
    one_hot: Vec<usize>,
    /// Group of each variable (index into `one_hot`), if any.
    group_of: Vec<Option<usize>>,
}

fn check_finite(what: &str, x: f64) -> Result<(), CqmError> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(CqmError::Invalid(format!("{what} is {x} (must be finite)")))
    }
}

impl ConstrainedModel {
    /// An empty model with the given objective sense.
    pub fn new(sense: Sense) -> Self {
        ConstrainedModel {
            sense,
            names: Vec::new(),
            index: HashMap::new(),
            linear: Vec::new(),
            quadratic: HashMap::new(),
            offset: 0.0,
            constraints: Vec::new(),
            constraint_index: HashMap::new(),
            one_hot: Vec::new(),
            group_of: Vec::new(),
        }
    }

    /// Adds a binary variable; errors if the name is empty or taken.
    pub fn add_variable(&mut self, name: &str) -> Result<usize, CqmError> {
        if name.is_empty() {
            return Err(CqmError::Invalid("empty variable name".into()));
        }
        if self.index.contains_key(name) {
            return Err(CqmError::Invalid(format!("duplicate variable `{name}`")));
        }
        let i = self.names.len();
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        self.linear.push(0.0);
        self.group_of.push(None);
        Ok(i)
    }

    /// Index of the variable called `name`, adding it if new.
    pub fn variable(&mut self, name: &str) -> Result<usize, CqmError> {
        match self.index.get(name) {
            Some(&i) => Ok(i),
            None => self.add_variable(name),
        }
    }

    /// Index of the variable called `name`.
    pub fn variable_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Objective sense.
    pub fn sense(&self) -> Sense {
        self.sense
    }

    /// Sets the objective sense.
    pub fn set_sense(&mut self, sense: Sense) {
        self.sense = sense;
    }

    /// Number of variables.
    pub fn num_variables(&self) -> usize {
        self.names.len()
    }

    /// Variable names, by index.
    pub fn variable_names(&self) -> &[String] {
        &self.names
    }

    /// Adds `c` to the linear objective coefficient of `v`.
    pub fn add_linear(&mut self, v: usize, c: f64) {
        self.linear[v] += c;
    }

    /// Adds `q` to the coupling of `u` and `v` (for `u == v`, to the linear term: `x^2 = x`).
    pub fn add_quadratic(&mut self, u: usize, v: usize, q: f64) {
        if u == v {
            self.linear[u] += q;
        } else {
            let key = (u.min(v), u.max(v));
            let e = self.quadratic.entry(key).or_insert(0.0);
            *e += q;
            if *e == 0.0 {
                self.quadratic.remove(&key);
            }
        }
    }

    /// Adds `c` to the objective's constant.
    pub fn add_offset(&mut self, c: f64) {
        self.offset += c;
    }

    /// Objective constant.
    pub fn offset(&self) -> f64 {
        self.offset
    }

    /// Linear objective coefficients, by variable.
    pub fn linear(&self) -> &[f64] {
        &self.linear
    }

    /// Couplings `(i, j, q_ij)` with `i < j`, sorted, zeros dropped.
    pub fn quadratic(&self) -> Vec<(usize, usize, f64)> {
        let mut q: Vec<_> = self
            .quadratic
            .iter()
            .filter(|(_, q)| **q != 0.0)
            .map(|(&(i, j), &q)| (i, j, q))
            .collect();
        q.sort_by_key(|&(i, j, _)| (i, j));
        q
    }

    /// Adds a named linear constraint; repeated variables are summed. Errors on a duplicate
    /// name, an unknown variable index or a non-finite number.
    pub fn add_constraint(
        &mut self,
        name: &str,
        terms: Vec<(usize, f64)>,
        sense: Cmp,
        rhs: f64,
    ) -> Result<usize, CqmError> {
        if name.is_empty() {
            return Err(CqmError::Invalid("empty constraint name".into()));
        }
        if self.constraint_index.contains_key(name) {
            return Err(CqmError::Invalid(format!("duplicate constraint name `{name}`")));
        }
        check_finite(&format!("right-hand side of `{name}`"), rhs)?;
        let mut merged: Vec<(usize, f64)> = Vec::with_capacity(terms.len());
        let mut pos: HashMap<usize, usize> = HashMap::new();
        for (v, a) in terms {
            if v >= self.names.len() {
                return Err(CqmError::Invalid(format!("constraint `{name}`: no variable {v}")));
            }
            check_finite(&format!("coefficient of `{}` in `{name}`", self.names[v]), a)?;
            match pos.get(&v) {
                Some(&k) => merged[k].1 += a,
                None => {
                    pos.insert(v, merged.len());
                    merged.push((v, a));
                }
            }
        }
        let c = self.constraints.len();
        self.constraints.push(Constraint {
            name: name.to_string(),
            terms: merged,
            sense,
            rhs,
        });
        self.constraint_index.insert(name.to_string(), c);
        Ok(c)
    }

    /// Adds the one-hot group `sum_{v in vars} x_v = 1` as constraint `name`; the variables
    /// must be distinct and in no other group.
    pub fn add_one_hot(&mut self, name: &str, vars: &[usize]) -> Result<usize, CqmError> {
        let mut seen = std::collections::HashSet::new();
        for &v in vars {
            if v >= self.names.len() {
                return Err(CqmError::Invalid(format!("one-hot `{name}`: no variable {v}")));
            }
            if !seen.insert(v) {
                return Err(CqmError::Invalid(format!(
                    "one-hot `{name}`: `{}` repeated",
                    self.names[v]
                )));
            }
            if self.group_of[v].is_some() {
                return Err(CqmError::Invalid(format!(
                    "one-hot `{name}`: `{}` is already in another group",
                    self.names[v]
                )));
            }
        }
        if vars.is_empty() {
            return Err(CqmError::Invalid(format!("one-hot `{name}` is empty")));
        }
        let c = self.add_constraint(name, vars.iter().map(|&v| (v, 1.0)).collect(), Cmp::Eq, 1.0)?;
        self.mark_one_hot(c);
        Ok(c)
    }

    fn mark_one_hot(&mut self, c: usize) {
        let g = self.one_hot.len();
        self.one_hot.push(c);
        for &(v, _) in &self.constraints[c].terms {
            self.group_of[v] = Some(g);
        }
    }

    /// Marks as one-hot groups every `sum x = 1` constraint with unit coefficients whose
    /// variables are in no group yet (in constraint order). Returns how many were marked.
    pub fn detect_one_hot(&mut self) -> usize {
        let mut n = 0;
        for c in 0..self.constraints.len() {
            if self.one_hot.contains(&c) {
                continue;
            }
            let k = &self.constraints[c];
            if k.sense == Cmp::Eq
                && k.rhs == 1.0
                && !k.terms.is_empty()
                && k.terms.iter().all(|&(v, a)| a == 1.0 && self.group_of[v].is_none())
            {
                self.mark_one_hot(c);
                n += 1;
            }
        }
        n
    }

    /// All constraints (one-hot groups included), in order.
    pub fn constraints(&self) -> &[Constraint] {
        &self.constraints
    }

    /// Index of the constraint called `name`.
    pub fn constraint_index(&self, name: &str) -> Option<usize> {
        self.constraint_index.get(name).copied()
    }

    /// Constraint indices that are one-hot groups.
    pub fn one_hot_constraints(&self) -> &[usize] {
        &self.one_hot
    }

    /// Variables of each one-hot group, in group order.
    pub fn one_hot_groups(&self) -> Vec<Vec<usize>> {
        self.one_hot
            .iter()
            .map(|&c| self.constraints[c].terms.iter().map(|&(v, _)| v).collect())
            .collect()
    }

    /// The objective in the model's own sense at `state`.
    pub fn objective(&self, state: &[u8]) -> f64 {
        let mut f = self.offset;
        for (i, &c) in self.linear.iter().enumerate() {
            if state[i] != 0 {
                f += c;
            }
        }
        for (&(i, j), &q) in &self.quadratic {
            if state[i] != 0 && state[j] != 0 {
                f += q;
            }
        }
        f
    }

    /// The objective in the minimisation sense (negated when maximising).
    pub fn energy(&self, state: &[u8]) -> f64 {
        self.to_energy(self.objective(state))
    }

    /// Converts an objective value (model's sense) to an energy (minimisation sense); the map
    /// is its own inverse.
    pub fn to_energy(&self, objective: f64) -> f64 {
        match self.sense {
            Sense::Minimize => objective,
            Sense::Maximize => -objective,
        }
    }

    /// Every violated constraint at `state`, in constraint order.
    pub fn violations(&self, state: &[u8]) -> Vec<ConstraintViolation> {
        self.constraints
            .iter()
            .filter_map(|c| {
                let lhs = c.lhs(state);
                let amount = c.sense.violation(lhs, c.rhs);
                (amount > tolerance(c.rhs)).then(|| ConstraintViolation {
                    constraint: c.name.clone(),
                    lhs,
                    sense: c.sense,
                    rhs: c.rhs,
                    amount,
                })
            })
            .collect()
    }

    /// True when every constraint holds at `state`.
    pub fn is_feasible(&self, state: &[u8]) -> bool {
        self.constraints.iter().all(|c| c.violation(state) == 0.0)
    }

    /// Exhaustive search: the feasible state of least energy (ties: the first in
    /// enumeration order), or `None` when nothing is feasible. One-hot groups are enumerated
    /// as choices, so the work is `prod_g |g| * 2^free`; errors when that exceeds `max_states`.
    pub fn brute_force(&self, max_states: f64) -> Result<Option<(Vec<u8>, f64)>, CqmError> {
        let groups = self.one_hot_groups();
        let free: Vec<usize> = (0..self.num_variables())
            .filter(|&v| self.group_of[v].is_none())
            .collect();
        let work = groups.iter().map(|g| g.len() as f64).product::<f64>() * 2f64.powi(free.len() as i32);
        if work > max_states || free.len() >= 63 {
            return Err(CqmError::Invalid(format!(
                "{work} states exceed the exhaustive-search limit {max_states}"
            )));
        }
        let mut choice = vec![0usize; groups.len()];
        let mut best: Option<(Vec<u8>, f64)> = None;
        let mut state = vec![0u8; self.num_variables()];
        loop {
            for bits in 0u64..(1u64 << free.len()) {
                state.iter_mut().for_each(|x| *x = 0);
                for (g, &k) in groups.iter().zip(&choice) {
                    state[g[k]] = 1;
                }
                for (b, &v) in free.iter().enumerate() {
                    state[v] = ((bits >> b) & 1) as u8;
                }
                if self.is_feasible(&state) {
                    let e = self.energy(&state);
                    if best.as_ref().is_none_or(|(_, be)| e < *be) {
                        best = Some((state.clone(), e));
                    }
                }
            }
            // next one-hot choice (odometer)
            let mut g = 0;
            loop {
                if g == groups.len() {
                    return Ok(best);
                }
                choice[g] += 1;
                if choice[g] < groups[g].len() {
                    break;
                }
                choice[g] = 0;
                g += 1;
            }
        }
    }
}

/// The result record of a constrained solve, exactly as `qam solve FILE.lp --output json`
/// prints it and `qam serve` returns it: `file`, `solver` (`cqm-sa`), sizes, `energy`
/// (minimisation sense), `objective` (the file's own sense), `sense`, `feasible`,
/// `violations`, `state`, `seed`, `elapsed_s`, `time_to_feasible_s`, `stop`, `cycles`,
/// `sweeps`, `trace` (`[[seconds, objective], ...]`: [`CqmSolution::trace`] with the objective
/// in the file's own sense), `params`, `bound` (Lagrangian lower bound on the energy, when the objective is
/// linear) and `auto` when `auto` chose the solver.
pub fn result_json(
    file: &str,
    model: &ConstrainedModel,
    params: &CqmSaParams,
    sol: &CqmSolution,
    elapsed_s: f64,
    auto: Option<&str>,
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "file": file,
        "solver": "cqm-sa",
        "num_variables": model.num_variables(),
        "num_constraints": model.constraints().len(),
        "num_one_hot": model.one_hot_constraints().len(),
        "energy": sol.energy,
        "objective": sol.objective,
        "sense": model.sense(),
        "feasible": sol.feasible,
        "violations": sol.violations,
        "vartype": "BINARY",
        "state": sol.state,
        "seed": params.seed,
        "elapsed_s": elapsed_s,
        "time_to_feasible_s": sol.time_to_feasible_s,
        "stop": sol.stop,
        "cycles": sol.cycles,
        "sweeps": sol.sweeps,
        "trace": sol.trace.iter().map(|&(t, e)| [t, model.to_energy(e)]).collect::<Vec<_>>(),
        "params": {
            "chains": params.chains,
            "sweeps": params.sweeps,
            "time_limit": params.time_limit.map(|t| t.as_secs_f64()),
        },
    });
    if let Some(b) = sol.bound {
        v["bound"] = serde_json::json!(b);
    }
    if let Some(why) = auto {
        v["auto"] = serde_json::json!(why);
    }
    v
}
