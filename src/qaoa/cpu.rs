//! The CPU state-vector simulator (rayon-parallel, complex64 or complex128).

use super::buffer::BigBuf;
use super::cost::{CostDiagonal, Levels, check_host_memory, ground_tolerance};
use super::kernels::{
    Chunk, DiagRef, GroundRule, Isa, LANE_BITS, LANES, Partial, Phase, high_tile, low_block_isa, mixer_params,
    table_len, with_scratch,
};
use super::real::Real;
use super::{Angles, Evaluation, QaoaError, Simulator, sample_from_chunks};
use rayon::prelude::*;
use std::sync::Arc;

/// Cache blocking of the passes. The defaults (1 MiB blocks and tiles, tile rows of at
/// least 1 KiB) were the fastest of those tried on a Zen 4 core (1 MiB L2): high-pass
/// rows shorter than 1 KiB leave DRAM latency-bound, and a third pass costs less than
/// rows of 256 B. [`Tuning`] overrides them (the CLI fills it from `QAM_QAOA_LOW_BITS`,
/// `QAM_QAOA_TILE_KIB` and `QAM_QAOA_ROW_BYTES`, for tuning).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocking {
    /// Qubits applied by the low pass (block of `2^low_bits` consecutive amplitudes).
    pub low_bits: usize,
    /// Bytes of one high-pass tile.
    pub tile_bytes: usize,
    /// Shortest contiguous run (bytes) of a high-pass tile row; more passes are used
    /// rather than shorter rows.
    pub min_row_bytes: usize,
}

impl Blocking {
    /// Defaults for amplitudes of `T`.
    pub fn for_type<T: Real>() -> Blocking {
        Blocking::tuned::<T>(&Tuning::default())
    }

    /// Defaults for amplitudes of `T` with the overrides of `tuning` applied (each
    /// clamped to a workable range: `low_bits` to `3..=24`, tiles to `1..=65536` KiB,
    /// rows to at least 1 byte).
    pub fn tuned<T: Real>(tuning: &Tuning) -> Blocking {
        // 1 MiB blocks: 2^16 complex128 or 2^17 complex64 amplitudes.
        let default_low = if T::BYTES == 8 { 16 } else { 17 };
        Blocking {
            low_bits: tuning.low_bits.unwrap_or(default_low).clamp(LANE_BITS, 24),
            tile_bytes: tuning.tile_kib.unwrap_or(1024).clamp(1, 1 << 16) << 10,
            min_row_bytes: tuning.row_bytes.unwrap_or(1024).max(1),
        }
    }
}

/// Tuning knobs of the CPU simulator, all `None` by default (the measured defaults). They
/// change speed only, not results beyond rounding. The library reads no environment: the
/// CLI fills these from `QAM_QAOA_ISA`, `QAM_QAOA_LOW_BITS`, `QAM_QAOA_TILE_KIB` and
/// `QAM_QAOA_ROW_BYTES` for every QAOA run (`qam qaoa`, `qam solve --solver qaoa`,
/// `--sub-solver qaoa`, `qam serve`); in solver parameters and `qam serve` requests they
/// are the object `qaoa-tuning` with keys `isa`, `low-bits`, `tile-kib`, `row-bytes`.
/// [`validate`](Self::validate) refuses values outside the ranges below.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Tuning {
    /// Best instruction set the kernels may use (`None`: the best this CPU has).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isa: Option<Isa>,
    /// Qubits of the low pass ([`Blocking::low_bits`]), in [`Tuning::LOW_BITS`].
    #[serde(alias = "low_bits", skip_serializing_if = "Option::is_none")]
    pub low_bits: Option<usize>,
    /// KiB of one high-pass tile ([`Blocking::tile_bytes`] / 1024), in [`Tuning::TILE_KIB`].
    #[serde(alias = "tile_kib", skip_serializing_if = "Option::is_none")]
    pub tile_kib: Option<usize>,
    /// Shortest tile row in bytes ([`Blocking::min_row_bytes`]), in [`Tuning::ROW_BYTES`].
    #[serde(alias = "row_bytes", skip_serializing_if = "Option::is_none")]
    pub row_bytes: Option<usize>,
}

