//! Anytime solving: how a solver spends a time limit.
//!
//! With a time limit ([`SolveContext::time_limit`]) every annealing solver runs through
//! [`drive`], which repeats *complete* runs of the solver until the time is up and keeps
//! the best reads of all of them. How long each run is depends on
//! [`SolveContext::budget`]:
//!
//! - [`TimeBudget::Plan`] (the default): the first anneal is short ([`PROBE_SWEEPS`]) and
//!   measures the sweep rate; the following anneals double in length while the remaining
//!   time allows at least three times the next one after it, and the last one takes what
//!   remains (at the measured rate, with a 10% margin): it gets most of the time. A short budget still ends with a complete, cold
//!   anneal; a long one spends most of its time in one long anneal.
//! - [`TimeBudget::Repeat`]: anneals of the solver's own `num_sweeps` repeat while one more
//!   fits. When a single anneal of that length does not fit in the budget (measured on a
//!   short first anneal), the run falls back to `Plan` and says so in
//!   `info.extra["budget_fallback"]`.
//! - [`TimeBudget::Single`]: one run, which the time limit only cuts short (what `drive`
//!   hands to each run).
//!
//! A run cut by the time limit never contributes a half-annealed state: the solver has
//! already finished it quickly cold (the coldest sweeps of its schedule) before returning,
//! and it is kept when it was the only run or when it did at least [`KEEP_CUT_AFTER`] of
//! its sweeps (`info.extra["anneal_cut_and_kept"]`); otherwise it is dropped.
//! Every run is checked against [`SolveContext::target_energy`]; reaching it stops with
//! [`StopReason::Target`] and sets `time_to_target_s`.
//!
//! Runs under a time limit are not reproducible (the number and length of the runs depend
//! on the machine's speed); the seed of run `k > 0` is `derive_seed(seed, k)`.

use super::{Progress, SolveContext, SolveError};
pub use crate::model::StopReason;
use crate::model::{Sample, SampleSet, SolveInfo};
use serde_json::json;
use std::time::Instant;

/// How a solver spends a time limit (see [`StopReason`] and [`SolveContext`](super::SolveContext)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeBudget {
    /// Plan anneal lengths to fill the time limit (restarts of doubling length).
    #[default]
    Plan,
    /// Repeat complete anneals of the solver's `num_sweeps` until the time is up.
    Repeat,
    /// One run; the time limit only cuts it short.
    Single,
}

/// Length of the first, rate-measuring anneal under [`TimeBudget::Plan`] (sweeps).
pub const PROBE_SWEEPS: usize = 32;

/// Shortest anneal started to use the last of the time (sweeps).
pub const MIN_SWEEPS: usize = 16;

/// Share of the remaining time an anneal is planned to fill (the rest is margin for
/// errors in the measured rate).
const FILL: f64 = 0.9;

/// A run cut by the time limit after an earlier one completed is kept (the solver has
/// finished it cold) when it did at least this share of its sweeps; otherwise dropped.
pub const KEEP_CUT_AFTER: f64 = 0.25;

/// Share of its `len` sweeps per read that a run did: `flip_attempts / (num_reads * len *
/// n)` from its info (`None` when the solver does not report them).
fn done_fraction(set: &SampleSet, len: usize) -> Option<f64> {
    let flips = set.info.extra.get("flip_attempts")?.as_f64()?;
    let reads = set.info.params.get("num_reads")?.as_f64()?;
    let full = reads * len as f64 * set.num_variables as f64;
    (full > 0.0).then(|| flips / full)
}

/// What [`drive`] needs to know about the solver it repeats.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    /// The solver's own `num_sweeps` (the length under [`TimeBudget::Repeat`]).
    pub base_sweeps: usize,
    /// Anneal lengths are multiples of this (e.g. `sweeps_per_beta`).
    pub step: usize,
    /// Rows returned (the best of all complete runs).
    pub keep: usize,
    /// The length cannot change (an explicit β schedule): always repeat `base_sweeps`.
    pub fixed_length: bool,
}

/// Whether `energy` meets `target` (with a tolerance for float rounding).
pub fn reached(energy: f64, target: Option<f64>) -> bool {
    target.is_some_and(|t| energy <= t + 1e-9 * t.abs().max(1.0))
}

