//! Inverse-temperature (β) schedules for annealing, with neal's conventions.

use super::{SolveError, invalid};
use crate::model::Ising;

/// Shape of the β schedule between the ends of `beta_range`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ScheduleKind {
    /// `np.geomspace(beta_min, beta_max, num_betas)` (neal's default).
    #[default]
    Geometric,
    /// `np.linspace(beta_min, beta_max, num_betas)`.
    Linear,
}

crate::names::named_enum!(serde ScheduleKind, "schedule" {
    Geometric = "geometric": "Geometric interpolation of β (neal's default)",
    Linear = "linear": "Linear interpolation of β",
});

/// The β values of an anneal: `betas[k]` is used for `sweeps_per_beta` consecutive sweeps.
#[derive(Clone, Debug, PartialEq)]
pub struct BetaSchedule {
    /// One β per block of sweeps, in the order they are used.
    pub betas: Vec<f64>,
    /// Sweeps at each β.
    pub sweeps_per_beta: usize,
}

impl BetaSchedule {
    /// Builds `num_sweeps / sweeps_per_beta` betas spanning `range` (hot to cold).
    ///
    /// Errors when `sweeps_per_beta` is 0 or does not divide `num_sweeps`, when a β is
    /// negative or non-finite, or when a geometric schedule has a β of 0.
    pub fn new(
        range: (f64, f64),
        num_sweeps: usize,
        sweeps_per_beta: usize,
        kind: ScheduleKind,
    ) -> Result<Self, SolveError> {
        if sweeps_per_beta == 0 {
            return Err(invalid("num_sweeps_per_beta", "must be at least 1"));
        }
        if !num_sweeps.is_multiple_of(sweeps_per_beta) {
            return Err(invalid(
                "num_sweeps",
                format!("{num_sweeps} is not divisible by num_sweeps_per_beta = {sweeps_per_beta}"),
            ));
        }
        let (b0, b1) = range;
        if !(b0.is_finite() && b1.is_finite()) || b0 < 0.0 || b1 < 0.0 {
            return Err(invalid(
                "beta_range",
                format!("[{b0}, {b1}] must be finite and non-negative"),
            ));
        }
        let m = num_sweeps / sweeps_per_beta;
        if m > crate::limits::MAX_SCHEDULE_BETAS {
            return Err(invalid(
                "num_sweeps",
                format!(
                    "{num_sweeps} sweeps / {sweeps_per_beta} per β = {m} β values exceed the limit of {}; raise \
                     num_sweeps_per_beta",
                    crate::limits::MAX_SCHEDULE_BETAS
                ),
            ));
        }
        let betas = match (m, kind) {
            (0, _) => Vec::new(),
            (1, _) => vec![b1],
            (_, ScheduleKind::Linear) => (0..m).map(|k| b0 + (b1 - b0) * k as f64 / (m - 1) as f64).collect(),
            (_, ScheduleKind::Geometric) => {
                if b0 == 0.0 || b1 == 0.0 {
                    return Err(invalid("beta_range", "a geometric schedule needs both ends > 0"));
                }
                let r = (b1 / b0).ln();
                (0..m)
                    .map(|k| {
                        if k == m - 1 {
                            b1
                        } else {
                            b0 * (r * k as f64 / (m - 1) as f64).exp()
                        }
                    })
                    .collect()
            }
        };
        Ok(BetaSchedule { betas, sweeps_per_beta })
    }

    /// A custom schedule: one sweep per listed β.
    pub fn custom(betas: Vec<f64>) -> Result<Self, SolveError> {
        if betas.len() > crate::limits::MAX_SCHEDULE_BETAS {
            return Err(invalid(
                "beta_schedule",
                format!(
                    "{} β values exceed the limit of {}",
                    betas.len(),
                    crate::limits::MAX_SCHEDULE_BETAS
                ),
            ));
        }
        if let Some(b) = betas.iter().find(|b| !b.is_finite() || **b < 0.0) {
            return Err(invalid("beta_schedule", format!("{b} is not a finite non-negative β")));
        }
        Ok(BetaSchedule {
            betas,
            sweeps_per_beta: 1,
        })
    }

