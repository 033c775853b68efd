//! A portfolio under a time limit (`--solver auto --time-limit S`): whole-model annealing,
//! tempering and decomposition race, and the best state found so far is shared.
//!
//! In the manner of dwave-hybrid's Kerberos (a race of tabu, simulated annealing and
//! decomposition branches whose best state seeds the next iteration), but arranged for a
//! time budget `T` on a few cores, where branches that run side by side would only halve
//! each other's speed:
//!
//! 1. **Race** (every run from scratch with a fresh seed, so that they compare fairly; a
//!    run that overruns its slice, such as a first anneal on a huge model, lengthens the
//!    slices of the next ones to match). Round 1: each branch gets `probe_share * T`, one
//!    after the other: `sa` (planned restarts, [`anytime`](super::anytime)), `pt` (up to
//!    [`PT_MAX`] variables) and, when the model is larger than one cluster,
//!    `hierarchical`. Round 2, only when `hierarchical` leads round 1: it and the
//!    runner-up get [`RACE_GROWTH`] times as long each, and the one whose two runs point
//!    to the lower energy at the end of the budget wins (each branch's improvement per
//!    e-fold of time, from its round-1 to its round-2 run, extended to the time left).
//!    Decomposition leads early and is overtaken later: on G70 (10,000 nodes)
//!    `hierarchical` leads after 3 s and `sa` after 10 s, and `sa` alone ends 0.3% better
//!    at 60 s than the portfolio that trusted round 1.
//! 2. **Exploit**: the winner of round 2 gets the rest of the time. The decomposition
//!    continues from the best state any run found (the shared state); the annealers
//!    start afresh, so that their longer anneals are not cut into pieces, and the best
//!    rows of every run are kept. Above [`PT_MAX`] variables, an annealer that wins the
//!    race gets half of the rest and the decomposition the other half, from the shared
//!    best state (on huge lattices it overtakes annealing later than the race can see).
//!
//! The result holds the best `num_reads` rows of every run; `info.extra["portfolio"]` lists
//! each run (branch, seconds, best energy) and `info.extra["winner"]` the exploited branch
//! (`sa+hierarchical` when the time was split).
//! Models of at most [`EXACT_MAX`] variables are solved exactly. Without a time limit the
//! portfolio runs `sa` once.

use super::{ExactSolver, PtParams, PtSolver, SaParams, SaSolver, SolveContext, SolveError, Solver, TimeBudget};
use crate::decompose::{HierarchicalParams, HierarchicalSolver};
use crate::model::{Model, Sample, SampleSet, SolveInfo, StopReason};
use serde_json::json;
use std::time::{Duration, Instant};

/// Models up to this many variables are solved by exhaustive search.
pub const EXACT_MAX: usize = 20;

/// Tempering joins the race up to this many variables (above it, one exchange round of
/// all replicas takes too long for the chains to equilibrate in a practical budget).
pub const PT_MAX: usize = 100_000;

/// The second race round (when the decomposition leads the first) gives it and the
/// runner-up this many first-round slices each.
pub const RACE_GROWTH: f64 = 3.0;

/// Parameters of [`PortfolioSolver`].
#[derive(Clone, Debug, PartialEq)]
pub struct PortfolioParams {
    /// The whole-model annealing branch (its `num_reads` is also the rows returned).
    pub sa: SaParams,
    /// The tempering branch.
    pub pt: PtParams,
    /// The decomposition branch.
    pub hierarchical: HierarchicalParams,
    /// Share of the time limit each branch gets in the first race round (default 0.05,
    /// at most 0.1; with three branches and a second round the race takes
    /// `0.05 * (3 + 2 * 3) = 45%` of the time, without one 15%; the winner gets the rest).
    pub probe_share: f64,
}

impl Default for PortfolioParams {
    fn default() -> Self {
        PortfolioParams {
            sa: SaParams::default(),
            pt: PtParams::default(),
            hierarchical: HierarchicalParams::default(),
            probe_share: 0.05,
        }
    }
}

/// The portfolio solver (reported as `auto`).
#[derive(Clone, Debug, Default)]
pub struct PortfolioSolver {
    /// Parameters.
    pub params: PortfolioParams,
}

