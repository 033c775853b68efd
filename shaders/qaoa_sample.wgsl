// Sampling by cumulative sums, in two levels: block_sums writes the probability of each
// block of P.offset consecutive states (global block numbers: chunk c's blocks follow
// chunk c - 1's); the CPU turns them into a running total, draws one uniform number per
// shot and finds its block; pick, dispatched once per chunk, then scans the running sum
// of the blocks of its chunk to the state where it passes the shot's target.
struct Shot {
    block: u32,
    goal: f32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> state: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> sums: array<f32>;
@group(0) @binding(3) var<storage, read> shots: array<Shot>;
@group(0) @binding(4) var<storage, read_write> picks: array<u32>;

var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn block_sums(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let b = wid.x + wid.y * nwg.x;
    let bs = P.offset;
    if (b * bs >= num_states()) {
        return;
    }
    var acc = 0.0;
    for (var j = lid; j < bs; j += WG) {
        let a = state[b * bs + j];
        acc += dot(a, a);
    }
    red[lid] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red[lid] += red[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        sums[P.chunk * (num_states() / bs) + b] = red[0];
    }
}

@compute @workgroup_size(256)
fn pick(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let s = flat_index(wid, nwg, lid);
    if (s >= P.count) {
        return;
    }
    let shot = shots[s];
    let bs = P.offset;
    let per_chunk = num_states() / bs;
    if (shot.block / per_chunk != P.chunk) {
        return;
    }
    let first = (shot.block % per_chunk) * bs;
    var acc = 0.0;
    var last = first;
    for (var j = 0u; j < bs; j++) {
        let a = state[first + j];
        let p = dot(a, a);
        if (p > 0.0) {
            last = first + j;
        }
        acc += p;
        if (acc > shot.goal) {
            picks[s] = global_index(first + j);
            return;
        }
    }
    picks[s] = global_index(last);
}
