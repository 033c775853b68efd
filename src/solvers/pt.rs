//! Parallel tempering (replica-exchange Monte Carlo) on the CPU (`pt`).
//!
//! Each chain holds `num_replicas` copies of the system at fixed inverse temperatures
//! `β_0 < β_1 < ... < β_{M-1}` (a geometric ladder). Every round, each replica does
//! `sweeps_per_swap` Metropolis sweeps at its β (cached local fields, see
//! [`Replica`]); then neighbouring temperatures try to exchange their states with the
//! Metropolis rule `min(1, exp((β_t - β_{t+1}) (E_t - E_{t+1})))`, even pairs on even
//! rounds and odd pairs on odd rounds. Hot replicas cross barriers; the exchanges carry
//! what they find down to the cold end. Each chain returns the lowest-energy state any of
//! its replicas held at the end of a round. For integer or dyadic weights the Metropolis
//! test is a table lookup per temperature ([`IntegerAcceptance`]).
//!
//! Under a time limit, a geometric ladder gets fewer replicas when building all of them and
//! a few sweeps of each would not fit in half of the time left ([`planned_replicas`],
//! measured on the first batch; `info.extra["replicas_planned"]` says so): 64 replicas of
//! a million spins (680 MB) took longer to set up than a 1 s limit.
//!
//! Reproducibility: replica `k` (over all chains) owns RNG stream `k` of the seed, and the
//! exchanges of chain `c` use stream `chains * replicas + c`; replicas sweep in parallel
//! (rayon) but never share a stream, so the answer does not depend on the thread count.

use super::checkpoint::{self, spins_from_text, spins_to_text};
use super::replica::{IntegerAcceptance, Replica, geometric_ladder};
use super::spin_samples;
use super::{SolveContext, SolveError, Solver, default_beta_range, invalid};
use crate::model::{Ising, Model, SampleSet, SolveInfo, Timing};
use crate::rng::Rng;
use rayon::prelude::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Parameters of [`PtSolver`].
#[derive(Clone, Debug, PartialEq)]
pub struct PtParams {
    /// Independent tempering chains; each returns its best-seen state (default 1).
    pub num_chains: usize,
    /// Temperatures (replicas) per chain (default 64; under a time limit too short to build
    /// and sweep them all, fewer: see [`planned_replicas`]).
    pub num_replicas: usize,
    /// Metropolis sweeps of every replica (default 1000).
    pub num_sweeps: usize,
    /// Sweeps between exchange rounds (default 1); must divide `num_sweeps`.
    pub sweeps_per_swap: usize,
    /// `(hot, cold)` ends of the geometric β ladder; `None` uses
    /// [`tempering_beta_range`].
    pub beta_range: Option<(f64, f64)>,
    /// Explicit ladder (increasing β); overrides `beta_range` and `num_replicas`.
    pub betas: Option<Vec<f64>>,
    /// Re-space the ladder during the first quarter of the rounds (at most
    /// `ADAPT_MAX_ROUNDS`), every `ADAPT_EVERY` rounds, towards equal exchange
    /// acceptance between neighbours (default true; ignored with explicit `betas`).
    pub adapt_ladder: bool,
    /// Seed of the per-replica RNG streams.
    pub seed: u64,
}

impl Default for PtParams {
    fn default() -> Self {
        PtParams {
            num_chains: 1,
            num_replicas: 64,
            num_sweeps: 1000,
            sweeps_per_swap: 1,
            beta_range: None,
            betas: None,
            adapt_ladder: true,
            seed: 0,
        }
    }
}

/// Rounds between two re-spacings of an adaptive ladder.
pub const ADAPT_EVERY: usize = 200;
/// Rounds after which an adaptive ladder stays fixed.
pub const ADAPT_MAX_ROUNDS: usize = 4000;

/// Rounds during which the ladder of `p` adapts (0 when it does not).
pub(crate) fn adapt_rounds(p: &PtParams, rounds: usize) -> usize {
    if !p.adapt_ladder || p.betas.is_some() {
        return 0;
    }
    (rounds / 4).min(ADAPT_MAX_ROUNDS) / ADAPT_EVERY * ADAPT_EVERY
}

