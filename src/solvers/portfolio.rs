//! A portfolio under a time limit (`--solver auto --time-limit S`): whole-model annealing,
//! tempering and decomposition race, and the best state found so far is shared.
//!
//! In the manner of dwave-hybrid's Kerberos (a race of tabu, simulated annealing and
//! decomposition branches whose best state seeds the next iteration), but arranged for a
//! time budget `T` on a few cores, where branches that run side by side would only halve
//! each other's speed:
//!
//! 0. **Decomposable models go to the decomposition whole**: up to [`PT_MAX`] variables,
//!    when the decomposition's level-0 partition cuts at most [`DECOMPOSABLE_CUT`] of the
//!    coupling weight ([`partition_cut_fraction`], `info.extra["cut_fraction"]`),
//!    `hierarchical` gets the whole budget with its own seed (the run `--solver
//!    hierarchical` would do) and nothing races. Measured (2 threads, 1 and
//!    10 s, and 60 s where run): on every such model tried (the G-set tori G57, G62, G72,
//!    G77, G81 and the 27,000-spin 3D frustrated loops) `hierarchical` alone ends ahead of
//!    `sa` and `pt` at every budget, and the race only cost it time (fl27k at 10 s: the
//!    race's 0.5 s runs of `sa` and `hierarchical` tie, and the annealer that wins by a
//!    few units ends 0.3-0.4 points behind).
//! 1. **Race** (every run from scratch with a fresh seed, so that they compare fairly; a
//!    run that overruns its slice, such as a first anneal on a huge model, lengthens the
//!    slices of the next ones to match, up to [`MAX_STRETCH`] slices). Round 1: each
//!    branch gets `probe_share * T`, one after the other: `sa` (planned restarts, [`anytime`](super::anytime); its first,
//!    rate-measuring anneal is cut only by the whole budget, never by the slice), and up
//!    to [`PT_MAX`] variables `pt` and, when the model is larger than one cluster,
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
//!    rows of every run are kept. One exception, where the decomposition overtakes
//!    annealing later than the race can see: above [`PT_MAX`] variables (where only `sa`
//!    races), when half of the rest still holds a long anneal ([`SPLIT_MIN_SWEEPS`] at
//!    `sa`'s measured rate), `sa` gets half and the decomposition the other half from the
//!    shared best state; with less time `sa` gets all of it.
//!
//! The result holds the best `num_reads` rows of every run; `info.extra["portfolio"]` lists
//! each run (branch, seconds, best energy) and `info.extra["winner"]` the exploited branch
//! (`sa+hierarchical` when the time was split).
//! Models of at most [`EXACT_MAX`] variables are solved exactly. Without a time limit the
//! portfolio runs `sa` once.

use super::{ExactSolver, PtParams, PtSolver, SaParams, SaSolver, SolveContext, SolveError, Solver, TimeBudget};
use crate::decompose::{Graph, HierarchicalParams, HierarchicalSolver, PartitionParams, partition};
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

/// Above [`PT_MAX`] variables the exploit phase is split between `sa` and the
/// decomposition only when `sa`'s half still anneals at least this many sweeps (at the
/// rate of its race run); otherwise `sa` gets all of it. On the 1,000,000-spin frustrated
/// loops (about 60-100 sweeps/s on 2 cores) the split loses to `sa` alone at 10 s and
/// wins at 60 s.
pub const SPLIT_MIN_SWEEPS: f64 = 1000.0;

/// A model is "decomposable" when the decomposition's partition cuts at most this share
/// of the coupling weight (level 0 of its hierarchy, clusters of 1,000). Measured: G81
/// (2D torus) 4.5%, 3D frustrated loops 3.6%; G70 11.5%, G55 38%, G22 40%. Up to
/// `PT_MAX` (100,000) variables such a model goes to `hierarchical` whole, without a race (see
/// the module docs: the decomposition led every budget on every such model measured).
pub const DECOMPOSABLE_CUT: f64 = 0.08;

/// A race run that overran its slice lengthens the slices of the runs after it to its
/// own length, up to this many slices.
pub const MAX_STRETCH: f64 = 2.0;

