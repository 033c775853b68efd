//! Solvers behind one [`Solver`] trait: a [`Model`] in, a [`SampleSet`] out.
//!
//! Every solver answers in the model's vartype, with energies recomputed on the CPU in f64
//! from the returned states, and records its parameters, seed and timing in
//! [`SolveInfo`](crate::model::SolveInfo). Stochastic solvers derive one RNG stream per read
//! from the seed ([`crate::rng`]), so a seed gives the same answer on any thread count.

mod anneal;
pub(crate) mod anytime;
pub mod checkpoint;
mod colour;
pub(crate) mod exact;
mod gpu_multi;
mod gpu_pa;
mod gpu_pt;
mod gpu_sa;
pub mod greedy;
pub(crate) mod lanes;
mod pa;
mod portfolio;
mod pt;
pub mod registry;
mod replica;
pub(crate) mod sa;
mod schedule;

pub use anytime::{StopReason, TimeBudget};
pub use checkpoint::Checkpoint;
pub use exact::ExactSolver;
pub use gpu_multi::MultiGpuSaSolver;
pub use gpu_pa::{GpuPaParams, GpuPaSolver};
pub use gpu_pt::{GpuPtParams, GpuPtSolver};
pub use gpu_sa::{GpuSaParams, GpuSaSolver};
pub use greedy::GreedySolver;
pub use pa::{PaParams, PaSolver};
// The CPU twin of the GPU resampling kernel, public only for the check in
// tests/it/gpu_anneal_kernels.rs; not part of the supported API.
#[doc(hidden)]
pub use pa::systematic_resample;
pub use portfolio::{DECOMPOSABLE_CUT, PortfolioParams, PortfolioSolver, partition_cut_fraction};
/// The annealing kernels below the solvers, public only for the rate example
/// (examples/colour_rate.rs) and the kernel checks in tests/it/anytime_colour.rs; not part
/// of the supported API (use [`SaSolver`], which picks the kernel).
#[doc(hidden)]
pub mod kernels {
    pub use super::anneal::Annealer;
    pub use super::colour::ColourAnnealer;
    pub use super::sa::{COLOUR_ANYTIME_MIN_VARIABLES, colour_pays};
}
pub use pt::{PtParams, PtSolver, planned_replicas, tempering_beta_range};
pub use sa::{SaParams, SaSolver};
pub use schedule::{BetaSchedule, ScheduleKind, default_beta_range};

use crate::model::{Model, ModelError, SampleSet, spins_as, to_spins};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Errors a solver reports instead of panicking.
#[derive(Debug, thiserror::Error)]
pub enum SolveError {
    /// A parameter is out of its valid range; names the parameter.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// Parameter name as users write it (e.g. `num_sweeps`).
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The problem is too large for this solver (e.g. `exact` above 30 variables).
    #[error("problem too large for `{solver}`: {reason}")]
    TooLarge {
        /// Solver name.
        solver: &'static str,
        /// Which limit was exceeded.
        reason: String,
    },
    /// A model or state is invalid.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Any other failure of a backend (e.g. a GPU device error), with its message.
    #[error("{0}")]
    Backend(String),
}

/// Receives progress of long solves (the CLI shows it as a progress bar).
pub trait Progress: Sync {
    /// Total units of work (e.g. reads × sweeps); may be called again to reset.
    fn set_total(&self, total: u64);
    /// `delta` more units done.
    fn advance(&self, delta: u64);
    /// A short status line (e.g. the current best energy).
    fn message(&self, _msg: &str) {}
    /// The best energy found so far (the model's energy, lower is better); solvers that
    /// track it report it when it improves.
    fn best_energy(&self, _energy: f64) {}
}

/// Run-time controls shared by all solvers: progress, interruption and limits.
#[derive(Default, Clone, Copy)]
pub struct SolveContext<'a> {
    /// Progress observer.
    pub progress: Option<&'a dyn Progress>,
    /// Added to energies reported through [`best_energy`](Self::best_energy): the offset a
    /// solver removed with [`without_offset`](Self::without_offset), so observers see the
    /// model's own energies.
    pub energy_offset: f64,
    /// Set to `true` from another thread to stop early; the solver returns what it has.
    pub interrupt: Option<&'a AtomicBool>,
    /// Stop once this much wall time has passed since `start` (returns what it has).
    pub time_limit: Option<Duration>,
    /// Stop once a state at or below this energy is found (solvers that can check it).
    pub target_energy: Option<f64>,
    /// When the clock for `time_limit` started (defaults to the solve's own start).
    pub start: Option<Instant>,
    /// Where long solves (`hierarchical`, `pt`) save their state and find the state to
    /// resume from.
    pub checkpoint: Option<&'a dyn Checkpoint>,
    /// How a time limit is spent: planned anneal lengths (default), repeated anneals of
    /// the given length, or one run cut short ([`TimeBudget`]).
    pub budget: TimeBudget,
}