/// A re-spaced ladder with the same ends, moving rungs so that every neighbouring pair
/// would have about the same exchange acceptance.
///
/// Model: the cost `-ln A_t` of pair `t` grows like the square of its width times a local
/// density, so `sqrt(-ln A_t)` is the pair's "length"; the new rungs divide the total
/// length equally (linear interpolation in `ln β` inside each old interval). The result
/// is averaged with the old ladder (in `ln β`) to damp noise. `acceptance[t]` is the
/// measured acceptance of pair `(t, t + 1)`, clamped to `[0.001, 0.999]`.
pub fn respace_ladder(betas: &[f64], acceptance: &[f64]) -> Vec<f64> {
    let m = betas.len();
    if m < 3 || acceptance.len() != m - 1 {
        return betas.to_vec();
    }
    let x: Vec<f64> = betas.iter().map(|b| b.ln()).collect();
    let len: Vec<f64> = acceptance
        .iter()
        .map(|a| (-a.clamp(0.001, 0.999).ln()).sqrt())
        .collect();
    let total: f64 = len.iter().sum();
    let mut out = Vec::with_capacity(m);
    out.push(betas[0]);
    let mut t = 0;
    let mut cum = 0.0;
    for k in 1..m - 1 {
        let target = total * k as f64 / (m - 1) as f64;
        while t < m - 2 && cum + len[t] < target {
            cum += len[t];
            t += 1;
        }
        let frac = if len[t] > 0.0 {
            ((target - cum) / len[t]).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let xn = x[t] + frac * (x[t + 1] - x[t]);
        out.push((0.5 * (x[k] + xn)).exp());
    }
    out.push(betas[m - 1]);
    out
}

/// Default β range of the tempering and population solvers.
///
/// The cold end is neal's (about 0.01 expected excitations of the weakest kind, see
/// [`default_beta_range`]). The hot end sits just above the glass transition of a
/// mean-field spin glass with the same couplings: `β_c ≈ 1 / sqrt(q)` with
/// `q = mean_i (h_i^2 + sum_j J_ij^2)`, and `β_hot = 0.8 β_c` (never hotter than neal's hot
/// end). neal's hot end, which accepts every flip with probability 1/2, would spend many
/// rungs of a ladder on a structureless phase.
pub fn tempering_beta_range(ising: &Ising) -> (f64, f64) {
    let (neal_hot, cold) = default_beta_range(ising);
    let n = ising.num_variables();
    if n == 0 {
        return (neal_hot, cold);
    }
    let total: f64 = (0..n)
        .map(|i| ising.h()[i].powi(2) + ising.j().row(i).1.iter().map(|w| w * w).sum::<f64>())
        .sum();
    let q = total / n as f64;
    if q == 0.0 {
        return (neal_hot, cold);
    }
    let hot = (0.8 / q.sqrt()).max(neal_hot);
    (hot.min(cold), cold)
}

/// Parallel tempering solver (`pt`).
#[derive(Clone, Debug, Default)]
pub struct PtSolver {
    /// Parameters.
    pub params: PtParams,
}

impl PtSolver {
    /// A solver with the given parameters.
    pub fn new(params: PtParams) -> Self {
        PtSolver { params }
    }

    /// The β ladder these parameters give on `ising` (increasing).
    pub fn ladder(&self, ising: &Ising) -> Result<Vec<f64>, SolveError> {
        ladder(
            &self.params.betas,
            self.params.beta_range,
            self.params.num_replicas,
            ising,
        )
    }
}

/// Checks an explicit ladder or builds a geometric one (shared with the GPU solver).
pub(crate) fn ladder(
    betas: &Option<Vec<f64>>,
    range: Option<(f64, f64)>,
    num_replicas: usize,
    ising: &Ising,
) -> Result<Vec<f64>, SolveError> {
    if let Some(b) = betas {
        if b.is_empty() {
            return Err(invalid("betas", "is empty"));
        }
        if let Some(x) = b.iter().find(|x| !x.is_finite() || **x < 0.0) {
            return Err(invalid("betas", format!("{x} is not a finite non-negative β")));
        }
        return Ok(b.clone());
    }
    if num_replicas == 0 {
        return Err(invalid("num_replicas", "must be at least 1"));
    }
    let (hot, cold) = range.unwrap_or_else(|| tempering_beta_range(ising));
    if !(hot.is_finite() && cold.is_finite()) || hot <= 0.0 || cold <= 0.0 {
        return Err(invalid(
            "beta_range",
            format!("[{hot}, {cold}] must be finite and positive for a geometric ladder"),
        ));
    }
    Ok(geometric_ladder(hot, cold, num_replicas))
}

pub(crate) use super::anytime::reached;

struct Walker {
    replica: Replica,
    rng: Rng,
}

impl Solver for PtSolver {
    fn name(&self) -> &'static str {
        "pt"
    }

    /// Tempering for `num_sweeps`; under a time limit with the default
    /// [`TimeBudget::Plan`](super::TimeBudget), the chains run until the limit (each keeps
    /// its best-seen state, so a cut run is never half-annealed); under `Repeat`, complete
    /// runs of `num_sweeps` repeat with new seeds (see [`TimeBudget`](super::TimeBudget)).
    fn solve_with(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        self.solve_planned(model, ctx, None)
    }
}

