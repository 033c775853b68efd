//! Simulated annealing on the CPU, with the parameters of D-Wave's neal / dwave-samplers.
//!
//! Each read anneals its own copy of the spins through the β schedule with sequential
//! single-spin Metropolis sweeps. Local fields `f_i = h_i + sum_j J_ij s_j` are cached, so a
//! flip attempt costs O(1) and an accepted flip O(degree). The acceptance test
//! `u < exp(-β ΔE)` uses a polynomial `exp` accurate to about 1e-8 (relative), and moves
//! with `β ΔE` above 44.36 (probability below 2^-64, neal's cut-off) are rejected without
//! drawing a random number. Reads run in parallel (rayon); read `r` uses RNG stream `r`
//! of the seed, so the answer does not depend on the number of threads.

use super::schedule::{BetaSchedule, ScheduleKind, default_beta_range};
use super::{SolveContext, SolveError, Solver, invalid};
use crate::model::{Ising, Model, SampleSet, SolveInfo, Timing, check_state, spins_as, to_spins};
use crate::rng::Rng;
use rayon::prelude::*;
use serde_json::json;
use std::time::Instant;

/// neal's cut-off: moves with `β ΔE` above this are never accepted (p < 2^-64).
const MAX_BETA_DELTA: f64 = 44.361_419_555_836_5;

/// Parameters of [`SaSolver`], named as in dwave-samplers' `SimulatedAnnealingSampler`.
#[derive(Clone, Debug, PartialEq)]
pub struct SaParams {
    /// Independent anneals (default 10; neal's default is 1). With `initial_states`, reads
    /// beyond their number reuse them cyclically ("tile").
    pub num_reads: usize,
    /// Sweeps per read (default 1000). 0 returns the initial states unchanged.
    pub num_sweeps: usize,
    /// Sweeps at each β (default 1); must divide `num_sweeps`.
    pub num_sweeps_per_beta: usize,
    /// `(hot, cold)` β; `None` derives it from the problem like neal
    /// ([`default_beta_range`]).
    pub beta_range: Option<(f64, f64)>,
    /// Geometric (default) or linear interpolation between the ends of `beta_range`.
    pub beta_schedule_type: ScheduleKind,
    /// Explicit β per sweep; overrides `beta_range`, `num_sweeps` and the schedule type.
    pub beta_schedule: Option<Vec<f64>>,
    /// Seed of the per-read RNG streams.
    pub seed: u64,
    /// Starting states in the model's vartype (default: uniformly random).
    pub initial_states: Option<Vec<Vec<i8>>>,
}

impl Default for SaParams {
    fn default() -> Self {
        SaParams {
            num_reads: 10,
            num_sweeps: 1000,
            num_sweeps_per_beta: 1,
            beta_range: None,
            beta_schedule_type: ScheduleKind::Geometric,
            beta_schedule: None,
            seed: 0,
            initial_states: None,
        }
    }
}

/// Simulated annealing solver (`sa`).
#[derive(Clone, Debug, Default)]
pub struct SaSolver {
    /// Parameters.
    pub params: SaParams,
}

impl SaSolver {
    /// A solver with the given parameters.
    pub fn new(params: SaParams) -> Self {
        SaSolver { params }
    }

    /// The schedule these parameters give on `ising`, and the β range it spans.
    pub fn schedule(&self, ising: &Ising) -> Result<(BetaSchedule, (f64, f64)), SolveError> {
        let p = &self.params;
        if let Some(custom) = &p.beta_schedule {
            let s = BetaSchedule::custom(custom.clone())?;
            let range = (
                custom.first().copied().unwrap_or(0.0),
                custom.last().copied().unwrap_or(0.0),
            );
            return Ok((s, range));
        }
        let range = p.beta_range.unwrap_or_else(|| default_beta_range(ising));
        let s = BetaSchedule::new(range, p.num_sweeps, p.num_sweeps_per_beta, p.beta_schedule_type)?;
        Ok((s, range))
    }
}

