// Workgroup-per-replica Metropolis sweeps for problems whose words fit in workgroup
// memory (template constants NMAX and WGS are set by the host; see src/gpu/shaders.rs). Variables are updated one colour class at a
// time: no two variables of a class are coupled, so a class is updated in parallel by the
// workgroup's invocations; an accepted flip pushes its field change to the neighbours with
// integer atomics (exact, order-independent). A dispatch runs `num_sweeps` sweeps.

// Template constants (the host rewrites these lines): words per replica in workgroup
// memory, invocations per workgroup.
const NMAX: u32 = 1024u;
const WGS: u32 = 64u;

@group(1) @binding(0) var<storage, read_write> words: array<i32>;

var<workgroup> st: array<atomic<i32>, NMAX>;

@compute @workgroup_size(WGS)
fn sweep_wg_sparse(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = wid.x;
    let n = P.n;
    let base = r * n;
    for (var i = lid; i < n; i += WGS) {
        atomicStore(&st[i], words[base + i]);
    }
    workgroupBarrier();
    let rg = P.replica_base + r;
    for (var k = 0u; k < P.num_sweeps; k++) {
        let t = P.sweep0 + k;
        let beta_s = beta_of(r, t) * P.inv_scale;
        for (var c = 0u; c < P.num_colors; c++) {
            let a = prob[P.cp_off + c];
            let b = prob[P.cp_off + c + 1u];
            for (var idx = a + lid; idx < b; idx += WGS) {
                let v = prob[P.cv_off + idx];
                let w = atomicLoad(&st[v]);
                if metropolis(flip_delta(w), beta_s, rand_bits(v, t, rg)) {
                    let s_new = select(1, -1, (w & 1) == 1);
                    atomicAdd(&st[v], s_new);
                    let e1 = prob[P.rp_off + v + 1u];
                    for (var e = prob[P.rp_off + v]; e < e1; e++) {
                        let u = prob[P.adj_off + 2u * e];
                        let j = bitcast<i32>(prob[P.adj_off + 2u * e + 1u]);
                        atomicAdd(&st[u], neighbour_delta(j, s_new));
                    }
                }
            }
            workgroupBarrier();
        }
    }
    for (var i = lid; i < n; i += WGS) {
        words[base + i] = atomicLoad(&st[i]);
    }
}
