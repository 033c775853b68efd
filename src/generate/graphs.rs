//! Random graphs and QUBOs: Erdős–Rényi, torus, random regular, dense.

use super::{GenError, Weights, invalid};
use crate::io::Problem;
use crate::model::{Model, Qubo};
use crate::rng::Rng;

/// Erdős–Rényi graph `G(n, p)` as a MaxCut problem (G-set's random graphs are of this
/// kind). Sampled by geometric skipping (Batagelj–Brandes), O(n + m).
pub fn erdos_renyi(n: usize, p: f64, weights: Weights, seed: u64) -> Result<Problem, GenError> {
    if !(0.0..=1.0).contains(&p) {
        return Err(invalid("density", format!("{p} is not a probability")));
    }
    if n < 2 {
        return Err(invalid("n", "needs at least 2 vertices"));
    }
    let mut rng = Rng::new(seed);
    let mut edges = Vec::new();
    if p > 0.0 {
        // ln(1 - p), accurate for tiny p (where `(1.0 - p).ln()` rounds to 0 and the skip
        // length would become infinite).
        let lq = (-p).ln_1p();
        // Skips beyond the number of pairs end the sampling; capping them keeps `w` far
        // from overflowing.
        let max_skip = ((n as f64) * (n as f64)).min(4e18);
        let (mut v, mut w): (i64, i64) = (1, -1);
        let n = n as i64;
        while v < n {
            let r = 1.0 - rng.next_f64(); // (0, 1]
            let skip = if p >= 1.0 {
                0
            } else {
                (r.ln() / lq).floor().min(max_skip) as i64
            };
            w += 1 + skip;
            while w >= v && v < n {
                w -= v;
                v += 1;
            }
            if v < n {
                edges.push((w as u32, v as u32, weights.draw(&mut rng)));
            }
        }
    }
    Ok(Problem::maxcut(n, &edges)?)
}

/// 2D periodic grid (torus) of `rows x cols` spins with nearest-neighbour couplings, as a
/// MaxCut problem (like G-set's toroidal graphs). `n` must factor as `rows * cols` with
/// both at least 3; the most square factorisation is used.
pub fn torus(n: usize, weights: Weights, seed: u64) -> Result<Problem, GenError> {
    let rows = (3..=((n as f64).sqrt() as usize)).rev().find(|r| n.is_multiple_of(*r));
    let Some(rows) = rows else {
        return Err(invalid(
            "n",
            format!("{n} is not rows x cols with both >= 3 (try a square such as 10000)"),
        ));
    };
    let cols = n / rows;
    let mut rng = Rng::new(seed);
    let mut edges = Vec::with_capacity(2 * n);
    for r in 0..rows {
        for c in 0..cols {
            let v = (r * cols + c) as u32;
            let right = (r * cols + (c + 1) % cols) as u32;
            let down = (((r + 1) % rows) * cols + c) as u32;
            edges.push((v, right, weights.draw(&mut rng)));
            edges.push((v, down, weights.draw(&mut rng)));
        }
    }
    Ok(Problem::maxcut(n, &edges)?)
}

/// Random `d`-regular simple graph on `n` vertices as a MaxCut problem (configuration
/// model: pair `n d` stubs at random, then remove self-loops and repeated edges by random
/// edge swaps). `n d` must be even and `d < n`.
pub fn regular(n: usize, d: usize, weights: Weights, seed: u64) -> Result<Problem, GenError> {
    let mut rng = Rng::new(seed);
    let pairs = regular_pairs(n, d, &mut rng)?;
    let edges: Vec<(u32, u32, f64)> = pairs.iter().map(|&(a, b)| (a, b, weights.draw(&mut rng))).collect();
    drop(pairs);
    Ok(Problem::maxcut(n, &edges)?)
}

/// The edges `(a, b)` (`a < b`) of a random simple `d`-regular graph on `n` vertices,
/// drawn from `rng` (configuration model with repair by random swaps).
pub(crate) fn regular_pairs(n: usize, d: usize, rng: &mut Rng) -> Result<Vec<(u32, u32)>, GenError> {
    if d == 0 || d >= n || (n * d) % 2 == 1 {
        return Err(invalid(
            "n",
            format!("no {d}-regular graph on {n} vertices (needs d < n and n*d even)"),
        ));
    }
    if n > u32::MAX as usize {
        return Err(invalid("n", format!("{n} vertices exceed 2^32 - 1")));
    }
    let mut stubs: Vec<u32> = (0..n as u32).flat_map(|v| std::iter::repeat_n(v, d)).collect();
    rng.shuffle(&mut stubs);
    let mut pairs: Vec<(u32, u32)> = stubs
        .chunks_exact(2)
        .map(|c| (c[0].min(c[1]), c[0].max(c[1])))
        .collect();
    drop(stubs);
    // Repair: swap an endpoint of each bad pair with a random other pair until simple.
    for _round in 0..1000 {
        let mut order: Vec<usize> = (0..pairs.len()).collect();
        order.sort_unstable_by_key(|&k| pairs[k]);
        let mut bad: Vec<usize> = Vec::new();
        for w in 0..order.len() {
            let (a, b) = pairs[order[w]];
            if a == b || (w > 0 && pairs[order[w - 1]] == (a, b)) {
                bad.push(order[w]);
            }
        }
        if bad.is_empty() {
            return Ok(pairs);
        }
        for k in bad {
            let other = rng.below(pairs.len() as u64) as usize;
            let ((a, b), (c, e)) = (pairs[k], pairs[other]);
            pairs[k] = (a.min(c), a.max(c));
            pairs[other] = (b.min(e), b.max(e));
        }
    }
    Err(invalid(
        "n",
        format!("could not build a simple {d}-regular graph on {n} vertices"),
    ))
}

/// Random QUBO (like the OR-Library bqp sets): each diagonal entry and each pair with
/// probability `density` gets an integer weight uniform in `[-100, 100]`.
pub fn dense_qubo(n: usize, density: f64, seed: u64) -> Result<Problem, GenError> {
    if !(0.0..=1.0).contains(&density) {
        return Err(invalid("density", format!("{density} is not a probability")));
    }
    if n > 100_000 {
        return Err(invalid(
            "n",
            format!("{n} is too large for a dense QUBO (at most 100000)"),
        ));
    }
    let mut rng = Rng::new(seed);
    let mut entries = Vec::new();
    for i in 0..n as u32 {
        for j in i..n as u32 {
            if rng.next_f64() < density {
                let w = rng.below(201) as f64 - 100.0;
                if w != 0.0 {
                    entries.push((i, j, w));
                }
            }
        }
    }
    Ok(Problem::minimize(Model::Qubo(Qubo::from_entries(n, &entries, 0.0)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_is_simple_and_regular() {
        let p = regular(1000, 3, Weights::One, 4).unwrap();
        let c = p.model.couplings();
        assert!((0..1000).all(|i| c.degree(i) == 3));
        assert_eq!(c.num_interactions(), 1500);
    }

    #[test]
    fn erdos_renyi_density() {
        let p = erdos_renyi(2000, 0.01, Weights::One, 1).unwrap();
        let m = p.model.num_interactions() as f64;
        let expected = 0.01 * 2000.0 * 1999.0 / 2.0;
        assert!((m - expected).abs() < 5.0 * expected.sqrt(), "{m} vs {expected}");
    }

    #[test]
    fn torus_degrees() {
        let p = torus(100, Weights::PlusMinusOne, 2).unwrap();
        assert!((0..100).all(|i| p.model.couplings().degree(i) == 4));
        assert!(torus(7, Weights::One, 0).is_err());
    }
}
