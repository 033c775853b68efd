//! [`HierarchicalSolver`]: decomposition behind the [`Solver`] trait.

use super::DecomposeError;
use super::backend::{SubSolverKind, SubSolverParams};
use super::hierarchy::{HierarchicalQubo, HierarchyParams};
use super::partition::PartitionMethod;
use super::router::{DEFAULT_EXACT_BELOW, Router};
use super::strategy::{self, Engine};
use crate::model::{Model, SampleSet, SolveInfo, Timing, spins_as};
use crate::solvers::{SolveContext, SolveError, Solver};
use serde_json::json;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How cluster solutions are combined (see the [`decompose`](super) module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strategy {
    /// Solve clusters, then solve "which clusters to flip" one level up, recursively.
    #[default]
    Merge,
    /// Large-neighbourhood search: re-solve clusters and energy-impact regions with the
    /// outside clamped, keep improvements.
    Refine,
}

impl Strategy {
    /// Name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Merge => "merge",
            Strategy::Refine => "refine",
        }
    }
}

/// Parameters of [`HierarchicalSolver`].
#[derive(Clone, Debug, PartialEq)]
pub struct HierarchicalParams {
    /// Back-end for the subproblems (default `sa`).
    pub sub_solver: SubSolverKind,
    /// Reads and sweeps of the stochastic back-ends.
    pub sub: SubSolverParams,
    /// Cap on cluster (subproblem) size; `None`: the back-end's default
    /// ([`SubSolverKind::default_cluster_size`]).
    pub cluster_size: Option<usize>,
    /// How cluster solutions are combined.
    pub strategy: Strategy,
    /// Partitioning algorithm.
    pub method: PartitionMethod,
    /// Seed of the partitioner, the starting state and every subproblem.
    pub seed: u64,
    /// Stop after this much wall time (checked between rounds and inside anneals).
    pub time_limit: Option<Duration>,
    /// Stop once the energy is at or below this.
    pub target_energy: Option<f64>,
    /// Most rounds (V-cycles or refinement rounds); default 1000. To run until a time
    /// limit, set `u64::MAX` (the CLI and the portfolio do so under `--time-limit`
    /// unless `--rounds` is given).
    pub max_rounds: u64,
    /// Stop after this many rounds in a row without gain (each such round re-partitions
    /// with a new seed, so the next one cuts elsewhere); default 10 (`u64::MAX` under a
    /// time limit in the CLI and the portfolio).
    pub patience: u64,
    /// Subproblems up to this size go to exhaustive search; default 12 (0: never).
    pub exact_below: usize,
    /// Start from this state (in the model's vartype) instead of solving from scratch: the
    /// rounds then only improve on it (a portfolio hands over its best state this way).
    pub initial_state: Option<Vec<i8>>,
}

impl Default for HierarchicalParams {
    fn default() -> Self {
        HierarchicalParams {
            sub_solver: SubSolverKind::Sa,
            sub: SubSolverParams::default(),
            cluster_size: None,
            strategy: Strategy::Merge,
            method: PartitionMethod::Multilevel,
            seed: 0,
            time_limit: None,
            target_energy: None,
            max_rounds: 1000,
            patience: 10,
            exact_below: DEFAULT_EXACT_BELOW,
            initial_state: None,
        }
    }
}

/// Hierarchical decomposition solver (`hierarchical`).
#[derive(Clone, Default)]
pub struct HierarchicalSolver {
    /// Parameters.
    pub params: HierarchicalParams,
    router: Option<Arc<Router>>,
}

impl HierarchicalSolver {
    /// A solver with the given parameters.
    pub fn new(params: HierarchicalParams) -> Self {
        HierarchicalSolver { params, router: None }
    }

    /// Uses `router` instead of the one `params.sub_solver` describes (custom back-ends).
    pub fn with_router(mut self, router: Arc<Router>) -> Self {
        self.router = Some(router);
        self
    }

    /// The cluster size these parameters give.
    pub fn cluster_size(&self) -> usize {
        self.params
            .cluster_size
            .unwrap_or_else(|| self.params.sub_solver.default_cluster_size())
    }