impl PtSolver {
    /// [`Solver::solve_with`], with the replica count planned (see [`planned_replicas`])
    /// for `plan_budget` instead of the time left: a portfolio's short race run plans for
    /// the time it would get if it won, so that the race measures the configuration that
    /// would run.
    pub(crate) fn solve_planned(
        &self,
        model: &Model,
        ctx: &SolveContext,
        plan_budget: Option<Duration>,
    ) -> Result<SampleSet, SolveError> {
        let p = &self.params;
        if !ctx.anytime() {
            return self.solve_once(model, ctx, plan_budget);
        }
        if ctx.budget == super::TimeBudget::Plan {
            let spp = p.sweeps_per_swap.max(1);
            let q = PtParams {
                num_sweeps: super::anytime::UNBOUNDED_SWEEPS / spp * spp,
                ..p.clone()
            };
            let sub = SolveContext {
                budget: super::TimeBudget::Single,
                ..*ctx
            };
            return PtSolver::new(q).solve_once(model, &sub, plan_budget);
        }
        let plan = super::anytime::Plan {
            base_sweeps: p.num_sweeps,
            step: p.sweeps_per_swap,
            keep: p.num_chains,
            fixed_length: true,
        };
        let mut set = super::anytime::drive(ctx, plan, |sweeps, k, sub| {
            let q = PtParams {
                num_sweeps: sweeps,
                seed: if k == 0 {
                    p.seed
                } else {
                    crate::rng::derive_seed(p.seed, k)
                },
                ..p.clone()
            };
            PtSolver::new(q).solve_once(model, sub, plan_budget)
        })?;
        set.info.seed = Some(p.seed);
        Ok(set)
    }
}

