// Random initial states: spin of (variable v, replica r) = lowest bit of
// pcg4d(v, 0xffffffff, r, key); the word of each variable gets its local field computed
// from the neighbours' spins, which are recomputed from the same generator (no reads of
// other threads' results, one pass).

@group(1) @binding(0) var<storage, read_write> words: array<i32>;

fn init_spin(v: u32, r: u32) -> i32 {
    return select(-1, 1, (pcg4d(vec4<u32>(v, 0xffffffffu, r, P.key)).x & 1u) == 1u);
}

@compute @workgroup_size(64)
fn init_sparse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.y;
    if r >= P.num_replicas {
        return;
    }
    let rg = P.replica_base + r;
    for (var i = gid.x; i < P.n; i += nwg.x * 64u) {
        var f = bitcast<i32>(prob[P.h_off + i]);
        let a = prob[P.rp_off + i];
        let b = prob[P.rp_off + i + 1u];
        for (var e = a; e < b; e++) {
            let c = prob[P.adj_off + 2u * e];
            let j = bitcast<i32>(prob[P.adj_off + 2u * e + 1u]);
            f += j * init_spin(c, rg);
        }
        words[r * P.n + i] = 2 * f + select(0, 1, init_spin(i, rg) > 0);
    }
}

@compute @workgroup_size(64)
fn init_dense(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.y;
    if r >= P.num_replicas {
        return;
    }
    let rg = P.replica_base + r;
    for (var i = gid.x; i < P.n; i += nwg.x * 64u) {
        var f = bitcast<i32>(prob[P.h_off + i]);
        let row = i * P.n;
        for (var c = 0u; c < P.n; c++) {
            f += jmat[row + c] * init_spin(c, rg);
        }
        words[r * P.n + i] = 2 * f + select(0, 1, init_spin(i, rg) > 0);
    }
}
