// Shared by the constrained-annealing kernels (prepended to each kernel file by the host;
// CPU twin and conventions: src/cqm/gpu.rs).
//
// - One invocation runs one chain. Chain buffers are interleaved: row i of chain c (of the
//   P.chains chains of this dispatch group) is at i * P.chains + c.
// - `prob` holds the read-only sections (word offsets in Params): objective linear terms
//   (i32, fixed point), adjacency CSR (column, q bits), group CSR, unit codes, occurrence
//   CSR per variable (constraint, coefficient bits), 5 words per constraint (sense 0 <= /
//   1 = / 2 >=, rhs i32, lambda start / floor / ceiling as f32 bits) and the -ln u table.
// - `words`: 2 * field + x per variable; `cons`: lhs (rows 0..K) then lambda bits (rows
//   K..2K); `chain`: chosen variable per group (rows 0..G), best units (G..G+U), least
//   violated units (G+U..G+2U), then 8 scalars (see src/cqm/gpu.rs `meta`).
// - Random numbers: pcg4d (Jarzynski & Olano 2020) of (global chain, sweep, step, key).
// - Integer arithmetic wraps, as on the CPU twin; the only float operations are single
//   f32 products, min/max/clamp and comparisons (exact and order-free).

struct Params {
    n: u32,
    groups: u32,
    units: u32,
    ncons: u32,
    chains: u32,       // chains in this dispatch group
    chain_base: u32,   // global index of the group's first chain (for the RNG)
    key: u32,          // hash of the seed
    sweep0: u32,       // global index of the first sweep of this dispatch
    num_sweeps: u32,   // sweeps in this dispatch
    temp_off: u32,     // temperature of sweep k of this dispatch: temps[temp_off + k]
    lin_off: u32,
    ap_off: u32,
    adj_off: u32,
    gp_off: u32,
    gv_off: u32,
    unit_off: u32,
    op_off: u32,
    occ_off: u32,
    cons_off: u32,
    log_off: u32,
    mgroups: u32,      // groups of two or more variables (the first units)
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> prob: array<u32>;
@group(0) @binding(1) var<storage, read> temps: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;
@group(1) @binding(0) var<storage, read_write> words: array<i32>;
@group(1) @binding(1) var<storage, read_write> cons: array<u32>;
@group(1) @binding(2) var<storage, read_write> chain: array<u32>;

