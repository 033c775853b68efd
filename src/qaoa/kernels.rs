//! Cache-blocked CPU kernels of one QAOA layer.
//!
//! # Layout
//! The state is stored in [`Chunk`]s of 8 consecutive amplitudes: 8 real parts then 8
//! imaginary parts, 64-byte aligned (one `f32` chunk is one cache line, an `f64` chunk
//! two). Arithmetic on `[T; 8]` arrays compiles to 256/512-bit vectors. Qubits 0..3 act
//! inside a chunk (lane permutations), qubit `q ≥ 3` pairs chunks `2^(q-3)` apart.
//!
//! # Mixer without multiplies by cos β
//! `e^{-iβX} = cos β (I + i w X)` with `w = -tan β` when `|β| <= π/4`, and
//! `e^{-iβX} = (-i sin β) X (I + i w X)` with `w = cot β` otherwise (β reduced to
//! `[-π/2, π/2]` first). So every qubit gets the same *symmetric* butterfly
//! `a' = a + i w b, b' = b + i w a` (two FMAs per real output, `|w| <= 1`), a scalar factor
//! that is collected per layer and folded into the next phase table, and, in the second
//! case, an `X` on the qubit. The `X`s commute with every butterfly, so a sweep over a
//! group of bits stores its outputs at `index XOR group mask`.
//!
//! # Passes over memory (one layer)
//! - low pass, per block of `2^low_bits` consecutive amplitudes (L2-resident): one
//!   streaming sweep over groups of 8 chunks does the phase multiply (a table lookup by
//!   level index), qubits 0..3 inside each chunk and qubits 3..6 across the 8 chunks in
//!   registers (radix 8); the block's other qubits follow in radix-8 sweeps;
//! - high passes, per tile of `2^m` rows × `C` chunks (rows `2^(q0-3)` chunks apart):
//!   qubits `q0 .. q0 + m` in radix-8 sweeps;
//! - `⟨C⟩`, the norm and the ground-state probability are summed over each block or tile
//!   of the layer's last pass while it is still in cache.

use super::real::{Real, madd};

/// Amplitudes per chunk.
pub(crate) const LANES: usize = 8;
/// Qubits inside a chunk.
pub(crate) const LANE_BITS: usize = 3;

/// Eight consecutive amplitudes: real parts, then imaginary parts.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C, align(64))]
pub struct Chunk<T> {
    /// Real parts.
    pub re: [T; LANES],
    /// Imaginary parts.
    pub im: [T; LANES],
}

// SAFETY: two arrays of 8 `Pod` reals (f32: 2 × 32 bytes = 64, f64: 2 × 64 = 128), so no
// padding anywhere and the size is a multiple of the 64-byte alignment; all-zero is 0.0.
unsafe impl<T: Real> bytemuck::Zeroable for Chunk<T> {}
// SAFETY: as above: `Copy`, no padding, every bit pattern of the reals is valid.
unsafe impl<T: Real> bytemuck::Pod for Chunk<T> {}

