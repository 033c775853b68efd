//! Lagrangian relaxation of the non-one-hot constraints of a [`ConstrainedModel`].
//!
//! With multipliers `u_c` (`>= 0` for `<=`, `<= 0` for `>=`, free for `=`), the relaxed
//! problem `min_x  f(x) + sum_c u_c (lhs_c(x) - rhs_c)` over states that keep every one-hot
//! group at exactly one separates: each group picks its variable of least **reduced cost**
//! `rc_v = c_v + sum_c u_c a_cv`, each free variable is set when `rc_v < 0`. For a linear
//! objective its value `L(u)` is a lower bound on every feasible state's energy (for GAP:
//! the classic bound that relaxes the pool capacities into per-agent choices). Subgradient
//! steps (Polyak rule against a target 5% plus one mean |cost| above the best bound, step factor halved after 20
//! non-improving steps) raise `L(u)`.
//!
//! The annealer uses the reduced costs to rank each group's variables (the pools a shift
//! tries first); [`lagrangian_bound`] reports the bound. Energies are in the minimisation
//! sense, offset included. Deterministic: no randomness, no threads.

use super::{Cmp, ConstrainedModel};

/// The result of [`lagrangian_bound`].
#[derive(Clone, Debug, PartialEq)]
pub struct Lagrangian {
    /// The best bound `L(u)` found (minimisation sense, offset included); a valid lower
    /// bound on every feasible state's energy only when [`Lagrangian::valid`].
    pub bound: f64,
    /// True when the objective has no quadratic terms (then `bound` is a lower bound).
    pub valid: bool,
    /// Multipliers at the best bound, one per model constraint (0 for one-hot groups).
    pub multipliers: Vec<f64>,
    /// Subgradient steps taken.
    pub iterations: usize,
}

impl Lagrangian {
    /// Reduced cost of every variable at [`Lagrangian::multipliers`] (linear part of the
    /// objective only, minimisation sense).
    pub fn reduced_costs(&self, m: &ConstrainedModel) -> Vec<f64> {
        reduced_costs(m, &self.multipliers)
    }
}

fn reduced_costs(m: &ConstrainedModel, u: &[f64]) -> Vec<f64> {
    let sign = m.to_energy(1.0);
    let mut rc: Vec<f64> = m.linear().iter().map(|&c| sign * c).collect();
    for (c, k) in m.constraints().iter().enumerate() {
        if u[c] != 0.0 {
            for &(v, a) in &k.terms {
                rc[v] += u[c] * a;
            }
        }
    }
    rc
}

/// Subgradient steps the solvers spend on the Lagrangian that ranks the candidates and
/// gives the bound (`cqm-sa`, `gpu-cqm-sa`).
pub const STEPS: usize = 300;

