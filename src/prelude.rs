//! The types most programs need, in one import: `use qam::prelude::*;`.
//!
//! Solve a QUBO (minimise `x^T Q x`, here `-x0 - x1 + 2 x0 x1`) with simulated annealing:
//!
//! ```
//! use qam::prelude::*;
//!
//! let q = Qubo::from_entries(2, &[(0, 0, -1.0), (1, 1, -1.0), (0, 1, 2.0)], 0.0).unwrap();
//! let sa = SaSolver::new(SaParams { num_reads: 8, seed: 1, ..Default::default() });
//! let best = sa.solve(&Model::Qubo(q)).unwrap();
//! assert_eq!(best.first().unwrap().energy, -1.0);
//! ```
//!
//! Write a problem file and read it back (the format follows the extension: `.gset`,
//! `.json`, `.qubo`, ...):
//!
//! ```
//! use qam::prelude::*;
//!
//! let dir = std::env::temp_dir().join(format!("qam-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("tiny.json");
//! let ising = Ising::from_entries(3, &[(0, 1, 1.0), (1, 2, 1.0), (0, 0, 0.5)], 0.0).unwrap();
//! write_file(&path, &Problem::minimize(Model::Ising(ising)), None).unwrap();
//! let problem = read_file(&path, ReadOptions::default()).unwrap();
//! assert_eq!(problem.model.num_variables(), 3);
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```
//!
//! Build "the solver named X with these parameters" from the registry (what `qam solve
//! --solver X` and `qam serve` do); `auto` says what it chose and why:
//!
//! ```
//! use qam::prelude::*;
//!
//! let q = Qubo::from_entries(3, &[(0, 1, -1.0), (1, 2, -1.0), (0, 0, 0.5)], 0.0).unwrap();
//! let model = Model::Qubo(q);
//! let params: SolverParams = serde_json::from_str(r#"{"reads": 4, "seed": 3}"#).unwrap();
//! params.validate().unwrap();
//! let kind = SolverKind::from_name("auto").unwrap();
//! let built = params.build(kind, &model, &GpuPolicy::default()).unwrap();
//! assert!(built.auto.unwrap().starts_with("auto: exact"));
//! let best = built.solver.solve(&model).unwrap();
//! assert_eq!(best.first().unwrap().energy, -1.5); // x = (1, 1, 1)
//! ```

//! Solve a constrained model (an LP file's text here; [`cqm::lp::read_file`] reads a file)
//! with the constrained annealer `cqm-sa`: pick exactly one of `x`, `y`, `z`, minimising
//! `3x + y + 2z`:
//!
//! ```
//! use qam::prelude::*;
//!
//! let lp = "Minimize\n obj: 3 x + y + 2 z\nSubject To\n one: x + y + z = 1\nBinary\n x y z\nEnd\n";
//! let model = cqm::lp::read_str(lp, "pick.lp").unwrap();
//! let solver = CqmSaSolver::new(CqmSaParams { seed: 2, ..Default::default() });
//! let best = solver.solve(&model).unwrap();
//! assert!(best.feasible);
//! assert_eq!(best.objective, 1.0);
//! assert_eq!(best.state, vec![0, 1, 0]); // y
//! ```
//!
//! Plan a small generated fleet (agents placed in pools, tasks scheduled) and check the
//! plan against the greedy baseline:
//!
//! ```
//! use qam::prelude::*;
//!
//! let scenario = orchestrate::generate(&orchestrate::GenParams {
//!     agents: 40,
//!     pools: 4,
//!     tasks: 6,
//!     seed: 1,
//!     ..Default::default()
//! });
//! let plan = Orchestrator::new(OrchestratorConfig { seed: 1, ..Default::default() })
//!     .plan(&scenario)
//!     .unwrap();
//! assert!(plan.violations.is_empty());
//! assert_eq!(plan.placements.len(), 40);
//! assert_eq!(plan.schedule.len(), 6);
//! let (greedy, _) = orchestrate::greedy_metrics(&orchestrate::validate(&scenario).unwrap());
//! assert!(plan.metrics.objective <= greedy.objective + 1e-9);
//! ```

pub use crate::cqm::{self, ConstrainedModel, CqmSaParams, CqmSaSolver, CqmSolution};
pub use crate::gpu::{AdapterSelector, GpuContext, GpuError, GpuOptions};
pub use crate::io::{Problem, ReadOptions, read_file, write_file};
pub use crate::model::{Ising, Model, Qubo, Sample, SampleSet, Vartype};
pub use crate::orchestrate::{self, Orchestrator, OrchestratorConfig, Plan, Scenario};
pub use crate::qaoa::{Angles, QaoaParams, QaoaSolver};
pub use crate::solvers::registry::{GpuPolicy, SolverKind, SolverParams};
pub use crate::solvers::{
    ExactSolver, GpuSaParams, GpuSaSolver, PtParams, PtSolver, SaParams, SaSolver, SolveContext, SolveError, Solver,
    StopReason,
};
