//! QAOA state-vector simulation: CPU (complex64 / complex128) and GPU (WGSL, complex64)
//! simulators, angle optimisation and sampling.
//!
//! # Conventions
//! - **Cost operator** `C` = the model's energy, diagonal in the computational basis:
//!   `C|k⟩ = c_k|k⟩` with `c_k = E(state k)`, where bit `i` of `k` is variable `i`
//!   (`x_i = bit` for a QUBO, spin `s_i = 2 bit - 1` for an Ising model; offsets included).
//!   QAOA *minimises* `⟨C⟩`, like every qam solver.
//! - **State** `|ψ(γ, β)⟩ = Π_{l=1..p} e^{-iβ_l B} e^{-iγ_l C} |+⟩^n` with `B = Σ_i X_i`
//!   (the `l = 1` factors act first), i.e. `RX(2β_l)` on every qubit after the phase.
//! - **Expectation** `⟨C⟩ = Σ_k |ψ_k|² c_k`; the ground-state probability is `Σ |ψ_k|²`
//!   over the `k` with `c_k = min c`; the norm `Σ |ψ_k|²` is reported as a check.
//! - `(γ, β) → (−γ, −β)` leaves every expectation unchanged (complex conjugation), and
//!   `β → β + π` too (a global phase); `β → β + π/2` when the model has no linear terms
//!   (it flips every bit), and `γ → γ + π/g` when every Ising coefficient is a multiple of
//!   `g`. Reported angles are in the range [`canonical_angles`] picks with these (MaxCut:
//!   `γ_cut ∈ [0, π/g]`, `β ∈ [0, π/2)`), the range of published tables.
//!
//! # MaxCut and the literature's γ
//! Papers on MaxCut write the cost as the cut `C' = Σ_(u,v) w_uv (1 − Z_u Z_v)/2` and
//! *maximise* it. qam's MaxCut model (G-set) is the Ising energy `E = Σ w_uv s_u s_v` with
//! `cut = (W − E)/2`, so `e^{−iγ_cut C'} = (global phase) · e^{−iγ E}` with
//! **`γ = −γ_cut / 2`** (β is the same). [`Angles::from_cut_convention`] and
//! [`Angles::to_cut_convention`] convert. The fixed angles of Wurtz & Lykov
//! ([`fixed_angles_3_regular`]) are in the cut convention. QOKit's `γ_Q = 2 γ_cut`;
//! Qiskit's QAOA circuits for MaxCut apply `RZZ(−γ_cut)` per edge and `RX(2β)`.
//! The CLI (`qam qaoa`, `qam solve --solver qaoa`) takes and prints γ in qam's energy
//! convention (`--gamma`), and for MaxCut inputs also prints `gamma_cut`.
//!
//! # Pieces
//! - [`CostModel`] / [`CostDiagonal`]: the cost terms and the `2^n` diagonal (built once).
//! - [`CpuSimulator`]: rayon-parallel, cache-blocked, `f32` or `f64` amplitudes.
//! - [`GpuSimulator`]: WGSL kernels (`shaders/qaoa_*.wgsl`), state resident on the GPU,
//!   only a few scalars read back per evaluation.
//! - [`optimize`]: Nelder–Mead or COBYLA over `(γ, β)` with restarts, fixed-angle and
//!   INTERP initialisation.
//! - [`QaoaSolver`]: the [`Solver`](crate::solvers::Solver) behind `--solver qaoa`.
//! - [`qasm`]: the circuit as OpenQASM 2.0 / 3.0 text (qubit `i` = variable `i`).
//! - [`closed_form`]: `⟨C⟩` at `p = 1` on unweighted graphs (Wang et al. 2018).

mod buffer;
pub mod closed_form;
mod cost;
mod cpu;
mod kernels;
mod optimize;
pub mod qasm;
pub(crate) mod real;
mod solver;

