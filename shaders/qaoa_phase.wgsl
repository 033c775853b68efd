// Phase step psi_k <- e^{-i gamma c_k} psi_k (global phase e^{-i gamma offset} dropped).
// mode 0: the phase is looked up in a table of the distinct levels (built on the CPU in
// f64, one block of entries per layer); mode 1: from the angle gamma*step*v_k reduced to
// [-pi, pi] in f32 before cos/sin (f64 cos/sin are wrong on some drivers, e.g. lavapipe).
// init = 1 writes amp * phase, i.e. applies the layer to |+>^n without reading the state.
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> cost: array<f32>;
@group(0) @binding(3) var<storage, read_write> state: array<vec2<f32>>;

@compute @workgroup_size(256)
fn phase(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let k = flat_index(wid, nwg, lid);
    if (k >= num_states()) {
        return;
    }
    let v = cost[k];
    var ph: vec2<f32>;
    if (P.mode == 0u) {
        ph = table[P.offset + u32(round(v - P.vmin))];
    } else {
        var t = P.g * v;
        t = t - 6.2831855 * round(t * 0.15915494);
        ph = vec2<f32>(cos(t), -sin(t));
    }
    if (P.init == 1u) {
        state[k] = P.amp * ph;
    } else {
        state[k] = cmul(state[k], ph);
    }
}
