//! Job requests: what `POST /v1/jobs` and `POST /v1/plans` accept, checked before the job
//! is accepted (so malformed models are a `400`/`422` naming the line, never a failed job).
//!
//! A request carries the problem text itself (`data` + `format`) or a qam JSON model
//! (`model`); the server never opens a path a client names (the optional `name` only labels
//! messages and results).

use super::Limits;
use crate::cqm::{ConstrainedModel, CqmSaParams, json, lp};
use crate::io::{Format, Problem, ReadOptions, read_bytes};
use crate::orchestrate::PenaltySettings;
use crate::orchestrate::{CpuBackend, Orchestrator, OrchestratorConfig, Scenario, SubSolver};
use crate::solvers::registry::{SolverKind, SolverParams};
use serde::{Deserialize, Serialize};

/// A rejected request: HTTP status, message, and the limit it broke (if one).
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    /// `400`, `413`, `422` or `429`.
    pub status: u16,
    /// What is wrong (names the field, line or limit).
    pub message: String,
    /// The limit's flag name (`max-variables`, ...), when a limit was broken.
    pub limit: Option<&'static str>,
}

impl Rejection {
    pub(crate) fn new(status: u16, message: impl Into<String>) -> Self {
        Rejection {
            status,
            message: message.into(),
            limit: None,
        }
    }

    pub(crate) fn limit(status: u16, limit: &'static str, message: impl Into<String>) -> Self {
        Rejection {
            status,
            message: message.into(),
            limit: Some(limit),
        }
    }
}

/// Body of `POST /v1/jobs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolveRequest {
    /// Format of `data`: `qubo`, `gset`, `bqp`, `mtx` or `json` (default: detected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The problem file's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// A qam JSON model (instead of `data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<serde_json::Value>,
    /// Solver (CLI names; default `auto`).
    #[serde(default = "auto")]
    pub solver: SolverKind,
    /// Solver parameters (CLI flag names).
    #[serde(default)]
    pub params: SolverParams,
    /// Wall-time limit in seconds (at most the server's `max-time-limit`, which also
    /// bounds jobs that give none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit: Option<f64>,
    /// Instance of a multi-instance bqp file (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<usize>,
    /// Label used as `file` in the result and in error messages (default `data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

fn auto() -> SolverKind {
    SolverKind::Auto
}

/// Body of `POST /v1/plans`: an orchestration scenario and the planner's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// The scenario (`qam-scenario` JSON, as `qam orchestrate` reads it).
    pub scenario: serde_json::Value,
    /// Planner settings (the names of `qam orchestrate`'s flags).
    #[serde(default)]
    pub params: PlanParams,
    /// Wall-time budget in seconds (at most the server's `max-time-limit`): the planner's
    /// constrained stage keeps improving until it is spent
    /// ([`OrchestratorConfig::time_limit`]). Without one, a fixed amount of work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit: Option<f64>,
    /// Label used in messages (default `scenario`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `qam orchestrate` settings (CPU sub-solvers).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct PlanParams {
    /// `auto`, `exact`, `sa` or `greedy`.
    pub backend: String,
    /// Reads per subproblem.
    pub reads: usize,
    /// Sweeps per read.
    pub sweeps: usize,
    /// Seed.
    pub seed: u64,
    /// Agents per cluster.
    #[serde(alias = "cluster_size")]
    pub cluster_size: Option<usize>,
    /// Most candidate pools per subproblem.
    #[serde(alias = "max_pools")]
    pub max_pools: usize,
    /// Improvement rounds.
    pub rounds: usize,
    /// Multiplier on the automatic penalty weights.
    #[serde(alias = "penalty_scale")]
    pub penalty_scale: f64,
}

impl Default for PlanParams {
    fn default() -> Self {
        PlanParams {
            backend: "auto".into(),
            reads: 4,
            sweeps: 400,
            seed: 0,
            cluster_size: None,
            max_pools: 8,
            rounds: 2,
            penalty_scale: 1.0,
        }
    }
}