#[cfg(feature = "mpi")]
pub(crate) use crate::gpu::qaoa::Slice;
pub use crate::gpu::qaoa::{GpuSimulator, MAX_GPU_QUBITS, shader_sources as gpu_shader_sources};
pub use cost::{CostDiagonal, CostModel, Grid, Levels, MAX_LEVELS, MAX_QUBITS, available_memory};
#[cfg(feature = "mpi")]
pub(crate) use cost::{RangeExtremes, check_host_memory, ground_tolerance};
pub use cpu::{Blocking, CpuSimulator, Plan, Tuning};
pub use kernels::Isa;
pub use optimize::{
    AnglePeriods, FIXED_3_REGULAR_CUT_FRACTION, OptimizeOptions, OptimizeResult, Optimizer, Step, angle_periods,
    canonical_angles, canonical_with, fixed_angle_start, fixed_angles_3_regular, gamma_scale, interp, optimize,
    random_start,
};
pub use real::Real;
pub use solver::{Device, Precision, QaoaParams, QaoaRun, QaoaSolver, build_simulator, run_qaoa};

use crate::gpu::GpuError;
use crate::rng::Rng;
use rayon::prelude::*;

/// Errors of the QAOA simulators and optimiser.
#[derive(Debug, thiserror::Error)]
pub enum QaoaError {
    /// More qubits than a simulator can address.
    #[error("{n} qubits exceed the limit of {max} for this simulator")]
    TooManyQubits {
        /// Qubits asked for.
        n: usize,
        /// The limit.
        max: usize,
    },
    /// The state or diagonal does not fit in host memory.
    #[error("{what} needs {} but {}", fmt_bytes(*.needed), fmt_avail(*.available))]
    HostMemory {
        /// What was being allocated.
        what: String,
        /// Bytes needed.
        needed: u64,
        /// Bytes the OS reports as available, when known.
        available: Option<u64>,
    },
    /// Angles of the wrong length, empty, or not finite.
    #[error("invalid angles: {0}")]
    InvalidAngles(String),
    /// A parameter out of range; names it.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Sampling was asked for before any evaluation prepared a state.
    #[error("no state to sample: evaluate angles first")]
    NotEvaluated,
    /// A GPU error (device limit, validation, lost device).
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

fn fmt_bytes(b: u64) -> String {
    format!("{:.2} GiB ({b} bytes)", b as f64 / (1u64 << 30) as f64)
}

fn fmt_avail(a: Option<u64>) -> String {
    match a {
        Some(a) => format!(
            "only {} of host memory is available (MemAvailable, or the room under a cgroup memory limit when lower)",
            fmt_bytes(a)
        ),
        None => "the allocation failed".into(),
    }
}

/// QAOA angles in qam's energy convention (see the module docs): layer `l` applies
/// `e^{-iγ_l C}` then `e^{-iβ_l B}`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Angles {
    /// Phase angles `γ_1 .. γ_p` (radians per unit of energy).
    pub gamma: Vec<f64>,
    /// Mixer angles `β_1 .. β_p` (radians).
    pub beta: Vec<f64>,
}

impl Angles {
    /// Checked angles: the same number (≥ 1) of finite γ and β.
    pub fn new(gamma: Vec<f64>, beta: Vec<f64>) -> Result<Self, QaoaError> {
        let a = Angles { gamma, beta };
        a.check()?;
        Ok(a)
    }

    /// From the MaxCut literature's convention (`γ = −γ_cut / 2`, β unchanged).
    pub fn from_cut_convention(gamma_cut: &[f64], beta: &[f64]) -> Result<Self, QaoaError> {
        Angles::new(gamma_cut.iter().map(|g| -g / 2.0).collect(), beta.to_vec())
    }

    /// γ in the MaxCut literature's convention (`γ_cut = −2 γ`).
    pub fn to_cut_convention(&self) -> Vec<f64> {
        self.gamma.iter().map(|g| -2.0 * g).collect()
    }

    /// Number of layers.
    pub fn p(&self) -> usize {
        self.gamma.len()
    }

    /// `[γ_1 .. γ_p, β_1 .. β_p]`.
    pub fn to_vec(&self) -> Vec<f64> {
        self.gamma.iter().chain(&self.beta).copied().collect()
    }

    /// The inverse of [`to_vec`](Self::to_vec) (`x.len()` must be even).
    pub fn from_vec(x: &[f64]) -> Self {
        let p = x.len() / 2;
        Angles {
            gamma: x[..p].to_vec(),
            beta: x[p..2 * p].to_vec(),
        }
    }

