// Mixer pass: RX(2 beta) = [[c, -i s], [-i s, c]] on qubits qb .. qb + k - 1, in workgroup
// memory. A workgroup owns one tile of 2^(k + cb) amplitudes: 2^k rows (the pass's
// qubits) of 2^cb consecutive states (cb = 0 for the low pass; > 0 keeps global memory
// accesses of the high passes in runs of 2^cb). The tile is loaded once, the k butterfly
// stages run between workgroup barriers, and the tile is stored once: one pass over the
// state applies k qubits (k + cb <= TILE_BITS).
const TILE: u32 = 1024u;

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> state: array<vec2<f32>>;

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

@compute @workgroup_size(256)
fn mixer(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let t = wid.x + wid.y * nwg.x;
    let bits = P.k + P.cb;
    let size = 1u << bits;
    if (t >= (1u << (P.n - bits))) {
        return;
    }
    for (var j = lid; j < size; j += WG) {
        tile[j] = state[state_index(t, j)];
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