impl PtSolver {
    /// One tempering run of `num_sweeps` (cut short when `ctx` says stop); under a time
    /// limit, the replicas are planned for `plan_budget` (default: the time left).
    fn solve_once(
        &self,
        model: &Model,
        ctx: &SolveContext,
        plan_budget: Option<Duration>,
    ) -> Result<SampleSet, SolveError> {
        let t0 = Instant::now();
        let p = &self.params;
        let n = model.num_variables();
        p.validate(n)?;
        if p.num_chains == 0 {
            return Err(invalid("num_chains", "must be at least 1"));
        }
        if p.sweeps_per_swap == 0 {
            return Err(invalid("sweeps_per_swap", "must be at least 1"));
        }
        if !p.num_sweeps.is_multiple_of(p.sweeps_per_swap) {
            return Err(invalid(
                "num_sweeps",
                format!(
                    "{} is not divisible by sweeps_per_swap = {}",
                    p.num_sweeps, p.sweeps_per_swap
                ),
            ));
        }
        // Search the offset-free model (a large offset would round energy differences and
        // tolerances away); the offset comes back in `from_model_states`.
        let ising = model.to_ising();
        let ctx = &ctx.without_offset(ising.offset());
        let ising = ising.without_offset();
        let mut betas = self.ladder(&ising)?;
        let chains = p.num_chains;
        let new_walker = |k: usize| {
            let mut rng = Rng::stream(p.seed, k as u64);
            let spins = rng.spins(n);
            Walker {
                replica: Replica::new(&ising, spins),
                rng,
            }
        };
        // Under a time limit, a geometric ladder gets fewer replicas when building them
        // and a few rounds would not fit (see `planned_replicas`): the first batch (one
        // walker per thread) is built and swept once (a copy, at the hot end) to measure.
        let mut walkers: Vec<Walker> = Vec::new();
        let mut planned = None;
        if let Some(limit) = ctx.time_limit
            && p.betas.is_none()
            && betas.len() > MIN_PLANNED_REPLICAS
        {
            let asked = betas.len();
            let left = limit.saturating_sub(ctx.start.unwrap_or(t0).elapsed());
            let budget = plan_budget.unwrap_or(left).as_secs_f64();
            let b = (chains * asked).min(rayon::current_num_threads().max(1));
            // Each task times itself: a wall clock around the parallel loop would also count
            // the wait for a shared pool busy with other work (another solve of a race, a
            // service's jobs, a test harness), which once planned 42 of 64 replicas for a
            // 1,000-spin model under a 30 s limit. `b` tasks run side by side, so a replica
            // costs (mean task time) / b of the machine.
            let per_replica = |secs: f64| secs / (b * b) as f64;
            let (built, secs): (Vec<Walker>, Vec<f64>) = (0..b)
                .into_par_iter()
                .map(|k| {
                    let t = Instant::now();
                    let w = new_walker(k);
                    (w, t.elapsed().as_secs_f64())
                })
                .unzip();
            walkers = built;
            let build_s = per_replica(secs.iter().sum());
            let hot = betas[0];
            let sweep_s = per_replica(
                walkers
                    .par_iter()
                    .map(|w| {
                        let t = Instant::now();
                        let (mut r, mut rng) = (w.replica.clone(), w.rng.clone());
                        r.sweep(&ising, hot, &mut rng);
                        t.elapsed().as_secs_f64()
                    })
                    .sum(),
            );
            let m = planned_replicas(asked, chains, budget, build_s, sweep_s);
            if m < asked {
                betas = ladder(&None, p.beta_range, m, &ising)?;
                walkers.truncate(chains * m);
                ctx.message(&format!(
                    "pt: {m} replicas instead of {asked} (building them and {PLAN_SWEEPS} sweeps of each must fit \
                     in half of the {budget:.2} s left)"
                ));
                planned = Some(json!({
                    "asked": asked, "used": m, "budget_s": budget,
                    "build_s_per_replica": build_s, "sweep_s_per_replica": sweep_s,
                }));
            }
        }
        let m = betas.len();
        let total = chains * m;
        let built = walkers.len();
        walkers.par_extend((built..total).into_par_iter().map(new_walker));
        // slot_walker[c][t]: walker (index into `walkers`) at temperature t of chain c.
        let mut slot_walker: Vec<Vec<usize>> = (0..chains).map(|c| (0..m).map(|t| c * m + t).collect()).collect();
        // walker_slot[k]: temperature index of walker k.
        let mut walker_slot: Vec<usize> = (0..total).map(|k| k % m).collect();
        // Integer or dyadic weights: acceptance by table lookup, one table per temperature.
        let make_tables = |betas: &[f64]| {
            IntegerAcceptance::detect(&ising).map(|acc| {
                let t: Vec<Vec<u64>> = betas.iter().map(|&b| acc.thresholds(b)).collect();
                (acc, t)
            })
        };
        let mut tables = make_tables(&betas);
        let mut swap_rngs: Vec<Rng> = (0..chains).map(|c| Rng::stream(p.seed, (total + c) as u64)).collect();
        let mut best: Vec<(Vec<i8>, f64)> = (0..chains)
            .map(|c| {
                let w = &walkers[c * m].replica;
                (w.spins.clone(), ising.energy(&w.spins))
            })
            .collect();
        let mut swap_tries = vec![0u64; m.saturating_sub(1)];
        let mut swap_accepts = vec![0u64; m.saturating_sub(1)];
        let rounds = p.num_sweeps / p.sweeps_per_swap;
        let adapt = adapt_rounds(p, rounds);
        let mut window = (vec![0u64; m.saturating_sub(1)], vec![0u64; m.saturating_sub(1)]);
        let t1 = Instant::now();
        ctx.set_total(rounds as u64);
        let mut rounds_done = 0usize;
        let mut time_to_target: Option<f64> = None;
        if best.iter().any(|b| reached(b.1, ctx.target_energy)) {
            time_to_target = Some(t0.elapsed().as_secs_f64());
        }
        let mut reported_best = f64::INFINITY;
        let mut replica_sweeps = 0u64;
        let mut round_cut = false;
        if let Some(v) = checkpoint::resume_for(ctx.checkpoint, "pt", n)
            && let Some(r) = restore(
                &v,
                &ising,
                p.seed,
                &mut betas,
                &mut walkers,
                &mut slot_walker,
                &mut best,
            )
        {
            rounds_done = r;
            walker_slot = walker_slots(&slot_walker, total);
            tables = make_tables(&betas);
        }
        while rounds_done < rounds && time_to_target.is_none() && !ctx.should_stop(t0) {
            if let Some(cp) = ctx.checkpoint.filter(|c| c.due()) {
                cp.save(snapshot(n, rounds_done, &betas, &walkers, &slot_walker, &best));
            }
            // The limit is also checked between replica sweeps within the round (one round
            // of 64 replicas of a million spins takes about a second): a cut round skips
            // its exchanges, keeps what the replicas reached, and ends the run.
            let check = || ctx.should_stop(t0);
            let done = sweep_round(&mut walkers, &walker_slot, p.sweeps_per_swap, n, &check, |w, slot| {
                match &tables {
                    Some((acc, t)) => w.replica.sweep_table(&ising, acc, &t[slot], &mut w.rng),
                    None => w.replica.sweep(&ising, betas[slot], &mut w.rng),
                };
            });
            replica_sweeps += done;
            if done < (total * p.sweeps_per_swap) as u64 {
                for (c, slots) in slot_walker.iter().enumerate() {
                    for &k in slots {
                        let r = &walkers[k].replica;
                        if r.energy < best[c].1 - 1e-9 * best[c].1.abs().max(1.0) {
                            let e = ising.energy(&r.spins);
                            if e < best[c].1 {
                                best[c] = (r.spins.clone(), e);
                            }
                        }
                    }
                }
                round_cut = true;
                break;
            }
            let parity = rounds_done % 2;
            for c in 0..chains {
                let rng = &mut swap_rngs[c];
                let slots = &mut slot_walker[c];
                let mut t = parity;
                while t + 1 < m {
                    let (a, b) = (slots[t], slots[t + 1]);
                    let x = (betas[t] - betas[t + 1]) * (walkers[a].replica.energy - walkers[b].replica.energy);
                    swap_tries[t] += 1;
                    window.0[t] += 1;
                    if x >= 0.0 || rng.next_f64() < x.exp() {
                        swap_accepts[t] += 1;
                        window.1[t] += 1;
                        slots.swap(t, t + 1);
                        walker_slot[a] = t + 1;
                        walker_slot[b] = t;
                    }
                    t += 2;
                }
                for &k in slots.iter() {
                    let r = &walkers[k].replica;
                    if r.energy < best[c].1 - 1e-9 * best[c].1.abs().max(1.0) {
                        let e = ising.energy(&r.spins);
                        if e < best[c].1 {
                            best[c] = (r.spins.clone(), e);
                        }
                    }
                }
                if time_to_target.is_none() && reached(best[c].1, ctx.target_energy) {
                    time_to_target = Some(t0.elapsed().as_secs_f64());
                }
            }
            rounds_done += 1;
            ctx.advance(1);
            let round_best = best.iter().map(|b| b.1).fold(f64::INFINITY, f64::min);
            if round_best < reported_best {
                reported_best = round_best;
                ctx.best_energy(round_best);
            }
            if rounds_done <= adapt && rounds_done.is_multiple_of(ADAPT_EVERY) {
                let acc: Vec<f64> = window
                    .0
                    .iter()
                    .zip(&window.1)
                    .map(|(&t, &a)| a as f64 / t.max(1) as f64)
                    .collect();
                betas = respace_ladder(&betas, &acc);
                tables = make_tables(&betas);
                window = (vec![0u64; m - 1], vec![0u64; m - 1]);
                if rounds_done == adapt {
                    // Report the acceptance of the final ladder only.
                    swap_tries.iter_mut().for_each(|x| *x = 0);
                    swap_accepts.iter_mut().for_each(|x| *x = 0);
                }
            }
        }
        let t2 = Instant::now();

        let states = spin_samples(model, best.into_iter().map(|(s, _)| s));
        let sweeps_done = rounds_done * p.sweeps_per_swap;
        let mut info = SolveInfo {
            solver: self.name().into(),
            seed: Some(p.seed),
            ..Default::default()
        };
        info.params.insert("num_chains".into(), json!(chains));
        info.params.insert("num_replicas".into(), json!(m));
        info.params.insert("num_sweeps".into(), json!(sweeps_done));
        info.params.insert("sweeps_per_swap".into(), json!(p.sweeps_per_swap));
        info.params.insert("beta_range".into(), json!([betas[0], betas[m - 1]]));
        info.params.insert("adapt_rounds".into(), json!(adapt));
        info.extra.insert("betas".into(), json!(betas));
        // Every replica sweep that ran, those of a round cut by the limit included.
        info.extra
            .insert("flip_attempts".into(), json!(replica_sweeps * n as u64));
        let acc: Vec<f64> = swap_tries
            .iter()
            .zip(&swap_accepts)
            .map(|(&t, &a)| if t == 0 { 0.0 } else { a as f64 / t as f64 })
            .collect();
        info.extra.insert("swap_acceptance".into(), json!(acc));
        if let Some(v) = planned {
            // Fewer replicas than asked: the time limit would not fit all of them.
            info.extra.insert("replicas_planned".into(), v);
        }
        info.stop_reason = Some(super::anytime::stop_reason(
            time_to_target,
            round_cut || rounds_done < rounds,
            ctx,
        ));
        info.time_to_target_s = time_to_target;
        let mut set = SampleSet::from_model_states(model, states, info);
        set.info.timing = Timing::since(t0, t1, t2);
        Ok(set)
    }
}

