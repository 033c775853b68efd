// Shared by every qaoa_*.wgsl kernel (prepended by the Rust side).
// One parameter block per dispatch, in a uniform buffer slot; fields unused by a kernel
// are zero. State: 2^n amplitudes as vec2<f32> (re, im), basis state k has variable i at
// bit i of k. Scaled cost v_k: c_k = offset + step * v_k (offset and step stay on the CPU).
// The state (and the cost diagonal) may be split into 2^(n - m) chunks of 2^m states, each
// its own buffer and binding: a dispatch sees chunk `chunk`, whose local state j is the
// global basis state (chunk << m) | j. Qubits >= m are mixed by qaoa_pair.wgsl.
struct Params {
    n: u32,        // qubits; 2^n states (n <= 32)
    qb: u32,       // mixer: first qubit of the pass
    k: u32,        // mixer: qubits in the pass
    cb: u32,       // mixer: column bits (consecutive states per tile row)
    mode: u32,     // phase: 0 = level table, 1 = angle from the cost; cost: 1 = binary variables
    init: u32,     // phase: 1 = start from |+>^n (ignore the stored state)
    offset: u32,   // phase: first table entry of this layer; sample: block size
    count: u32,    // cost: pair terms; reduce: partial sums; sample: shots
    c: f32,        // mixer: cos(beta)
    s: f32,        // mixer: sin(beta)
    g: f32,        // phase (mode 1): gamma * step, radians per unit of v
    amp: f32,      // phase: |+> amplitude 2^(-n/2)
    vmin: f32,     // smallest v
    gthr: f32,     // v <= gthr counts as a ground state
    fuse: u32,     // mixer: 1 = do the layer's phase step (mode, init, offset, g, amp) on load
    chunk: u32,    // index of the chunk this dispatch works on
    m: u32,        // log2 of the states per chunk (m = n: one chunk)
    base: u32,     // global index of this simulator's first state (a slice of a split state)
    _p2: u32,
    _p3: u32,
}

const WG: u32 = 256u;

// Flat invocation index of a 1-D kernel dispatched as a 2-D grid (65535 groups per dim).
fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * nwg.x) * WG + lid;
}

// States in this dispatch's chunk (all states when the state is one chunk).
fn num_states() -> u32 {
    return 1u << P.m;
}

// Global basis state of local state j of this chunk.
fn global_index(j: u32) -> u32 {
    return P.base | (P.chunk << P.m) | j;
}

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}
