//! Angle optimisation: derivative-free local search (Nelder–Mead or COBYLA) of `⟨C⟩` over
//! `(γ, β)`, with restarts, started from the fixed-angle table for 3-regular MaxCut, from a
//! coarse `p = 1` grid otherwise, and grown from `p` to `p + 1` layers by INTERP.

use super::{Angles, Evaluation, QaoaError, Simulator};
use crate::model::Model;
use crate::rng::Rng;
use std::cell::RefCell;

/// Fixed angles for MaxCut on 3-regular graphs (Wurtz & Lykov, arXiv:2107.00677), in the
/// cut convention: `(γ_cut, β)` for `p = 1..=4`. On graphs of girth > 2p + 1 every edge is
/// cut with probability 0.6925, 0.7559, 0.7924, 0.8169.
#[allow(clippy::approx_constant)] // the published 4-digit values (0.3927 ≈ π/8)
const FIXED_3_REGULAR: [(&[f64], &[f64]); 4] = [
    (&[0.6155], &[0.3927]),
    (&[0.4877, 0.8980], &[0.5551, 0.2925]),
    (&[0.4221, 0.7984, 0.9371], &[0.6088, 0.4593, 0.2354]),
    (&[0.4088, 0.7806, 0.9877, 1.1563], &[0.5996, 0.4344, 0.2970, 0.1591]),
];

/// The published expected cut fraction per edge of the fixed angles on graphs of large
/// girth (`p = 1..=4`).
pub const FIXED_3_REGULAR_CUT_FRACTION: [f64; 4] = [0.6925, 0.7559, 0.7924, 0.8169];

/// The fixed angles for 3-regular MaxCut at depth `p` (`1..=4`), cut convention
/// `(γ_cut, β)`; `None` for other depths.
pub fn fixed_angles_3_regular(p: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    let (g, b) = FIXED_3_REGULAR.get(p.checked_sub(1)?)?;
    Some((g.to_vec(), b.to_vec()))
}

/// If `model` is unweighted MaxCut on a 3-regular graph (an Ising model with no fields and
/// every coupling equal to the same `w > 0`, every variable of degree 3), the fixed angles
/// for depth `min(p, 4)` in qam's energy convention (`γ = −γ_cut / (2w)`).
pub fn fixed_angle_start(model: &Model, p: usize) -> Option<Angles> {
    let Model::Ising(ising) = model else {
        return None;
    };
    if ising.h().iter().any(|&h| h != 0.0) {
        return None;
    }
    let j = ising.j();
    let (_, _, vals) = j.csr();
    let w = *vals.first()?;
    if w <= 0.0 || vals.iter().any(|&v| v != w) || (0..j.num_variables()).any(|i| j.degree(i) != 3) {
        return None;
    }
    let (g, b) = fixed_angles_3_regular(p.min(FIXED_3_REGULAR.len()))?;
    Angles::new(g.iter().map(|x| -x / (2.0 * w)).collect(), b).ok()
}

/// A natural unit of γ for `model`: `1 / σ` with `σ² = mean_i (h_i² + Σ_j J_ij²)` of the
/// Ising form (the spread of a variable's local field), so that useful `|γ|` are below
/// about `1.5 / σ`.
pub fn gamma_scale(model: &Model) -> f64 {
    let ising = model.to_ising();
    let n = ising.num_variables().max(1);
    let mut s = 0.0;
    for i in 0..ising.num_variables() {
        s += ising.h()[i].powi(2) + ising.j().row(i).1.iter().map(|w| w * w).sum::<f64>();
    }
    let sigma = (s / n as f64).sqrt();
    if sigma > 0.0 { 1.0 / sigma } else { 1.0 }
}

/// The symmetries of `model`'s QAOA angles ([`canonical_angles`]): the period of every
/// `γ_l` (energy convention) and of every `β_l`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AnglePeriods {
    /// `π / g` when every Ising coefficient (`h_i`, `J_ij`) is an integer multiple of `g`
    /// (checked on a 1/1024 grid): all energy differences are then multiples of `2g`, so
    /// `e^{-i(γ + π/g)C}` is `e^{-iγC}` up to a global phase. `None` otherwise.
    pub gamma: Option<f64>,
    /// `π/2` when the model has no linear Ising terms (`X^{⊗n}` commutes with the cost, so
    /// `β → β + π/2` only flips every sampled bit), else `π` (`e^{-iπB} = (−1)^n`).
    pub beta: f64,
}