thread_local! {
    /// Per-thread scratch tile of the high passes (grown on demand, reused).
    static SCRATCH: std::cell::RefCell<Vec<Chunk<f64>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's scratch buffer of at least `chunks` chunks of `T`.
pub(crate) fn with_scratch<T: Real, R>(chunks: usize, f: impl FnOnce(&mut [Chunk<T>]) -> R) -> R {
    SCRATCH.with(|cell| {
        let mut buf = cell.borrow_mut();
        let need = (chunks * std::mem::size_of::<Chunk<T>>()).div_ceil(std::mem::size_of::<Chunk<f64>>());
        if buf.len() < need {
            buf.resize(need, Chunk::default());
        }
        let typed: &mut [Chunk<T>] = bytemuck::cast_slice_mut(&mut buf[..need]);
        f(&mut typed[..chunks])
    })
}

/// The cost diagonal of a run of consecutive states.
#[derive(Clone, Copy)]
pub(crate) enum DiagRef<'a> {
    U8(&'a [u8]),
    U16(&'a [u16]),
    Dense(&'a [f64]),
}

impl<'a> DiagRef<'a> {
    #[inline(always)]
    pub(crate) fn slice(self, start: usize, len: usize) -> DiagRef<'a> {
        match self {
            DiagRef::U8(d) => DiagRef::U8(&d[start..start + len]),
            DiagRef::U16(d) => DiagRef::U16(&d[start..start + len]),
            DiagRef::Dense(d) => DiagRef::Dense(&d[start..start + len]),
        }
    }
}

/// The phase step of one layer: `ψ_k <- scale · e^{-iγ c_k} · ψ_k` (or, when `init`,
/// `ψ_k <- scale · e^{-iγ c_k}`: the `|+⟩` amplitude is folded into `scale`).
pub(crate) struct Phase<'a, T> {
    /// Per level: `scale · e^{-iγ c_level}` as `[re, im]` (level-index forms), padded
    /// with zeros to [`table_len`] entries.
    pub table: &'a [[T; 2]],
    /// `γ` (dense form).
    pub gamma: f64,
    /// `scale` (dense form).
    pub scale: (f64, f64),
    /// Ignore the stored state and start from `scale`.
    pub init: bool,
}

/// Sums over part of the state (multiply by `|scale|²` outside).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Partial {
    /// `Σ |ψ|² · level` (level-index forms) or `Σ |ψ|² · c` (dense).
    pub weighted: f64,
    /// `Σ |ψ|²`.
    pub norm: f64,
    /// `Σ |ψ|²` over ground states.
    pub ground: f64,
}

impl Partial {
    pub(crate) fn add(self, o: Partial) -> Partial {
        Partial {
            weighted: self.weighted + o.weighted,
            norm: self.norm + o.norm,
            ground: self.ground + o.ground,
        }
    }
}

/// States with `c <= dense_threshold` are ground states (dense form).
#[derive(Clone, Copy)]
pub(crate) struct GroundRule {
    pub dense_threshold: f64,
}

type V<T> = [T; LANES];

/// `a - w b` and `a + w b` lane-wise.
#[inline(always)]
fn fnm<T: Real, const F: bool>(a: V<T>, w: T, b: V<T>) -> V<T> {
    std::array::from_fn(|j| madd::<T, F>(-w, b[j], a[j]))
}

#[inline(always)]
fn fpm<T: Real, const F: bool>(a: V<T>, w: T, b: V<T>) -> V<T> {
    std::array::from_fn(|j| madd::<T, F>(w, b[j], a[j]))
}

/// The symmetric butterfly on two chunks: `(a + i w b, b + i w a)`.
#[inline(always)]
fn bfly<T: Real, const F: bool>(a: Chunk<T>, b: Chunk<T>, w: T) -> (Chunk<T>, Chunk<T>) {
    (
        Chunk {
            re: fnm::<T, F>(a.re, w, b.im),
            im: fpm::<T, F>(a.im, w, b.re),
        },
        Chunk {
            re: fnm::<T, F>(b.re, w, a.im),
            im: fpm::<T, F>(b.im, w, a.re),
        },
    )
}

/// Qubits 0..3 inside one chunk (lane `j` pairs with `j ^ bit`); lanes reversed when
/// `swap`.
#[inline(always)]
fn in_chunk<T: Real, const F: bool>(mut c: Chunk<T>, w: T, swap: bool) -> Chunk<T> {
    for bit in [1usize, 2, 4] {
        let (re, im) = (c.re, c.im);
        c.re = std::array::from_fn(|j| madd::<T, F>(-w, im[j ^ bit], re[j]));
        c.im = std::array::from_fn(|j| madd::<T, F>(w, re[j ^ bit], im[j]));
    }
    if swap {
        let (re, im) = (c.re, c.im);
        c.re = std::array::from_fn(|j| re[LANES - 1 - j]);
        c.im = std::array::from_fn(|j| im[LANES - 1 - j]);
    }
    c
}

/// Butterflies over the `bits` low bits of the index of `v` (`v.len() == 2^bits`, ≤ 8);
/// when `swap`, element `i` ends at `i XOR (2^bits - 1)`.
#[inline(always)]
fn radix<T: Real, const F: bool, const R: usize>(v: &mut [Chunk<T>; R], w: T, swap: bool) {
    let mut d = 1;
    while d < R {
        for i in 0..R {
            if i & d == 0 {
                let (a, b) = bfly::<T, F>(v[i], v[i + d], w);
                v[i] = a;
                v[i + d] = b;
            }
        }
        d <<= 1;
    }
    if swap {
        v.reverse();
    }
}

