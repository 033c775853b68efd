//! Helpers shared by the integration tests: random models, brute force, data paths.
#![allow(dead_code)]

use qam::gpu::GpuContext;
use qam::model::{Ising, Model, Qubo, Vartype};
use qam::rng::Rng;
use qam::solvers::{ExactSolver, Solver};
use std::path::PathBuf;
use std::sync::Arc;

/// How random weights are drawn.
#[derive(Clone, Copy, Debug)]
pub enum W {
    /// Integers uniform in `[-k, k]` (exact arithmetic, many ties).
    Int(i64),
    /// Full-precision floats in `[-10, 10)`.
    Float,
    /// Floats over many orders of magnitude (1e-9 .. 1e12), both signs: stresses number
    /// formatting in the writers.
    Wild,
}

impl W {
    pub fn draw(self, rng: &mut Rng) -> f64 {
        match self {
            W::Int(k) => rng.below(2 * k as u64 + 1) as f64 - k as f64,
            W::Float => (rng.next_f64() - 0.5) * 20.0,
            W::Wild => {
                let mag = 10f64.powf(rng.next_f64() * 21.0 - 9.0);
                let v = mag * (1.0 + rng.next_f64());
                if rng.bit() { v } else { -v }
            }
        }
    }
}

/// `(i, j, w)` entries of a random model over `n` variables: each diagonal term with
/// probability `p_lin`, each pair with probability `density` (zeros dropped).
pub fn random_entries(rng: &mut Rng, n: usize, density: f64, p_lin: f64, w: W) -> Vec<(u32, u32, f64)> {
    let mut e = Vec::new();
    for i in 0..n as u32 {
        if rng.next_f64() < p_lin {
            let v = w.draw(rng);
            if v != 0.0 {
                e.push((i, i, v));
            }
        }
        for j in i + 1..n as u32 {
            if rng.next_f64() < density {
                let v = w.draw(rng);
                if v != 0.0 {
                    e.push((i, j, v));
                }
            }
        }
    }
    e
}

/// A random QUBO.
pub fn random_qubo(rng: &mut Rng, n: usize, density: f64, w: W, offset: f64) -> Qubo {
    Qubo::from_entries(n, &random_entries(rng, n, density, 0.8, w), offset).unwrap()
}

/// A random Ising model.
pub fn random_ising(rng: &mut Rng, n: usize, density: f64, w: W, offset: f64) -> Ising {
    Ising::from_entries(n, &random_entries(rng, n, density, 0.8, w), offset).unwrap()
}

/// A random model of the given vartype.
pub fn random_model(rng: &mut Rng, n: usize, vartype: Vartype, density: f64, w: W, offset: f64) -> Model {
    match vartype {
        Vartype::Binary => Model::Qubo(random_qubo(rng, n, density, w, offset)),
        Vartype::Spin => Model::Ising(random_ising(rng, n, density, w, offset)),
    }
}

/// A uniformly random state of the given vartype.
pub fn random_state(rng: &mut Rng, n: usize, vartype: Vartype) -> Vec<i8> {
    let s = rng.spins(n);
    qam::model::spins_as(vartype, &s)
}

/// State number `k` of `2^n`: variable `i` is set (1 / +1) when bit `i` of `k` is 1.
pub fn state_of(k: u64, n: usize, vartype: Vartype) -> Vec<i8> {
    (0..n)
        .map(|i| match (k >> i & 1 == 1, vartype) {
            (true, _) => 1,
            (false, Vartype::Binary) => 0,
            (false, Vartype::Spin) => -1,
        })
        .collect()
}

/// Naive enumeration with `Model::energy`: the minimum energy and every state within
/// `tol` of it (in enumeration order).
pub fn brute_force(model: &Model, tol: f64) -> (f64, Vec<Vec<i8>>) {
    let n = model.num_variables();
    assert!(n <= 20, "brute force is for small models");
    let vt = model.vartype();
    let energies: Vec<f64> = (0..1u64 << n).map(|k| model.energy(&state_of(k, n, vt))).collect();
    let min = energies.iter().copied().fold(f64::INFINITY, f64::min);
    let ground = (0..1u64 << n)
        .filter(|&k| energies[k as usize] <= min + tol)
        .map(|k| state_of(k, n, vt))
        .collect();
    (min, ground)
}

/// `|a - b| <= tol * max(1, |a|, |b|)`.
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * 1f64.max(a.abs()).max(b.abs())
}

/// The committed test files.
pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// The shared benchmark data (`QAM_DATA`, default `../shared/data` from the repository
/// root). Only `#[ignore]`d tests use it; they fail with a clear message when it is absent.
pub fn shared(rel: &str) -> PathBuf {
    let root = std::env::var_os("QAM_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let p = root.join(rel);
    assert!(
        p.exists(),
        "{} not found: set QAM_DATA to the shared benchmark data folder",
        p.display()
    );
    p
}

/// `QAM_REQUIRE_GPU` is set to a true value (the test command sets it): a missing GPU
/// fails the GPU tests instead of skipping them. (The library reads no environment.)
pub fn gpu_required() -> bool {
    std::env::var("QAM_REQUIRE_GPU").is_ok_and(|v| qam::gpu::env_flag(&v))
}

/// The shared device, or `None` (skip) when there is none and QAM_REQUIRE_GPU is unset.
pub fn gpu() -> Option<Arc<GpuContext>> {
    match GpuContext::shared() {
        Ok(c) => Some(c),
        Err(e) if gpu_required() => panic!("QAM_REQUIRE_GPU is set but: {e}"),
        Err(e) => {
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

/// A random QUBO over `n` variables: each pair coupled with probability `p`, integer
/// weights in [-5, 5] (divided by `denom`, so `denom = 7` gives non-dyadic weights).
pub fn seeded_qubo(n: usize, p: f64, denom: f64, seed: u64) -> Model {
    let mut rng = Rng::new(seed);
    let mut e = Vec::new();
    for i in 0..n as u32 {
        e.push((i, i, (rng.below(11) as f64 - 5.0) / denom));
        for j in i + 1..n as u32 {
            if rng.next_f64() < p {
                e.push((i, j, (rng.below(11) as f64 - 5.0) / denom));
            }
        }
    }
    Model::Qubo(Qubo::from_entries(n, &e, 1.5).unwrap())
}

/// Exact ground-state energy.
pub fn ground(model: &Model) -> f64 {
    ExactSolver::default().solve(model).unwrap().first().unwrap().energy
}