impl Tuning {
    /// Accepted `low-bits` (qubits of the low pass).
    pub const LOW_BITS: std::ops::RangeInclusive<usize> = LANE_BITS..=24;
    /// Accepted `tile-kib` (KiB; 1 KiB to 64 MiB).
    pub const TILE_KIB: std::ops::RangeInclusive<usize> = 1..=1 << 16;
    /// Accepted `row-bytes` (bytes; 1 B to 64 MiB).
    pub const ROW_BYTES: std::ops::RangeInclusive<usize> = 1..=1 << 26;

    /// True when no knob is set (the defaults).
    pub fn is_default(&self) -> bool {
        *self == Tuning::default()
    }

    /// Each knob of `self`, or `fallback`'s where `self` leaves it unset (e.g. a request's
    /// knobs over a server's defaults).
    pub fn or(self, fallback: Tuning) -> Tuning {
        Tuning {
            isa: self.isa.or(fallback.isa),
            low_bits: self.low_bits.or(fallback.low_bits),
            tile_kib: self.tile_kib.or(fallback.tile_kib),
            row_bytes: self.row_bytes.or(fallback.row_bytes),
        }
    }

    /// Refuses a knob outside its range; the error names it (`low-bits`, `tile-kib`,
    /// `row-bytes`).
    pub fn validate(&self) -> Result<(), QaoaError> {
        let knobs = [
            ("low-bits", self.low_bits, Tuning::LOW_BITS),
            ("tile-kib", self.tile_kib, Tuning::TILE_KIB),
            ("row-bytes", self.row_bytes, Tuning::ROW_BYTES),
        ];
        for (name, value, range) in knobs {
            if let Some(v) = value
                && !range.contains(&v)
            {
                return Err(QaoaError::InvalidParameter {
                    name,
                    reason: format!("must be in {}..={}, not {v}", range.start(), range.end()),
                });
            }
        }
        Ok(())
    }

    /// [`validate`](Self::validate) as a solver-parameter error naming `qaoa-tuning` and
    /// the knob.
    pub(crate) fn check(&self) -> Result<(), crate::solvers::SolveError> {
        self.validate().map_err(|e| match e {
            QaoaError::InvalidParameter { name, reason } => crate::solvers::SolveError::InvalidParameter {
                name: "qaoa-tuning",
                reason: format!("{name} {reason}"),
            },
            e => crate::solvers::SolveError::Backend(e.to_string()),
        })
    }
}

/// The passes of one layer: the low block size and the high qubit groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Qubits `0 .. low_bits` go in the low pass.
    pub low_bits: usize,
    /// High passes `(q0, m, cols)`: qubits `q0 .. q0 + m`, tile rows of `cols` chunks of 8.
    pub high: Vec<(usize, usize, usize)>,
}

impl Plan {
    /// The plan for `n ≥ 3` qubits with amplitudes of `T`.
    pub fn new<T: Real>(n: usize, b: Blocking) -> Plan {
        let low_bits = n.min(b.low_bits).max(LANE_BITS);
        let rest = n - low_bits;
        let chunk = std::mem::size_of::<Chunk<T>>();
        let mut high = Vec::new();
        if rest > 0 {
            // Most row bits per pass with rows of at least `min_row_bytes`.
            let row = b.min_row_bytes.max(chunk);
            let max_m = (b.tile_bytes / row).max(2).ilog2() as usize;
            let groups = rest.div_ceil(max_m);
            let mut q0 = low_bits;
            for g in 0..groups {
                let m = rest / groups + usize::from(g < rest % groups);
                let fit = (b.tile_bytes / (chunk << m)).max(1);
                let cols = (1usize << (q0 - LANE_BITS)).min(1 << fit.ilog2());
                high.push((q0, m, cols));
                q0 += m;
            }
        }
        Plan { low_bits, high }
    }

    /// Passes over the whole state per layer.
    pub fn passes(&self) -> usize {
        1 + self.high.len()
    }
}