/// Runs `iterations` subgradient steps from zero multipliers (see the [module docs](self)).
/// Returns `None` when the model has no constraint besides its one-hot groups.
pub fn lagrangian_bound(m: &ConstrainedModel, iterations: usize) -> Option<Lagrangian> {
    let cons = m.constraints();
    let one_hot: Vec<bool> = {
        let mut v = vec![false; cons.len()];
        for &c in m.one_hot_constraints() {
            v[c] = true;
        }
        v
    };
    if one_hot.iter().all(|&o| o) {
        return None;
    }
    let groups = m.one_hot_groups();
    let mut in_group = vec![false; m.num_variables()];
    for g in &groups {
        for &v in g {
            in_group[v] = true;
        }
    }
    let free: Vec<usize> = (0..m.num_variables()).filter(|&v| !in_group[v]).collect();
    let offset = m.to_energy(m.offset());
    let mut u = vec![0.0; cons.len()];
    let mut best_u = u.clone();
    let mut best = f64::NEG_INFINITY;
    let mut mu = 2.0;
    let mut stall = 0;
    let mut x = vec![0u8; m.num_variables()];
    let mut done = 0;
    let mean_cost = m.linear().iter().map(|c| c.abs()).sum::<f64>() / m.num_variables().max(1) as f64;
    let mean_cost = if mean_cost > 0.0 { mean_cost } else { 1.0 };
    for it in 0..iterations.max(1) {
        done = it + 1;
        let rc = reduced_costs(m, &u);
        x.iter_mut().for_each(|b| *b = 0);
        let mut l = offset - cons.iter().zip(&u).map(|(k, &uc)| uc * k.rhs).sum::<f64>();
        for g in &groups {
            let v = *g
                .iter()
                .min_by(|&&a, &&b| rc[a].total_cmp(&rc[b]))
                .expect("one-hot groups are not empty");
            x[v] = 1;
            l += rc[v];
        }
        for &v in &free {
            if rc[v] < 0.0 {
                x[v] = 1;
                l += rc[v];
            }
        }
        if best == f64::NEG_INFINITY || l > best + 1e-9 * best.abs().max(1.0) {
            best = l;
            best_u.clone_from(&u);
            stall = 0;
        } else {
            stall += 1;
            if stall >= 20 {
                mu *= 0.5;
                stall = 0;
            }
        }
        // subgradient, projected onto each multiplier's sign
        let s: Vec<f64> = cons
            .iter()
            .enumerate()
            .map(|(c, k)| if one_hot[c] { 0.0 } else { k.lhs(&x) - k.rhs })
            .collect();
        let norm: f64 = s
            .iter()
            .enumerate()
            .filter(|&(c, &sc)| {
                !(cons[c].sense == Cmp::Le && u[c] == 0.0 && sc < 0.0
                    || cons[c].sense == Cmp::Ge && u[c] == 0.0 && sc > 0.0)
            })
            .map(|(_, &sc)| sc * sc)
            .sum();
        if norm <= 1e-18 || mu < 1e-6 {
            break; // the relaxed choice satisfies every constraint (or the steps vanished)
        }
        let target = 0.05 * best.abs() + mean_cost;
        let t = mu * target / norm;
        for c in 0..cons.len() {
            if one_hot[c] {
                continue;
            }
            let nu = u[c] + t * s[c];
            u[c] = match cons[c].sense {
                Cmp::Le => nu.max(0.0),
                Cmp::Ge => nu.min(0.0),
                Cmp::Eq => nu,
            };
        }
    }
    Some(Lagrangian {
        bound: best,
        valid: m.quadratic().is_empty(),
        multipliers: best_u,
        iterations: done,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cqm::gap::{GapType, generate};

    #[test]
    fn the_bound_is_below_the_brute_force_optimum_of_small_gap_instances() {
        for seed in 0..12 {
            let kind = [GapType::C, GapType::D, GapType::E][seed as usize % 3];
            let m = generate(kind, 6, 3, seed).unwrap().to_model();
            let lr = lagrangian_bound(&m, 300).unwrap();
            assert!(lr.valid);
            if let Some((_, opt)) = m.brute_force(1e6).unwrap() {
                assert!(
                    lr.bound <= opt + 1e-6,
                    "seed {seed}: bound {} > optimum {opt}",
                    lr.bound
                );
                // the relaxation with zero multipliers (each agent in its cheapest pool)
                let free: f64 = (0..6)
                    .map(|j| (0..3).map(|i| m.linear()[j * 3 + i]).fold(f64::INFINITY, f64::min))
                    .sum();
                assert!(lr.bound >= free - 1e-9, "seed {seed}: subgradient lowered the bound");
            }
        }
    }

    #[test]
    fn a_binding_capacity_raises_the_bound_to_the_optimum() {
        // two agents, two pools; both prefer p0 (cost 0 vs 10) but p0 holds one of them:
        // optimum 10; the zero-multiplier relaxation says 0, a multiplier of 10 on p0
        // closes the gap.
        let m = crate::cqm::lp::read_str(
            "Minimize\n obj: 10 x_0_1 + 10 x_1_1\nSubject To\n a0: x_0_0 + x_0_1 = 1\n a1: x_1_0 + x_1_1 = 1\n cap0: x_0_0 + x_1_0 <= 1\nBinary\n x_0_0 x_0_1 x_1_0 x_1_1\nEnd\n",
            "t.lp",
        )
        .unwrap();
        let lr = lagrangian_bound(&m, 500).unwrap();
        assert!((lr.bound - 10.0).abs() < 0.2, "bound {}", lr.bound);
        let none = crate::cqm::ConstrainedModel::new(crate::cqm::Sense::Minimize);
        assert!(lagrangian_bound(&none, 10).is_none());
    }
}
