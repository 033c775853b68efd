//! Simulated annealing on the CPU, with the parameters of D-Wave's neal / dwave-samplers.
//!
//! Each read anneals its own copy of the spins through the β schedule with sequential
//! single-spin Metropolis sweeps (the kernel is [`Annealer`]: cached local fields, O(1) per
//! attempt, exact integer arithmetic and threshold tables when the weights allow). When
//! the weights allow the integer path and there are at least [`LANES_MIN_READS`] reads,
//! reads advance 8 or 16 at a time on the SIMD lanes kernel ([`lanes`](super::lanes)),
//! each lane still an independent sequential read. Fewer reads of a large sparse model
//! ([`colour_pays`]) run one after another, each on every core with colour-class parallel
//! sweeps ([`colour`](super::colour)). Reads run in parallel (rayon); read `r` uses RNG stream `r`
//! of the seed, so the answer does not depend on the number of threads.

pub(crate) use super::anneal::{Annealer, SIDEWAYS_P, sideways_or_exp};
use super::colour::ColourAnnealer;
use super::schedule::{BetaSchedule, ScheduleKind, default_beta_range};
use super::{SolveContext, SolveError, Solver, anytime, invalid};
use super::{initial_spins, spin_samples};
use crate::model::{Ising, Model, SampleSet, SolveInfo, Timing};
use crate::rng::Rng;
use crate::rng::derive_seed;
use rayon::prelude::*;
use serde_json::json;
use std::time::Instant;

/// From this many reads on, integer-weight problems use the SIMD lanes kernel
/// ([`lanes`](super::lanes)): several reads per instruction stream, about 3-5x the scalar
/// rate per core. Fewer reads use the scalar kernel (a mostly empty group would be slower).
pub const LANES_MIN_READS: usize = 4;

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

    /// One anneal per read; under a time limit, complete anneals repeat until the time is
    /// up (see [`TimeBudget`](super::TimeBudget)) and the best `num_reads` reads are returned. With
    /// fewer reads than the cores (or SIMD lanes) could run at the same cost, a time-limited
    /// solve anneals that many reads and keeps the best; a large sparse model
    /// ([`COLOUR_ANYTIME_MIN_VARIABLES`]) anneals one read per run on every core instead.
    fn solve_with(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        if !ctx.anytime() {
            return self.solve_once(model, ctx);
        }
        self.solve_anytime(model, ctx, None)
    }
}

impl SaSolver {
    /// The time-limited solve of [`solve_with`](Solver::solve_with); the first
    /// (rate-measuring) anneal is cut only by `first_limit` when that is longer than the
    /// limit of `ctx` (see [`anytime::drive_with_first_limit`]; the portfolio's race).
    pub(crate) fn solve_anytime(
        &self,
        model: &Model,
        ctx: &SolveContext,
        first_limit: Option<std::time::Duration>,
    ) -> Result<SampleSet, SolveError> {
        let p = &self.params;
        if p.num_reads == 0 {
            return Err(invalid("num_reads", "must be at least 1"));
        }
        let threads = rayon::current_num_threads();
        let ising = model.to_ising();
        let integer = Annealer::new(&ising).is_integer();
        let reads = if ising.num_variables() >= COLOUR_ANYTIME_MIN_VARIABLES && colour_pays(&ising, 1) {
            // A large sparse model: its reads end at nearly the same energy (it
            // self-averages), so one read on every core, annealed as long as the time
            // allows, beats the best of many shorter ones (docs/benchmarks.md "Few reads").
            1
        } else if integer {
            p.num_reads.max(8 * threads)
        } else {
            p.num_reads.max(threads)
        };
        let plan = anytime::Plan {
            base_sweeps: p.num_sweeps,
            step: p.num_sweeps_per_beta,
            keep: p.num_reads,
            fixed_length: p.beta_schedule.is_some(),
        };
        let mut set = anytime::drive_with_first_limit(ctx, plan, first_limit, |sweeps, k, sub| {
            let q = SaParams {
                num_sweeps: sweeps,
                num_reads: reads,
                seed: if k == 0 { p.seed } else { derive_seed(p.seed, k) },
                ..p.clone()
            };
            SaSolver::new(q).solve_once(model, sub)
        })?;
        set.info.seed = Some(p.seed);
        set.info.params.insert("num_reads".into(), json!(p.num_reads));
        set.info.extra.insert("reads_annealed".into(), json!(reads));
        Ok(set)
    }
}

