//! Exhaustive search for small problems (n <= 30).
//!
//! The `2^n` states are split by their top `k` bits into `2^k` prefix blocks searched in
//! parallel; inside a block the low bits run through a Gray code, so consecutive states
//! differ by one flip: the energy changes by the cached `ΔE = -2 s_b f_b` (O(1)) and the
//! local fields by one dense row (O(n)).
//!
//! Energies are compared without the model's offset (a constant cannot change which state
//! is lowest, but a large one rounds the differences away), with a tie tolerance of
//! `1e-9 ×` the coefficient scale `sum |h| + sum |J|`. Blocks are merged in prefix order, so
//! the ground states returned and their count never depend on the thread count.

use super::{SolveContext, SolveError, Solver};
use crate::model::{Ising, Model, SampleSet, SolveInfo, Timing, spins_as};
use rayon::prelude::*;
use serde_json::json;
use std::time::Instant;

/// Largest problem [`ExactSolver`] accepts.
pub const MAX_EXACT_VARIABLES: usize = 30;

/// Exhaustive solver (`exact`): the ground-state energy, how many states reach it, and up
/// to `max_states` of them.
#[derive(Clone, Debug)]
pub struct ExactSolver {
    /// Ground states to return (default 1); `num_ground_states` in the info counts all.
    pub max_states: usize,
}

impl Default for ExactSolver {
    fn default() -> Self {
        ExactSolver { max_states: 1 }
    }
}

/// Best states found in one block.
struct Block {
    best: f64,
    count: u64,
    states: Vec<u32>,
}

impl Block {
    fn offer(&mut self, e: f64, bits: u32, keep: usize, tol: f64) {
        if self.count == 0 || e < self.best - tol {
            self.best = e;
            self.count = 1;
            self.states.clear();
            self.states.push(bits);
        } else if e <= self.best + tol {
            self.count += 1;
            if self.states.len() < keep {
                self.states.push(bits);
            }
        }
    }

    /// Merges `other`, a block of higher prefixes (ties keep `self`'s states first).
    fn merge(mut self, other: Block, keep: usize, tol: f64) -> Block {
        if other.count == 0 {
            return self;
        }
        if self.count == 0 {
            return other;
        }
        if other.best < self.best - tol {
            return other;
        }
        if other.best <= self.best + tol {
            self.count += other.count;
            self.states
                .extend(other.states.into_iter().take(keep.saturating_sub(self.states.len())));
        }
        self
    }
}

/// Enumerates all states of `ising` whose top bits equal `prefix` (spin `i` is `+1` when
/// bit `i` of the state index is set).
fn search_block(ising: &Ising, dense: &[f64], prefix: u32, low_bits: usize, keep: usize, tol: f64) -> Block {
    let n = ising.num_variables();
    let mut bits = prefix << low_bits;
    let mut s: Vec<f64> = (0..n).map(|i| if bits >> i & 1 == 1 { 1.0 } else { -1.0 }).collect();
    let spins: Vec<i8> = s.iter().map(|&v| v as i8).collect();
    let mut field: Vec<f64> = (0..n).map(|i| ising.local_field(&spins, i)).collect();
    let mut e = ising.energy(&spins);
    let mut block = Block {
        best: f64::INFINITY,
        count: 0,
        states: Vec::new(),
    };
    block.offer(e, bits, keep, tol);
    for t in 1u64..(1u64 << low_bits) {
        let b = t.trailing_zeros() as usize;
        e += -2.0 * s[b] * field[b];
        s[b] = -s[b];
        bits ^= 1 << b;
        let step = 2.0 * s[b];
        let row = &dense[b * n..(b + 1) * n];
        for (f, &w) in field.iter_mut().zip(row) {
            *f += w * step;
        }
        block.offer(e, bits, keep, tol);
    }
    block
}

impl Solver for ExactSolver {
    fn name(&self) -> &'static str {
        "exact"
    }

    fn solve_with(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        let t0 = Instant::now();
        let n = model.num_variables();
        if n > MAX_EXACT_VARIABLES {
            return Err(SolveError::TooLarge {
                solver: "exact",
                reason: format!("{n} variables; exhaustive search is limited to {MAX_EXACT_VARIABLES}"),
            });
        }
        let keep = self.max_states.max(1);
        // Offset-free: a constant cannot change the ranking but would round it away.
        let ising = model.to_ising().without_offset();
        let tol = 1e-9 * ising.energy_scale();
        let mut dense = vec![0.0; n * n];
        for (i, j, w) in ising.j().iter_upper() {
            dense[i * n + j] = w;
            dense[j * n + i] = w;
        }
        let prefix_bits = n.min(10);
        let low_bits = n - prefix_bits;
        let t1 = Instant::now();
        ctx.set_total(1u64 << prefix_bits);
        let blocks: Vec<Block> = (0..1u32 << prefix_bits)
            .into_par_iter()
            .map(|p| {
                let b = search_block(&ising, &dense, p, low_bits, keep, tol);
                ctx.advance(1);
                b
            })
            .collect();
        // Sequential merge in prefix order: the tolerance makes merging non-associative, so
        // a thread-dependent reduction tree could change the answer.
        let block = blocks
            .into_iter()
            .reduce(|a, b| a.merge(b, keep, tol))
            .expect("at least one block");
        let t2 = Instant::now();
        let vartype = model.vartype();
        let states: Vec<Vec<i8>> = block
            .states
            .iter()
            .map(|&bits| {
                let spins: Vec<i8> = (0..n).map(|i| if bits >> i & 1 == 1 { 1 } else { -1 }).collect();
                spins_as(vartype, &spins)
            })
            .collect();
        let mut info = SolveInfo {
            solver: self.name().into(),
            ..Default::default()
        };
        info.params.insert("max_states".into(), json!(keep));
        info.extra.insert("num_ground_states".into(), json!(block.count));
        info.extra.insert("states_searched".into(), json!(1u64 << n));
        let mut set = SampleSet::from_model_states(model, states, info);
        let (r, t) = super::anytime::finished(set.first().map(|s| s.energy), ctx, ctx.start.unwrap_or(t0));
        (set.info.stop_reason, set.info.time_to_target_s) = (Some(r), t);
        set.info.timing = Timing::since(t0, t1, t2);
        Ok(set)
    }
}
