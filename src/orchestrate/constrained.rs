//! The assignment stage on the constrained engine: an [`AssignProblem`] as a
//! [`ConstrainedModel`] (one-hot placement per agent, capacity per pool and resource kind
//! as native `<=` constraints, placement cost and communication cost in the objective),
//! solved by [`CqmSaSolver`] from the current plan.

use super::assign::AssignProblem;
use crate::cqm::{Cmp, ConstrainedModel, CqmError, CqmSaParams, CqmSaSolver, Sense};

/// The assignment problem as a constrained model, with the index of each variable.
/// Variable `x_i_p` places item `i` in pool `p`; only pools the item may use get a
/// variable (`index[i * pools + p]`, `usize::MAX` for the others). One-hot group
/// `assign_i`; constraint `cap_p_k` bounds pool `p`'s use of kind `k` with the items' loads
/// in `p` (kinds no item uses there are left out). A pair `(i, j, w)` costs `w` unless both
/// items share a pool: `w - w * sum_p x_i_p x_j_p`.
pub fn assign_model_indexed(p: &AssignProblem) -> (ConstrainedModel, Vec<usize>) {
    let (n, m, kk) = (p.num_items, p.num_pools, p.num_kinds);
    let mut cm = ConstrainedModel::new(Sense::Minimize);
    let mut index = vec![usize::MAX; n * m];
    for i in 0..n {
        for q in 0..m {
            if p.allowed(i, q) {
                let v = cm.add_variable(&format!("x_{i}_{q}")).expect("fresh names");
                cm.add_linear(v, p.cost[i * m + q]);
                index[i * m + q] = v;
            }
        }
    }
    for i in 0..n {
        let vars: Vec<usize> = index[i * m..(i + 1) * m]
            .iter()
            .copied()
            .filter(|&v| v != usize::MAX)
            .collect();
        cm.add_one_hot(&format!("assign_{i}"), &vars).expect("fresh group");
    }
    for &(i, j, w) in &p.pairs {
        cm.add_offset(w);
        for q in 0..m {
            let (u, v) = (index[i as usize * m + q], index[j as usize * m + q]);
            if u != usize::MAX && v != usize::MAX {
                cm.add_quadratic(u, v, -w);
            }
        }
    }
    for q in 0..m {
        for k in 0..kk {
            let terms: Vec<(usize, f64)> = (0..n)
                .filter(|&i| index[i * m + q] != usize::MAX && p.load_in(i, q)[k] != 0.0)
                .map(|i| (index[i * m + q], p.load_in(i, q)[k]))
                .collect();
            let cap = p.capacity[q * kk + k];
            if terms.is_empty() || !cap.is_finite() {
                continue;
            }
            cm.add_constraint(&format!("cap_{q}_{k}"), terms, Cmp::Le, cap)
                .expect("fresh constraint");
        }
    }
    (cm, index)
}

/// The assignment problem as a constrained model (`assign_model_indexed` without the
/// index; with every pool allowed, variable `x_i_p` has index `i * pools + p`).
pub fn assign_model(p: &AssignProblem) -> ConstrainedModel {
    assign_model_indexed(p).0
}

/// Runs the constrained annealer on `p` from `current` (unplaced items start in their
/// cheapest pool). When that start is infeasible, a first phase on the placement costs alone
/// (traffic terms damped to a tenth) looks for a feasible packing and stops at the first one; the second
/// phase optimises the full objective from there. Returns the placement found when it is
/// feasible (every item placed, capacities respected), else `None`.
pub fn solve_assignment(
    p: &AssignProblem,
    current: &[Option<usize>],
    params: CqmSaParams,
) -> Result<Option<Vec<usize>>, CqmError> {
    solve_assignment_timed(p, current, params, None).map(|r| r.0)
}

/// [`solve_assignment`], also returning when the run first held a feasible placement
/// (zero when `current` already was; the end of the first phase when it found one), and
/// stopping early (with the best feasible placement found so far) once `interrupt` is set.
pub fn solve_assignment_timed(
    p: &AssignProblem,
    current: &[Option<usize>],
    params: CqmSaParams,
    interrupt: Option<&std::sync::atomic::AtomicBool>,
) -> Result<(Option<Vec<usize>>, Option<std::time::Duration>), CqmError> {
    let t_start = std::time::Instant::now();
    let ctx = crate::solvers::SolveContext {
        interrupt,
        ..Default::default()
    };
    let m = p.num_pools;
    if p.num_items == 0 || m == 0 {
        return Ok((None, None));
    }
    if (0..p.num_items).any(|i| (0..m).all(|q| !p.allowed(i, q))) {
        return Ok((None, None)); // an item no pool may take: no feasible placement
    }
    let (model, index) = assign_model_indexed(p);
    let mut x = vec![0u8; model.num_variables()];
    for (i, pl) in current.iter().enumerate() {
        let q = pl.filter(|&q| p.allowed(i, q)).unwrap_or_else(|| {
            (0..m)
                .filter(|&q| p.allowed(i, q))
                .min_by(|&a, &b| p.cost[i * m + a].total_cmp(&p.cost[i * m + b]))
                .expect("an allowed pool")
        });
        x[index[i * m + q]] = 1;
    }
    let mut params = params;
    let mut first_feasible = model.is_feasible(&x).then(std::time::Duration::default);
    if first_feasible.is_none() {
        // Phase 1: find a feasible packing first, with the traffic terms damped to a tenth
        // (they make the landscape rugged; kept a little so teams stay together), stopping
        // at the first feasible state. One chain: a chain reaching the target stops the
        // others wherever they are, so with several the answer depended on thread timing
        // and count (1,000 agents at 99% utilisation: 12,205.6 on one thread, 12,308.2 on
        // two).
        let t0 = std::time::Instant::now();
        let mut bare = p.clone();
        for pair in &mut bare.pairs {
            pair.2 *= 0.1;
        }
        let phase1 = CqmSaParams {
            chains: 1,
            sweeps: params.sweeps.max(1000),
            cycles: params.cycles.max(4),
            seed: crate::rng::derive_seed(params.seed, 1),
            target_energy: Some(f64::INFINITY),
            ..params.clone()
        };
        let sol = CqmSaSolver::new(phase1).solve_with(&assign_model(&bare), Some(&x), &ctx)?;
        if sol.feasible {
            x = sol.state;
            first_feasible = Some(t_start.elapsed());
        }
        if let Some(t) = params.time_limit {
            params.time_limit = Some(t.saturating_sub(t0.elapsed()).max(std::time::Duration::from_millis(50)));
        }
    }
    let sol = CqmSaSolver::new(params).solve_with(&model, Some(&x), &ctx)?;
    if !sol.feasible {
        return Ok((None, first_feasible));
    }
    let first_feasible = first_feasible.or(Some(t_start.elapsed()));
    let placement = (0..p.num_items)
        .map(|i| {
            (0..m)
                .find(|&q| index[i * m + q] != usize::MAX && sol.state[index[i * m + q]] != 0)
                .expect("one-hot")
        })
        .collect();
    Ok((Some(placement), first_feasible))
}
