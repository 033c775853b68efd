//! Planted instances: Ising models whose ground-state energy is known exactly by
//! construction, so solvers can be checked at sizes no exact method reaches.
//!
//! Both constructions write the Hamiltonian as a sum of small terms `H = sum_t H_t` that a
//! hidden state `g` minimises one by one. Then `H(s) = sum_t H_t(s) >= sum_t min H_t =
//! H(g)` for every `s`, so `H(g)` is the ground-state energy (a proof, not an estimate;
//! other ground states may exist). The hidden state is scrambled by a random gauge
//! transformation `J_ij -> J_ij g_i g_j`, which maps the all-up state to `g` and leaves the
//! spectrum unchanged, so no solver can read it off the signs of the couplings.
//!
//! - [`planted_ferro`]: a ferromagnet (`J_ij = -|w_ij|`) on a random regular graph, gauged:
//!   every term is minimised at once. Easy for any local search; a large-scale sanity check.
//! - [`tile_planted_2d`]: tile planting on a periodic square lattice (the construction of
//!   Hamze, Perera, Katzgraber et al., "From near to eternity: spin-glass planting, tiling
//!   puzzles, and constraint-satisfaction problems", Phys. Rev. E 97, 043303 (2018)). The
//!   plaquettes of one checkerboard colour cover every lattice edge exactly once; each gets
//!   a *frustrated* 4-cycle of couplings whose all-up state is a ground state of that
//!   plaquette. Frustration makes these instances glassy and hard for local search, yet the
//!   ground energy is the sum of the plaquette minima.
//!
//! Conventions: energies are of the Ising model `H(s) = sum_{i<j} J_ij s_i s_j` (no fields,
//! no offset), i.e. of the G-set reading of the instance (`cut = (W - H) / 2`).

use super::{GenError, invalid};
use crate::io::{Format, Problem};
use crate::model::{Vartype, spins_as};
use crate::rng::Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A generated instance with its exact ground-state energy and one ground state.
#[derive(Clone, Debug)]
pub struct Planted {
    /// The instance (an Ising model read as MaxCut: `J_ij = w_ij`, no fields).
    pub problem: Problem,
    /// Exact ground-state energy of `problem.model`.
    pub ground_energy: f64,
    /// A ground state, spins ±1, variable 0 first.
    pub ground_state: Vec<i8>,
    /// Family name (`planted-ferro`, `tile-2d`).
    pub kind: String,
    /// Generator parameters, for the sidecar.
    pub params: serde_json::Value,
}

/// What a `FILE.planted.json` sidecar holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlantedInfo {
    /// Family name (`planted-ferro`, `tile-2d`).
    pub kind: String,
    /// Exact ground-state energy of the model as qam reads the file.
    pub ground_energy: f64,
    /// Vartype of `ground_state` (that of the model as read from the file: BINARY for
    /// `.qubo`, SPIN for G-set).
    pub vartype: Vartype,
    /// A ground state in `vartype`, variable 0 first.
    pub ground_state: Vec<i8>,
    /// Why `ground_energy` is the minimum.
    pub proof: String,
    /// Generator parameters (size, seed, class probabilities).
    pub params: serde_json::Value,
}

/// The sidecar path of a model file: `FILE.planted.json`.
pub fn sidecar_path(model_path: &Path) -> PathBuf {
    let mut s = model_path.as_os_str().to_owned();
    s.push(".planted.json");
    PathBuf::from(s)
}

impl Planted {
    /// The sidecar content for a model file written in `format` (the vartype of the
    /// ground state follows what the format reads back as).
    pub fn info(&self, format: Format) -> PlantedInfo {
        let vartype = match format {
            Format::Qbsolv | Format::Bqp => Vartype::Binary,
            Format::Gset => Vartype::Spin,
            Format::MatrixMarket | Format::Json => self.problem.model.vartype(),
        };
        PlantedInfo {
            kind: self.kind.clone(),
            ground_energy: self.ground_energy,
            vartype,
            ground_state: spins_as(vartype, &self.ground_state),
            proof: "H = sum of terms each minimised by the planted state, so H(planted) is a lower bound that is \
                    attained"
                .into(),
            params: self.params.clone(),
        }
    }