/// The symmetries [`canonical_angles`] uses for `model`.
pub fn angle_periods(model: &Model) -> AnglePeriods {
    let ising = model.to_ising();
    let z2 = ising.h().iter().all(|&h| h == 0.0);
    const SCALE: f64 = 1024.0;
    let mut g: u64 = 0;
    let mut grid = true;
    for c in ising.h().iter().copied().chain(ising.j().iter_upper().map(|t| t.2)) {
        let x = (c * SCALE).abs();
        let r = x.round();
        if c == 0.0 {
            continue;
        }
        if r < 1.0 || r > 2f64.powi(50) || (x - r).abs() > 1e-9 * x.max(1.0) {
            grid = false;
            break;
        }
        g = gcd(g, r as u64);
    }
    AnglePeriods {
        gamma: (grid && g > 0).then(|| std::f64::consts::PI * SCALE / g as f64),
        beta: if z2 {
            std::f64::consts::FRAC_PI_2
        } else {
            std::f64::consts::PI
        },
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// `a` in the conventional range, found with QAOA's exact symmetries (every expectation,
/// the ground-state probability and the distribution of sampled energies are unchanged):
/// the periods of [`angle_periods`] and time reversal `(γ, β) → (−γ, −β)`.
///
/// In the maximisation convention `γ' = −γ` (for MaxCut `γ_cut = 2γ'`, the literature's
/// sign): every `γ'_l` in `[0, P)` when the γ period `P` is known, every `β_l` in
/// `[0, π/2)` (models without linear terms, e.g. MaxCut) or `[0, π)`; of the two
/// time-reversed candidates the one with the smaller `γ'_1` (first differing layer, then
/// β) is kept, so `γ'_1 ≤ P/2`. Without a known period only the sign is chosen (first
/// non-zero `γ'` positive). For 3-regular MaxCut this gives the published fixed angles
/// (Wurtz & Lykov), e.g. `γ_cut = 0.6155, β = 0.3927` at `p = 1`.
pub fn canonical_angles(model: &Model, a: &Angles) -> Angles {
    canonical_with(angle_periods(model), a)
}

/// [`canonical_angles`] with given periods.
pub fn canonical_with(per: AnglePeriods, a: &Angles) -> Angles {
    let wrap = |x: f64, period: f64| {
        let r = x.rem_euclid(period);
        // An angle a rounding error below a period is 0.
        if period - r <= 1e-12 * period { 0.0 } else { r }
    };
    let reduce = |gp: Vec<f64>, beta: Vec<f64>| -> (Vec<f64>, Vec<f64>) {
        let g = match per.gamma {
            Some(pg) => gp.iter().map(|&x| wrap(x, pg)).collect(),
            None => gp,
        };
        (g, beta.iter().map(|&b| wrap(b, per.beta)).collect())
    };
    let gp: Vec<f64> = a.gamma.iter().map(|g| -g).collect();
    let cand_a = reduce(gp.clone(), a.beta.clone());
    let cand_b = reduce(gp.iter().map(|g| -g).collect(), a.beta.iter().map(|b| -b).collect());
    let key = |c: &(Vec<f64>, Vec<f64>)| -> Vec<f64> {
        match per.gamma {
            Some(_) => c.0.iter().chain(&c.1).copied().collect(),
            // Unknown period: prefer the first non-zero γ' positive (compare −γ').
            None => c.0.iter().map(|g| -g).chain(c.1.iter().copied()).collect(),
        }
    };
    let tol = 1e-12;
    let (ka, kb) = (key(&cand_a), key(&cand_b));
    let b_first = ka
        .iter()
        .zip(&kb)
        .find(|(x, y)| (*x - *y).abs() > tol * (1.0 + x.abs()))
        .is_some_and(|(x, y)| y < x);
    let (g, b) = if b_first { cand_b } else { cand_a };
    Angles {
        gamma: g.iter().map(|x| if *x == 0.0 { 0.0 } else { -x }).collect(),
        beta: b,
    }
}

/// INTERP (Zhou et al., PRX 10, 021067): angles for `p + 1` layers from optimised angles
/// for `p`, `x'_i = ((i−1)/p) x_{i−1} + ((p−i+1)/p) x_i`, `i = 1..p+1` (`x_0 = x_{p+1} = 0`).
pub fn interp(a: &Angles) -> Angles {
    let p = a.p();
    let f = |x: &[f64]| -> Vec<f64> {
        (1..=p + 1)
            .map(|i| {
                let prev = if i >= 2 { x[i - 2] } else { 0.0 };
                let cur = if i <= p { x[i - 1] } else { 0.0 };
                ((i - 1) as f64 * prev + (p + 1 - i) as f64 * cur) / p as f64
            })
            .collect()
    };
    Angles {
        gamma: f(&a.gamma),
        beta: f(&a.beta),
    }
}

/// Uniformly random angles: `γ_l` in `[−1.5, 1.5]·scale`, `β_l` in `[−π/4, π/4]`.
pub fn random_start(p: usize, gamma_scale: f64, rng: &mut Rng) -> Angles {
    Angles {
        gamma: (0..p).map(|_| (rng.next_f64() * 3.0 - 1.5) * gamma_scale).collect(),
        beta: (0..p)
            .map(|_| (rng.next_f64() - 0.5) * std::f64::consts::FRAC_PI_2)
            .collect(),
    }
}

/// The local optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Optimizer {
    /// Nelder–Mead with dimension-adaptive coefficients (Gao & Han 2012).
    NelderMead,
    /// COBYLA (Powell), from the `cobyla` crate.
    Cobyla,
    /// No search: evaluate the starting angles once (given, fixed-angle table, or a linear
    /// ramp; no grid, no restarts).
    None,
}

crate::names::named_enum!(serde Optimizer, "optimizer" {
    NelderMead = "nelder-mead": "Nelder–Mead simplex",
    Cobyla = "cobyla": "COBYLA (linear approximations)",
    None = "none": "Evaluate the starting angles only (fixed-angle table or INTERP)",
});

/// Settings of [`optimize`].
#[derive(Clone, Debug)]
pub struct OptimizeOptions {
    /// Local optimiser.
    pub optimizer: Optimizer,
    /// Evaluations allowed per local run (0: `100 + 60 · 2p`).
    pub max_evals: usize,
    /// Extra local runs at the final depth from randomly perturbed copies of the best angles.
    pub restarts: usize,
    /// Stop a local run when the best value changes by less than this (energy units).
    pub ftol: f64,
    /// Seed of the `p = 1` grid order and the restart perturbations.
    pub seed: u64,
    /// `(γ points, β points)` of the `p = 1` grid search used when there is no start.
    pub grid: (usize, usize),
    /// Unit of γ (see [`gamma_scale`]).
    pub gamma_scale: f64,
}

impl Default for OptimizeOptions {
    fn default() -> Self {
        OptimizeOptions {
            optimizer: Optimizer::NelderMead,
            max_evals: 0,
            restarts: 2,
            ftol: 1e-10,
            seed: 0,
            grid: (16, 8),
            gamma_scale: 1.0,
        }
    }
}

/// Progress of an optimisation, passed to the callback after every evaluation.
#[derive(Clone, Debug)]
pub struct Step {
    /// Depth being optimised.
    pub p: usize,
    /// Evaluations so far (all depths).
    pub evaluations: usize,
    /// Lowest `⟨C⟩` at this depth so far.
    pub best: f64,
    /// What is running: `grid`, `local`, `restart k`.
    pub stage: String,
}

/// The outcome of [`optimize`].
#[derive(Clone, Debug)]
pub struct OptimizeResult {
    /// The best angles found.
    pub angles: Angles,
    /// Their evaluation.
    pub evaluation: Evaluation,
    /// Evaluations made.
    pub evaluations: usize,
    /// Best `⟨C⟩` reached at each depth `1..=p` that was optimised (`(p, value)`).
    pub by_depth: Vec<(usize, f64)>,
    /// True when the callback asked to stop early.
    pub stopped: bool,
}

/// Counts evaluations, tracks the best point, reports steps, honours stop requests.
struct Objective<'a> {
    sim: &'a mut dyn Simulator,
    on_step: &'a mut dyn FnMut(&Step) -> bool,
    evaluations: usize,
    stage: String,
    p: usize,
    best: Option<(f64, Vec<f64>, Evaluation)>,
    stop: bool,
    error: Option<QaoaError>,
}