impl PlanParams {
    /// The orchestrator these settings describe.
    pub fn orchestrator(&self) -> Result<Orchestrator, Rejection> {
        // The CLI's --sub-solver names; plan jobs run on the CPU (no gpu-sa).
        let Some(kind) = SubSolver::from_name(&self.backend).and_then(SubSolver::cpu) else {
            return Err(Rejection::new(
                422,
                format!(
                    "params.backend: unknown backend `{}` (auto, exact, sa, greedy)",
                    self.backend
                ),
            ));
        };
        if self.reads == 0 {
            return Err(Rejection::new(422, "params.reads must be at least 1"));
        }
        if !(self.penalty_scale.is_finite() && self.penalty_scale > 0.0) {
            return Err(Rejection::new(422, "params.penalty-scale must be a positive number"));
        }
        let backend = Box::new(CpuBackend {
            kind,
            reads: self.reads,
            sweeps: self.sweeps,
            ..Default::default()
        });
        let config = OrchestratorConfig {
            seed: self.seed,
            cluster_size: self.cluster_size,
            max_pools: self.max_pools,
            rounds: self.rounds,
            penalties: PenaltySettings {
                scale: self.penalty_scale,
                ..Default::default()
            },
            ..Default::default()
        };
        Ok(Orchestrator::with_backend(config, backend))
    }
}

/// Parses a JSON body: `400` when it is not JSON, `422` when a field is wrong (serde's
/// message names it, with line and column).
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Rejection> {
    serde_json::from_slice(body).map_err(|e| {
        let status = match e.classify() {
            serde_json::error::Category::Data => 422,
            _ => 400,
        };
        Rejection::new(status, format!("request body:{}:{}: {e}", e.line(), e.column()))
    })
}

impl SolveRequest {
    /// The label of the problem in messages and results.
    pub fn label(&self) -> &str {
        self.name
            .as_deref()
            .unwrap_or(if self.model.is_some() { "model" } else { "data" })
    }

    /// Reads the problem (the same readers and messages as `qam solve`).
    pub fn problem(&self) -> Result<Problem, Rejection> {
        let label = self.label().to_string();
        let (bytes, format) = match (&self.data, &self.model) {
            (Some(d), None) => {
                let format = match &self.format {
                    None => None,
                    Some(f) => Some(Format::from_name(f).ok_or_else(|| {
                        Rejection::new(
                            422,
                            format!("format: unknown format `{f}` (qubo, gset, bqp, mtx, json, lp, cqm-json)"),
                        )
                    })?),
                };
                (d.as_bytes().to_vec(), format)
            }
            (None, Some(m)) => {
                if self.format.as_deref().is_some_and(|f| f != "json") {
                    return Err(Rejection::new(422, "format: a `model` is qam JSON; leave `format` out"));
                }
                let text = serde_json::to_vec(m).map_err(|e| Rejection::new(422, format!("model: {e}")))?;
                (text, Some(Format::Json))
            }
            _ => {
                return Err(Rejection::new(
                    422,
                    "give exactly one of `data` (with `format`) or `model`",
                ));
            }
        };
        read_bytes(
            &bytes,
            &label,
            ReadOptions {
                format,
                instance: self.instance,
            },
        )
        .map_err(|e| Rejection::new(422, e.to_string()))
    }

    /// The constrained model of a request whose `data` is CPLEX LP (`"format": "lp"`) or
    /// qam's constrained-model JSON (`"cqm-json"`, or JSON tagged `"qam-cqm"`); `None`
    /// for QUBO/Ising requests. Errors name the line, as `qam solve` does.
    pub fn constrained(&self) -> Result<Option<ConstrainedModel>, Rejection> {
        let Some(d) = &self.data else { return Ok(None) };
        let label = self.label();
        let parsed = match self.format.as_deref() {
            Some("lp") => lp::read_str(d, label),
            Some("cqm-json") => json::read_str(d, label),
            None | Some("json") if json::sniff(d) => json::read_str(d, label),
            _ => return Ok(None),
        };
        parsed.map(Some).map_err(|e| Rejection::new(422, e.to_string()))
    }

