// Energy of every replica (without the model's offset), one workgroup per replica:
// E = 1/2 sum_i s_i (h_i + f_i). Each term is an exact fixed-point integer; the f32 sum
// uses a fixed order (strided partial sums, then a tree), so it is deterministic, and exact
// whenever the energies are integers (or dyadic fractions) below 2^24 in magnitude.

@group(1) @binding(0) var<storage, read_write> words: array<i32>;

var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn energy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = wid.x;
    let base = r * P.n;
    var acc = 0.0;
    for (var i = lid; i < P.n; i += 256u) {
        let w = words[base + i];
        let h = bitcast<i32>(prob[P.h_off + i]);
        let s = select(-1, 1, (w & 1) == 1);
        acc += f32(s * (h + (w >> 1u)));
    }
    red[lid] = acc;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if lid < s {
            red[lid] += red[lid + s];
        }
        workgroupBarrier();
    }
    if lid == 0u {
        aux[P.en_off + r] = bitcast<u32>(0.5 * red[0] * P.inv_scale);
    }
}
