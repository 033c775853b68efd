// Counter-based RNG shared by the annealing and constrained-annealing shader families
// (prepended to their common files by src/gpu/shaders.rs). PCG4D (Jarzynski & Olano 2020);
// CPU twin: gpu::anneal::rng::pcg4d.
fn pcg4d(a: vec4<u32>) -> vec4<u32> {
    var v = a * 1664525u + 1013904223u;
    v.x += v.y * v.w;
    v.y += v.z * v.x;
    v.z += v.x * v.y;
    v.w += v.y * v.z;
    v = v ^ (v >> vec4<u32>(16u));
    v.x += v.y * v.w;
    v.y += v.z * v.x;
    v.z += v.x * v.y;
    v.w += v.y * v.z;
    return v;
}

