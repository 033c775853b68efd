//! Population annealing on the CPU (`pa`).
//!
//! A population of `population` replicas is annealed through a β schedule (the same
//! [`BetaSchedule`] as `sa`: `num_sweeps / sweeps_per_beta` values between the ends of the
//! range). Before each new β the population is resampled with weights
//! `exp(-(β_k - β_{k-1}) E_i)` (systematic resampling, fixed size), so low-energy replicas
//! multiply and high-energy ones die out; then every replica does `sweeps_per_beta`
//! Metropolis sweeps at `β_k` (cached local fields, see [`Replica`]). The final population
//! is returned, one sample per replica.
//!
//! Reproducibility: at step `k`, member `i` sweeps with RNG stream `i` of
//! `derive_seed(seed, k + 1)`, and resampling uses stream `k` of `derive_seed(seed, 0)`,
//! so the answer does not depend on the thread count.

use super::pt::{reached, tempering_beta_range};
use super::replica::{IntegerAcceptance, Replica};
use super::spin_samples;
use super::{BetaSchedule, ScheduleKind, SolveContext, SolveError, Solver, invalid};
use crate::model::{Model, SampleSet, SolveInfo, Timing};
use crate::rng::{Rng, derive_seed};
use rayon::prelude::*;
use serde_json::json;
use std::time::Instant;

/// Parameters of [`PaSolver`].
#[derive(Clone, Debug, PartialEq)]
pub struct PaParams {
    /// Number of replicas kept through the anneal (default 256).
    pub population: usize,
    /// Sweeps of every replica over the whole anneal (default 1000).
    pub num_sweeps: usize,
    /// Sweeps at each β (default 10); must divide `num_sweeps`. The population is
    /// resampled once per β.
    pub sweeps_per_beta: usize,
    /// `(hot, cold)` ends; `None` uses [`tempering_beta_range`].
    pub beta_range: Option<(f64, f64)>,
    /// Geometric (default) or linear interpolation between the ends.
    pub beta_schedule_type: ScheduleKind,
    /// Seed.
    pub seed: u64,
}

impl Default for PaParams {
    fn default() -> Self {
        PaParams {
            population: 256,
            num_sweeps: 1000,
            sweeps_per_beta: 10,
            beta_range: None,
            beta_schedule_type: ScheduleKind::Geometric,
            seed: 0,
        }
    }
}

impl PaParams {
    /// The schedule these parameters give for a problem whose default range is `default`.
    pub fn schedule(&self, default: (f64, f64)) -> Result<BetaSchedule, SolveError> {
        if self.population == 0 {
            return Err(invalid("population", "must be at least 1"));
        }
        BetaSchedule::new(
            self.beta_range.unwrap_or(default),
            self.num_sweeps,
            self.sweeps_per_beta,
            self.beta_schedule_type,
        )
    }
}

/// Population annealing solver (`pa`).
#[derive(Clone, Debug, Default)]
pub struct PaSolver {
    /// Parameters.
    pub params: PaParams,
}

impl PaSolver {
    /// A solver with the given parameters.
    pub fn new(params: PaParams) -> Self {
        PaSolver { params }
    }
}

/// Systematic resampling: `parents[j]` for `j < weights.len()` drawn proportionally to
/// `weights` with one uniform `u` in `[0, 1)`. Weights must be finite and non-negative with
/// a positive sum (the caller shifts energies so the best weight is 1).
pub fn systematic_resample(weights: &[f64], u: f64) -> Vec<usize> {
    let r = weights.len();
    let total: f64 = weights.iter().sum();
    let mut parents = Vec::with_capacity(r);
    let mut cum = 0.0;
    let mut i = 0;
    for j in 0..r {
        let pos = (j as f64 + u) / r as f64 * total;
        while i + 1 < r && cum + weights[i] <= pos {
            cum += weights[i];
            i += 1;
        }
        parents.push(i);
    }
    parents
}