    /// The `cqm-sa` parameters of a constrained request: `reads` chains, `sweeps` per
    /// cycle, the seed, the time limit (at most `cap`; without one, the fixed work of
    /// `qam solve FILE.lp`) and the target in the file's sense.
    pub fn cqm_params(&self, model: &ConstrainedModel, cap: std::time::Duration) -> CqmSaParams {
        let p = self.solver_params();
        let limit = p.time_limit.map(|t| std::time::Duration::from_secs_f64(t).min(cap));
        CqmSaParams {
            chains: p.reads,
            sweeps: p.num_sweeps(),
            seed: p.seed,
            time_limit: limit,
            target_energy: p.target.map(|v| model.to_energy(v)),
            ..Default::default()
        }
    }

    /// Checks the request against the limits and returns its QUBO/Ising problem, or
    /// `None` for a constrained model (which [`constrained`](Self::constrained) reads).
    pub fn check(&self, limits: &Limits) -> Result<Option<Problem>, Rejection> {
        check_time_limit(self.time_limit, limits)?;
        if let Some(t) = self.params.time_limit
            && t > limits.max_time_limit_s
        {
            return Err(Rejection::limit(
                422,
                "max-time-limit",
                format!(
                    "params.time-limit {t} s is over the limit max-time-limit = {} s",
                    limits.max_time_limit_s
                ),
            ));
        }
        self.params
            .validate()
            .map_err(|e| Rejection::new(422, format!("params: {e}")))?;
        if let Some(m) = self.constrained()? {
            if !matches!(self.solver, SolverKind::Auto | SolverKind::CqmSa | SolverKind::GpuCqmSa) {
                return Err(Rejection::new(
                    422,
                    format!(
                        "solver `{}` takes QUBO/Ising models; constrained models use cqm-sa, gpu-cqm-sa or auto",
                        self.solver.name()
                    ),
                ));
            }
            self.check_size(m.num_variables(), limits)?;
            return Ok(None);
        }
        let problem = self.problem()?;
        self.check_size(problem.model.num_variables(), limits)?;
        Ok(Some(problem))
    }

    /// `n` variables within `max-variables` (a 422 naming the limit otherwise).
    fn check_size(&self, n: usize, limits: &Limits) -> Result<(), Rejection> {
        if n > limits.max_variables {
            return Err(Rejection::limit(
                422,
                "max-variables",
                format!(
                    "{}: {n} variables is over the limit max-variables = {}",
                    self.label(),
                    limits.max_variables
                ),
            ));
        }
        Ok(())
    }

    /// The solver parameters with the request's `time_limit` folded in.
    pub fn solver_params(&self) -> SolverParams {
        let mut p = self.params.clone();
        if self.time_limit.is_some() {
            p.time_limit = self.time_limit;
        }
        p
    }

    /// The request as a restarted job runs it: its time limit (`time_limit` or
    /// `params.time-limit`) less the `spent` seconds earlier attempts used, at least
    /// [`RESUME_FLOOR_S`]. Requests without a time limit are unchanged.
    pub fn with_time_spent(&self, spent: f64) -> SolveRequest {
        let mut r = self.clone();
        if spent > 0.0
            && let Some(t) = self.solver_params().time_limit
        {
            let left = time_left(t, spent);
            r.time_limit = Some(left);
            r.params.time_limit = Some(left);
        }
        r
    }
}

/// The least time limit a restarted job gets, seconds (when its earlier attempts used
/// nearly all of it): enough for one short complete run.
pub const RESUME_FLOOR_S: f64 = 0.5;

/// `limit - spent`, at least [`RESUME_FLOOR_S`] (or `limit` when that is less).
pub fn time_left(limit: f64, spent: f64) -> f64 {
    (limit - spent).max(RESUME_FLOOR_S.min(limit))
}

impl PlanRequest {
    /// Reads and validates the scenario.
    pub fn scenario(&self) -> Result<crate::orchestrate::Instance, Rejection> {
        let label = self.name.as_deref().unwrap_or("scenario");
        let text = serde_json::to_string(&self.scenario).map_err(|e| Rejection::new(422, format!("{label}: {e}")))?;
        let scenario = Scenario::from_json(&text).map_err(|e| Rejection::new(422, format!("{label}: {e}")))?;
        crate::orchestrate::validate(&scenario).map_err(|e| Rejection::new(422, format!("{label}: {e}")))
    }