    /// Errors unless there are `p ≥ 1` finite γ and as many finite β, all at most
    /// [`MAX_ANGLE`] in magnitude.
    pub fn check(&self) -> Result<(), QaoaError> {
        if self.gamma.is_empty() {
            return Err(QaoaError::InvalidAngles("at least one layer (p >= 1) is needed".into()));
        }
        if self.gamma.len() != self.beta.len() {
            return Err(QaoaError::InvalidAngles(format!(
                "{} gamma values but {} beta values",
                self.gamma.len(),
                self.beta.len()
            )));
        }
        if let Some(v) = self.gamma.iter().chain(&self.beta).find(|v| !v.is_finite()) {
            return Err(QaoaError::InvalidAngles(format!("{v} is not finite")));
        }
        if let Some(v) = self.gamma.iter().chain(&self.beta).find(|v| v.abs() > MAX_ANGLE) {
            return Err(QaoaError::InvalidAngles(format!(
                "{v:e} exceeds {MAX_ANGLE:e} in magnitude (phases γ·E would lose all precision)"
            )));
        }
        Ok(())
    }
}

/// Largest accepted |γ| or |β| (radians per energy unit / radians).
pub const MAX_ANGLE: f64 = 1e6;

/// One evaluation of the QAOA state.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// `⟨C⟩ = Σ_k |ψ_k|² c_k` (energy units of the model).
    pub expectation: f64,
    /// `Σ_k |ψ_k|²` (1 up to rounding).
    pub norm: f64,
    /// Probability of measuring a ground state (a state of minimum energy).
    pub ground_state_probability: f64,
}

/// A QAOA simulator: prepares `|ψ(γ, β)⟩`, returns scalars, samples bitstrings.
pub trait Simulator {
    /// Number of qubits (variables).
    fn num_qubits(&self) -> usize;
    /// `(min c_k, max c_k)`: the ground-state energy and the highest energy.
    fn cost_range(&self) -> (f64, f64);
    /// Prepares the state for `angles` and returns `⟨C⟩`, the norm and the ground-state
    /// probability.
    fn evaluate(&mut self, angles: &Angles) -> Result<Evaluation, QaoaError>;
    /// `shots` basis-state indices drawn from the state of the last evaluation
    /// (deterministic for a seed: shot `j` uses the RNG stream `(seed, j)`).
    fn sample(&mut self, shots: usize, seed: u64) -> Result<Vec<u64>, QaoaError>;
    /// A short description (device, precision, threads).
    fn backend(&self) -> String;
}

/// Refuses more than [`crate::limits::MAX_SHOTS`] shots or shots whose indices would not
/// fit the memory available (8 bytes each), before anything is allocated.
pub(crate) fn check_shots(shots: usize) -> Result<(), QaoaError> {
    let max = crate::limits::MAX_SHOTS;
    if shots > max {
        return Err(QaoaError::InvalidParameter {
            name: "shots",
            reason: format!("{shots} exceeds the limit of {max} shots"),
        });
    }
    cost::check_host_memory(&format!("{shots} shots"), shots as u64 * 8)
}

/// Draws `shots` indices from the distribution `prob(k)`, `k < len`: per-chunk sums,
/// their running total, then each shot finds its chunk by binary search and scans it.
pub(crate) fn sample_from_chunks(
    len: usize,
    prob: &(dyn Fn(usize) -> f64 + Sync),
    shots: usize,
    seed: u64,
) -> Vec<u64> {
    let chunk = len.min(4096);
    let chunks = len / chunk;
    let sums: Vec<f64> = (0..chunks)
        .into_par_iter()
        .map(|c| (c * chunk..(c + 1) * chunk).map(prob).sum())
        .collect();
    let mut cum = sums;
    for c in 1..chunks {
        cum[c] += cum[c - 1];
    }
    let total = cum[chunks - 1];
    (0..shots as u64)
        .into_par_iter()
        .map(|s| {
            let u = Rng::stream(seed, s).next_f64() * total;
            let c = cum.partition_point(|&x| x <= u).min(chunks - 1);
            let mut acc = if c == 0 { 0.0 } else { cum[c - 1] };
            let mut last = c * chunk;
            for k in c * chunk..(c + 1) * chunk {
                let p = prob(k);
                if p > 0.0 {
                    last = k;
                }
                acc += p;
                if acc > u {
                    return k as u64;
                }
            }
            last as u64
        })
        .collect()
}

/// The ±1 spins of basis state `k` (bit `i` set ⇔ spin `i` = +1).
pub fn index_to_spins(k: u64, n: usize) -> Vec<i8> {
    (0..n).map(|i| if (k >> i) & 1 == 1 { 1 } else { -1 }).collect()
}
