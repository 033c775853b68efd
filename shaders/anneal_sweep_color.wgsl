// One colour class of one sweep for every replica of a group, state in global memory
// (any problem size). Invocation (x, y) updates class members x, x + stride, ... of
// replica y; an accepted flip pushes its field change to the neighbours' words with
// integer atomics. The host dispatches the classes of a sweep in order.

@group(1) @binding(0) var<storage, read_write> words: array<atomic<i32>>;

@compute @workgroup_size(64)
fn sweep_color(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.y;
    if r >= P.num_replicas {
        return;
    }
    let t = P.sweep0;
    let beta_s = beta_of(r, t) * P.inv_scale;
    let a = prob[P.cp_off + P.color];
    let b = prob[P.cp_off + P.color + 1u];
    let base = r * P.n;
    let rg = P.replica_base + r;
    for (var idx = a + gid.x; idx < b; idx += nwg.x * 64u) {
        let v = prob[P.cv_off + idx];
        let w = atomicLoad(&words[base + v]);
        if metropolis(flip_delta(w), beta_s, rand_bits(v, t, rg)) {
            let s_new = select(1, -1, (w & 1) == 1);
            atomicAdd(&words[base + v], s_new);
            let e1 = prob[P.rp_off + v + 1u];
            for (var e = prob[P.rp_off + v]; e < e1; e++) {
                let u = prob[P.adj_off + 2u * e];
                let j = bitcast<i32>(prob[P.adj_off + 2u * e + 1u]);
                atomicAdd(&words[base + u], neighbour_delta(j, s_new));
            }
        }
    }
}