    /// Checks the request against the limits (agents count as variables).
    pub fn check(&self, limits: &Limits) -> Result<crate::orchestrate::Instance, Rejection> {
        self.params.orchestrator()?;
        check_time_limit(self.time_limit, limits)?;
        let inst = self.scenario()?;
        if inst.num_agents() > limits.max_variables {
            return Err(Rejection::limit(
                422,
                "max-variables",
                format!(
                    "{} agents is over the limit max-variables = {}",
                    inst.num_agents(),
                    limits.max_variables
                ),
            ));
        }
        Ok(inst)
    }
}

/// A request's `time_limit`: a positive number of seconds within `max-time-limit` (422).
fn check_time_limit(time_limit: Option<f64>, limits: &Limits) -> Result<(), Rejection> {
    let Some(t) = time_limit else { return Ok(()) };
    if !(t.is_finite() && t > 0.0) {
        return Err(Rejection::new(
            422,
            format!("time_limit must be a positive number of seconds, not {t}"),
        ));
    }
    if t > limits.max_time_limit_s {
        return Err(Rejection::limit(
            422,
            "max-time-limit",
            format!(
                "time_limit {t} s is over the limit max-time-limit = {} s",
                limits.max_time_limit_s
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_models_name_the_line_and_limits_name_the_flag() {
        let limits = Limits {
            max_variables: 3,
            ..Default::default()
        };
        let r: SolveRequest =
            parse_json(br#"{"format": "gset", "data": "3 2\n1 2 1\n2 x 1\n", "name": "g.txt"}"#).unwrap();
        let e = r.check(&limits).unwrap_err();
        assert_eq!(e.status, 422);
        assert!(e.message.starts_with("g.txt:3:"), "{}", e.message);
        let r: SolveRequest = parse_json(br#"{"format": "gset", "data": "4 1\n1 2 1\n"}"#).unwrap();
        let e = r.check(&limits).unwrap_err();
        assert_eq!(e.limit, Some("max-variables"));
        let r: SolveRequest = parse_json(br#"{"format": "gset", "data": "3 1\n1 2 1\n", "time_limit": 1e9}"#).unwrap();
        assert_eq!(r.check(&limits).unwrap_err().limit, Some("max-time-limit"));
        let ok: SolveRequest = parse_json(br#"{"format": "gset", "data": "3 1\n1 2 1\n", "solver": "sa"}"#).unwrap();
        assert_eq!(ok.check(&limits).unwrap().unwrap().model.num_variables(), 3);
        assert_eq!(parse_json::<SolveRequest>(b"{").unwrap_err().status, 400);
        let e = parse_json::<SolveRequest>(br#"{"dta": "x"}"#).unwrap_err();
        assert_eq!(e.status, 422);
        assert!(e.message.contains("dta"), "{}", e.message);
    }

    #[test]
    fn a_restarted_request_gets_its_time_limit_less_the_time_spent() {
        let r: SolveRequest = parse_json(br#"{"format": "gset", "data": "", "time_limit": 10}"#).unwrap();
        assert_eq!(r.with_time_spent(0.0), r);
        assert_eq!(r.with_time_spent(3.5).solver_params().time_limit, Some(6.5));
        assert_eq!(r.with_time_spent(99.0).solver_params().time_limit, Some(RESUME_FLOOR_S));
        let p: SolveRequest = parse_json(br#"{"format": "gset", "data": "", "params": {"time-limit": 4}}"#).unwrap();
        assert_eq!(p.with_time_spent(1.0).solver_params().time_limit, Some(3.0));
        let none: SolveRequest = parse_json(br#"{"format": "gset", "data": ""}"#).unwrap();
        assert_eq!(none.with_time_spent(5.0).solver_params().time_limit, None);
        assert_eq!(time_left(0.2, 1.0), 0.2, "the floor never exceeds the limit itself");
        let limits = Limits::default();
        let plan: PlanRequest = parse_json(br#"{"scenario": {}, "time_limit": -1}"#).unwrap();
        assert_eq!(plan.check(&limits).unwrap_err().status, 422);
    }
}