    /// Total sweeps.
    pub fn num_sweeps(&self) -> usize {
        self.betas.len() * self.sweeps_per_beta
    }

    /// β of every sweep, in order.
    pub fn per_sweep(&self) -> impl Iterator<Item = f64> + '_ {
        self.betas
            .iter()
            .flat_map(move |&b| std::iter::repeat_n(b, self.sweeps_per_beta))
    }
}

/// neal's default β range for an Ising model (`_default_ising_beta_range`).
///
/// Hot end: `ln 2 / (2 max_i sum_{terms on i} |bias|)`, so every single flip is accepted
/// with probability at least 1/2. Cold end: `ln(N_min / 0.01) / (2 min nonzero |bias|)`,
/// where `N_min` counts the spins whose smallest non-zero bias equals the global minimum,
/// so the expected number of excitations of the weakest kind is about 0.01. An all-zero
/// model gets `[0.1, 1.0]`.
pub fn default_beta_range(ising: &Ising) -> (f64, f64) {
    let n = ising.num_variables();
    let mut sum_abs = vec![0.0f64; n];
    let mut min_abs = vec![f64::INFINITY; n];
    for (i, &h) in ising.h().iter().enumerate() {
        sum_abs[i] = h.abs();
        if h != 0.0 {
            min_abs[i] = h.abs();
        }
    }
    for i in 0..n {
        for &w in ising.j().row(i).1 {
            sum_abs[i] += w.abs();
            if w != 0.0 {
                min_abs[i] = min_abs[i].min(w.abs());
            }
        }
    }
    let min_field = min_abs.iter().copied().fold(f64::INFINITY, f64::min);
    if !min_field.is_finite() {
        return (0.1, 1.0);
    }
    let max_field = sum_abs.iter().copied().fold(0.0, f64::max);
    let hot = if max_field == 0.0 {
        1.0
    } else {
        std::f64::consts::LN_2 / (2.0 * max_field)
    };
    let count = min_abs.iter().filter(|&&m| m == min_field).count() as f64;
    let cold = (count / 0.01).ln() / (2.0 * min_field);
    (hot, cold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometric_ends_and_ratio() {
        let s = BetaSchedule::new((0.1, 10.0), 5, 1, ScheduleKind::Geometric).unwrap();
        assert_eq!(s.betas.len(), 5);
        assert!((s.betas[0] - 0.1).abs() < 1e-15);
        assert_eq!(s.betas[4], 10.0);
        assert!((s.betas[2] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn linear_and_blocks() {
        let s = BetaSchedule::new((0.0, 1.0), 6, 2, ScheduleKind::Linear).unwrap();
        assert_eq!(s.betas, vec![0.0, 0.5, 1.0]);
        assert_eq!(s.per_sweep().collect::<Vec<_>>(), vec![0.0, 0.0, 0.5, 0.5, 1.0, 1.0]);
        assert!(BetaSchedule::new((0.0, 1.0), 5, 2, ScheduleKind::Linear).is_err());
        assert!(BetaSchedule::new((0.0, 1.0), 5, 1, ScheduleKind::Geometric).is_err());
        assert_eq!(
            BetaSchedule::new((0.1, 1.0), 0, 1, ScheduleKind::Geometric)
                .unwrap()
                .num_sweeps(),
            0
        );
    }

    #[test]
    fn neal_default_range() {
        // Ring of 4 with J = 1: every spin has sum |bias| = 2, min bias 1 on all 4 spins.
        let ising = Ising::from_entries(4, &[(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0), (3, 0, 1.0)], 0.0).unwrap();
        let (hot, cold) = default_beta_range(&ising);
        assert!((hot - std::f64::consts::LN_2 / 4.0).abs() < 1e-15);
        assert!((cold - (400.0f64).ln() / 2.0).abs() < 1e-15);
    }
}
