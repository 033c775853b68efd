//! The two ways of combining subproblem solutions into a global state.
//!
//! - [`merge`] (QAOA-in-QAOA / multilevel V-cycle): solve every cluster, build the level
//!   above whose spins say which clusters to flip, solve it the same way (recursively
//!   while it is still larger than a cluster), apply the flips, polish with steepest
//!   descent. The first cycle solves clusters on their own (outside couplings dropped);
//!   later cycles clamp the outside to the current state. A cycle never makes the state
//!   worse.
//! - [`refine`] (large-neighbourhood search in the style of qbsolv / dwave-hybrid): from a
//!   descended random state, repeatedly solve batches of subproblems with the outside
//!   clamped, and accept every improvement. A round visits the clusters colour class by
//!   colour class (clusters of one colour are uncoupled, so their improvements add up
//!   exactly), then regions grown breadth-first from the variables with the smallest
//!   flip cost ("energy impact", as dwave-hybrid's `EnergyImpactDecomposer`), kept
//!   apart so they are uncoupled too.
//!
//! Both stop at a target energy, a time limit, an interrupt, a round limit, or after
//! `patience` rounds without gain.

pub(crate) mod merge;
pub(crate) mod refine;

use super::hierarchy::HierarchicalQubo;
use super::router::Router;
use crate::solvers::{SolveContext, checkpoint};
use serde::Serialize;
use std::time::{Duration, Instant};

/// Why a hierarchical solve stopped (the library-wide [`StopReason`]; `patience` rounds
/// without gain report [`StopReason::Converged`]).
pub use crate::model::StopReason;

/// One round's outcome, for the solve info.
#[derive(Clone, Debug, Serialize)]
pub struct RoundLog {
    /// Round number (0 = the first).
    pub round: u64,
    /// Best energy after the round.
    pub energy: f64,
    /// Seconds since the solve started.
    pub elapsed_s: f64,
    /// Subproblems whose solution was accepted in this round.
    pub accepted: usize,
}

/// Everything a strategy needs: the hierarchy, the router, and the stopping rules.
pub(crate) struct Engine<'a> {
    pub hier: &'a HierarchicalQubo<'a>,
    pub router: &'a Router,
    pub seed: u64,
    /// The caller's context (progress messages).
    pub ctx: &'a SolveContext<'a>,
    /// The context handed to sub-solvers: interrupt and time limit, no progress.
    pub sub_ctx: SolveContext<'a>,
    pub start: Instant,
    pub time_limit: Option<Duration>,
    pub target: Option<f64>,
    pub max_rounds: u64,
    pub patience: u64,
    pub log: Vec<RoundLog>,
    /// Spins to start from instead of solving from scratch.
    pub initial: Option<Vec<i8>>,
}

/// Relative tolerance below which an energy change counts as no change.
pub(crate) fn tolerance(energy: f64) -> f64 {
    1e-9 * (1.0 + energy.abs())
}

/// Stable id of subproblem `index` of level `level` in round `round`; back-ends derive
/// the subproblem's seed from it.
pub(crate) fn sub_id(round: u64, level: usize, index: usize) -> u64 {
    ((round & 0xFF_FFFF) << 40) | (((level as u64) & 0xFF) << 32) | (index as u64 & 0xFFFF_FFFF)
}

impl Engine<'_> {
    /// The reason to stop now, if any (`round` rounds done, `stale` without gain).
    pub fn stop(&self, energy: f64, round: u64, stale: u64) -> Option<StopReason> {
        if self.target.is_some_and(|t| energy <= t + tolerance(t)) {
            return Some(StopReason::Target);
        }
        if self
            .sub_ctx
            .interrupt
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
        {
            return Some(StopReason::Interrupted);
        }
        if self.out_of_time() {
            return Some(StopReason::TimeLimit);
        }
        if round >= self.max_rounds {
            return Some(StopReason::MaxRounds);
        }
        if stale >= self.patience {
            return Some(StopReason::Converged);
        }
        None
    }

    /// The `(spins, round, stale)` a checkpoint of this strategy holds, to resume from.
    pub fn resumed(&self, strategy: &str) -> Option<(Vec<i8>, u64, u64)> {
        let n = self.hier.base().num_variables();
        let v = checkpoint::resume_for(self.ctx.checkpoint, "hierarchical", n)?;
        if v["strategy"] != strategy || v["seed"] != self.seed {
            return None;
        }
        let spins = checkpoint::spins_from_text(v["spins"].as_str()?, n)?;
        Some((spins, v["round"].as_u64()?, v["stale"].as_u64()?))
    }

    /// Saves `(spins, round, stale)` when the checkpoint wants a save.
    pub fn checkpoint(&self, strategy: &str, spins: &[i8], round: u64, stale: u64) {
        if let Some(cp) = self.ctx.checkpoint
            && cp.due()
        {
            cp.save(serde_json::json!({
                "solver": "hierarchical",
                "strategy": strategy,
                "n": spins.len(),
                "seed": self.seed,
                "round": round,
                "stale": stale,
                "spins": checkpoint::spins_to_text(spins),
            }));
        }
    }

    /// True once the time limit has passed.
    pub fn out_of_time(&self) -> bool {
        self.time_limit.is_some_and(|l| self.start.elapsed() >= l)
    }

    /// Records and reports a finished round.
    pub fn report(&mut self, what: &str, round: u64, energy: f64, accepted: usize) {
        let elapsed_s = self.start.elapsed().as_secs_f64();
        self.ctx.message(&format!(
            "{what} round {round}: energy {energy} ({accepted} subproblems accepted, {elapsed_s:.1} s)"
        ));
        self.ctx.advance(1);
        self.ctx.best_energy(energy);
        self.log.push(RoundLog {
            round,
            energy,
            elapsed_s,
            accepted,
        });
    }
}