/// Sweeps of every replica (exchange rounds, at the default one sweep per round) that
/// must fit, besides building the replicas, in [`PLAN_SHARE`] of the budget (see
/// [`planned_replicas`]).
pub const PLAN_SWEEPS: f64 = 8.0;

/// Share of the time left that building the replicas and [`PLAN_SWEEPS`] sweeps may take.
pub const PLAN_SHARE: f64 = 0.5;

/// Fewest replicas per chain a time limit leaves (or all, if fewer were asked).
pub const MIN_PLANNED_REPLICAS: usize = 2;

/// Replicas per chain that a time budget holds: the most, up to `asked`, such that
/// `chains` chains of them can be built and each replica swept `PLAN_SWEEPS` (8) times
/// within `PLAN_SHARE` (1/2) of `budget_s` seconds, given the measured wall time
/// per replica to build one (`build_s`: random state, local fields) and to sweep it once
/// (`sweep_s`), both measured with every thread busy (each task timing itself, so waiting
/// for a shared, busy thread pool does not count); at least
/// `MIN_PLANNED_REPLICAS` (2) (or `asked`, if smaller). A million spins on 2 cores (about
/// 8 ms and 16 ms per replica) at 1 s: 3 replicas; at 10 s: 36; at 60 s: all 64.
/// Non-finite or non-positive measurements leave `asked`.
pub fn planned_replicas(asked: usize, chains: usize, budget_s: f64, build_s: f64, sweep_s: f64) -> usize {
    let per = chains.max(1) as f64 * (build_s + PLAN_SWEEPS * sweep_s);
    if !(per.is_finite() && per > 0.0 && budget_s.is_finite()) {
        return asked;
    }
    let fit = (PLAN_SHARE * budget_s.max(0.0) / per).floor();
    let fit = if fit >= asked as f64 { asked } else { fit as usize };
    fit.max(MIN_PLANNED_REPLICAS.min(asked))
}