impl PortfolioSolver {
    /// A portfolio with `params`.
    pub fn new(params: PortfolioParams) -> Self {
        PortfolioSolver { params }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Branch {
    Sa,
    Pt,
    Hierarchical,
}

impl Branch {
    fn name(self) -> &'static str {
        match self {
            Branch::Sa => "sa",
            Branch::Pt => "pt",
            Branch::Hierarchical => "hierarchical",
        }
    }
}

impl PortfolioSolver {
    /// Runs `branch` for `slice` seconds from now (never past the overall deadline),
    /// starting the decomposition from `best`.
    fn run(
        &self,
        branch: Branch,
        model: &Model,
        ctx: &SolveContext,
        slice: Duration,
        best: Option<&Sample>,
        round: u64,
    ) -> Result<SampleSet, SolveError> {
        let p = &self.params;
        let sub = SolveContext {
            progress: None,
            start: Some(Instant::now()),
            time_limit: Some(slice),
            budget: TimeBudget::Plan,
            ..*ctx
        };
        let seed = |s: u64| crate::rng::derive_seed(s, round);
        match branch {
            Branch::Sa => SaSolver::new(SaParams {
                seed: seed(p.sa.seed),
                ..p.sa.clone()
            })
            .solve_with(model, &sub),
            Branch::Pt => PtSolver::new(PtParams {
                seed: seed(p.pt.seed),
                ..p.pt.clone()
            })
            .solve_with(model, &sub),
            Branch::Hierarchical => HierarchicalSolver::new(HierarchicalParams {
                seed: seed(p.hierarchical.seed),
                initial_state: best.map(|b| b.state.clone()),
                max_rounds: u64::MAX,
                patience: u64::MAX,
                ..p.hierarchical.clone()
            })
            .solve_with(model, &sub),
        }
    }
}

impl PortfolioSolver {
    /// Keeps the best `keep` rows of `set` among `rows`; says why to stop, if the run met
    /// the target or was interrupted.
    fn absorb(
        &self,
        rows: &mut Vec<Sample>,
        set: SampleSet,
        keep: usize,
        ctx: &SolveContext,
        start: Instant,
        time_to_target: &mut Option<f64>,
    ) -> Option<StopReason> {
        let stop = set.info.stop_reason;
        rows.extend(set.samples().iter().cloned());
        rows.sort_by(|a, b| a.energy.total_cmp(&b.energy));
        rows.truncate(keep);
        if let Some(b) = rows.first() {
            ctx.message(&format!("best so far: {}", b.energy));
        }
        if stop == Some(StopReason::Target)
            || rows
                .first()
                .is_some_and(|b| super::anytime::reached(b.energy, ctx.target_energy))
        {
            *time_to_target = Some(start.elapsed().as_secs_f64());
            return Some(StopReason::Target);
        }
        (stop == Some(StopReason::Interrupted)).then_some(StopReason::Interrupted)
    }
}

impl Solver for PortfolioSolver {
    fn name(&self) -> &'static str {
        "auto"
    }

