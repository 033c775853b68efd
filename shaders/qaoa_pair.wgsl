// Mixer on a qubit q >= m, which selects the chunk: RX(2 beta) pairs local state j of chunk
// a (bit q - m clear) with local state j of chunk b = a | (1 << (q - m)), elementwise:
// a' = c a - i s b, b' = c b - i s a. One pass over both chunks per such qubit.
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> lo: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> hi: array<vec2<f32>>;

@compute @workgroup_size(256)
fn pair(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let j = flat_index(wid, nwg, lid);
    if (j >= num_states()) {
        return;
    }
    let a = lo[j];
    let d = hi[j];
    // -i s z = s (z.y, -z.x)
    lo[j] = P.c * a + P.s * vec2<f32>(d.y, -d.x);
    hi[j] = P.c * d + P.s * vec2<f32>(a.y, -a.x);
}