impl Solver for PaSolver {
    fn name(&self) -> &'static str {
        "pa"
    }

    /// One population anneal; under a time limit, complete anneals repeat until the time
    /// is up (see [`TimeBudget`](super::TimeBudget)) and the best `population` states are returned.
    fn solve_with(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        if !ctx.anytime() {
            return self.solve_once(model, ctx);
        }
        let p = &self.params;
        let plan = super::anytime::Plan {
            base_sweeps: p.num_sweeps,
            step: p.sweeps_per_beta,
            keep: p.population,
            fixed_length: false,
        };
        let mut set = super::anytime::drive(ctx, plan, |sweeps, k, sub| {
            let q = PaParams {
                num_sweeps: sweeps,
                seed: if k == 0 { p.seed } else { derive_seed(p.seed, k) },
                ..p.clone()
            };
            PaSolver::new(q).solve_once(model, sub)
        })?;
        set.info.seed = Some(p.seed);
        Ok(set)
    }
}

impl PaSolver {
    /// One population anneal (cut short, then finished cold, when `ctx` says stop).
    fn solve_once(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        let t0 = Instant::now();
        let p = &self.params;
        let n = model.num_variables();
        p.validate(n)?;
        // Search the offset-free model (a large offset would round energy differences and
        // tolerances away); the offset comes back in `from_model_states`.
        let ising = model.to_ising();
        let ctx = &ctx.without_offset(ising.offset());
        let ising = ising.without_offset();
        let schedule = p.schedule(tempering_beta_range(&ising))?;
        let betas = schedule.betas.clone();
        let r = p.population;
        let mut pop: Vec<Replica> = (0..r)
            .into_par_iter()
            .map(|i| Replica::new(&ising, Rng::stream(derive_seed(p.seed, 1), i as u64).spins(n)))
            .collect();
        let t1 = Instant::now();
        ctx.set_total(betas.len() as u64);
        let resample_seed = derive_seed(p.seed, 0);
        let acceptance = IntegerAcceptance::detect(&ising);
        let mut steps_done = 0usize;
        // Sweeps actually run, summed over replicas (a β step cut by the time limit
        // counts only the sweeps it ran; the cold finish counts too).
        let mut replica_sweeps = 0u64;
        let mut time_to_target = None;
        let mut families: Vec<usize> = (0..r).collect();
        let (interrupt, limit, clock) = (ctx.interrupt, ctx.time_limit, ctx.start.unwrap_or(t0));
        let stopped = || {
            interrupt.is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
                || limit.is_some_and(|l| clock.elapsed() >= l)
        };
        for (k, &beta) in betas.iter().enumerate() {
            if time_to_target.is_some() || ctx.should_stop(t0) {
                break;
            }
            if k > 0 {
                let db = beta - betas[k - 1];
                let emin = pop.iter().map(|x| x.energy).fold(f64::INFINITY, f64::min);
                let weights: Vec<f64> = pop.iter().map(|x| (-db * (x.energy - emin)).exp()).collect();
                let u = Rng::stream(resample_seed, k as u64).next_f64();
                let parents = systematic_resample(&weights, u);
                families = parents.iter().map(|&q| families[q]).collect();
                pop = parents.iter().map(|&q| pop[q].clone()).collect();
            }
            let step_seed = derive_seed(p.seed, k as u64 + 1);
            let table = acceptance.map(|acc| (acc, acc.thresholds(beta)));
            let swept: u64 = pop
                .par_iter_mut()
                .enumerate()
                .map(|(i, rep)| {
                    let mut rng = Rng::stream(step_seed, i as u64 + r as u64);
                    for sweep in 0..schedule.sweeps_per_beta {
                        // A long β step (many sweeps per β) still ends at the time limit;
                        // the clock is read every 64 sweeps, not per sweep (tiny models
                        // sweep in tens of nanoseconds).
                        if sweep % 64 == 63 && stopped() {
                            return sweep as u64;
                        }
                        match &table {
                            Some((acc, t)) => rep.sweep_table(&ising, acc, t, &mut rng),
                            None => rep.sweep(&ising, beta, &mut rng),
                        };
                    }
                    schedule.sweeps_per_beta as u64
                })
                .sum();
            replica_sweeps += swept;
            steps_done += 1;
            ctx.advance(1);
            if let Some(best) = pop.iter().min_by(|a, b| a.energy.total_cmp(&b.energy))
                && reached(best.energy, ctx.target_energy)
                && reached(ising.energy(&best.spins), ctx.target_energy)
            {
                time_to_target = Some(t0.elapsed().as_secs_f64());
            }
        }
        let cut = time_to_target.is_none() && steps_done < betas.len();
        if cut && let Some(&cold) = betas.last() {
            // Cut short: finish cold at the schedule's coldest β.
            let step_seed = derive_seed(p.seed, betas.len() as u64 + 1);
            pop.par_iter_mut().enumerate().for_each(|(i, rep)| {
                let mut rng = Rng::stream(step_seed, i as u64 + r as u64);
                for _ in 0..super::anneal::COLD_FINISH {
                    rep.sweep(&ising, cold, &mut rng);
                }
            });
            replica_sweeps += (super::anneal::COLD_FINISH * r) as u64;
        }
        let t2 = Instant::now();
        let mut distinct = families.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let states = spin_samples(model, pop.into_iter().map(|x| x.spins));
        let sweeps_done = steps_done * schedule.sweeps_per_beta;
        let mut info = SolveInfo {
            solver: self.name().into(),
            seed: Some(p.seed),
            ..Default::default()
        };
        info.params.insert("population".into(), json!(r));
        info.params.insert("num_sweeps".into(), json!(sweeps_done));
        info.params
            .insert("sweeps_per_beta".into(), json!(schedule.sweeps_per_beta));
        info.params.insert(
            "beta_range".into(),
            json!([
                betas.first().copied().unwrap_or(0.0),
                betas.last().copied().unwrap_or(0.0)
            ]),
        );
        info.params.insert(
            "beta_schedule_type".into(),
            json!(match p.beta_schedule_type {
                ScheduleKind::Geometric => "geometric",
                ScheduleKind::Linear => "linear",
            }),
        );
        info.extra
            .insert("flip_attempts".into(), json!(replica_sweeps * n as u64));
        info.extra.insert("surviving_families".into(), json!(distinct.len()));
        info.stop_reason = Some(super::anytime::stop_reason(time_to_target, cut, ctx));
        info.time_to_target_s = time_to_target;
        let mut set = SampleSet::from_model_states(model, states, info);
        set.info.timing = Timing::since(t0, t1, t2);
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systematic_resampling_counts() {
        // Weights 1:3 over 4 members -> exactly 1 and 3 copies whatever u is.
        for u in [0.0, 0.3, 0.99] {
            let p = systematic_resample(&[1.0, 3.0, 0.0, 0.0], u);
            assert_eq!(p.iter().filter(|&&x| x == 0).count(), 1, "u = {u}");
            assert_eq!(p.iter().filter(|&&x| x == 1).count(), 3, "u = {u}");
        }
        assert_eq!(systematic_resample(&[1.0; 5], 0.5), vec![0, 1, 2, 3, 4]);
    }

    fn ring(n: u32) -> Model {
        let entries: Vec<(u32, u32, f64)> = (0..n).map(|i| (i, (i + 1) % n, 1.0)).collect();
        Model::Ising(crate::model::Ising::from_entries(n as usize, &entries, 0.0).unwrap())
    }

    fn flip_attempts(set: &SampleSet) -> u64 {
        set.info.extra["flip_attempts"].as_u64().unwrap()
    }

    #[test]
    fn flip_attempts_count_the_sweeps_that_ran() {
        let model = ring(12);
        let params = PaParams {
            population: 8,
            num_sweeps: 40,
            sweeps_per_beta: 4,
            seed: 3,
            ..Default::default()
        };
        let full = PaSolver::new(params.clone())
            .solve_with(&model, &SolveContext::default())
            .unwrap();
        assert_eq!(flip_attempts(&full), 40 * 8 * 12);
        // Stopped before the first β step: only the cold finish ran (the old count said 0).
        let stop = std::sync::atomic::AtomicBool::new(true);
        let ctx = SolveContext {
            interrupt: Some(&stop),
            ..Default::default()
        };
        let cut = PaSolver::new(params).solve_with(&model, &ctx).unwrap();
        assert_eq!(flip_attempts(&cut), (super::super::anneal::COLD_FINISH * 8 * 12) as u64);
    }
}