/// Spin updates between two checks of the time limit within a round (a check reads the
/// clock, about as long as a few dozen spin updates).
pub(crate) const CHECK_EVERY_SPINS: usize = 4096;

/// One round's sweeps: every walker (in parallel) does `sweeps` calls of `sweep(walker,
/// its temperature index)`, asking `stop` before every `max(1, CHECK_EVERY_SPINS / n)`-th
/// of them (`n` spins per sweep) and doing no more once it said yes. Returns the sweeps
/// done over all walkers (`walkers.len() * sweeps` when nothing stopped the round).
pub(crate) fn sweep_round<W: Send>(
    walkers: &mut [W],
    walker_slot: &[usize],
    sweeps: usize,
    n: usize,
    stop: &(dyn Fn() -> bool + Sync),
    sweep: impl Fn(&mut W, usize) + Sync,
) -> u64 {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let every = (CHECK_EVERY_SPINS / n.max(1)).max(1);
    let stopped = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    walkers
        .par_iter_mut()
        .zip(walker_slot.par_iter())
        .for_each(|(w, &slot)| {
            let mut mine = 0u64;
            for s in 0..sweeps {
                if s % every == 0 && (stopped.load(Ordering::Relaxed) || stop()) {
                    stopped.store(true, Ordering::Relaxed);
                    break;
                }
                sweep(w, slot);
                mine += 1;
            }
            done.fetch_add(mine, Ordering::Relaxed);
        });
    done.into_inner()
}