impl SaSolver {
    /// One anneal per read (cut short, then finished cold, when `ctx` says stop).
    fn solve_once(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        let t0 = Instant::now();
        let p = &self.params;
        let n = model.num_variables();
        p.validate(n)?;
        let num_reads = p.num_reads;
        if num_reads == 0 {
            return Err(invalid("num_reads", "must be at least 1"));
        }
        let initial = p
            .initial_states
            .as_deref()
            .map(|s| initial_spins(s, model))
            .transpose()?;
        let ising = model.to_ising();
        let (schedule, range) = self.schedule(&ising)?;
        let betas: Vec<f64> = schedule.per_sweep().collect();
        let annealer = Annealer::new(&ising);
        let t1 = Instant::now();

        ctx.set_total((num_reads * betas.len()) as u64);
        // Read r: initial state and kernel seed from RNG stream r of the seed.
        let starts: Vec<(Vec<i8>, u64)> = (0..num_reads)
            .map(|r| {
                let mut rng = Rng::stream(p.seed, r as u64);
                let spins = match &initial {
                    Some(states) => states[r % states.len()].clone(),
                    None => rng.spins(n),
                };
                (spins, rng.next_u64())
            })
            .collect();
        let reads: Vec<(Vec<i8>, usize)> = if colour_pays(&ising, num_reads) {
            // Few reads of a large sparse model: one read at a time on every core.
            let colour = ColourAnnealer::new(&ising);
            starts
                .into_iter()
                .map(|(mut spins, key)| {
                    let sweeps = colour.anneal(&betas, &mut spins, key, ctx, t0);
                    (spins, sweeps)
                })
                .collect()
        } else if annealer.is_integer() && num_reads >= LANES_MIN_READS {
            // SIMD lanes: a read's trajectory is the same whatever the group width, so the
            // width may follow the thread count (enough groups to keep every core busy).
            let wide = num_reads >= 16 * rayon::current_num_threads();
            let width = if wide { 16 } else { 8 };
            starts
                .par_chunks(width)
                .flat_map_iter(|group| {
                    let mut states: Vec<Vec<i8>> = group.iter().map(|g| g.0.clone()).collect();
                    let seeds: Vec<u64> = group.iter().map(|g| g.1).collect();
                    let sweeps = if wide {
                        annealer.anneal_lanes::<16>(&betas, &mut states, &seeds, ctx, t0)
                    } else {
                        annealer.anneal_lanes::<8>(&betas, &mut states, &seeds, ctx, t0)
                    }
                    .expect("integer path checked above");
                    states.into_iter().map(move |s| (s, sweeps))
                })
                .collect()
        } else {
            starts
                .into_par_iter()
                .map(|(mut spins, kernel_seed)| {
                    let mut rng = Rng::new(kernel_seed);
                    let sweeps = annealer.anneal(&betas, &mut spins, &mut rng, ctx, t0);
                    (spins, sweeps)
                })
                .collect()
        };
        let t2 = Instant::now();

        let sweeps_done: u64 = reads.iter().map(|r| r.1 as u64).sum();
        let states = spin_samples(model, reads.into_iter().map(|(s, _)| s));
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
        info.extra.insert("flip_attempts".into(), json!(sweeps_done * n as u64));
        let cut = reads_cut(sweeps_done, num_reads, betas.len());
        let mut set = SampleSet::from_model_states(model, states, info);
        (set.info.stop_reason, set.info.time_to_target_s) = if cut {
            (Some(ctx.cut_reason()), None)
        } else {
            let (r, t) = anytime::finished(set.first().map(|s| s.energy), ctx, ctx.start.unwrap_or(t0));
            (Some(r), t)
        };
        set.info.timing = Timing::since(t0, t1, t2);
        Ok(set)
    }
}

/// Models from this many variables anneal fewer than [`LANES_MIN_READS`] reads with
/// colour-class parallel sweeps ([`colour`](super::colour)): one read on every core.
pub const COLOUR_MIN_VARIABLES: usize = 10_000;

/// Under a time limit, models from this many variables (and sparse enough for
/// [`colour_pays`]) anneal one read at a time with colour-class parallel sweeps, each as
/// long as the time allows, instead of many shorter reads on the SIMD lanes.
pub const COLOUR_ANYTIME_MIN_VARIABLES: usize = 25_000;

/// ... as long as a variable has at most this many neighbours on average (denser models
/// need many colours, each a parallel phase of the sweep, and the float path recomputes
/// each field from the neighbours, O(degree) per flip attempt).
pub const COLOUR_MAX_MEAN_DEGREE: usize = 12;

/// Whether `reads` reads of `ising` run on the colour-class parallel kernel: fewer than
/// `LANES_MIN_READS` reads of a model of at least `COLOUR_MIN_VARIABLES` variables and
/// mean degree at most `COLOUR_MAX_MEAN_DEGREE`. Depends on the model and the reads
/// only (never on the thread count), so a seed gives the same answer on any number of
/// threads.
pub fn colour_pays(ising: &Ising, reads: usize) -> bool {
    let n = ising.num_variables();
    reads < LANES_MIN_READS && n >= COLOUR_MIN_VARIABLES && ising.j().csr().1.len() <= COLOUR_MAX_MEAN_DEGREE * n
}

/// True when some read made fewer than `len` sweeps (`total` sweeps over `reads` reads).
fn reads_cut(total: u64, reads: usize, len: usize) -> bool {
    total < reads as u64 * len as u64
}