/// High-pass tiles whose rows are shorter than this go through a contiguous scratch tile
/// (see `high_tile_impl`): 1 KiB rows 2^k states apart share so few cache sets that the
/// tile does not stay cached in place; 2 KiB and longer rows are faster in place (measured
/// on Zen 4, n = 24 and 26).
const SCRATCH_BELOW_ROW_BYTES: usize = 2048;

/// A raw pointer that may cross threads: tiles of one pass touch disjoint amplitudes.
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);

impl<T> Shared<T> {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    fn ptr(self) -> *mut T {
        self.0
    }
}
// SAFETY: only used to hand disjoint tiles of one buffer to rayon workers.
unsafe impl<T> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for Shared<T> {}

/// State-vector QAOA simulator on the CPU with amplitudes of `T` (`f32`: complex64,
/// `f64`: complex128). See `kernels.rs` for the layout and the passes.
pub struct CpuSimulator<T: Real> {
    diag: Arc<CostDiagonal>,
    state: BigBuf<Chunk<T>>,
    /// The physical state is `scale · stored`.
    scale: (f64, f64),
    isa: Isa,
    plan: Plan,
    evaluated: bool,
}

impl<T: Real> std::fmt::Debug for CpuSimulator<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuSimulator")
            .field("type", &T::NAME)
            .field("n", &self.diag.num_qubits())
            .field("isa", &self.isa)
            .field("plan", &self.plan)
            .finish()
    }
}

/// Complex product.
fn cmul(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0)
}

/// `z^n` by squaring.
fn cpow(mut z: (f64, f64), mut n: usize) -> (f64, f64) {
    let mut acc = (1.0, 0.0);
    while n > 0 {
        if n & 1 == 1 {
            acc = cmul(acc, z);
        }
        z = cmul(z, z);
        n >>= 1;
    }
    acc
}

fn diag_ref(diag: &CostDiagonal) -> DiagRef<'_> {
    match diag.levels() {
        Levels::U8(d) => DiagRef::U8(d),
        Levels::U16(d) => DiagRef::U16(d),
        Levels::Dense(d) => DiagRef::Dense(d),
    }
}

impl<T: Real> CpuSimulator<T> {
    /// A simulator for the cost diagonal `diag` (shared, so several simulators can use
    /// one table). Allocates the state (`2^n` complex amplitudes) after checking that the
    /// OS reports enough free memory.
    pub fn new(diag: Arc<CostDiagonal>) -> Result<Self, QaoaError> {
        Self::with_blocking(diag, Blocking::for_type::<T>())
    }

    /// As [`new`](Self::new) with the knobs of `tuning` (blocking and instruction set).
    pub fn with_tuning(diag: Arc<CostDiagonal>, tuning: &Tuning) -> Result<Self, QaoaError> {
        let mut sim = Self::with_blocking(diag, Blocking::tuned::<T>(tuning))?;
        sim.isa = Isa::detect_capped(tuning.isa);
        Ok(sim)
    }

    /// As [`new`](Self::new) with explicit cache blocking.
    pub fn with_blocking(diag: Arc<CostDiagonal>, blocking: Blocking) -> Result<Self, QaoaError> {
        let sim = diag.sim_qubits();
        let chunks = 1usize << (sim - LANE_BITS);
        check_host_memory(
            &format!(
                "state vector of {} qubits (complex, {} parts)",
                diag.num_qubits(),
                T::NAME
            ),
            (chunks * std::mem::size_of::<Chunk<T>>()) as u64,
        )?;
        let state = BigBuf::zeroed(chunks).ok_or_else(|| QaoaError::HostMemory {
            what: "state vector".into(),
            needed: (chunks * std::mem::size_of::<Chunk<T>>()) as u64,
            available: super::available_memory(),
        })?;
        Ok(CpuSimulator {
            diag,
            state,
            scale: (1.0, 0.0),
            isa: Isa::detect(),
            plan: Plan::new::<T>(sim, blocking),
            evaluated: false,
        })
    }

    /// The cost diagonal.
    pub fn diagonal(&self) -> &Arc<CostDiagonal> {
        &self.diag
    }