/// Asks the cache to fetch the `cols` chunks at `p` (into L2); a no-op off x86-64.
#[inline(always)]
fn prefetch_row<T>(p: *const Chunk<T>, cols: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let bytes = cols * std::mem::size_of::<Chunk<T>>();
        let p = p as *const i8;
        for off in (0..bytes).step_by(64) {
            // SAFETY: prefetching is a hint; it never faults, whatever the address.
            unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(p.wrapping_add(off)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, cols);
}

/// The sweeps `(first bit, bits)` that apply row bits `from .. to`: sweeps of 3 or 2 bits
/// (a lone 1-bit sweep only when there is a single bit), as many as radix 8 needs, the
/// bits spread evenly over them.
fn sweep_plan(from: usize, to: usize) -> impl Iterator<Item = (usize, usize)> {
    let mut j = from;
    let mut left = (to - from).div_ceil(3);
    std::iter::from_fn(move || {
        if j >= to {
            return None;
        }
        let k = (to - j).div_ceil(left);
        left -= 1;
        let out = (j, k);
        j += k;
        Some(out)
    })
}

/// Where the rows of a sweep live: row `r` is the `cols` chunks at `ptr + base + r * stride`.
#[derive(Clone, Copy)]
struct Rows<T> {
    ptr: *mut Chunk<T>,
    base: usize,
    stride: usize,
}

impl<T> Rows<T> {
    #[inline(always)]
    fn at(self, r: usize) -> *mut Chunk<T> {
        self.ptr.wrapping_add(self.base + r * self.stride)
    }
}

/// One sweep: butterflies over row bits `j .. j + k` (`k <= 3`) of `2^to` rows of `cols`
/// chunks, reading from `src` and writing to `dst` (which may be the same rows). With
/// `prefetch`, while group `g` of rows is processed the rows of group `g + 1` (for the last
/// group, the first group of the tile `prefetch` describes) are fetched into the cache.
///
/// # Safety
/// All rows of `src` and `dst` must be in bounds and not accessed by anyone else; within
/// each of `src`/`dst` rows are pairwise disjoint (`cols <= stride`); `src` and `dst` are
/// either the same rows or disjoint.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn sweep<T: Real, const F: bool>(
    src: Rows<T>,
    dst: Rows<T>,
    cols: usize,
    to: usize,
    j: usize,
    k: usize,
    w: T,
    swap: bool,
    prefetch: Option<Rows<T>>,
) {
    let d = 1usize << j;
    let groups = (1usize << to) >> (j + k);
    for hi in 0..groups {
        for lo in 0..d {
            let r = (hi << (j + k)) | lo;
            if let Some(next) = prefetch {
                // Only used with j = 0: groups are consecutive runs of 2^k rows.
                let (rows, first) = if hi + 1 < groups {
                    (src, r + (1 << k))
                } else {
                    (next, 0)
                };
                for i in 0..1usize << k {
                    prefetch_row(rows.at(first + i), cols);
                }
            }
            // SAFETY: rows in bounds and exclusively ours (contract); each group is read
            // fully (into registers) before it is written.
            unsafe {
                match k {
                    3 => {
                        let (s, t): ([*mut Chunk<T>; 8], [*mut Chunk<T>; 8]) = (
                            std::array::from_fn(|i| src.at(r + i * d)),
                            std::array::from_fn(|i| dst.at(r + i * d)),
                        );
                        for c in 0..cols {
                            let mut v: [Chunk<T>; 8] = std::array::from_fn(|i| *s[i].add(c));
                            radix::<T, F, 8>(&mut v, w, swap);
                            for i in 0..8 {
                                *t[i].add(c) = v[i];
                            }
                        }
                    }
                    2 => {
                        let (s, t): ([*mut Chunk<T>; 4], [*mut Chunk<T>; 4]) = (
                            std::array::from_fn(|i| src.at(r + i * d)),
                            std::array::from_fn(|i| dst.at(r + i * d)),
                        );
                        for c in 0..cols {
                            let mut v: [Chunk<T>; 4] = std::array::from_fn(|i| *s[i].add(c));
                            radix::<T, F, 4>(&mut v, w, swap);
                            for i in 0..4 {
                                *t[i].add(c) = v[i];
                            }
                        }
                    }
                    _ => {
                        let (s, t): ([*mut Chunk<T>; 2], [*mut Chunk<T>; 2]) = (
                            std::array::from_fn(|i| src.at(r + i * d)),
                            std::array::from_fn(|i| dst.at(r + i * d)),
                        );
                        for c in 0..cols {
                            let mut v: [Chunk<T>; 2] = std::array::from_fn(|i| *s[i].add(c));
                            radix::<T, F, 2>(&mut v, w, swap);
                            for i in 0..2 {
                                *t[i].add(c) = v[i];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Applies row bits `from .. to` in place to rows of `cols` chunks at `data + base + r *
/// stride` (radix-8 and radix-4 sweeps).
///
/// # Safety
/// Every row `r < 2^to` must be in bounds of `data`, the rows pairwise disjoint
/// (`cols <= stride`), and not accessed by anyone else during the call.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn rows_mixer<T: Real, const F: bool>(
    data: *mut Chunk<T>,
    base: usize,
    stride: usize,
    cols: usize,
    from: usize,
    to: usize,
    w: T,
    swap: bool,
) {
    let rows = Rows {
        ptr: data,
        base,
        stride,
    };
    for (j, k) in sweep_plan(from, to) {
        // SAFETY: forwarded contract (in place).
        unsafe { sweep::<T, F>(rows, rows, cols, to, j, k, w, swap, None) };
    }
}

/// `chunk <- phase · chunk` (or `phase` alone when `init`) for the 8 states of `idx`.
/// The tables have an entry for every value of the index type (`N = 2^bits`), so the
/// lookups need no bounds checks.
#[inline(always)]
fn phase_levels<T: Real, I: Copy + Into<usize>, const N: usize>(
    c: &mut Chunk<T>,
    idx: &[I],
    t: &[[T; 2]; N],
    init: bool,
) {
    let idx: &[I; LANES] = idx.try_into().expect("8 levels");
    let e: [[T; 2]; LANES] = std::array::from_fn(|j| t[idx[j].into()]);
    let pr: V<T> = std::array::from_fn(|j| e[j][0]);
    let pi: V<T> = std::array::from_fn(|j| e[j][1]);
    if init {
        c.re = pr;
        c.im = pi;
    } else {
        let (a, b) = (c.re, c.im);
        c.re = std::array::from_fn(|j| a[j] * pr[j] - b[j] * pi[j]);
        c.im = std::array::from_fn(|j| a[j] * pi[j] + b[j] * pr[j]);
    }
}

#[inline(always)]
#[allow(clippy::needless_range_loop)]
fn phase_dense<T: Real>(c: &mut Chunk<T>, cost: &[f64], ph: &Phase<T>) {
    let (sr, si) = ph.scale;
    for j in 0..LANES {
        let (s, co) = (-ph.gamma * cost[j]).sin_cos();
        let (pr, pi) = (sr * co - si * s, sr * s + si * co);
        if ph.init {
            c.re[j] = T::from_f64(pr);
            c.im[j] = T::from_f64(pi);
        } else {
            let (a, b) = (c.re[j].to_f64(), c.im[j].to_f64());
            c.re[j] = T::from_f64(a * pr - b * pi);
            c.im[j] = T::from_f64(a * pi + b * pr);
        }
    }
}

#[inline(always)]
fn apply_phase<T: Real>(c: &mut Chunk<T>, diag: DiagRef, k: usize, ph: &Phase<T>) {
    match diag {
        DiagRef::U8(d) => {
            let t: &[[T; 2]; 1 << 8] = table(ph.table);
            phase_levels(c, &d[k..k + LANES], t, ph.init)
        }
        DiagRef::U16(d) => {
            let t: &[[T; 2]; 1 << 16] = table(ph.table);
            phase_levels(c, &d[k..k + LANES], t, ph.init)
        }
        DiagRef::Dense(d) => phase_dense(c, &d[k..k + LANES], ph),
    }
}

/// The phase table as an array of one entry per index value (see [`table_len`]).
#[inline(always)]
fn table<T, const N: usize>(t: &[T]) -> &[T; N] {
    t[..N].try_into().expect("phase table padded to the index range")
}

/// Entries a phase table must have for `diag`: one per value of its index type.
pub(crate) fn table_len(diag: DiagRef) -> usize {
    match diag {
        DiagRef::U8(_) => 1 << 8,
        DiagRef::U16(_) => 1 << 16,
        DiagRef::Dense(_) => 0,
    }
}

/// Sums over consecutive chunks whose first state is `diag`'s first.
#[inline(always)]
fn reduce_chunks<T: Real>(chunks: &[Chunk<T>], diag: DiagRef, rule: GroundRule) -> Partial {
    match diag {
        DiagRef::U8(d) => reduce_levels(chunks, d),
        DiagRef::U16(d) => reduce_levels(chunks, d),
        DiagRef::Dense(d) => {
            let mut out = Partial::default();
            for (ci, c) in chunks.iter().enumerate() {
                for j in 0..LANES {
                    let p = (c.re[j] * c.re[j] + c.im[j] * c.im[j]).to_f64();
                    let cost = d[ci * LANES + j];
                    out.norm += p;
                    out.weighted += p * cost;
                    if cost <= rule.dense_threshold {
                        out.ground += p;
                    }
                }
            }
            out
        }
    }
}

/// Level-index sums: lane accumulators in `T` over groups of 16 chunks, then `f64`.
#[inline(always)]
fn reduce_levels<T: Real, I: Copy + Into<u32>>(chunks: &[Chunk<T>], idx: &[I]) -> Partial {
    let mut out = Partial::default();
    let idx = &idx[..chunks.len() * LANES];
    for (cg, ig) in chunks.chunks(16).zip(idx.chunks(16 * LANES)) {
        let (mut w, mut s, mut g) = ([T::default(); LANES], [T::default(); LANES], [T::default(); LANES]);
        for (c, lv) in cg.iter().zip(ig.chunks_exact(LANES)) {
            for j in 0..LANES {
                let l: u32 = lv[j].into();
                let p = c.re[j] * c.re[j] + c.im[j] * c.im[j];
                s[j] += p;
                w[j] += p * T::from_f64(l as f64);
                g[j] += if l == 0 { p } else { T::default() };
            }
        }
        for j in 0..LANES {
            out.weighted += w[j].to_f64();
            out.norm += s[j].to_f64();
            out.ground += g[j].to_f64();
        }
    }
    out
}

/// The low pass on one block of `2^bits` consecutive amplitudes (`bits >= 3`); `diag`
/// covers the block. See the module docs.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn low_block_impl<T: Real, const F: bool>(
    block: &mut [Chunk<T>],
    diag: DiagRef,
    phase: &Phase<T>,
    bits: usize,
    w: T,
    swap: bool,
    reduce: Option<GroundRule>,
) -> Partial {
    let row_bits = bits - LANE_BITS;
    let first = row_bits.min(3);
    let group = 1usize << first;
    let data = block.as_mut_ptr();
    for g in 0..block.len() / group {
        for (i, c) in block.iter_mut().enumerate().skip(g * group).take(group) {
            apply_phase(c, diag, i * LANES, phase);
            *c = in_chunk::<T, F>(*c, w, swap);
        }
        // SAFETY: the group's chunks are rows of one chunk inside this exclusively
        // borrowed block (no reference into it is alive).
        unsafe { rows_mixer::<T, F>(data, g * group, 1, 1, 0, first, w, swap) };
    }
    if row_bits > first {
        // SAFETY: rows are single chunks of this exclusively borrowed block.
        unsafe { rows_mixer::<T, F>(data, 0, 1, 1, first, row_bits, w, swap) };
    }
    match reduce {
        Some(rule) => reduce_chunks(block, diag, rule),
        None => Partial::default(),
    }
}

/// The high pass on one tile: `2^m` rows of `cols` chunks at `base + r * stride`
/// (chunk units); `diag` covers the whole state.
///
/// The rows of a tile are `2^q0` states apart, a power of two, so they all fall into the
/// same cache sets: with short rows (1 KiB: 16 sets) only 8 rows per set (the L2's ways)
/// stay cached. With a non-empty `scratch`, the first sweep reads the rows (fetching the
/// next group of rows meanwhile, and at its end the first rows of the tile at `prefetch`)
/// and writes them to `scratch`, a contiguous `2^m × cols` buffer; the other sweeps run
/// there; then the rows are copied back (and summed for the reduction when asked). With an
/// empty `scratch` all sweeps run in place, prefetching the whole next tile during the
/// first (faster when rows are long, 2 KiB or more).
///
/// # Safety
/// The tile's rows must be in bounds of `data` and touched by no one else during the call;
/// `cols <= stride`; `scratch` is empty or holds at least `2^m · cols` chunks.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn high_tile_impl<T: Real, const F: bool>(
    data: *mut Chunk<T>,
    diag: DiagRef,
    base: usize,
    stride: usize,
    m: usize,
    cols: usize,
    w: T,
    swap: bool,
    reduce: Option<GroundRule>,
    prefetch: Option<usize>,
    scratch: &mut [Chunk<T>],
) -> Partial {
    let rows = 1usize << m;
    let state = Rows {
        ptr: data,
        base,
        stride,
    };
    if scratch.is_empty() {
        // In place (rows long enough that the aliasing does not matter).
        let next = prefetch.map(|b| Rows {
            ptr: data,
            base: b,
            stride,
        });
        for (i, (j, k)) in sweep_plan(0, m).enumerate() {
            // SAFETY: forwarded contract (in place).
            unsafe { sweep::<T, F>(state, state, cols, m, j, k, w, swap, if i == 0 { next } else { None }) };
        }
        let Some(rule) = reduce else {
            return Partial::default();
        };
        let mut out = Partial::default();
        for r in 0..rows {
            let off = base + r * stride;
            // SAFETY: row in bounds and exclusively ours (contract); read-only here.
            let row = unsafe { std::slice::from_raw_parts(state.at(r), cols) };
            out = out.add(reduce_chunks(row, diag.slice(off * LANES, cols * LANES), rule));
        }
        return out;
    }
    let scratch = &mut scratch[..rows * cols];
    let buf = Rows {
        ptr: scratch.as_mut_ptr(),
        base: 0,
        stride: cols,
    };
    let next = prefetch.map(|b| Rows {
        ptr: data,
        base: b,
        stride,
    });
    for (i, (j, k)) in sweep_plan(0, m).enumerate() {
        let (src, pf) = if i == 0 { (state, next) } else { (buf, None) };
        // SAFETY: state rows per the contract; scratch rows inside `scratch`; the two never
        // overlap.
        unsafe { sweep::<T, F>(src, buf, cols, m, j, k, w, swap, pf) };
    }
    let mut out = Partial::default();
    for r in 0..rows {
        let row = &scratch[r * cols..(r + 1) * cols];
        // SAFETY: row `r` of the tile, in bounds and ours (contract); `scratch` does not
        // overlap the state.
        unsafe { std::ptr::copy_nonoverlapping(row.as_ptr(), state.at(r), cols) };
        if let Some(rule) = reduce {
            let off = base + r * stride;
            out = out.add(reduce_chunks(row, diag.slice(off * LANES, cols * LANES), rule));
        }
    }
    out
}

/// Instruction sets the kernels are compiled for; picked once at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// AVX-512F + FMA.
    Avx512,
    /// AVX2 + FMA.
    Avx2,
    /// The target's baseline (SSE2 on x86-64), no FMA.
    Baseline,
}

impl Isa {
    /// The best instruction set this CPU supports.
    pub fn detect() -> Isa {
        Isa::detect_capped(None)
    }

    /// The best instruction set this CPU supports, but no better than `cap` (for
    /// comparisons; the CLI fills `cap` from `QAM_QAOA_ISA=baseline|avx2|avx512`).
    pub fn detect_capped(cap: Option<Isa>) -> Isa {
        let cap = cap.unwrap_or(Isa::Avx512);
        #[cfg(target_arch = "x86_64")]
        {
            let fma = std::arch::is_x86_feature_detected!("fma");
            let avx2 = fma && std::arch::is_x86_feature_detected!("avx2");
            let avx512 = avx2 && std::arch::is_x86_feature_detected!("avx512f");
            if avx512 && cap == Isa::Avx512 {
                return Isa::Avx512;
            }
            if avx2 && cap != Isa::Baseline {
                return Isa::Avx2;
            }
        }
        let _ = cap;
        Isa::Baseline
    }
}

crate::names::named_enum!(serde Isa, "instruction set" {
    Avx512 = "avx512": "AVX-512F + FMA",
    Avx2 = "avx2": "AVX2 + FMA",
    Baseline = "baseline": "The target's baseline (SSE2 on x86-64), no FMA",
});

/// Generates the per-ISA entry points of a kernel (the body is compiled once per
/// instruction set with `#[target_feature]`).
macro_rules! isa_variants {
    ($(#[$doc:meta])* $vis:vis unsafe fn $name:ident => $imp:ident ($($arg:ident : $ty:ty),*) -> $ret:ty) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        $vis unsafe fn $name<T: Real>(isa: Isa, $($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn avx2<T: Real>($($arg: $ty),*) -> $ret {
                // SAFETY: forwarded contract.
                unsafe { $imp::<T, true>($($arg),*) }
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn avx512<T: Real>($($arg: $ty),*) -> $ret {
                // SAFETY: forwarded contract.
                unsafe { $imp::<T, true>($($arg),*) }
            }
            // SAFETY: `Isa::detect` returns Avx2/Avx512 only when the CPU has them; the
            // memory contract is the caller's.
            unsafe {
                match isa {
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx512 => avx512::<T>($($arg),*),
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx2 => avx2::<T>($($arg),*),
                    _ => $imp::<T, false>($($arg),*),
                }
            }
        }
    };
}

/// Safe wrapper body for the low pass (no pointer contract).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn low_block_body<T: Real, const F: bool>(
    block: &mut [Chunk<T>],
    diag: DiagRef,
    phase: &Phase<T>,
    bits: usize,
    w: T,
    swap: bool,
    reduce: Option<GroundRule>,
) -> Partial {
    low_block_impl::<T, F>(block, diag, phase, bits, w, swap, reduce)
}

isa_variants!(
    /// The low pass on one block (dispatches on `isa`).
    ///
    /// # Safety
    /// `isa` must come from [`Isa::detect`] (or be `Baseline`).
    pub(crate) unsafe fn low_block_isa => low_block_body(
        block: &mut [Chunk<T>], diag: DiagRef, phase: &Phase<T>, bits: usize, w: T, swap: bool,
        reduce: Option<GroundRule>
    ) -> Partial
);

isa_variants!(
    /// The high pass on one tile (dispatches on `isa`).
    ///
    /// # Safety
    /// `isa` must come from [`Isa::detect`]; the tile's rows are in bounds and not touched
    /// concurrently (see `high_tile_impl`).
    pub(crate) unsafe fn high_tile => high_tile_impl(
        data: *mut Chunk<T>, diag: DiagRef, base: usize, stride: usize, m: usize, cols: usize, w: T,
        swap: bool, reduce: Option<GroundRule>, prefetch: Option<usize>, scratch: &mut [Chunk<T>]
    ) -> Partial
);

/// The mixer parameters of one layer: butterfly weight `w`, whether outputs are swapped,
/// and the per-qubit factor `f` (so `e^{-iβX} = f · [X if swap] · (I + i w X)`).
pub(crate) fn mixer_params(beta: f64) -> (f64, bool, (f64, f64)) {
    use std::f64::consts::{FRAC_PI_4, PI};
    let turns = (beta / PI).round();
    let b = beta - turns * PI; // in [-π/2, π/2]
    // e^{-i(b + tπ)X} = (-1)^t e^{-ibX}
    let sign = if (turns as i64).rem_euclid(2) == 0 { 1.0 } else { -1.0 };
    if b.abs() <= FRAC_PI_4 {
        (-b.tan(), false, (sign * b.cos(), 0.0))
    } else {
        (1.0 / b.tan(), true, (0.0, -sign * b.sin()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dense 2x2 RX(2β) on qubit q, for reference.
    fn rx_ref(re: &mut [f64], im: &mut [f64], q: usize, beta: f64) {
        let (c, s) = (beta.cos(), beta.sin());
        let d = 1 << q;
        for k in 0..re.len() {
            if k & d != 0 {
                continue;
            }
            let (ar, ai, br, bi) = (re[k], im[k], re[k + d], im[k + d]);
            re[k] = c * ar + s * bi;
            im[k] = c * ai - s * br;
            re[k + d] = c * br + s * ai;
            im[k + d] = c * bi - s * ar;
        }
    }

    #[test]
    fn mixer_passes_match_dense_rx() {
        for isa in [Isa::Baseline, Isa::detect()] {
            for &beta in &[0.3, -0.7, 1.2, 2.9, -2.0] {
                for (n, lo) in [(3usize, 3usize), (5, 4), (9, 6), (11, 9), (12, 3)] {
                    let len = 1 << n;
                    let re: Vec<f64> = (0..len).map(|k| ((k * 7 + 3) % 11) as f64 / 11.0 - 0.4).collect();
                    let im: Vec<f64> = (0..len).map(|k| ((k * 5 + 1) % 13) as f64 / 13.0 - 0.5).collect();
                    let mut chunks: Vec<Chunk<f64>> = (0..len / LANES)
                        .map(|c| Chunk {
                            re: std::array::from_fn(|j| re[c * LANES + j]),
                            im: std::array::from_fn(|j| im[c * LANES + j]),
                        })
                        .collect();
                    let (mut rr, mut ri) = (re.clone(), im.clone());
                    for q in 0..n {
                        rx_ref(&mut rr, &mut ri, q, beta);
                    }
                    let (w, swap, f) = mixer_params(beta);
                    let diag = vec![0u8; len];
                    // An identity phase (every level 1).
                    let ones = vec![[1.0, 0.0]; 256];
                    let ph = Phase {
                        table: &ones,
                        gamma: 0.0,
                        scale: (1.0, 0.0),
                        init: false,
                    };
                    for (b, blk) in chunks.chunks_mut(1 << (lo - LANE_BITS)).enumerate() {
                        let d = DiagRef::U8(&diag[b << lo..(b + 1) << lo]);
                        // SAFETY: `isa` is Baseline or `Isa::detect()`, which this CPU has;
                        // `blk` is one whole block of `2^lo` states and `d` its diagonal.
                        unsafe { low_block_isa(isa, blk, d, &ph, lo, w, swap, None) };
                    }
                    if n > lo {
                        let m = n - lo;
                        let stride = 1 << (lo - LANE_BITS);
                        // Through a scratch tile with the detected ISA, in place otherwise.
                        let len = if isa == Isa::Baseline { 0 } else { chunks.len() };
                        let mut scratch = vec![Chunk::default(); len];
                        // SAFETY: as above for `isa`; the tile is the whole state (rows of
                        // `stride` chunks, in bounds) and `scratch` does not overlap it.
                        unsafe {
                            high_tile(
                                isa,
                                chunks.as_mut_ptr(),
                                DiagRef::U8(&diag),
                                0,
                                stride,
                                m,
                                stride,
                                w,
                                swap,
                                None,
                                None,
                                &mut scratch,
                            )
                        };
                    }
                    let (mut fr, mut fi) = (1.0, 0.0);
                    for _ in 0..n {
                        (fr, fi) = (fr * f.0 - fi * f.1, fr * f.1 + fi * f.0);
                    }
                    for k in 0..len {
                        let c = &chunks[k / LANES];
                        let (x, y) = (c.re[k % LANES], c.im[k % LANES]);
                        let (a, b) = (x * fr - y * fi, x * fi + y * fr);
                        assert!(
                            (a - rr[k]).abs() < 1e-12 && (b - ri[k]).abs() < 1e-12,
                            "isa {isa:?} beta {beta} n {n} k {k}"
                        );
                    }
                }
            }
        }
    }
}
