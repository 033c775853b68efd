// Workgroup-per-replica sequential Metropolis sweeps on a dense coupling matrix (`jmat`,
// n x n fixed point). Variables are visited in order 0..n like the CPU solver; every
// invocation evaluates the same acceptance test (same counter-based random number), and an
// accepted flip is pushed to all n fields in parallel, one column per invocation. The flip
// of variable i itself is written one step later (by the owner of i, together with its
// field update), so nobody writes the word that everybody is reading: one barrier per
// variable.

// Template constants (the host rewrites these lines; see src/gpu/shaders.rs): words per
// replica in workgroup memory, invocations per workgroup.
const NMAX: u32 = 1024u;
const WGS: u32 = 64u;

@group(1) @binding(0) var<storage, read_write> words: array<i32>;

var<workgroup> st: array<i32, NMAX>;

@compute @workgroup_size(WGS)
fn sweep_wg_dense(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = wid.x;
    let n = P.n;
    let base = r * n;
    for (var i = lid; i < n; i += WGS) {
        st[i] = words[base + i];
    }
    workgroupBarrier();
    let rg = P.replica_base + r;
    for (var k = 0u; k < P.num_sweeps; k++) {
        let t = P.sweep0 + k;
        let beta_s = beta_of(r, t) * P.inv_scale;
        var prev_flip = false;
        var prev_toggle = 0;
        for (var i = 0u; i < n; i++) {
            let w = st[i];
            let flip = metropolis(flip_delta(w), beta_s, rand_bits(i, t, rg));
            let s_new = select(1, -1, (w & 1) == 1);
            if flip {
                let row = i * n;
                for (var j = lid; j < n; j += WGS) {
                    if j != i {
                        var d = neighbour_delta(jmat[row + j], s_new);
                        if prev_flip && j + 1u == i {
                            d += prev_toggle;
                        }
                        st[j] += d;
                    }
                }
            } else if prev_flip && lid == (i - 1u) % WGS {
                st[i - 1u] += prev_toggle;
            }
            prev_flip = flip;
            prev_toggle = s_new;
            workgroupBarrier();
        }
        if prev_flip && lid == (n - 1u) % WGS {
            st[n - 1u] += prev_toggle;
        }
        workgroupBarrier();
    }
    for (var i = lid; i < n; i += WGS) {
        words[base + i] = st[i];
    }
}