    /// The pass plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The instruction set the kernels run with.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Runs the kernels with `isa` if this CPU has it (`Baseline` always works); returns
    /// the instruction set now in use. For comparisons.
    pub fn set_isa(&mut self, isa: Isa) -> Isa {
        let best = Isa::detect();
        let ok = match isa {
            Isa::Baseline => true,
            Isa::Avx2 => best != Isa::Baseline,
            Isa::Avx512 => best == Isa::Avx512,
        };
        if ok {
            self.isa = isa;
        }
        self.isa
    }

    fn stored_prob(&self, k: usize) -> f64 {
        let c = &self.state[k / LANES];
        let (r, i) = (c.re[k % LANES], c.im[k % LANES]);
        (r * r + i * i).to_f64()
    }

    /// Amplitude `ψ_k` (`k < 2^n`) of the state after the last evaluation. For models of
    /// fewer than 3 variables this is the amplitude with the idle qubits in `|0⟩`, times
    /// `2^{(3-n)/2}`, so that `|ψ_k|²` is the probability of `k`.
    pub fn amplitude(&self, k: usize) -> (f64, f64) {
        let c = &self.state[k / LANES];
        let z = cmul(self.scale, (c.re[k % LANES].to_f64(), c.im[k % LANES].to_f64()));
        let f = ((1usize << (self.diag.sim_qubits() - self.diag.num_qubits())) as f64).sqrt();
        (z.0 * f, z.1 * f)
    }

    /// `|ψ_k|²` for every `k < 2^n` (allocates `2^n` f64).
    pub fn probabilities(&self) -> Vec<f64> {
        let n = self.diag.num_qubits();
        let sim = self.diag.sim_qubits();
        let s2 = self.scale.0 * self.scale.0 + self.scale.1 * self.scale.1;
        (0..1usize << n)
            .into_par_iter()
            .map(|k| {
                (0..1usize << (sim - n))
                    .map(|d| s2 * self.stored_prob(k | (d << n)))
                    .sum()
            })
            .collect()
    }