impl Solver for SaSolver {
    fn name(&self) -> &'static str {
        "sa"
    }

    fn solve_with(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        let t0 = Instant::now();
        let p = &self.params;
        let n = model.num_variables();
        let vartype = model.vartype();
        let num_reads = p.num_reads;
        if num_reads == 0 {
            return Err(invalid("num_reads", "must be at least 1"));
        }
        let initial: Option<Vec<Vec<i8>>> = match &p.initial_states {
            Some(states) if states.is_empty() => return Err(invalid("initial_states", "is empty")),
            Some(states) => {
                let mut out = Vec::with_capacity(states.len());
                for (k, s) in states.iter().enumerate() {
                    check_state(s, n, vartype).map_err(|e| invalid("initial_states", format!("state {k}: {e}")))?;
                    out.push(to_spins(vartype, s));
                }
                Some(out)
            }
            None => None,
        };
        let ising = model.to_ising();
        let (schedule, range) = self.schedule(&ising)?;
        let betas: Vec<f64> = schedule.per_sweep().collect();
        let t1 = Instant::now();

        ctx.set_total((num_reads * betas.len()) as u64);
        let reads: Vec<Vec<i8>> = (0..num_reads)
            .into_par_iter()
            .map(|r| {
                let mut rng = Rng::stream(p.seed, r as u64);
                let mut spins = match &initial {
                    Some(states) => states[r % states.len()].clone(),
                    None => rng.spins(n),
                };
                anneal(&ising, &betas, &mut spins, &mut rng, ctx, t0);
                spins
            })
            .collect();
        let t2 = Instant::now();

        let states: Vec<(Vec<i8>, f64)> = reads
            .into_iter()
            .map(|s| {
                let state = spins_as(vartype, &s);
                let e = model.energy(&state);
                (state, e)
            })
            .collect();
        let mut info = SolveInfo {
            solver: self.name().into(),
            seed: Some(p.seed),
            ..Default::default()
        };
        info.params.insert("num_reads".into(), json!(num_reads));
        info.params.insert("num_sweeps".into(), json!(betas.len()));
        info.params
            .insert("num_sweeps_per_beta".into(), json!(schedule.sweeps_per_beta));
        info.params.insert("beta_range".into(), json!([range.0, range.1]));
        info.params.insert(
            "beta_schedule_type".into(),
            json!(if p.beta_schedule.is_some() {
                "custom"
            } else {
                match p.beta_schedule_type {
                    ScheduleKind::Geometric => "geometric",
                    ScheduleKind::Linear => "linear",
                }
            }),
        );
        info.extra.insert(
            "flip_attempts".into(),
            json!(num_reads as u64 * betas.len() as u64 * n as u64),
        );
        let mut set = SampleSet::from_states(vartype, n, states, info);
        set.info.timing = Timing {
            preprocessing_s: (t1 - t0).as_secs_f64(),
            sampling_s: (t2 - t1).as_secs_f64(),
            postprocessing_s: t2.elapsed().as_secs_f64(),
        };
        Ok(set)
    }
}

/// Anneals `spins` (±1) in place through `betas` (one sweep per entry) on `ising`.
///
/// Sequential sweep order, Metropolis acceptance. Stops early (leaving the current state)
/// when `ctx` says so; progress is reported once per sweep.
pub fn anneal(ising: &Ising, betas: &[f64], spins: &mut [i8], rng: &mut Rng, ctx: &SolveContext, start: Instant) {
    let n = ising.num_variables();
    let (row_ptr, cols, vals) = ising.j().csr();
    let mut field: Vec<f64> = (0..n).map(|i| ising.local_field(spins, i)).collect();
    let check_stop = ctx.interrupt.is_some() || ctx.time_limit.is_some();
    for &beta in betas {
        sweep(row_ptr, cols, vals, spins, &mut field, beta, rng);
        ctx.advance(1);
        if check_stop && ctx.should_stop(start) {
            break;
        }
    }
}

/// One sequential Metropolis sweep at inverse temperature `beta`.
#[inline]
fn sweep(row_ptr: &[usize], cols: &[u32], vals: &[f64], spins: &mut [i8], field: &mut [f64], beta: f64, rng: &mut Rng) {
    let n = spins.len();
    assert!(field.len() == n && row_ptr.len() == n + 1 && *row_ptr.last().unwrap_or(&0) <= cols.len().min(vals.len()));
    // Moves with ΔE >= limit are rejected outright.
    let limit = if beta > 0.0 {
        MAX_BETA_DELTA / beta
    } else {
        f64::INFINITY
    };
    for i in 0..n {
        let s = spins[i] as f64;
        let de = -2.0 * s * field[i];
        let accept = de <= 0.0 || (de < limit && rng.next_f64() < exp_neg(-beta * de));
        if accept {
            spins[i] = -spins[i];
            let step = -2.0 * s;
            let (a, b) = (row_ptr[i], row_ptr[i + 1]);
            for k in a..b {
                // SAFETY: a..b lies inside cols/vals (asserted above: row_ptr[n] <= len), and
                // every column index is < n by construction of `Couplings` (== field.len()).
                unsafe {
                    let j = *cols.get_unchecked(k) as usize;
                    *field.get_unchecked_mut(j) += vals.get_unchecked(k) * step;
                }
            }
        }
    }
}

/// `exp(x)` for `x` in `[-45, 0]`, relative error below about 1e-8.
///
/// `exp(x) = 2^k * e^r` with `k = round(x / ln 2)` and `|r| <= ln(2)/2`, `e^r` by a
/// degree-7 Taylor polynomial.
#[inline(always)]
pub fn exp_neg(x: f64) -> f64 {
    const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52: adding it rounds to an integer
    let t = x * std::f64::consts::LOG2_E;
    let k = (t + ROUND) - ROUND;
    let r = (t - k) * std::f64::consts::LN_2;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let scale = f64::from_bits(((k as i64 + 1023) as u64) << 52);
    p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_neg_accurate() {
        let mut x = 0.0;
        while x > -45.0 {
            let (a, b) = (exp_neg(x), x.exp());
            assert!(((a - b) / b).abs() < 2e-8, "x = {x}: {a} vs {b}");
            x -= 0.0137;
        }
    }

    #[test]
    fn anneal_keeps_fields_consistent() {
        let ising = Ising::from_entries(
            5,
            &[
                (0, 1, 1.0),
                (1, 2, -0.5),
                (2, 3, 2.0),
                (3, 4, 1.0),
                (0, 4, -1.0),
                (2, 2, 0.3),
            ],
            0.0,
        )
        .unwrap();
        let mut rng = Rng::new(3);
        let mut s = rng.spins(5);
        let betas = vec![0.5; 50];
        anneal(
            &ising,
            &betas,
            &mut s,
            &mut rng,
            &SolveContext::default(),
            Instant::now(),
        );
        assert!(s.iter().all(|&v| v == 1 || v == -1));
    }
}
