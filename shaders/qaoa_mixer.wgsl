// Mixer pass: RX(2 beta) = [[c, -i s], [-i s, c]] on qubits qb .. qb + k - 1 (< m, within
// one chunk of the state), in workgroup
// memory. A workgroup owns one tile of 2^(k + cb) amplitudes: 2^k rows (the pass's
// qubits) of 2^cb consecutive states (cb = 0 for the low pass; > 0 keeps global memory
// accesses of the high passes in runs of 2^cb). The tile is loaded once, the k butterfly
// stages run between workgroup barriers, and the tile is stored once: one pass over the
// state applies k qubits (k + cb <= log2 TILE). TILE is set by the host to the largest
// power of two (<= 4096) whose vec2<f32> tile fits the device's workgroup memory.
//
// With P.fuse = 1 the first pass of a layer also does the layer's phase step on load,
// exactly as qaoa_phase.wgsl (same parameters), saving one pass over the state.
const TILE: u32 = 1024u;

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> state: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> cost: array<f32>;

var<workgroup> tile: array<vec2<f32>, TILE>;

// State index of element j of tile t: column bits of j, then tile bits below qb, the
// row bits of j at qb, the remaining tile bits above qb + k.
fn state_index(t: u32, j: u32) -> u32 {
    let col = j & ((1u << P.cb) - 1u);
    let row = j >> P.cb;
    let span = P.qb - P.cb;
    let t_low = t & ((1u << span) - 1u);
    let t_high = t >> span;
    return col | (t_low << P.cb) | (row << P.qb) | (t_high << (P.qb + P.k));
}

// The phase step of qaoa_phase.wgsl for state i.
fn phased(i: u32) -> vec2<f32> {
    let v = cost[i];
    var ph: vec2<f32>;
    if (P.mode == 0u) {
        ph = table[P.offset + u32(round(v - P.vmin))];
    } else {
        var t = P.g * v;
        t = t - 6.2831855 * round(t * 0.15915494);
        ph = vec2<f32>(cos(t), -sin(t));
    }
    if (P.init == 1u) {
        return P.amp * ph;
    }
    return cmul(state[i], ph);
}

@compute @workgroup_size(256)
fn mixer(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let t = wid.x + wid.y * nwg.x;
    let bits = P.k + P.cb;
    let size = 1u << bits;
    if (t >= (1u << (P.m - bits))) {
        return;
    }
    for (var j = lid; j < size; j += WG) {
        let i = state_index(t, j);
        if (P.fuse == 1u) {
            tile[j] = phased(i);
        } else {
            tile[j] = state[i];
        }
    }
    workgroupBarrier();
    for (var b = 0u; b < P.k; b++) {
        let bit = 1u << (P.cb + b);
        for (var q = lid; q < size / 2u; q += WG) {
            let lo = q & (bit - 1u);
            let j0 = ((q - lo) << 1u) | lo;
            let j1 = j0 | bit;
            let a = tile[j0];
            let d = tile[j1];
            // a' = c a - i s d, d' = c d - i s a;  -i s z = s (z.y, -z.x)
            tile[j0] = P.c * a + P.s * vec2<f32>(d.y, -d.x);
            tile[j1] = P.c * d + P.s * vec2<f32>(a.y, -a.x);
        }
        workgroupBarrier();
    }
    for (var j = lid; j < size; j += WG) {
        state[state_index(t, j)] = tile[j];
    }
}