    fn solve_with(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        let t0 = Instant::now();
        let p = &self.params;
        let n = model.num_variables();
        if n <= EXACT_MAX {
            let mut set = ExactSolver::default().solve_with(model, ctx)?;
            set.info.extra.insert("winner".into(), json!("exact"));
            return Ok(set);
        }
        let Some(limit) = ctx.time_limit else {
            return SaSolver::new(p.sa.clone()).solve_with(model, ctx);
        };
        if !(p.probe_share > 0.0 && p.probe_share <= 0.1) {
            return Err(super::invalid(
                "probe_share",
                format!("{} is not in (0, 0.1]", p.probe_share),
            ));
        }
        let start = ctx.start.unwrap_or(t0);
        let keep = p.sa.num_reads.max(1);
        let cluster = HierarchicalSolver::new(p.hierarchical.clone()).cluster_size();
        let mut branches = vec![Branch::Sa];
        if n <= PT_MAX {
            branches.push(Branch::Pt);
        }
        if n > cluster {
            branches.push(Branch::Hierarchical);
        }
        let mut rows: Vec<Sample> = Vec::new();
        let mut log = Vec::new();
        let mut reason = StopReason::TimeLimit;
        let mut time_to_target = None;
        let mut vartype = model.vartype();
        let remaining = || limit.saturating_sub(start.elapsed());
        // The race: every branch for `probe`, then the best two for `RACE_GROWTH * probe`
        // each (from scratch, fresh seeds: a fair comparison at a horizon closer to the
        // budget's, where the ranking of annealing and decomposition is often the reverse
        // of the first one's), then the exploit phase.
        let probe = limit.mul_f64(p.probe_share);
        let mut entrants = branches.clone();
        let mut longest = Duration::ZERO;
        let mut runs = 0u64;
        let mut exploit: Vec<(Branch, Option<Duration>)> = Vec::new();
        let mut stopped = false;
        // (branch, round, seconds, energy) of every race run.
        let mut history: Vec<(Branch, usize, f64, f64)> = Vec::new();
        'race: for (r, slice) in [probe, probe.mul_f64(RACE_GROWTH)].into_iter().enumerate() {
            let mut scores: Vec<(Branch, f64)> = Vec::new();
            for &branch in &entrants {
                // A run that overran its slice (a first anneal on a huge model) sets the
                // slice of the next ones, so that they compare at equal times.
                let slice = slice.max(longest).min(remaining());
                if slice.is_zero() {
                    stopped = true;
                    break 'race;
                }
                let t = Instant::now();
                let set = self.run(branch, model, ctx, slice, None, runs)?;
                runs += 1;
                longest = longest.max(t.elapsed());
                let e = set.first().map_or(f64::INFINITY, |s| s.energy);
                log.push(json!({"branch": branch.name(), "seconds": t.elapsed().as_secs_f64(), "energy": e, "phase": format!("race {}", r + 1)}));
                scores.push((branch, e));
                history.push((branch, r, t.elapsed().as_secs_f64(), e));
                vartype = set.vartype;
                if let Some(why) = self.absorb(&mut rows, set, keep, ctx, start, &mut time_to_target) {
                    reason = why;
                    stopped = true;
                    break 'race;
                }
            }
            if r == 1 {
                // Round 2 ranks by the energy each branch is on course for at the end of
                // the exploit phase: its two runs (round 1 and 2, from scratch) give its
                // improvement per e-fold of time, extended to the time left (a branch
                // that did not improve is taken to stay where it is).
                let left = remaining().as_secs_f64();
                for (branch, e) in scores.iter_mut() {
                    let run = |round: usize| history.iter().find(|h| h.0 == *branch && h.1 == round);
                    if let (Some(&(_, _, t0, e0)), Some(&(_, _, t1, e1))) = (run(0), run(1))
                        && t1 > 1.1 * t0
                        && e0.is_finite()
                        && e1.is_finite()
                    {
                        let slope = ((e1 - e0) / (t1 / t0).ln()).min(0.0);
                        *e = e1 + slope * (left.max(t1) / t1).ln();
                    }
                }
            }
            // Best first; ties keep the listed order (sa, pt, hierarchical).
            scores.sort_by(|a, b| a.1.total_cmp(&b.1));
            entrants = scores.iter().take(2).map(|s| s.0).collect();
            // Only a decomposition that leads is raced again: it leads early and is
            // overtaken by annealing later (G70); an annealer that leads stays ahead, and
            // a second round would only cost its exploit time (G70 at 1 s: 98.1% with
            // the second round, 98.8% without).
            if entrants.len() < 2 || entrants[0] != Branch::Hierarchical {
                entrants.truncate(1);
                break;
            }
        }
        if !stopped && let Some(&winner) = entrants.first() {
            if winner != Branch::Hierarchical && branches.contains(&Branch::Hierarchical) && n > PT_MAX {
                // Huge models: decomposition overtakes annealing after the race's
                // horizon, so the annealer gets half of the rest and the decomposition
                // continues from the shared best state.
                exploit.push((winner, Some(remaining() / 2)));
                exploit.push((Branch::Hierarchical, None));
            } else {
                exploit.push((winner, None));
            }
        }
        for &(branch, slice) in &exploit {
            let slice = slice.unwrap_or_else(remaining).min(remaining());
            if slice.is_zero() {
                break;
            }
            // The decomposition continues from the best state any run found; the
            // annealers start afresh (their anneals are not cut into pieces).
            let best = rows.first().cloned();
            let t = Instant::now();
            let set = self.run(branch, model, ctx, slice, best.as_ref(), runs)?;
            runs += 1;
            let e = set.first().map_or(f64::INFINITY, |s| s.energy);
            log.push(
                json!({"branch": branch.name(), "seconds": t.elapsed().as_secs_f64(), "energy": e, "phase": "exploit"}),
            );
            vartype = set.vartype;
            if let Some(why) = self.absorb(&mut rows, set, keep, ctx, start, &mut time_to_target) {
                reason = why;
                break;
            }
        }
        let winner = if exploit.is_empty() {
            "none".to_string()
        } else {
            let names: Vec<&str> = exploit.iter().map(|b| b.0.name()).collect();
            names.join("+")
        };
        let mut info = SolveInfo {
            solver: self.name().into(),
            seed: Some(p.sa.seed),
            stop_reason: Some(reason),
            time_to_target_s: time_to_target,
            ..Default::default()
        };
        info.params.insert("time_limit_s".into(), json!(limit.as_secs_f64()));
        info.params.insert("probe_share".into(), json!(p.probe_share));
        info.params.insert("num_reads".into(), json!(keep));
        info.extra.insert("portfolio".into(), json!(log));
        info.extra.insert("winner".into(), json!(winner));
        info.timing.sampling_s = t0.elapsed().as_secs_f64();
        Ok(SampleSet::new(vartype, n, rows, info))
    }
}