/// The stop reason of a single run that was not cut: `Target` when its best sample meets
/// the target, otherwise `Completed`. Also returns the time to target (seconds since
/// `start`) when reached.
pub fn finished(set_best: Option<f64>, ctx: &SolveContext, start: Instant) -> (StopReason, Option<f64>) {
    match set_best {
        Some(e) if reached(e, ctx.target_energy) => (StopReason::Target, Some(start.elapsed().as_secs_f64())),
        _ => (StopReason::Completed, None),
    }
}

/// Sweeps that stand for "until the time limit" when tempering spends a time limit by
/// running one long chain (below 2^31, so the GPU accepts it too).
pub const UNBOUNDED_SWEEPS: usize = 1 << 30;

/// The stop reason of one run: `Target` when it reached the target (`time_to_target` is
/// set), the cause of the cut when `cut`, otherwise `Completed`.
pub fn stop_reason(time_to_target: Option<f64>, cut: bool, ctx: &SolveContext) -> StopReason {
    if time_to_target.is_some() {
        StopReason::Target
    } else if cut {
        ctx.cut_reason()
    } else {
        StopReason::Completed
    }
}

/// Length of the next anneal under [`TimeBudget::Plan`] after one of `last` sweeps, when
/// `fit` sweeps fit in the remaining time: double while at least three times that still
/// fits after it (`fit >= 8 last`), else take everything that fits, so that the last
/// anneal gets at least about 60% of the sweeps; `None` when not even [`MIN_SWEEPS`] fit.
pub fn plan_next(last: usize, fit: usize, step: usize) -> Option<usize> {
    let step = step.max(1);
    let next = if fit >= last.saturating_mul(8) {
        last.saturating_mul(2)
    } else {
        fit
    };
    let next = next / step * step;
    (next >= MIN_SWEEPS.max(step)).then_some(next)
}

/// Forwards only the best energy of a sub-run to the caller's observer (the sub-runs'
/// own totals and messages would reset the caller's progress bar).
struct BestOnly<'a>(&'a dyn Progress);

impl Progress for BestOnly<'_> {
    fn set_total(&self, _total: u64) {}
    fn advance(&self, _delta: u64) {}
    fn best_energy(&self, energy: f64) {
        self.0.best_energy(energy);
    }
}

/// Repeats complete runs of a solver until the time limit of `ctx` (which must have one),
/// the target, or an interrupt; returns the best `plan.keep` rows of all complete runs.
///
/// `run(sweeps, k, sub_ctx)` performs run `k` with `sweeps` sweeps under `sub_ctx` (the
/// same clock, limit, target and interrupt, budget [`TimeBudget::Single`], and only the
/// best energy forwarded to the progress observer)
/// and must set `info.stop_reason` (a cut run is recognised by
/// [`StopReason::is_cut`]).
pub(crate) fn drive(
    ctx: &SolveContext,
    plan: Plan,
    run: impl FnMut(usize, u64, &SolveContext) -> Result<SampleSet, SolveError>,
) -> Result<SampleSet, SolveError> {
    drive_with_first_limit(ctx, plan, None, run)
}