impl Objective<'_> {
    fn eval(&mut self, x: &[f64]) -> f64 {
        if self.stop || self.error.is_some() {
            return f64::INFINITY;
        }
        let a = Angles::from_vec(x);
        match self.sim.evaluate(&a) {
            Ok(e) => {
                self.evaluations += 1;
                let v = e.expectation;
                if self.best.as_ref().is_none_or(|b| v < b.0) {
                    self.best = Some((v, x.to_vec(), e));
                }
                let step = Step {
                    p: self.p,
                    evaluations: self.evaluations,
                    best: self.best.as_ref().map_or(v, |b| b.0),
                    stage: self.stage.clone(),
                };
                if !(self.on_step)(&step) {
                    self.stop = true;
                }
                v
            }
            Err(e) => {
                self.error = Some(e);
                f64::INFINITY
            }
        }
    }

    fn done(&self) -> bool {
        self.stop || self.error.is_some()
    }
}

/// Nelder–Mead from `x0` with initial steps `steps`; returns the best point.
fn nelder_mead(obj: &mut Objective, x0: &[f64], steps: &[f64], max_evals: usize, ftol: f64) -> (Vec<f64>, f64) {
    let d = x0.len();
    let df = d as f64;
    let (alpha, gamma, rho, sigma) = (1.0, 1.0 + 2.0 / df, 0.75 - 1.0 / (2.0 * df), 1.0 - 1.0 / df);
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(d + 1);
    let f0 = obj.eval(x0);
    simplex.push((x0.to_vec(), f0));
    for i in 0..d {
        let mut x = x0.to_vec();
        x[i] += steps[i];
        let f = obj.eval(&x);
        simplex.push((x, f));
    }
    let mut evals = d + 1;
    let point = |c: &[f64], w: &[f64], t: f64| -> Vec<f64> { c.iter().zip(w).map(|(a, b)| a + t * (b - a)).collect() };
    while evals < max_evals && !obj.done() {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (fb, fw) = (simplex[0].1, simplex[d].1);
        if (fw - fb).abs() <= ftol {
            break;
        }
        let centroid: Vec<f64> = (0..d)
            .map(|k| simplex[..d].iter().map(|s| s.0[k]).sum::<f64>() / df)
            .collect();
        let worst = simplex[d].0.clone();
        let xr = point(&centroid, &worst, -alpha);
        let fr = obj.eval(&xr);
        evals += 1;
        if fr < fb {
            let xe = point(&centroid, &worst, -alpha * gamma);
            let fe = obj.eval(&xe);
            evals += 1;
            simplex[d] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < simplex[d - 1].1 {
            simplex[d] = (xr, fr);
        } else {
            let (xc, fc) = if fr < fw {
                let x = point(&centroid, &xr, rho);
                let f = obj.eval(&x);
                (x, f)
            } else {
                let x = point(&centroid, &worst, rho);
                let f = obj.eval(&x);
                (x, f)
            };
            evals += 1;
            if fc < fw.min(fr) {
                simplex[d] = (xc, fc);
            } else {
                let best = simplex[0].0.clone();
                for s in simplex.iter_mut().skip(1) {
                    s.0 = point(&best, &s.0, sigma);
                    s.1 = obj.eval(&s.0);
                    evals += 1;
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (x, f) = simplex.swap_remove(0);
    (x, f)
}

/// COBYLA from `x0` with initial steps `steps` inside a wide box.
fn cobyla_run(obj: &mut Objective, x0: &[f64], steps: &[f64], max_evals: usize, ftol: f64) -> (Vec<f64>, f64) {
    let cell = RefCell::new(obj);
    let bounds: Vec<(f64, f64)> = x0
        .iter()
        .zip(steps)
        .map(|(x, s)| (x - 100.0 * s, x + 100.0 * s))
        .collect();
    let f = |x: &[f64], _: &mut ()| cell.borrow_mut().eval(x);
    let cons: &[fn(&[f64], &mut ()) -> f64] = &[];
    let tol = cobyla::StopTols {
        ftol_abs: ftol,
        ..Default::default()
    };
    let out = cobyla::minimize(
        f,
        x0,
        &bounds,
        cons,
        (),
        max_evals,
        cobyla::RhoBeg::Set(steps.to_vec()),
        Some(tol),
    );
    match out {
        Ok((_, x, fx)) | Err((_, x, fx)) => (x, fx),
    }
}

fn local(obj: &mut Objective, opts: &OptimizeOptions, x0: &[f64]) -> (Vec<f64>, f64) {
    let p = x0.len() / 2;
    let max_evals = if opts.max_evals > 0 {
        opts.max_evals
    } else {
        100 + 120 * p
    };
    let steps: Vec<f64> = (0..2 * p)
        .map(|i| if i < p { 0.1 * opts.gamma_scale } else { 0.1 })
        .collect();
    match opts.optimizer {
        Optimizer::NelderMead => nelder_mead(obj, x0, &steps, max_evals, opts.ftol),
        Optimizer::Cobyla => cobyla_run(obj, x0, &steps, max_evals, opts.ftol),
        Optimizer::None => {
            let f = obj.eval(x0);
            (x0.to_vec(), f)
        }
    }
}

/// Minimises `⟨C⟩` over the angles of `p` layers.
///
/// Start: `start` when given (at its own depth; if shallower than `p` it is optimised and
/// grown by [`interp`] one layer at a time), otherwise the best point of a `p = 1` grid
/// (`opts.grid`; γ within `±1.5 · gamma_scale`, β in `[0, π/2)`), then INTERP. At depth
/// `p` the local optimiser is rerun `opts.restarts` times from perturbed copies of the best
/// angles (perturbation streams from `opts.seed`). `on_step` sees every evaluation and
/// returns `false` to stop early (the best angles so far are returned).
pub fn optimize(
    sim: &mut dyn Simulator,
    p: usize,
    start: Option<&Angles>,
    opts: &OptimizeOptions,
    on_step: &mut dyn FnMut(&Step) -> bool,
) -> Result<OptimizeResult, QaoaError> {
    if p == 0 {
        return Err(QaoaError::InvalidParameter {
            name: "p",
            reason: "at least one layer is needed".into(),
        });
    }
    if let Some(s) = start {
        s.check()?;
        if s.p() > p {
            return Err(QaoaError::InvalidAngles(format!(
                "{} starting layers for p = {p}",
                s.p()
            )));
        }
    }
    if opts.optimizer == Optimizer::None {
        // No search at all: one evaluation of the start (grown to p layers by INTERP), or
        // of the linear ramp γ_l = −scale·(l − ½)/p, β_l = 0.8·(1 − (l − ½)/p).
        let mut x = match start {
            Some(s) => s.to_vec(),
            None => {
                let t = |l: usize| (l as f64 + 0.5) / p as f64;
                let g = (0..p).map(|l| -opts.gamma_scale * t(l));
                g.chain((0..p).map(|l| 0.8 * (1.0 - t(l)))).collect()
            }
        };
        while x.len() / 2 < p {
            x = interp(&Angles::from_vec(&x)).to_vec();
        }
        let angles = Angles::from_vec(&x);
        let evaluation = sim.evaluate(&angles)?;
        let stopped = !on_step(&Step {
            p,
            evaluations: 1,
            best: evaluation.expectation,
            stage: "evaluate".into(),
        });
        return Ok(OptimizeResult {
            angles,
            by_depth: vec![(p, evaluation.expectation)],
            evaluation,
            evaluations: 1,
            stopped,
        });
    }
    let mut obj = Objective {
        sim,
        on_step,
        evaluations: 0,
        stage: String::new(),
        p: 1,
        best: None,
        stop: false,
        error: None,
    };
    let mut x = match start {
        Some(s) => s.to_vec(),
        None => {
            obj.stage = "grid".into();
            let (ng, nb) = (opts.grid.0.max(1), opts.grid.1.max(1));
            let gmax = 1.5 * opts.gamma_scale;
            for i in 0..ng {
                let g = -gmax + 2.0 * gmax * (i as f64 + 0.5) / ng as f64;
                for j in 0..nb {
                    let b = std::f64::consts::FRAC_PI_2 * j as f64 / nb as f64;
                    obj.eval(&[g, b]);
                }
            }
            match &obj.best {
                Some(b) => b.1.clone(),
                None => vec![-0.5 * opts.gamma_scale, 0.4],
            }
        }
    };
    let mut by_depth = Vec::new();
    loop {
        let depth = x.len() / 2;
        obj.p = depth;
        obj.best = None;
        obj.stage = "local".into();
        let (mut bx, mut bf) = local(&mut obj, opts, &x);
        if depth == p {
            let mut rng = Rng::stream(opts.seed, 0x5157);
            for r in 0..opts.restarts {
                if obj.done() || opts.optimizer == Optimizer::None {
                    break;
                }
                obj.stage = format!("restart {}", r + 1);
                let x0: Vec<f64> = bx
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let s = if i < depth { opts.gamma_scale } else { 1.0 };
                        v + (rng.next_f64() - 0.5) * 0.3 * s
                    })
                    .collect();
                let (rx, rf) = local(&mut obj, opts, &x0);
                if rf < bf {
                    (bx, bf) = (rx, rf);
                }
            }
        }
        // The tracked best may beat the returned point (e.g. an interrupted run).
        if let Some(b) = &obj.best
            && b.0 < bf
        {
            (bx, bf) = (b.1.clone(), b.0);
        }
        by_depth.push((depth, bf));
        if let Some(e) = obj.error.take() {
            return Err(e);
        }
        if depth == p || obj.stop {
            let angles = Angles::from_vec(&bx);
            let stopped = obj.stop;
            let evaluations = obj.evaluations;
            let evaluation = obj.sim.evaluate(&angles)?;
            return Ok(OptimizeResult {
                angles,
                evaluation,
                evaluations,
                by_depth,
                stopped,
            });
        }
        x = interp(&Angles::from_vec(&bx)).to_vec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interp_keeps_endpoints_and_grows() {
        let a = Angles::new(vec![0.2, 0.6], vec![0.5, 0.1]).unwrap();
        let b = interp(&a);
        assert_eq!(b.p(), 3);
        // i=1: x1 ; i=2: (x1 + x2)/2 ; i=3: x2
        assert!((b.gamma[0] - 0.2).abs() < 1e-15);
        assert!((b.gamma[1] - 0.4).abs() < 1e-15);
        assert!((b.gamma[2] - 0.6).abs() < 1e-15);
        assert!((b.beta[1] - 0.3).abs() < 1e-15);
        let one = interp(&Angles::new(vec![0.7], vec![0.3]).unwrap());
        assert_eq!(one.gamma, vec![0.7, 0.7]);
    }

    /// Nelder–Mead on a quadratic through a fake simulator.
    struct Bowl;
    impl Simulator for Bowl {
        fn num_qubits(&self) -> usize {
            1
        }
        fn cost_range(&self) -> (f64, f64) {
            (0.0, 1.0)
        }
        fn evaluate(&mut self, a: &Angles) -> Result<Evaluation, QaoaError> {
            let v: f64 = a.gamma.iter().map(|g| (g - 0.3).powi(2)).sum::<f64>()
                + a.beta.iter().map(|b| 2.0 * (b + 0.2).powi(2)).sum::<f64>();
            Ok(Evaluation {
                expectation: v,
                norm: 1.0,
                ground_state_probability: 0.0,
            })
        }
        fn sample(&mut self, _: usize, _: u64) -> Result<Vec<u64>, QaoaError> {
            Ok(vec![])
        }
        fn backend(&self) -> String {
            "bowl".into()
        }
    }

    #[test]
    fn local_optimisers_find_the_bowl_minimum() {
        for optimizer in [Optimizer::NelderMead, Optimizer::Cobyla] {
            let opts = OptimizeOptions {
                optimizer,
                max_evals: 2000,
                ftol: 1e-14,
                ..Default::default()
            };
            let start = Angles::new(vec![0.0, 0.1], vec![0.4, 0.0]).unwrap();
            let r = optimize(&mut Bowl, 2, Some(&start), &opts, &mut |_| true).unwrap();
            assert!(r.evaluation.expectation < 1e-8, "{optimizer:?}: {r:?}");
        }
    }
}
