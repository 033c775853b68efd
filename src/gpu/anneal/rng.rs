//! CPU twin of the kernels' counter-based random numbers (pcg4d, Jarzynski & Olano,
//! "Hash Functions for GPU Rendering", JCGT 2020), used to derive the seed key and to
//! check the shader's generator.

/// pcg4d of a 4-vector of counters; the kernels use `(variable, sweep, replica, key)`.
pub fn pcg4d(a: [u32; 4]) -> [u32; 4] {
    let mut v = a.map(|x| x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223));
    let mix = |v: &mut [u32; 4]| {
        v[0] = v[0].wrapping_add(v[1].wrapping_mul(v[3]));
        v[1] = v[1].wrapping_add(v[2].wrapping_mul(v[0]));
        v[2] = v[2].wrapping_add(v[0].wrapping_mul(v[1]));
        v[3] = v[3].wrapping_add(v[1].wrapping_mul(v[2]));
    };
    mix(&mut v);
    v = v.map(|x| x ^ (x >> 16));
    mix(&mut v);
    v
}

/// PCG output hash of one 32-bit value (RXS-M-XS).
pub fn pcg_hash(x: u32) -> u32 {
    let state = x.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// The 32-bit key the kernels mix into every draw, from a 64-bit seed.
pub fn seed_key(seed: u64) -> u32 {
    pcg_hash(seed as u32 ^ pcg_hash((seed >> 32) as u32 ^ 0x2545_f491))
}

/// The initial spin the `init` kernels give variable `v` of replica `r`.
pub fn init_spin(v: u32, r: u32, key: u32) -> i8 {
    if pcg4d([v, u32::MAX, r, key])[0] & 1 == 1 {
        1
    } else {
        -1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ() {
        assert_ne!(seed_key(0), seed_key(1));
        assert_ne!(seed_key(1), seed_key(1 << 32));
    }

    #[test]
    fn roughly_uniform_bits() {
        let ones: u32 = (0..4096u32)
            .map(|v| pcg4d([v, 3, 5, seed_key(9)])[0].count_ones())
            .sum();
        let mean = ones as f64 / 4096.0;
        assert!((mean - 16.0).abs() < 0.3, "{mean}");
    }
}
