// Reductions in two stages: each of up to 1024 workgroups strides over the states of a
// chunk and writes one partial (vec4) to `partials` (chunk c's at c * num_workgroups);
// then one workgroup sums the P.count partials of every chunk into result[0]. Only
// result[0] (16 bytes) is read back per evaluation.
//   expectation: (sum p (v - vmin), sum p, sum p [v <= gthr], 0), p = |psi_k|^2
//   minmax:      (min v, max v, 0, 0)
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> cost: array<f32>;
@group(0) @binding(2) var<storage, read> state: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> result: array<vec4<f32>>;

var<workgroup> red: array<vec4<f32>, 256>;

fn tree_sum(lid: u32) {
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red[lid] += red[lid + s];
        }
        workgroupBarrier();
    }
}

fn tree_minmax(lid: u32) {
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            let a = red[lid];
            let b = red[lid + s];
            red[lid] = vec4<f32>(min(a.x, b.x), max(a.y, b.y), 0.0, 0.0);
        }
        workgroupBarrier();
    }
}

@compute @workgroup_size(256)
fn expectation(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    var acc = vec4<f32>(0.0);
    let total = num_states();
    for (var k = wid.x * WG + lid; k < total; k += nwg.x * WG) {
        let a = state[k];
        let p = dot(a, a);
        let v = cost[k];
        acc += vec4<f32>(p * (v - P.vmin), p, select(0.0, p, v <= P.gthr), 0.0);
    }
    red[lid] = acc;
    workgroupBarrier();
    tree_sum(lid);
    if (lid == 0u) {
        partials[P.chunk * nwg.x + wid.x] = red[0];
    }
}

@compute @workgroup_size(256)
fn minmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let total = num_states();
    var lo = cost[0];
    var hi = cost[0];
    for (var k = wid.x * WG + lid; k < total; k += nwg.x * WG) {
        lo = min(lo, cost[k]);
        hi = max(hi, cost[k]);
    }
    red[lid] = vec4<f32>(lo, hi, 0.0, 0.0);
    workgroupBarrier();
    tree_minmax(lid);
    if (lid == 0u) {
        partials[P.chunk * nwg.x + wid.x] = red[0];
    }
}

@compute @workgroup_size(256)
fn finish_sum(@builtin(local_invocation_index) lid: u32) {
    var acc = vec4<f32>(0.0);
    for (var i = lid; i < P.count; i += WG) {
        acc += partials[i];
    }
    red[lid] = acc;
    workgroupBarrier();
    tree_sum(lid);
    if (lid == 0u) {
        result[0] = red[0];
    }
}

@compute @workgroup_size(256)
fn finish_minmax(@builtin(local_invocation_index) lid: u32) {
    var acc = partials[0];
    for (var i = lid; i < P.count; i += WG) {
        let b = partials[i];
        acc = vec4<f32>(min(acc.x, b.x), max(acc.y, b.y), 0.0, 0.0);
    }
    red[lid] = acc;
    workgroupBarrier();
    tree_minmax(lid);
    if (lid == 0u) {
        result[0] = red[0];
    }
}