    /// Applies the layers of `angles` to `|+⟩^n` and returns `⟨C⟩`, the norm and the
    /// ground-state probability.
    fn run(&mut self, angles: &Angles) -> Result<Evaluation, QaoaError> {
        angles.check()?;
        let sim = self.diag.sim_qubits();
        let p = angles.p();
        let amp = ((1usize << sim) as f64).sqrt().recip();
        let mut scale = (amp, 0.0);
        let (base, step) = self.diag.grid();
        let levels = self.diag.num_levels().unwrap_or(0);
        let rule = GroundRule {
            dense_threshold: self.diag.min() + ground_tolerance(self.diag.min(), self.diag.max()),
        };
        let isa = self.isa;
        let low = self.plan.low_bits;
        let block = 1usize << (low - LANE_BITS);
        let diag_arc = self.diag.clone();
        let diag = diag_ref(&diag_arc);
        let tlen = table_len(diag);
        let mut tab = vec![[T::default(); 2]; tlen];
        let mut total = Partial::default();
        for l in 0..p {
            let gamma = angles.gamma[l];
            for (m, entry) in tab.iter_mut().take(levels).enumerate() {
                let (s, c) = (-gamma * (base + step * m as f64)).sin_cos();
                let v = cmul(scale, (c, s));
                let (x, y) = T::round_pair(v.0, v.1);
                *entry = [x, y];
            }
            let phase = Phase {
                table: &tab,
                gamma,
                scale,
                init: l == 0,
            };
            let (w, swap, f) = mixer_params(angles.beta[l]);
            let w = T::from_f64(w);
            // The butterfly (I + i w X) has norm factor sqrt(1 + w²) with the *rounded* w;
            // compensating with that exactly keeps the norm (β moves by ~1e-8 rad in f32).
            let mag = (1.0 + w.to_f64() * w.to_f64()).sqrt().recip();
            let f = if f.1 == 0.0 {
                (mag.copysign(f.0), 0.0)
            } else {
                (0.0, mag.copysign(f.1))
            };
            scale = cpow(f, sim);
            let last = l + 1 == p;
            let reduce_low = (last && self.plan.high.is_empty()).then_some(rule);
            let parts: Vec<Partial> = self
                .state
                .par_chunks_mut(block)
                .enumerate()
                .map(|(b, blk)| {
                    let d = diag.slice(b * block * LANES, block * LANES);
                    // SAFETY: `isa` comes from `Isa::detect` (or is Baseline).
                    unsafe { low_block_isa(isa, blk, d, &phase, low, w, swap, reduce_low) }
                })
                .collect();
            if reduce_low.is_some() {
                total = parts.into_iter().fold(Partial::default(), Partial::add);
            }
            let passes = self.plan.high.len();
            for (pi, &(q0, m, cols)) in self.plan.high.iter().enumerate() {
                let reduce = (last && pi + 1 == passes).then_some(rule);
                let stride = 1usize << (q0 - LANE_BITS);
                let col_tiles = stride / cols;
                let tiles = self.state.len() >> m >> cols.ilog2();
                let data = Shared(self.state.as_mut_ptr());
                let scratch_len = if cols * std::mem::size_of::<Chunk<T>>() < SCRATCH_BELOW_ROW_BYTES {
                    cols << m
                } else {
                    0
                };
                let parts: Vec<Partial> = (0..tiles)
                    .into_par_iter()
                    .map(|t| {
                        let base_of = |t: usize| ((t / col_tiles) << (q0 - LANE_BITS + m)) + (t % col_tiles) * cols;
                        let next = (t + 1 < tiles).then(|| base_of(t + 1));
                        with_scratch::<T, _>(scratch_len, |scratch| {
                            // SAFETY: tile `t` is rows base + r·stride .. + cols, r < 2^m,
                            // inside the state; distinct tiles cover distinct chunks; `isa`
                            // from detect; the scratch holds 2^m · cols chunks.
                            unsafe {
                                high_tile(
                                    isa,
                                    data.ptr(),
                                    diag,
                                    base_of(t),
                                    stride,
                                    m,
                                    cols,
                                    w,
                                    swap,
                                    reduce,
                                    next,
                                    scratch,
                                )
                            }
                        })
                    })
                    .collect();
                if reduce.is_some() {
                    total = parts.into_iter().fold(Partial::default(), Partial::add);
                }
            }
        }
        self.scale = scale;
        self.evaluated = true;
        let s2 = scale.0 * scale.0 + scale.1 * scale.1;
        let norm = s2 * total.norm;
        let expectation = match self.diag.levels() {
            Levels::Dense(_) => s2 * total.weighted,
            _ => base * norm + step * s2 * total.weighted,
        };
        Ok(Evaluation {
            expectation,
            norm,
            ground_state_probability: s2 * total.ground,
        })
    }
}

impl<T: Real> Simulator for CpuSimulator<T> {
    fn num_qubits(&self) -> usize {
        self.diag.num_qubits()
    }

    fn cost_range(&self) -> (f64, f64) {
        (self.diag.min(), self.diag.max())
    }

    fn evaluate(&mut self, angles: &Angles) -> Result<Evaluation, QaoaError> {
        self.run(angles)
    }

    fn sample(&mut self, shots: usize, seed: u64) -> Result<Vec<u64>, QaoaError> {
        super::check_shots(shots)?;
        if !self.evaluated {
            return Err(QaoaError::NotEvaluated);
        }
        let s2 = self.scale.0 * self.scale.0 + self.scale.1 * self.scale.1;
        let prob = |k: usize| s2 * self.stored_prob(k);
        let mask = (1u64 << self.num_qubits()) - 1;
        let len = 1usize << self.diag.sim_qubits();
        Ok(sample_from_chunks(len, &prob, shots, seed)
            .into_iter()
            .map(|k| k & mask)
            .collect())
    }

    fn backend(&self) -> String {
        format!(
            "cpu complex{} ({}, {} threads, {} passes per layer, low pass {} qubits)",
            16 * T::BYTES,
            self.isa.name(),
            rayon::current_num_threads(),
            self.plan.passes(),
            self.plan.low_bits
        )
    }
}
