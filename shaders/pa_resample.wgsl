// Population annealing on the GPU: systematic resampling of the population with weights
// exp(-dbeta (E_i - E_min)) (one workgroup), then a copy of the parents' words into the
// other state buffer. One uniform draw per step: pcg4d(0, step, 0xfffffffe, key).

@group(1) @binding(0) var<storage, read_write> words: array<i32>;
@group(1) @binding(1) var<storage, read_write> alt: array<i32>;

var<workgroup> part: array<f32, 256>;

@compute @workgroup_size(256)
fn pa_resample(@builtin(local_invocation_index) lid: u32) {
    let count = P.num_replicas;
    // Lowest energy.
    var m = 3.0e38;
    for (var i = lid; i < count; i += 256u) {
        m = min(m, bitcast<f32>(aux[P.en_off + i]));
    }
    part[lid] = m;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if lid < s {
            part[lid] = min(part[lid], part[lid + s]);
        }
        workgroupBarrier();
    }
    let emin = part[0];
    workgroupBarrier();
    // Inclusive prefix sums of the weights over contiguous chunks, then across chunks.
    let chunk = (count + 255u) / 256u;
    let lo = min(lid * chunk, count);
    let hi = min(lo + chunk, count);
    var acc = 0.0;
    for (var i = lo; i < hi; i++) {
        acc += exp(-P.dbeta * (bitcast<f32>(aux[P.en_off + i]) - emin));
        aux[P.pre_off + i] = bitcast<u32>(acc);
    }
    part[lid] = acc;
    workgroupBarrier();
    if lid == 0u {
        var run = 0.0;
        for (var k = 0u; k < 256u; k++) {
            let x = part[k];
            part[k] = run;
            run += x;
        }
    }
    workgroupBarrier();
    let shift = part[lid];
    for (var i = lo; i < hi; i++) {
        aux[P.pre_off + i] = bitcast<u32>(bitcast<f32>(aux[P.pre_off + i]) + shift);
    }
    storageBarrier();
    workgroupBarrier();
    let total = bitcast<f32>(aux[P.pre_off + count - 1u]);
    let u = f32(pcg4d(vec4<u32>(0u, P.round, 0xfffffffeu, P.key)).x >> 8u) * (1.0 / 16777216.0);
    for (var j = lid; j < count; j += 256u) {
        let pos = (f32(j) + u) / f32(count) * total;
        // Smallest i with prefix[i] > pos.
        var lo_i = 0u;
        var hi_i = count - 1u;
        while lo_i < hi_i {
            let mid = (lo_i + hi_i) / 2u;
            if bitcast<f32>(aux[P.pre_off + mid]) > pos {
                hi_i = mid;
            } else {
                lo_i = mid + 1u;
            }
        }
        aux[P.par_off + j] = lo_i;
    }
}

// alt[d] = words[parent[d]] for every replica d.
@compute @workgroup_size(64)
fn pa_copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let d = gid.y;
    if d >= P.num_replicas {
        return;
    }
    let src = aux[P.par_off + d] * P.n;
    let dst = d * P.n;
    for (var i = gid.x; i < P.n; i += nwg.x * 64u) {
        alt[dst + i] = words[src + i];
    }
}