    fn solve_inner(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, DecomposeError> {
        let t0 = Instant::now();
        let p = &self.params;
        let router = match &self.router {
            Some(r) => r.clone(),
            None => Arc::new(Router::for_kind(p.sub_solver, &p.sub, p.exact_below)?),
        };
        let cap = self.cluster_size();
        if cap < 2 {
            return Err(DecomposeError::InvalidParameter {
                name: "cluster_size",
                reason: format!("{cap} is below 2"),
            });
        }
        if cap > router.limit() {
            return Err(DecomposeError::InvalidParameter {
                name: "cluster_size",
                reason: format!(
                    "{cap} exceeds the limit of sub-solver `{}` ({} variables)",
                    router.primary_name(),
                    router.limit()
                ),
            });
        }
        if let Some(t) = p.target_energy
            && !t.is_finite()
        {
            return Err(DecomposeError::InvalidParameter {
                name: "target",
                reason: format!("{t} is not finite"),
            });
        }
        let initial = match &p.initial_state {
            Some(st) => {
                model.check_state(st).map_err(|e| DecomposeError::InvalidParameter {
                    name: "initial_state",
                    reason: e.to_string(),
                })?;
                Some(crate::model::to_spins(model.vartype(), st))
            }
            None => None,
        };
        // Search the offset-free model (tolerances scale with the energy; a large offset
        // would swallow improvements); energies in the log get the offset back.
        let ising = model.to_ising();
        let shift = ising.offset();
        let ising = Cow::Owned(ising.without_offset());
        let hier = HierarchicalQubo::build(
            ising,
            &HierarchyParams {
                max_cluster_size: cap,
                method: p.method,
                seed: p.seed,
                refine_passes: 4,
            },
        )?;
        let levels = hier.summary();
        ctx.message(&format!(
            "hierarchy: {} levels, sizes {:?}",
            levels.len(),
            levels.iter().map(|l| l.num_variables).collect::<Vec<_>>()
        ));
        let t1 = Instant::now();
        let start = ctx.start.unwrap_or(t0);
        let time_limit = match (p.time_limit, ctx.time_limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let target = p.target_energy.or(ctx.target_energy).map(|t| t - shift);
        ctx.set_total(p.max_rounds);
        // Rounds report offset-free energies; observers get them with the offset back.
        let shifted = ctx.without_offset(shift);
        let mut engine = Engine {
            hier: &hier,
            router: &router,
            seed: p.seed,
            ctx: &shifted,
            sub_ctx: SolveContext {
                progress: None,
                interrupt: ctx.interrupt,
                time_limit,
                target_energy: None,
                start: Some(start),
                budget: crate::solvers::TimeBudget::Single,
                checkpoint: None,
                energy_offset: 0.0,
            },
            start,
            time_limit,
            target,
            max_rounds: p.max_rounds.max(1),
            patience: p.patience.max(1),
            log: Vec::new(),
            initial,
        };
        let (spins, _, reason) = match p.strategy {
            Strategy::Merge => strategy::merge::run(&mut engine)?,
            Strategy::Refine => strategy::refine::run(&mut engine)?,
        };
        let mut log = std::mem::take(&mut engine.log);
        log.iter_mut().for_each(|r| r.energy += shift);
        let t2 = Instant::now();
        let vartype = model.vartype();
        let state = spins_as(vartype, &spins);
        let energy = model.energy(&state);
        let mut info = SolveInfo {
            solver: self.name().into(),
            seed: Some(p.seed),
            ..Default::default()
        };
        info.params.insert("sub_solver".into(), json!(p.sub_solver.name()));
        info.params.insert("cluster_size".into(), json!(cap));
        info.params.insert("strategy".into(), json!(p.strategy.name()));
        info.params.insert("partitioner".into(), json!(p.method.name()));
        info.params.insert("sub_reads".into(), json!(p.sub.num_reads));
        info.params.insert("sub_sweeps".into(), json!(p.sub.num_sweeps));
        info.params
            .insert("time_limit_s".into(), json!(time_limit.map(|d| d.as_secs_f64())));
        info.params.insert("target_energy".into(), json!(target));
        info.params.insert("patience".into(), json!(p.patience));
        info.extra.insert("levels".into(), json!(levels));
        info.extra.insert("rounds".into(), json!(log.len()));
        info.stop_reason = Some(reason);
        if reason == crate::model::StopReason::Target {
            info.time_to_target_s = Some(start.elapsed().as_secs_f64());
        }
        info.extra.insert(
            "energy_trace".into(),
            json!(log.iter().map(|r| [r.elapsed_s, r.energy]).collect::<Vec<_>>()),
        );
        let counts: serde_json::Map<String, serde_json::Value> = router
            .counts()
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        info.extra.insert("subproblems".into(), json!(counts));
        info.extra.insert("partition_s".into(), json!((t1 - t0).as_secs_f64()));
        let mut set = SampleSet::from_states(vartype, model.num_variables(), vec![(state, energy)], info);
        set.info.timing = Timing::since(t0, t1, t2);
        Ok(set)
    }
}

impl Solver for HierarchicalSolver {
    fn name(&self) -> &'static str {
        "hierarchical"
    }

    fn solve_with(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        self.solve_inner(model, ctx).map_err(SolveError::from)
    }
}
