// Cost diagonal from the term list: v_k = sum_i lin_i sigma_i(k) + sum_t w_t sigma_i sigma_j,
// sigma = bit (QUBO, mode 1) or 2 bit - 1 (Ising). On an integer grid the weights are
// integers and the f32 sums are exact (|v| < 2^24 is checked on the CPU).
struct Term {
    i: u32,
    j: u32,
    w: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> linear: array<f32>;
@group(0) @binding(2) var<storage, read> terms: array<Term>;
@group(0) @binding(3) var<storage, read_write> cost: array<f32>;

fn sigma(k: u32, i: u32) -> f32 {
    let b = f32((k >> i) & 1u);
    if (P.mode == 1u) {
        return b;
    }
    return 2.0 * b - 1.0;
}

@compute @workgroup_size(256)
fn cost_diagonal(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let k = flat_index(wid, nwg, lid);
    if (k >= num_states()) {
        return;
    }
    let g = global_index(k);
    var e = 0.0;
    for (var i = 0u; i < P.n; i++) {
        e += linear[i] * sigma(g, i);
    }
    for (var t = 0u; t < P.count; t++) {
        let term = terms[t];
        e += term.w * sigma(g, term.i) * sigma(g, term.j);
    }
    cost[k] = e;
}