/// Sweeps per second (of one read; reads run side by side) of an `sa` run that took
/// `took`: the lengths of its kept anneals over the time.
fn sweep_rate(set: &SampleSet, took: Duration) -> Option<f64> {
    let sweeps: u64 = set
        .info
        .extra
        .get("anneal_sweeps")?
        .as_array()?
        .iter()
        .filter_map(|v| v.as_u64())
        .sum();
    let secs = took.as_secs_f64();
    (sweeps > 0 && secs > 0.0).then(|| sweeps as f64 / secs)
}

/// Share of the coupling weight (`|J_ij|`) that the decomposition's level-0 partition of
/// `model` cuts, with the cluster size, partitioner and seed of `params` (the partition
/// `hierarchical` would start from; see [`DECOMPOSABLE_CUT`]). `None` when the model has
/// at most one cluster's worth of variables (nothing to partition). Costs one multilevel
/// partition (about 0.02 s for 27,000 variables).
pub fn partition_cut_fraction(model: &Model, params: &HierarchicalParams) -> Result<Option<f64>, SolveError> {
    let cap = HierarchicalSolver::new(params.clone()).cluster_size();
    if model.num_variables() <= cap {
        return Ok(None);
    }
    let graph = Graph::from_couplings(model.to_ising().j());
    let p = partition(
        &graph,
        &PartitionParams {
            max_cluster_size: cap,
            method: params.method,
            seed: crate::rng::derive_seed(params.seed, 0),
            refine_passes: 4,
        },
    )
    .map_err(SolveError::from)?;
    Ok(Some(p.stats(&graph).cut_fraction))
}

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
    /// starting the decomposition from `best`, with the branch's seed derived from
    /// `round` (its own seed when `None`). A race run passes the time left as
    /// `first_limit`: `sa`'s first anneal is cut only by it, and `pt` plans its replicas
    /// for it.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        branch: Branch,
        model: &Model,
        ctx: &SolveContext,
        slice: Duration,
        best: Option<&Sample>,
        round: Option<u64>,
        first_limit: Option<Duration>,
    ) -> Result<SampleSet, SolveError> {
        let p = &self.params;
        let sub = SolveContext {
            progress: None,
            start: Some(Instant::now()),
            time_limit: Some(slice),
            budget: TimeBudget::Plan,
            ..*ctx
        };
        let seed = |s: u64| round.map_or(s, |r| crate::rng::derive_seed(s, r));
        match branch {
            Branch::Sa => SaSolver::new(SaParams {
                seed: seed(p.sa.seed),
                ..p.sa.clone()
            })
            .solve_anytime(model, &sub, first_limit),
            // Tempering's replicas are planned for the time it would get if it won (fewer
            // for a short race slice would make a race run unlike the exploit run).
            Branch::Pt => PtSolver::new(PtParams {
                seed: seed(p.pt.seed),
                ..p.pt.clone()
            })
            .solve_planned(model, &sub, first_limit),
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
        // Above PT_MAX only `sa` races: tempering's replicas do not equilibrate there, and
        // the decomposition never leads at the race's horizon (its first round alone can
        // outlast the slice); it gets its share in the exploit phase instead.
        let mut branches = vec![Branch::Sa];
        if n <= PT_MAX {
            branches.push(Branch::Pt);
            if n > cluster {
                branches.push(Branch::Hierarchical);
            }
        }
        let split_possible = n > PT_MAX && n > cluster;
        // A model the decomposition cuts well (up to PT_MAX variables) goes to it whole:
        // no race (see DECOMPOSABLE_CUT).
        let cut = if n <= PT_MAX {
            partition_cut_fraction(model, &p.hierarchical)?
        } else {
            None
        };
        let decomposable = cut.is_some_and(|c| c <= DECOMPOSABLE_CUT);
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
        let mut entrants = if decomposable { Vec::new() } else { branches.clone() };
        let mut longest = Duration::ZERO;
        let mut runs = 0u64;
        let mut exploit: Vec<(Branch, Option<Duration>)> = Vec::new();
        let mut stopped = false;
        // (branch, round, seconds, energy) of every race run.
        let mut history: Vec<(Branch, usize, f64, f64)> = Vec::new();
        // Sweeps per second of `sa`'s first race run (its planned anneals, one after the
        // other).
        let mut sa_rate: Option<f64> = None;
        'race: for (r, slice) in [probe, probe.mul_f64(RACE_GROWTH)].into_iter().enumerate() {
            let mut scores: Vec<(Branch, f64)> = Vec::new();
            for &branch in &entrants {
                // A run that overran its slice (a first anneal on a huge model) sets the
                // slice of the next ones, so that they compare at equal times; at most
                // `MAX_STRETCH` slices, so that set-up time on a loaded machine (G81 at
                // 1 s: `sa`'s 0.05 s run took 0.2-0.35 s at load 7-10) does not stretch
                // the race over the whole budget.
                let slice = slice.max(longest.min(slice.mul_f64(MAX_STRETCH))).min(remaining());
                if slice.is_zero() {
                    stopped = true;
                    break 'race;
                }
                let t = Instant::now();
                // `sa`'s first anneal is cut only by the whole budget: a slice too short
                // for it (a million spins) would return a state cut after a few sweeps.
                let set = self.run(branch, model, ctx, slice, None, Some(runs), Some(remaining()))?;
                runs += 1;
                longest = longest.max(t.elapsed());
                let e = set.first().map_or(f64::INFINITY, |s| s.energy);
                if branch == Branch::Sa && r == 0 {
                    sa_rate = sweep_rate(&set, t.elapsed());
                }
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
        if decomposable {
            exploit.push((Branch::Hierarchical, None));
        } else if !stopped && let Some(&winner) = entrants.first() {
            let half = remaining() / 2;
            let long_enough = sa_rate.is_some_and(|r| r * half.as_secs_f64() >= SPLIT_MIN_SWEEPS);
            if winner == Branch::Sa && split_possible && long_enough {
                // Huge models: decomposition overtakes annealing after the race's
                // horizon, so the annealer gets half of the rest and the decomposition
                // continues from the shared best state; only when that half still holds
                // a long anneal (fl1m: the split wins at 60 s, loses at 10 s).
                exploit.push((winner, Some(half)));
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
            // A decomposable model's single run is `hierarchical` with its own seed: the
            // same run as `--solver hierarchical`.
            let round = (!decomposable).then_some(runs);
            let set = self.run(branch, model, ctx, slice, best.as_ref(), round, None)?;
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
        info.extra.insert("cut_fraction".into(), json!(cut));
        info.timing.sampling_s = t0.elapsed().as_secs_f64();
        Ok(SampleSet::new(vartype, n, rows, info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Vartype;

    fn set_with(extra: serde_json::Value) -> SampleSet {
        let mut info = SolveInfo::default();
        for (k, v) in extra.as_object().unwrap() {
            info.extra.insert(k.clone(), v.clone());
        }
        SampleSet::from_states(Vartype::Spin, 2, vec![(vec![1, 1], 0.0)], info)
    }

    /// A 2D lattice is decomposable (clusters of 1,000 on a 100 x 100 torus cut a few
    /// percent of the couplings: about 4 * 31 / (2 * 1,000) for 31 x 31 blocks); a random
    /// graph of mean degree 30 is not (any balanced split of a random graph cuts a large
    /// share); a model that fits one cluster has nothing to partition.
    #[test]
    fn lattices_are_decomposable_random_graphs_are_not() {
        use crate::generate::{Weights, erdos_renyi, frustrated_loops};
        let params = HierarchicalParams::default();
        let lattice = frustrated_loops(2, 10_000, 0.3, 1).unwrap().problem.model;
        let c = partition_cut_fraction(&lattice, &params).unwrap().unwrap();
        assert!(c > 0.0 && c <= DECOMPOSABLE_CUT, "{c}");
        let random = erdos_renyi(3000, 0.01, Weights::PlusMinusOne, 1).unwrap().model;
        let c = partition_cut_fraction(&random, &params).unwrap().unwrap();
        assert!(c > 0.3, "{c}");
        let small = frustrated_loops(2, 900, 0.3, 1).unwrap().problem.model;
        assert_eq!(partition_cut_fraction(&small, &params).unwrap(), None);
    }

    #[test]
    fn sweep_rate_is_kept_sweeps_over_time() {
        let s = set_with(json!({"anneal_sweeps": [32, 64, 128]}));
        assert_eq!(sweep_rate(&s, Duration::from_secs(2)), Some(112.0));
        assert_eq!(sweep_rate(&set_with(json!({})), Duration::from_secs(2)), None);
        assert_eq!(sweep_rate(&s, Duration::ZERO), None);
    }
}
