// Shared by every annealing kernel (prepended to each kernel file by the host).
//
// Conventions:
// - Spins and local fields live together in one i32 "word" per (replica, variable):
//   word = 2 * field + bit, where bit = 1 for spin +1 and 0 for spin -1, and
//   field = h_i + sum_j J_ij s_j in fixed point (value * scale, scale = 2^k chosen on the
//   host so every |field| <= 2^28). Integer adds are exact and order-independent, so
//   results do not depend on thread scheduling.
// - Problem data are sections of one u32 buffer `prob` (offsets in Params):
//   h (i32 bits, n), row_ptr (n + 1, edge index), adj (2 per edge: column, weight bits),
//   class_ptr (num_colors + 1), class_vars (n, variables sorted by colour).
// - Per-replica bookkeeping is in sections of `aux` (offsets in Params).
// - Random numbers: pcg4d (Jarzynski & Olano 2020) of (variable, sweep, replica, key),
//   a counter-based generator: a draw depends only on those four numbers.

struct Params {
    n: u32,
    num_replicas: u32,   // replicas in this group
    replica_base: u32,   // global index of the group's first replica (for the RNG)
    key: u32,            // hash of the seed
    sweep0: u32,         // global index of the first sweep of this dispatch
    num_sweeps: u32,     // sweeps in this dispatch
    color: u32,          // colour class (colour-class kernel)
    num_colors: u32,
    beta_stride: u32,    // beta of (replica r, sweep t) = betas[t * beta_stride + slot[r]]
    num_temps: u32,      // PT: temperatures per chain
    round: u32,          // PT: exchange round; PA: resampling step
    inv_scale: f32,      // 1 / fixed-point scale
    h_off: u32,
    rp_off: u32,
    adj_off: u32,
    cp_off: u32,
    cv_off: u32,
    en_off: u32,         // aux: energy per replica (f32 bits)
    slot_off: u32,       // aux: beta slot per replica
    at_off: u32,         // aux: PT replica at (chain, temperature)
    be_off: u32,         // aux: PT best energy per chain (f32 bits)
    par_off: u32,        // aux: PA parent per replica
    pre_off: u32,        // aux: PA prefix sums of weights (f32 bits)
    num_chains: u32,
    dbeta: f32,          // PA: beta step of this resampling
    acc_off: u32,        // aux: PT accepted exchanges per (chain, pair)
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> prob: array<u32>;
@group(0) @binding(1) var<storage, read> jmat: array<i32>;
@group(0) @binding(2) var<storage, read> betas: array<f32>;
@group(1) @binding(2) var<storage, read_write> aux: array<u32>;
@group(2) @binding(0) var<uniform> P: Params;

// 32 random bits for (variable, sweep, replica).
fn rand_bits(v: u32, t: u32, r: u32) -> u32 {
    return pcg4d(vec4<u32>(v, t, r, P.key)).x;
}

// Metropolis test of an energy change `de` (fixed point) at `beta_s` = beta / scale. A
// sideways move (de == 0) is taken 15 times in 16 when beta > 0 (as on the CPU:
// `solvers::anneal::SIDEWAYS_P`; taking all of them moves every domain wall in lock-step),
// decided by the low bits, which the uniform draw below does not use.
fn metropolis(de: i32, beta_s: f32, bits: u32) -> bool {
    if de < 0 {
        return true;
    }
    if de == 0 {
        return beta_s == 0.0 || (bits & 15u) != 0u;
    }
    let z = beta_s * f32(de);
    if z > 17.0 {
        return false; // exp(-17) is below the 2^-24 resolution of the uniform draw
    }
    let u = f32(bits >> 8u) * (1.0 / 16777216.0);
    return u < exp(-z);
}

// Energy change of flipping the variable whose word is `w`: -2 s f.
fn flip_delta(w: i32) -> i32 {
    let f = w >> 1u;
    return select(2 * f, -2 * f, (w & 1) == 1);
}

// Word change of a neighbour when a variable coupled by `j` flips to spin `s_new`:
// its field moves by 2 J s_new, i.e. its word by 4 J s_new.
fn neighbour_delta(j: i32, s_new: i32) -> i32 {
    return 4 * j * s_new;
}

fn beta_of(r: u32, t: u32) -> f32 {
    return betas[t * P.beta_stride + aux[P.slot_off + r]];
}
