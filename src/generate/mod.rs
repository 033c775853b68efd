//! Instance generators (`qam gen`), reproducible from a seed.
//!
//! - `graphs`: random MaxCut graphs and QUBOs (Erdős–Rényi, torus, random regular, dense).
//! - `planted`: instances with a ground-state energy known by construction (a
//!   gauge-transformed ferromagnet, 2D tile planting), for checking solvers at scales where
//!   no exact solver reaches; the ground energy and a ground state go to a JSON sidecar
//!   `FILE.planted.json`.
//! - `frustrated`: frustrated-loop planted instances (Hen et al. 2015) on periodic 2D/3D
//!   lattices, glassy and hard for annealing, with the same sidecar.

mod frustrated;
mod graphs;
mod planted;

pub use frustrated::{frustrated_loops, lattice_side};
pub use graphs::{dense_qubo, erdos_renyi, regular, torus};
pub use planted::{
    Planted, PlantedInfo, TileClasses, lattice_shape, planted_ferro, read_sidecar, sidecar_path, tile_planted_2d,
};

use crate::model::ModelError;
use crate::rng::Rng;

/// Errors from the generators (bad sizes or parameters).
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// A parameter is invalid; names it.
    #[error("invalid `{name}`: {reason}")]
    Invalid {
        /// Parameter name.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// The model could not be built.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A sidecar file could not be written or read.
    #[error("{path}: {msg}")]
    Sidecar {
        /// Sidecar path.
        path: String,
        /// What went wrong.
        msg: String,
    },
}

pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> GenError {
    GenError::Invalid {
        name,
        reason: reason.into(),
    }
}

/// Edge weights of generated graphs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weights {
    /// Every edge weight 1 (like G1–G5).
    One,
    /// Weights ±1 with equal probability (like G6–G10 and the toroidal graphs).
    PlusMinusOne,
}

crate::names::named_enum!(Weights, "weights" {
    One = "one": "All edge weights 1",
    PlusMinusOne = "pm1": "Weights ±1",
});

impl Weights {
    pub(crate) fn draw(self, rng: &mut Rng) -> f64 {
        match self {
            Weights::One => 1.0,
            Weights::PlusMinusOne => {
                if rng.bit() {
                    1.0
                } else {
                    -1.0
                }
            }
        }
    }
}
