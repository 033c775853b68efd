// Parallel tempering on the GPU: replica exchange between neighbouring temperatures, and
// best-state tracking per chain. Replica r sits at temperature slot aux[slot_off + r];
// aux[at_off + c * M + t] is the replica at slot t of chain c. Exchanges swap slots (not
// states). Energies come from the `energy` kernel.

@group(1) @binding(0) var<storage, read_write> words: array<i32>;
@group(1) @binding(3) var<storage, read_write> best: array<u32>;

fn energy_of(r: u32) -> f32 {
    return bitcast<f32>(aux[P.en_off + r]);
}

// One invocation per chain: pairs (t, t + 1) with t = round % 2, round % 2 + 2, ...
@compute @workgroup_size(64)
fn pt_swap(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    if c >= P.num_chains {
        return;
    }
    let m = P.num_temps;
    let row = P.at_off + c * m;
    for (var t = P.round % 2u; t + 1u < m; t += 2u) {
        let ra = aux[row + t];
        let rb = aux[row + t + 1u];
        let x = (betas[t] - betas[t + 1u]) * (energy_of(ra) - energy_of(rb));
        let bits = pcg4d(vec4<u32>(t, P.round, c, P.key ^ 0x9e3779b9u)).x;
        let u = f32(bits >> 8u) * (1.0 / 16777216.0);
        if x >= 0.0 || u < exp(x) {
            aux[row + t] = rb;
            aux[row + t + 1u] = ra;
            aux[P.slot_off + ra] = t + 1u;
            aux[P.slot_off + rb] = t;
            aux[P.acc_off + c * m + t] += 1u;
        }
    }
}

var<workgroup> chosen: u32;

// One workgroup per chain: if the chain's lowest current energy beats its best so far,
// record the energy and copy that replica's spins (1 = +1, 0 = -1) to best[c * n ..].
@compute @workgroup_size(256)
fn pt_best(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = wid.x;
    let m = P.num_temps;
    if lid == 0u {
        var br = 0xffffffffu;
        var be = bitcast<f32>(aux[P.be_off + c]);
        for (var t = 0u; t < m; t++) {
            let r = c * m + t;
            let e = energy_of(r);
            if e < be {
                be = e;
                br = r;
            }
        }
        if br != 0xffffffffu {
            aux[P.be_off + c] = bitcast<u32>(be);
        }
        chosen = br;
    }
    let r = workgroupUniformLoad(&chosen);
    if r != 0xffffffffu {
        for (var i = lid; i < P.n; i += 256u) {
            best[c * P.n + i] = u32(words[r * P.n + i] & 1);
        }
    }
}
