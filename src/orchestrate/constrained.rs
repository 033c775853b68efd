//! The assignment stage on the constrained engine: an [`AssignProblem`] as a
//! [`ConstrainedModel`] (one-hot placement per agent, capacity per pool and resource kind
//! as native `<=` constraints, placement cost and communication cost in the objective),
//! solved by [`CqmSaSolver`] from the current plan.

use super::assign::AssignProblem;
use crate::cqm::{Cmp, ConstrainedModel, CqmError, CqmSaParams, CqmSaSolver, Sense};

/// The assignment problem as a constrained model. Variable `x_i_p` (index `i * pools + p`)
/// places item `i` in pool `p`; one-hot group `assign_i`; constraint `cap_p_k` bounds pool
/// `p`'s use of kind `k` (kinds no item uses are left out). A pair `(i, j, w)` costs `w`
/// unless both items share a pool: `w - w * sum_p x_i_p x_j_p`.
pub fn assign_model(p: &AssignProblem) -> ConstrainedModel {
    let (n, m, kk) = (p.num_items, p.num_pools, p.num_kinds);
    let mut cm = ConstrainedModel::new(Sense::Minimize);
    for i in 0..n {
        for q in 0..m {
            let v = cm.add_variable(&format!("x_{i}_{q}")).expect("fresh names");
            cm.add_linear(v, p.cost[i * m + q]);
        }
    }
    for i in 0..n {
        let vars: Vec<usize> = (i * m..(i + 1) * m).collect();
        cm.add_one_hot(&format!("assign_{i}"), &vars).expect("fresh group");
    }
    for &(i, j, w) in &p.pairs {
        cm.add_offset(w);
        for q in 0..m {
            cm.add_quadratic(i as usize * m + q, j as usize * m + q, -w);
        }
    }
    for q in 0..m {
        for k in 0..kk {
            let terms: Vec<(usize, f64)> = (0..n)
                .filter(|&i| p.load[i * kk + k] != 0.0)
                .map(|i| (i * m + q, p.load[i * kk + k]))
                .collect();
            let cap = p.capacity[q * kk + k];
            if terms.is_empty() || !cap.is_finite() {
                continue;
            }
            cm.add_constraint(&format!("cap_{q}_{k}"), terms, Cmp::Le, cap)
                .expect("fresh constraint");
        }
    }
    cm
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
    solve_assignment_with(p, current, params, None)
}

/// [`solve_assignment`] that stops early (with the best feasible placement found so far)
/// once `interrupt` is set.
pub fn solve_assignment_with(
    p: &AssignProblem,
    current: &[Option<usize>],
    params: CqmSaParams,
    interrupt: Option<&std::sync::atomic::AtomicBool>,
) -> Result<Option<Vec<usize>>, CqmError> {
    let ctx = crate::solvers::SolveContext {
        interrupt,
        ..Default::default()
    };
    let m = p.num_pools;
    if p.num_items == 0 || m == 0 {
        return Ok(None);
    }
    let model = assign_model(p);
    let mut x = vec![0u8; p.num_items * m];
    for (i, pl) in current.iter().enumerate() {
        let q = pl.unwrap_or_else(|| {
            (0..m)
                .min_by(|&a, &b| p.cost[i * m + a].total_cmp(&p.cost[i * m + b]))
                .expect("pools")
        });
        x[i * m + q] = 1;
    }
    let mut params = params;
    if !model.is_feasible(&x) {
        // Phase 1: find a feasible packing first, with the traffic terms damped to a tenth
        // (they make the landscape rugged; kept a little so teams stay together), stopping
        // at the first feasible state.
        let t0 = std::time::Instant::now();
        let mut bare = p.clone();
        for pair in &mut bare.pairs {
            pair.2 *= 0.1;
        }
        let phase1 = CqmSaParams {
            sweeps: params.sweeps.max(1000),
            cycles: params.cycles.max(4),
            seed: crate::rng::derive_seed(params.seed, 1),
            target_energy: Some(f64::INFINITY),
            ..params.clone()
        };
        let sol = CqmSaSolver::new(phase1).solve_with(&assign_model(&bare), Some(&x), &ctx)?;
        if sol.feasible {
            x = sol.state;
        }
        if let Some(t) = params.time_limit {
            params.time_limit = Some(t.saturating_sub(t0.elapsed()).max(std::time::Duration::from_millis(50)));
        }
    }
    let sol = CqmSaSolver::new(params).solve_with(&model, Some(&x), &ctx)?;
    if !sol.feasible {
        return Ok(None);
    }
    let placement = (0..p.num_items)
        .map(|i| (0..m).find(|&q| sol.state[i * m + q] != 0).expect("one-hot"))
        .collect();
    Ok(Some(placement))
}
