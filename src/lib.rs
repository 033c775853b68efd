//! # qam
//!
//! Fast QUBO / Ising solvers on CPUs and GPUs, with the file formats the field uses.
//!
//! ```
//! use qam::model::{Model, Qubo};
//! use qam::solvers::{SaParams, SaSolver, Solver};
//!
//! // minimise -x0 - x1 + 2 x0 x1
//! let q = Qubo::from_entries(2, &[(0, 0, -1.0), (1, 1, -1.0), (0, 1, 2.0)], 0.0).unwrap();
//! let sa = SaSolver::new(SaParams { num_reads: 4, seed: 7, ..Default::default() });
//! let best = sa.solve(&Model::Qubo(q)).unwrap();
//! assert_eq!(best.first().unwrap().energy, -1.0);
//! ```
//!
//! Modules: [`cqm`] (constrained binary models, LP files, the constrained annealer), [`model`] (QUBO, Ising, sample sets), [`io`] (file formats), [`solvers`]
//! (exact, simulated annealing, greedy, tempering), [`gpu`] (wgpu runtime and GPU annealing),
//! [`batch`] (batches of small subproblems on CPU or GPU, shared by `decompose` and
//! `orchestrate`), [`decompose`] (hierarchical decomposition of large models), [`distributed`] (jobs over
//! MPI ranks), [`orchestrate`] (agent fleets planned as hierarchical QUBOs), [`generate`]
//! (random and planted instances), [`rng`], [`limits`] (bounds on user numbers), [`names`]
//! (the names of every choice: solvers, kernels, ...), [`qaoa`] (QAOA simulation), [`serve`]
//! (the HTTP/JSON service). [`prelude`] imports the common types at once.
//!
//! The public surface is deliberate: internal files of each module are private and their
//! public types are re-exported at the module root (`qam::orchestrate::Orchestrator`, not
//! `qam::orchestrate::orchestrator::Orchestrator`); docs/architecture.md "Public surface"
//! lists what is public and why.
#![warn(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod batch;
pub mod cqm;
pub mod decompose;
pub mod distributed;
pub mod generate;
pub mod gpu;
pub mod io;
pub mod limits;
pub mod model;
pub mod names;
pub mod orchestrate;
pub mod prelude;
pub mod qaoa;
pub mod rng;
pub mod serve;
pub mod solvers;