    /// Writes `FILE.planted.json` next to `model_path` (written in `format`); returns its path.
    pub fn write_sidecar(&self, model_path: &Path, format: Format) -> Result<PathBuf, GenError> {
        let path = sidecar_path(model_path);
        let text = serde_json::to_string(&self.info(format)).map_err(|e| GenError::Sidecar {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
        crate::io::write_atomic(&path, |w| w.write_all(text.as_bytes())).map_err(|e| GenError::Sidecar {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
        Ok(path)
    }
}

/// Reads the sidecar of `model_path` if there is one.
pub fn read_sidecar(model_path: &Path) -> Result<Option<PlantedInfo>, GenError> {
    let path = sidecar_path(model_path);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(GenError::Sidecar {
                path: path.display().to_string(),
                msg: e.to_string(),
            });
        }
    };
    serde_json::from_str(&text).map(Some).map_err(|e| GenError::Sidecar {
        path: path.display().to_string(),
        msg: e.to_string(),
    })
}

/// Gauges `edges` with random signs `g` drawn from `rng` (`w_ij -> w_ij g_i g_j`) and
/// returns `g`, the image of the all-up state.
pub(crate) fn gauge(n: usize, edges: &mut [(u32, u32, f64)], rng: &mut Rng) -> Vec<i8> {
    let g = rng.spins(n);
    for e in edges.iter_mut() {
        e.2 *= (g[e.0 as usize] * g[e.1 as usize]) as f64;
    }
    g
}

/// A gauge-transformed ferromagnet on a random `degree`-regular graph with coupling
/// magnitudes 1 or 2 (equally likely). Ground energy `-sum |J_ij|`.
pub fn planted_ferro(n: usize, degree: usize, seed: u64) -> Result<Planted, GenError> {
    let mut rng = Rng::new(seed);
    let pairs = super::graphs::regular_pairs(n, degree, &mut rng)?;
    let mut edges: Vec<(u32, u32, f64)> = pairs
        .iter()
        .map(|&(a, b)| (a, b, -(1.0 + rng.below(2) as f64)))
        .collect();
    drop(pairs);
    let ground_energy: f64 = edges.iter().map(|e| e.2).sum();
    let g = gauge(n, &mut edges, &mut rng);
    let problem = Problem::maxcut(n, &edges)?;
    Ok(Planted {
        problem,
        ground_energy,
        ground_state: g,
        kind: "planted-ferro".into(),
        params: serde_json::json!({"n": n, "degree": degree, "seed": seed}),
    })
}

/// Probabilities of the three plaquette classes of [`tile_planted_2d`] (normalised when
/// used). Class `k` is a 4-cycle with one antiferromagnetic coupling `+1` and three
/// ferromagnetic ones: C1 `(-1, -1, -1)`, C2 `(-2, -1, -1)`, C3 `(-2, -2, -1)`. In each,
/// the antiferromagnetic bond is (one of) the weakest, so the all-up state, which breaks
/// only that bond, is a plaquette ground state; its energy is -2, -3 or -4.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TileClasses(pub [f64; 3]);

impl Default for TileClasses {
    /// `(0.4, 0.3, 0.3)`: every plaquette frustrated, a mix of degenerate (C1) and
    /// non-degenerate (C2, C3) ground states.
    fn default() -> Self {
        TileClasses([0.4, 0.3, 0.3])
    }
}

/// Couplings (in `H = sum J s s`) of the three plaquette classes, antiferromagnetic last.
const CLASSES: [[f64; 4]; 3] = [
    [-1.0, -1.0, -1.0, 1.0],
    [-2.0, -1.0, -1.0, 1.0],
    [-2.0, -2.0, -1.0, 1.0],
];

/// Tile-planted spin glass on a periodic `rows x cols` square lattice (both even, at
/// least 4). Spin `(r, c)` is variable `r * cols + c`. The plaquettes with `r + c` even
/// cover each edge once; each draws a class from `classes` and a random placement of its
/// four couplings around the cycle. Ground energy: the sum of the plaquette minima.
pub fn tile_planted_2d(rows: usize, cols: usize, classes: TileClasses, seed: u64) -> Result<Planted, GenError> {
    if rows < 4 || cols < 4 || !rows.is_multiple_of(2) || !cols.is_multiple_of(2) {
        return Err(invalid(
            "n",
            format!("tile planting needs an even lattice of at least 4 x 4, not {rows} x {cols}"),
        ));
    }
    let n = rows
        .checked_mul(cols)
        .filter(|&n| n <= u32::MAX as usize)
        .ok_or_else(|| invalid("n", format!("{rows} x {cols} spins exceed 2^32 - 1")))?;
    let p = classes.0;
    if p.iter().any(|x| !x.is_finite() || *x < 0.0) || p.iter().sum::<f64>() <= 0.0 {
        return Err(invalid(
            "tile-classes",
            format!("{p:?} must be three non-negative numbers with a positive sum"),
        ));
    }
    let total: f64 = p.iter().sum();
    let cum = [p[0] / total, (p[0] + p[1]) / total];
    let mut rng = Rng::new(seed);
    let id = |r: usize, c: usize| ((r % rows) * cols + (c % cols)) as u32;
    let mut edges: Vec<(u32, u32, f64)> = Vec::with_capacity(2 * n);
    let mut ground_energy = 0.0;
    for r in 0..rows {
        for c in (r % 2..cols).step_by(2) {
            let u = rng.next_f64();
            let k = if u < cum[0] {
                0
            } else if u < cum[1] {
                1
            } else {
                2
            };
            let mut w = CLASSES[k];
            rng.shuffle(&mut w);
            ground_energy += w.iter().sum::<f64>();
            let (a, b, d, e) = (id(r, c), id(r, c + 1), id(r + 1, c + 1), id(r + 1, c));
            edges.push((a, b, w[0]));
            edges.push((b, d, w[1]));
            edges.push((e, d, w[2]));
            edges.push((a, e, w[3]));
        }
    }
    let g = gauge(n, &mut edges, &mut rng);
    let problem = Problem::maxcut(n, &edges)?;
    Ok(Planted {
        problem,
        ground_energy,
        ground_state: g,
        kind: "tile-2d".into(),
        params: serde_json::json!({"rows": rows, "cols": cols, "classes": p, "seed": seed}),
    })
}

/// The most square factorisation `rows x cols = n` with both even and at least 4.
pub fn lattice_shape(n: usize) -> Option<(usize, usize)> {
    let root = (n as f64).sqrt() as usize + 1;
    (4..=root)
        .rev()
        .filter(|r| r % 2 == 0 && n.is_multiple_of(*r))
        .map(|r| (r, n / r))
        .find(|&(r, c)| c >= 4 && c % 2 == 0 && r <= c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lattice_edge_once() {
        let p = tile_planted_2d(6, 8, TileClasses::default(), 1).unwrap();
        let c = p.problem.model.couplings();
        assert_eq!(c.num_interactions(), 2 * 48);
        assert!((0..48).all(|i| c.degree(i) == 4));
    }

    #[test]
    fn shapes() {
        assert_eq!(lattice_shape(1_000_000), Some((1000, 1000)));
        assert_eq!(lattice_shape(48), Some((6, 8)));
        assert_eq!(lattice_shape(7), None);
    }
}
