//! Subproblems: a set of variables with everything outside it clamped.
//!
//! For a variable set `S` and a global spin state `s`, the global energy of any state that
//! agrees with `s` outside `S` and equals `t` on `S` is
//!
//! ```text
//! H(s with t on S) = sum_{i in S} (h_i + sum_{j not in S} J_ij s_j) t_i
//!                  + sum_{i<j in S} J_ij t_i t_j  +  C
//! ```
//!
//! where `C` collects every term without a variable of `S`. The first two lines are the
//! subproblem's Ising model (outside couplings folded into its fields, offset 0) and `C` its
//! clamped constant. `C` is obtained as `H(s) - H_S(s|_S)` from the current global energy,
//! so extraction touches only the couplings of `S`: O(sum of degrees in S).

use crate::batch::Subproblem;
use crate::model::{Couplings, Ising, Model, ModelError};

/// How couplings to variables outside the subproblem are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clamp {
    /// Outside spins are fixed at the current state and fold into the fields; the
    /// subproblem energy plus [`Clamped::constant`] is the global energy.
    Outside,
    /// Outside couplings are dropped: the cluster's own model (its fields and internal
    /// couplings), as the `merge` strategy solves clusters "independently".
    Ignore,
}

/// A cluster of the model cut out with the rest clamped: the batch [`Subproblem`]
/// (local Ising model with offset 0, the current local state as its warm start) plus what
/// maps it back to the global model.
#[derive(Clone, Debug)]
pub struct Clamped {
    /// The subproblem handed to a [`BatchSolver`](crate::batch::BatchSolver): its `id` is
    /// the stable id given to [`extract`]; its `seed` is set by the router; its
    /// `warm_start` is the current state of the local variables (spins ±1), `None` under
    /// [`Clamp::Ignore`], where the surrounding state means nothing.
    pub sub: Subproblem,
    /// Global index of each local variable (local `k` is global `vars[k]`).
    pub vars: Vec<u32>,
    /// Clamped constant: `global energy = local energy + constant` (NaN under
    /// [`Clamp::Ignore`], where no such relation holds).
    pub constant: f64,
}

impl Clamped {
    /// Number of variables.
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// True when the subproblem has no variable.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// The current local state (spins; empty under [`Clamp::Ignore`]).
    pub fn current(&self) -> &[i8] {
        self.sub.warm_start.as_deref().unwrap_or_default()
    }

    /// Local energy of a local spin state.
    pub fn energy(&self, local: &[i8]) -> f64 {
        self.sub.energy(local)
    }

    /// Global energy of the state obtained by writing `local` into the clamped state.
    pub fn global_energy(&self, local: &[i8]) -> f64 {
        self.energy(local) + self.constant
    }
}

/// Extracts the subproblem on `vars` (global indices) of `model` around the spin state
/// `spins` whose global energy is `energy`.
///
/// `local_of(v)` must return the local index of global variable `v` when `v` is in
/// `vars` (`vars[local] == v`) and `None` otherwise, in O(1) (e.g. from a partition).
/// Cost: O(sum of the degrees of `vars`) plus sorting the internal couplings.
pub fn extract(
    model: &Ising,
    spins: &[i8],
    energy: f64,
    vars: &[u32],
    local_of: impl Fn(u32) -> Option<u32>,
    id: u64,
    clamp: Clamp,
) -> Result<Clamped, ModelError> {
    let k = vars.len();
    let h_global = model.h();
    let mut h = Vec::with_capacity(k);
    let mut pairs: Vec<(u32, u32, f64)> = Vec::new();
    for (a, &v) in vars.iter().enumerate() {
        let mut field = h_global[v as usize];
        let (nb, w) = model.j().row(v as usize);
        for (&u, &x) in nb.iter().zip(w) {
            match local_of(u) {
                Some(b) => {
                    if b as usize > a {
                        pairs.push((a as u32, b, x));
                    }
                }
                None => {
                    if clamp == Clamp::Outside {
                        field += x * spins[u as usize] as f64;
                    }
                }
            }
        }
        h.push(field);
    }
    let ising = Ising::new(h, Couplings::from_triplets(k, pairs)?, 0.0)?;
    let (current, constant) = match clamp {
        Clamp::Outside => {
            let current: Vec<i8> = vars.iter().map(|&v| spins[v as usize]).collect();
            let constant = energy - ising.energy(&current);
            (Some(current), constant)
        }
        Clamp::Ignore => (None, f64::NAN),
    };
    Ok(Clamped {
        sub: Subproblem {
            id,
            model: Model::Ising(ising),
            warm_start: current,
            seed: 0,
        },
        vars: vars.to_vec(),
        constant,
    })
}

/// Owner and local index of the variables of a set of disjoint regions, for O(1)
/// membership tests during extraction. Setting and clearing cost O(region sizes).
#[derive(Clone, Debug)]
pub struct RegionMap {
    owner: Vec<u32>,
    local: Vec<u32>,
}

impl RegionMap {
    const NONE: u32 = u32::MAX;

    /// An empty map over `n` variables.
    pub fn new(n: usize) -> Self {
        RegionMap {
            owner: vec![Self::NONE; n],
            local: vec![0; n],
        }
    }

    /// Registers `regions` (disjoint; region `r` owns its variables, in order).
    pub fn set(&mut self, regions: &[Vec<u32>]) {
        for (r, vars) in regions.iter().enumerate() {
            for (k, &v) in vars.iter().enumerate() {
                debug_assert_eq!(self.owner[v as usize], Self::NONE, "regions overlap");
                self.owner[v as usize] = r as u32;
                self.local[v as usize] = k as u32;
            }
        }
    }

    /// Forgets `regions` (as given to [`set`](Self::set)).
    pub fn clear(&mut self, regions: &[Vec<u32>]) {
        for vars in regions {
            for &v in vars {
                self.owner[v as usize] = Self::NONE;
            }
        }
    }

    /// Local index of `v` if it belongs to region `r`.
    #[inline]
    pub fn local_in(&self, r: usize, v: u32) -> Option<u32> {
        (self.owner[v as usize] == r as u32).then(|| self.local[v as usize])
    }

    /// True when `v` belongs to some region.
    #[inline]
    pub fn is_taken(&self, v: u32) -> bool {
        self.owner[v as usize] != Self::NONE
    }
}