/// [`drive`], where the first run (the short rate-measuring anneal) is cut only by
/// `first_limit` (from the same start) when that is longer than the time limit of `ctx`:
/// a caller that gives the solver a slice too short for even one short anneal (the
/// portfolio's race on a huge model) still gets a complete anneal instead of a state
/// cut after a few sweeps and finished cold. The runs after it keep the limit of `ctx`.
pub(crate) fn drive_with_first_limit(
    ctx: &SolveContext,
    plan: Plan,
    first_limit: Option<std::time::Duration>,
    mut run: impl FnMut(usize, u64, &SolveContext) -> Result<SampleSet, SolveError>,
) -> Result<SampleSet, SolveError> {
    let t0 = Instant::now();
    let start = ctx.start.unwrap_or(t0);
    let limit = ctx.time_limit.unwrap_or_default();
    let best_only = ctx.progress.map(BestOnly);
    let sub = SolveContext {
        progress: best_only.as_ref().map(|b| b as &dyn Progress),
        budget: TimeBudget::Single,
        start: Some(start),
        ..*ctx
    };
    let step = plan.step.max(1);
    let base = (plan.base_sweeps / step * step).max(step);
    let probe = PROBE_SWEEPS.div_ceil(step) * step;
    let mut mode = if plan.fixed_length {
        TimeBudget::Repeat
    } else {
        ctx.budget
    };
    // Under Repeat, a long anneal is preceded by a short one that measures the rate.
    let mut probing = mode == TimeBudget::Repeat && !plan.fixed_length && base > 2 * probe;
    let mut len = if mode == TimeBudget::Plan || probing {
        probe
    } else {
        base
    };
    let limit_ms = limit.as_millis().max(1) as u64;
    ctx.set_total(limit_ms);
    let mut reported_ms = 0u64;
    let mut kept: Vec<Sample> = Vec::new();
    let mut info: Option<SolveInfo> = None;
    let mut lengths: Vec<usize> = Vec::new();
    let mut dropped = 0usize;
    let mut cut_kept = None;
    let mut complete = 0usize;
    let mut fallback = None;
    let mut time_to_target = None;
    let mut round = 0u64;
    let mut best_reported = f64::INFINITY;
    let mut shape;
    let reason = loop {
        let t = Instant::now();
        let first = match first_limit {
            Some(f) if round == 0 && f > limit => SolveContext {
                time_limit: Some(f),
                ..sub
            },
            _ => sub,
        };
        let set = run(len, round, &first)?;
        let dt = t.elapsed().as_secs_f64().max(1e-9);
        round += 1;
        let r = set.info.stop_reason.unwrap_or(StopReason::Completed);
        let cut = r.is_cut();
        shape = (set.vartype, set.num_variables);
        // A run cut late (the last, longest anneal, when the machine slowed down after the
        // rate was measured) has been finished cold by the solver and is kept: dropping it
        // threw away most of the budget (sa on fl27k: 20 s kept only 8.6 s of anneals).
        let late = if cut && complete > 0 {
            done_fraction(&set, len).filter(|&f| f >= KEEP_CUT_AFTER)
        } else {
            None
        };
        if !cut || complete == 0 || late.is_some() {
            kept.extend(set.samples().iter().cloned());
            kept.sort_by(|a, b| a.energy.total_cmp(&b.energy));
            kept.truncate(plan.keep.max(1));
            match late {
                Some(f) => cut_kept = Some(json!({"sweeps": len, "done": f})),
                None => lengths.push(len),
            }
            info = Some(set.info);
        } else {
            dropped += 1;
        }
        if !cut {
            complete += 1;
        }
        let now_ms = start.elapsed().as_millis() as u64;
        ctx.advance(now_ms.min(limit_ms).saturating_sub(reported_ms));
        reported_ms = reported_ms.max(now_ms.min(limit_ms));
        if let Some(b) = kept.first() {
            if b.energy < best_reported {
                best_reported = b.energy;
                ctx.best_energy(b.energy);
            }
            ctx.message(&format!("anneal {round} ({len} sweeps): best energy {}", b.energy));
            if reached(b.energy, ctx.target_energy) {
                time_to_target = Some(start.elapsed().as_secs_f64());
                break StopReason::Target;
            }
        }
        if cut {
            break r;
        }
        if sub
            .interrupt
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
        {
            break StopReason::Interrupted;
        }
        let remaining = limit.saturating_sub(start.elapsed()).as_secs_f64();
        if remaining <= 0.0 {
            break StopReason::TimeLimit;
        }
        let fit = (remaining * FILL * len as f64 / dt).min(usize::MAX as f64 / 4.0) as usize;
        let next = match mode {
            TimeBudget::Repeat if probing => {
                probing = false;
                if fit >= base {
                    Some(base)
                } else {
                    fallback = Some(format!(
                        "{base} sweeps do not fit in the time left ({remaining:.3} s at {:.0} sweeps/s): anneal lengths planned by time instead",
                        len as f64 / dt
                    ));
                    mode = TimeBudget::Plan;
                    plan_next(len, fit, step)
                }
            }
            TimeBudget::Repeat | TimeBudget::Single => (fit >= base).then_some(base),
            TimeBudget::Plan => plan_next(len, fit, step),
        };
        match next {
            Some(n) => len = n,
            None => break StopReason::TimeLimit,
        }
    };
    let mut info = info.unwrap_or_default();
    info.stop_reason = Some(reason);
    info.time_to_target_s = time_to_target;
    info.params
        .insert("num_sweeps".into(), json!(lengths.iter().copied().max().unwrap_or(0)));
    info.params.insert("time_limit_s".into(), json!(limit.as_secs_f64()));
    info.extra.insert("anneals".into(), json!(lengths.len()));
    info.extra.insert("anneal_sweeps".into(), json!(lengths));
    if dropped > 0 {
        info.extra.insert("anneals_cut_and_dropped".into(), json!(dropped));
    }
    if let Some(c) = cut_kept {
        info.extra.insert("anneal_cut_and_kept".into(), c);
    }
    if let Some(f) = fallback {
        info.extra.insert("budget_fallback".into(), json!(f));
    }
    info.extra.insert(
        "budget".into(),
        json!(match ctx.budget {
            TimeBudget::Plan if !plan.fixed_length => "plan",
            _ => "repeat",
        }),
    );
    info.timing.sampling_s = t0.elapsed().as_secs_f64();
    info.timing.preprocessing_s = 0.0;
    info.timing.postprocessing_s = 0.0;
    let (vartype, n) = shape;
    Ok(SampleSet::new(vartype, n, kept, info))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Vartype;

    /// A fake run: one read of 4 spins at `energy`, `done` of its `len` sweeps done, cut by
    /// the time limit unless `done == 1`.
    fn fake(len: usize, energy: f64, done: f64) -> SampleSet {
        let mut info = SolveInfo::default();
        info.params.insert("num_reads".into(), json!(1));
        info.extra
            .insert("flip_attempts".into(), json!((done * len as f64 * 4.0) as u64));
        info.stop_reason = Some(if done < 1.0 {
            StopReason::TimeLimit
        } else {
            StopReason::Completed
        });
        SampleSet::from_states(Vartype::Spin, 4, vec![(vec![1; 4], energy)], info)
    }

    /// After a complete run, a run cut after most of its sweeps is kept (the solver
    /// finished it cold), one cut early is dropped.
    #[test]
    fn late_cut_runs_are_kept_early_ones_dropped() {
        let ctx = SolveContext {
            time_limit: Some(std::time::Duration::from_secs(100)),
            ..Default::default()
        };
        let plan = Plan {
            base_sweeps: 1000,
            step: 1,
            keep: 1,
            fixed_length: false,
        };
        for (done, kept) in [(0.8, true), (0.1, false)] {
            let set = drive(&ctx, plan, |len, k, _| {
                Ok(if k == 0 {
                    fake(len, -1.0, 1.0)
                } else {
                    fake(len, -5.0, done)
                })
            })
            .unwrap();
            assert_eq!(set.info.stop_reason, Some(StopReason::TimeLimit));
            assert_eq!(
                set.first().unwrap().energy,
                if kept { -5.0 } else { -1.0 },
                "done {done}"
            );
            assert_eq!(set.info.extra.contains_key("anneal_cut_and_kept"), kept);
            assert_eq!(set.info.extra.contains_key("anneals_cut_and_dropped"), !kept);
            assert_eq!(set.info.extra["anneal_sweeps"], json!([PROBE_SWEEPS]));
        }
    }

    #[test]
    fn plan_doubles_then_fills() {
        assert_eq!(plan_next(32, 10_000, 1), Some(64));
        assert_eq!(plan_next(32, 256, 1), Some(64));
        assert_eq!(plan_next(32, 255, 1), Some(255));
        assert_eq!(plan_next(32, 15, 1), None);
        // Multiples of the step (sweeps per beta).
        assert_eq!(plan_next(40, 255, 10), Some(250));
        assert_eq!(plan_next(40, 5, 10), None);
        // A doubling leaves at least 3x the new length, so the last anneal, which takes
        // everything, is at least 3/5 of all the sweeps.
        let mut len = 32;
        let mut fit = 1_000_000usize;
        let mut total = 0;
        while let Some(n) = plan_next(len, fit, 1) {
            total += n;
            fit -= n;
            len = n;
        }
        assert!(len * 5 >= total * 3, "last {len} of {total}");
    }
}