/// A checkpoint of a tempering run: round, ladder, every walker's spins, the walker at
/// each temperature of each chain, and each chain's best state.
fn snapshot(
    n: usize,
    round: usize,
    betas: &[f64],
    walkers: &[Walker],
    slot_walker: &[Vec<usize>],
    best: &[(Vec<i8>, f64)],
) -> Value {
    json!({
        "solver": "pt",
        "n": n,
        "round": round,
        "betas": betas,
        "walkers": walkers.iter().map(|w| spins_to_text(&w.replica.spins)).collect::<Vec<_>>(),
        "slots": slot_walker,
        "best": best.iter().map(|b| spins_to_text(&b.0)).collect::<Vec<_>>(),
    })
}

/// Restores a [`snapshot`] taken with the same chains and replicas; walkers get fresh
/// random streams derived from the seed and the round. Returns the round, or `None` (and
/// changes nothing) when the state does not fit.
#[allow(clippy::too_many_arguments)]
fn restore(
    v: &Value,
    ising: &Ising,
    seed: u64,
    betas: &mut Vec<f64>,
    walkers: &mut [Walker],
    slot_walker: &mut Vec<Vec<usize>>,
    best: &mut [(Vec<i8>, f64)],
) -> Option<usize> {
    let n = ising.num_variables();
    let round = v["round"].as_u64()? as usize;
    let b: Vec<f64> = serde_json::from_value(v["betas"].clone()).ok()?;
    let slots: Vec<Vec<usize>> = serde_json::from_value(v["slots"].clone()).ok()?;
    let spins: Vec<Vec<i8>> = v["walkers"]
        .as_array()?
        .iter()
        .map(|t| spins_from_text(t.as_str()?, n))
        .collect::<Option<_>>()?;
    let bests: Vec<Vec<i8>> = v["best"]
        .as_array()?
        .iter()
        .map(|t| spins_from_text(t.as_str()?, n))
        .collect::<Option<_>>()?;
    let mut seen = vec![false; walkers.len()];
    let fits = b.len() == betas.len()
        && spins.len() == walkers.len()
        && bests.len() == best.len()
        && slots.len() == slot_walker.len()
        && slots
            .iter()
            .flatten()
            .all(|&k| k < seen.len() && !std::mem::replace(&mut seen[k], true))
        && seen.iter().all(|&x| x)
        && slots.iter().all(|c| c.len() == b.len());
    if !fits {
        return None;
    }
    let stream = crate::rng::derive_seed(seed, round as u64);
    for (k, (w, s)) in walkers.iter_mut().zip(spins).enumerate() {
        w.replica = Replica::new(ising, s);
        w.rng = Rng::stream(stream, k as u64);
    }
    for (slot, s) in best.iter_mut().zip(bests) {
        let e = ising.energy(&s);
        *slot = (s, e);
    }
    *betas = b;
    *slot_walker = slots;
    Some(round)
}