impl<'a> SolveContext<'a> {
    /// Context with a progress observer and nothing else.
    pub fn with_progress(progress: &'a dyn Progress) -> Self {
        SolveContext {
            progress: Some(progress),
            ..Default::default()
        }
    }

    /// Reports `delta` units of work done.
    pub fn advance(&self, delta: u64) {
        if let Some(p) = self.progress {
            p.advance(delta);
        }
    }

    /// Sets the total units of work.
    pub fn set_total(&self, total: u64) {
        if let Some(p) = self.progress {
            p.set_total(total);
        }
    }

    /// Sends a status line.
    pub fn message(&self, msg: &str) {
        if let Some(p) = self.progress {
            p.message(msg);
        }
    }

    /// The same controls for the offset-free model a solver searches (see
    /// [`Model::without_offset`]): the target energy is shifted by `-offset`.
    pub fn without_offset(&self, offset: f64) -> SolveContext<'a> {
        SolveContext {
            target_energy: self.target_energy.map(|t| t - offset),
            energy_offset: self.energy_offset + offset,
            ..*self
        }
    }

    /// Reports the best energy found so far.
    pub fn best_energy(&self, energy: f64) {
        if let Some(p) = self.progress {
            p.best_energy(energy + self.energy_offset);
        }
    }

    /// True when a time limit should be spent by `anytime::drive` (repeated complete
    /// runs) rather than by cutting one run short.
    pub fn anytime(&self) -> bool {
        self.time_limit.is_some() && self.budget != TimeBudget::Single
    }

    /// Why a run that was stopped by [`should_stop`](Self::should_stop) stopped.
    pub fn cut_reason(&self) -> StopReason {
        if self.interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
            StopReason::Interrupted
        } else {
            StopReason::TimeLimit
        }
    }

    /// True when the solve should stop: interrupted or past its time limit.
    pub fn should_stop(&self, solve_start: Instant) -> bool {
        if self.interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
            return true;
        }
        match self.time_limit {
            Some(limit) => self.start.unwrap_or(solve_start).elapsed() >= limit,
            None => false,
        }
    }
}

/// A solver: takes a model, returns samples in the model's vartype.
pub trait Solver: Send + Sync {
    /// Short name used on the command line and in [`SolveInfo`](crate::model::SolveInfo).
    fn name(&self) -> &'static str;

    /// Solves `model` under the controls of `ctx`.
    fn solve_with(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError>;

    /// Solves `model` with no progress reporting or limits.
    fn solve(&self, model: &Model) -> Result<SampleSet, SolveError> {
        self.solve_with(model, &SolveContext::default())
    }
}

/// Checks user-given initial states (in the model's vartype: length, domain) and converts
/// them to spins; errors name `initial_states` and the state.
pub(crate) fn initial_spins(states: &[Vec<i8>], model: &Model) -> Result<Vec<Vec<i8>>, SolveError> {
    if states.is_empty() {
        return Err(invalid("initial_states", "is empty"));
    }
    states
        .iter()
        .enumerate()
        .map(|(k, s)| {
            model
                .check_state(s)
                .map_err(|e| invalid("initial_states", format!("state {k}: {e}")))?;
            Ok(to_spins(model.vartype(), s))
        })
        .collect()
}

/// Final spin states in the model's vartype, for [`SampleSet::from_model_states`], which
/// recomputes their energies on the CPU in f64 (never taken from a kernel) and ranks them
/// without the offset.
pub(crate) fn spin_samples(model: &Model, spins: impl IntoIterator<Item = Vec<i8>>) -> Vec<Vec<i8>> {
    spins.into_iter().map(|s| spins_as(model.vartype(), &s)).collect()
}

pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> SolveError {
    SolveError::InvalidParameter {
        name,
        reason: reason.into(),
    }
}