/// walker_slot\[k\]: the temperature index of walker k, from the chains' slot lists.
fn walker_slots(slot_walker: &[Vec<usize>], total: usize) -> Vec<usize> {
    let mut ws = vec![0; total];
    for chain in slot_walker {
        for (t, &k) in chain.iter().enumerate() {
            ws[k] = t;
        }
    }
    ws
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respacing_keeps_ends_and_moves_rungs_to_low_acceptance() {
        let betas = geometric_ladder(0.1, 10.0, 5);
        // Equal acceptance: nothing moves.
        let same = respace_ladder(&betas, &[0.5; 4]);
        for (a, b) in same.iter().zip(&betas) {
            assert!((a - b).abs() < 1e-12 * b);
        }
        // Hard first pair: the inner rungs move towards the hot end.
        let moved = respace_ladder(&betas, &[0.01, 0.9, 0.9, 0.9]);
        assert_eq!(moved[0], betas[0]);
        assert_eq!(moved[4], betas[4]);
        assert!((1..4).all(|k| moved[k] < betas[k]), "{moved:?}");
        assert!(moved.windows(2).all(|w| w[0] < w[1]));
    }

    /// The limit is asked before sweeps within a round, and a "stop" ends every walker's
    /// round (one thread: the walkers run in order, so the counts are exact).
    #[test]
    fn a_round_stops_between_replica_sweeps() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let run = |n: usize, stop_at: usize| {
            let calls = AtomicUsize::new(0);
            let stop = || calls.fetch_add(1, Ordering::Relaxed) + 1 >= stop_at;
            let mut walkers = vec![0u32; 4];
            let slots = [0, 1, 2, 3];
            let done = pool.install(|| sweep_round(&mut walkers, &slots, 10, n, &stop, |w, _| *w += 1));
            (done, walkers)
        };
        // Large model: a check before every sweep; the 15th check says stop.
        assert_eq!(run(5000, 15), (14, vec![10, 4, 0, 0]));
        // Small model: one check per CHECK_EVERY_SPINS / n = 40 sweeps, i.e. once a round.
        assert_eq!(run(100, 3), (20, vec![10, 10, 0, 0]));
        // Nothing stops: every walker does the whole round.
        assert_eq!(run(5000, usize::MAX), (40, vec![10; 4]));
    }

    #[test]
    fn replicas_are_planned_to_fit_the_budget() {
        // Nothing to cut: 64 small replicas fit easily.
        assert_eq!(planned_replicas(64, 1, 1.0, 1e-5, 2e-5), 64);
        // A million spins on two cores: 0.5 s / (8 + 8 x 16 ms) = 3.7 -> 3 replicas;
        // 10 s: 36.8 -> 36; 60 s: all 64.
        assert_eq!(planned_replicas(64, 1, 1.0, 0.008, 0.016), 3);
        assert_eq!(planned_replicas(64, 1, 10.0, 0.008, 0.016), 36);
        assert_eq!(planned_replicas(64, 1, 60.0, 0.008, 0.016), 64);
        // Chains share the budget.
        assert_eq!(planned_replicas(64, 3, 10.0, 0.008, 0.016), 12);
        // Never below two replicas (or what was asked), even with no time left.
        assert_eq!(planned_replicas(64, 1, 0.0, 0.008, 0.016), MIN_PLANNED_REPLICAS);
        assert_eq!(planned_replicas(1, 1, 0.0, 0.008, 0.016), 1);
        // Unusable measurements change nothing.
        assert_eq!(planned_replicas(64, 1, 1.0, 0.0, 0.0), 64);
        assert_eq!(planned_replicas(64, 1, f64::INFINITY, 0.008, 0.016), 64);
        assert_eq!(planned_replicas(64, 1, 1.0, f64::NAN, 0.016), 64);
        // Monotone in the budget.
        let counts: Vec<usize> = (1..100)
            .map(|s| planned_replicas(64, 1, s as f64 * 0.2, 0.008, 0.016))
            .collect();
        assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    }

    #[test]
    fn adaptation_window() {
        let p = PtParams::default();
        assert_eq!(adapt_rounds(&p, 100), 0);
        assert_eq!(adapt_rounds(&p, 1000), 200);
        assert_eq!(adapt_rounds(&p, 1_000_000), ADAPT_MAX_ROUNDS);
        let fixed = PtParams {
            betas: Some(vec![1.0, 2.0]),
            ..Default::default()
        };
        assert_eq!(adapt_rounds(&fixed, 1_000_000), 0);
    }
}
