//! The [`Orchestrator`]: clusters the agents, places them by per-cluster assignment QUBOs
//! routed through a [`BatchSolver`], refines across cluster borders, schedules the
//! tasks, and reports metrics against the baselines. Incremental re-planning starts from a
//! previous plan and charges a cost per moved agent.
//!
//! Pipeline (`plan_instance`):
//! 1. **cluster**: hierarchical balanced partition of the traffic graph into clusters of
//!    about `cluster_size` agents ([`super::cluster::hierarchical`]); its parents are the
//!    groups (clusters of clusters).
//! 2. **place**: groups one after another, each a QUBO placing its clusters whole into
//!    candidate pools with the capacity left (coarse level); agents of clusters that fit
//!    nowhere are placed one by one. Small scenarios (`<= direct_max_agents` agents and
//!    `<= max_pools` pools) are instead solved as one agent-level QUBO over all pools.
//!    Re-plans start from the previous plan instead (repaired where it no longer fits).
//! 3. **improve** (`rounds` times): batches of agent-level QUBOs, one per cluster, then one
//!    per pair of clusters with the most traffic between them. Each subproblem has the
//!    agents of its clusters, up to `max_pools` candidate pools (their current pools, the
//!    pools of their outside partners, the cheapest pools with room), and a share of each
//!    pool's free capacity (split evenly between the batch's subproblems using that pool),
//!    so answers of one batch never overfill a pool together. Traffic to agents outside is
//!    a linear cost. The best repaired sample replaces the current placement of its agents
//!    only if the exact objective of the whole plan drops.
//! 4. **refine**: single-agent moves across borders ([`super::refine`]).
//! 5. **schedule**: windows of tasks ([`super::schedule`]), then large-neighbourhood search
//!    from the better of them and the list schedule ([`super::schedule_lns`]).
//! 6. **metrics** from scratch, greedy baseline, exact optimum when `pools^agents` is small.

use super::assign::{AssignProblem, PenaltySettings, build_assign_qubo};
use super::backend::CpuBackend;
use super::baseline::{exact_assignment, greedy_assignment};
use super::cluster::{Clustering, hierarchical};
use super::decode::{Assignment, best_repaired, repair_assignment};
use super::metrics::{Metrics, evaluate};
use super::plan::{Comparison, Placement, Plan, ReplanReport, ScheduledTask, StageReport};
use super::refine::refine_moves;
use super::scenario::Scenario;
use super::schedule::{list_schedule, schedule};
use super::validate::{Instance, validate};
use super::{OrchestrateError, Violation};
use crate::batch::{BatchSolver, Subproblem};
use crate::model::{Couplings, Model};
use crate::rng::derive_seed;
use crate::solvers::{SolveContext, StopReason};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// A stop flag shared with other threads (Ctrl-C, a cancelled request): set it and a
/// running [`Orchestrator`] skips its remaining improvement work, then returns the plan it
/// has, complete (every agent placed where it fits, every task scheduled by the list
/// scheduler) and marked [`StopReason::Interrupted`](crate::solvers::StopReason). Clones
/// share the flag; two `Interrupt`s are equal when they share it.
#[derive(Clone, Debug, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// A new flag, not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wraps an existing shared flag.
    pub fn from_flag(flag: Arc<AtomicBool>) -> Self {
        Interrupt(flag)
    }

    /// Sets the flag: the run stops at its next check.
    pub fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The flag itself (e.g. for [`SolveContext::interrupt`](crate::solvers::SolveContext)).
    pub fn flag(&self) -> &AtomicBool {
        &self.0
    }
}

impl PartialEq for Interrupt {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Settings of the [`Orchestrator`].
#[derive(Clone, Debug, PartialEq)]
pub struct OrchestratorConfig {
    /// Seed of every random stream.
    pub seed: u64,
    /// Agents per cluster; `None`: `clamp(agents / (2 pools), 4, 32)`.
    pub cluster_size: Option<usize>,
    /// Most children per split of the clustering hierarchy (default 8).
    pub max_k: usize,
    /// Most candidate pools per placement subproblem (default 8).
    pub max_pools: usize,
    /// Improvement rounds (default 2).
    pub rounds: usize,
    /// Most passes of border refinement (default 10).
    pub refine_passes: usize,
    /// Most subproblems per backend call (default 64; bounds memory).
    pub batch_size: usize,
    /// Penalty weights of every QUBO.
    pub penalties: PenaltySettings,
    /// Cost per moved agent when re-planning; `None`: the largest traffic-plus-cost scale
    /// of any agent, so an agent only moves when forced or when a group move pays.
    pub move_cost: Option<f64>,
    /// Tasks per scheduling window (default 16).
    pub schedule_chunk: usize,
    /// Candidate slots per task in a window (default 8).
    pub schedule_window: usize,
    /// Scenarios with at most this many agents (and at most `max_pools` pools) are solved
    /// as one QUBO (default 12).
    pub direct_max_agents: usize,
    /// Compare with the exact optimum when `pools^agents` is at most this (default 1e6).
    pub exact_max_leaves: f64,
    /// Compute the greedy baseline (default true).
    pub baseline: bool,
    /// Run the constrained assignment stage (`constrained`, `cqm-sa` from the
    /// current plan) when `agents * pools` is at most this (default 200,000; 0 turns it
    /// off).
    pub constrained_max_vars: usize,
    /// Wall-time budget in seconds for the whole plan: the constrained stage keeps
    /// improving until it is spent. `None` (default): a fixed amount of work (2 chains,
    /// 2 cycles of 200 sweeps), the same answer on any machine.
    pub time_limit: Option<f64>,
    /// Stop flag checked between stages, rounds and subproblem batches and inside the
    /// constrained stage (see [`Interrupt`]); `None` (default): runs to the end.
    pub interrupt: Option<Interrupt>,
}

impl Default for OrchestratorConfig {
    fn default() -> Self {
        OrchestratorConfig {
            seed: 0,
            cluster_size: None,
            max_k: 8,
            max_pools: 8,
            rounds: 2,
            refine_passes: 10,
            batch_size: 64,
            penalties: PenaltySettings::default(),
            move_cost: None,
            schedule_chunk: 16,
            schedule_window: 8,
            direct_max_agents: 12,
            exact_max_leaves: 1e6,
            baseline: true,
            constrained_max_vars: 200_000,
            time_limit: None,
            interrupt: None,
        }
    }
}

impl OrchestratorConfig {
    fn check(&self) -> Result<(), OrchestrateError> {
        let bad = |name: &'static str, reason: &str| {
            Err(OrchestrateError::InvalidParameter {
                name,
                reason: reason.into(),
            })
        };
        if self.cluster_size == Some(0) {
            return bad("cluster_size", "must be at least 1");
        }
        if self.max_k < 2 {
            return bad("max_k", "must be at least 2");
        }
        if self.max_pools == 0 {
            return bad("max_pools", "must be at least 1");
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1");
        }
        if self.schedule_chunk == 0 || self.schedule_window == 0 {
            return bad("schedule_window", "chunk and window must be at least 1");
        }
        if self.time_limit.is_some_and(|t| !t.is_finite() || t <= 0.0) {
            return bad("time_limit", "must be a positive number of seconds");
        }
        if self.move_cost.is_some_and(|m| !m.is_finite() || m < 0.0) {
            return bad("move_cost", "must be finite and non-negative");
        }
        self.penalties.check()
    }
}

/// Plans fleets (see the module docs). Subproblems go through one backend: the CPU
/// solvers by default, or any [`BatchSolver`] (GPU batch, hierarchical).
pub struct Orchestrator {
    /// Settings.
    pub config: OrchestratorConfig,
    backend: Box<dyn BatchSolver>,
}

/// Search state: the global assignment (costs include move penalties when re-planning).
struct State<'a> {
    inst: &'a Instance,
    global: Assignment<'a>,
}

impl Orchestrator {
    /// An orchestrator on the CPU backend.
    pub fn new(config: OrchestratorConfig) -> Self {
        Orchestrator {
            config,
            backend: Box::new(CpuBackend::default()),
        }
    }

    /// An orchestrator routing every subproblem to `backend`.
    pub fn with_backend(config: OrchestratorConfig, backend: Box<dyn BatchSolver>) -> Self {
        Orchestrator { config, backend }
    }

    /// Whether the run was asked to stop ([`OrchestratorConfig::interrupt`]).
    fn interrupted(&self) -> bool {
        self.config.interrupt.as_ref().is_some_and(Interrupt::is_set)
    }

    /// The backend's name.
    pub fn backend_name(&self) -> String {
        self.backend.name()
    }

    /// Validates `scenario` and plans it from scratch.
    pub fn plan(&self, scenario: &Scenario) -> Result<Plan, OrchestrateError> {
        let inst = validate(scenario)?;
        self.plan_instance(&inst, None)
    }

    /// Validates `scenario` and re-plans it from `previous`, moving as few agents as
    /// possible (see [`OrchestratorConfig::move_cost`]).
    pub fn replan(&self, scenario: &Scenario, previous: &Plan) -> Result<Plan, OrchestrateError> {
        let inst = validate(scenario)?;
        self.plan_instance(&inst, Some(previous))
    }

    /// Plans a validated instance, from `previous` when given.
    pub fn plan_instance(&self, inst: &Instance, previous: Option<&Plan>) -> Result<Plan, OrchestrateError> {
        self.config.check()?;
        let cfg = &self.config;
        let t_start = Instant::now();
        let (aa, pp) = (inst.num_agents(), inst.num_pools());
        let mut stages = Vec::new();

        // Previous placement, by index; which agents the previous plan knew.
        let mut replan = None;
        let mut was_present = vec![false; aa];
        let prev: Option<Vec<Option<usize>>> = previous.map(|plan| {
            let agent_pos: HashMap<&str, usize> = inst
                .agent_ids
                .iter()
                .enumerate()
                .map(|(i, a)| (a.as_str(), i))
                .collect();
            let pool_pos: HashMap<&str, usize> =
                inst.pool_ids.iter().enumerate().map(|(i, a)| (a.as_str(), i)).collect();
            let mut v = vec![None; aa];
            let mut left = 0;
            for pl in &plan.placements {
                match agent_pos.get(pl.agent.as_str()) {
                    Some(&a) => {
                        was_present[a] = true;
                        v[a] = pl.pool.as_deref().and_then(|p| pool_pos.get(p).copied());
                    }
                    None => left += 1,
                }
            }
            replan = Some(ReplanReport {
                joined: was_present.iter().filter(|&&s| !s).count(),
                left,
                ..Default::default()
            });
            v
        });

        // The global problem (costs with move penalties; traffic priced).
        let pairs: Vec<(u32, u32, f64)> = inst
            .traffic
            .iter_upper()
            .map(|(a, b, w)| (a as u32, b as u32, w * inst.comm_cost))
            .collect();
        let adj = inst.traffic.map_weights(|w| w * inst.comm_cost);
        let mut cost = inst.cost.clone();
        let move_cost = match (&prev, cfg.move_cost) {
            (None, _) => 0.0,
            (Some(_), Some(m)) => m,
            (Some(_), None) => (0..aa)
                .map(|a| {
                    let c = inst.agent_cost(a);
                    let spread =
                        c.iter().fold(f64::MIN, |x: f64, &y| x.max(y)) - c.iter().fold(f64::MAX, |x: f64, &y| x.min(y));
                    spread + adj.row_sum(a)
                })
                .fold(0.0, f64::max),
        };
        if let Some(prev) = &prev {
            for a in 0..aa {
                if let Some(q) = prev[a] {
                    for p in 0..pp {
                        if p != q {
                            cost[a * pp + p] += move_cost;
                        }
                    }
                }
            }
        }
        let problem = AssignProblem {
            num_items: aa,
            num_pools: pp,
            num_kinds: inst.num_kinds(),
            load: inst.load.clone(),
            pool_load: inst.pool_load.clone(),
            allowed: inst.allowed.clone(),
            cost,
            pairs,
            capacity: inst.capacity.clone(),
        };

        // 1. Cluster.
        let t0 = Instant::now();
        let size = cfg.cluster_size.unwrap_or_else(|| (aa / (2 * pp).max(1)).clamp(4, 32));
        let clustering = hierarchical(
            &inst.traffic,
            size,
            cfg.max_k,
            &cfg.penalties,
            self.backend.as_ref(),
            derive_seed(cfg.seed, 1),
            cfg.batch_size,
        )?;
        stages.push(StageReport {
            stage: "cluster".into(),
            seconds: t0.elapsed().as_secs_f64(),
            subproblems: clustering.subproblems,
            objective: None,
        });

        // 2. Initial placement.
        let t0 = Instant::now();
        let mut st = State {
            inst,
            global: Assignment::with_adjacency(&problem, adj, vec![None; aa]),
        };
        let mut subproblems = 0;
        let mut forced = 0;
        let mut time_to_feasible: Option<f64> = None;
        if let Some(prev) = &prev {
            for (a, p) in prev.iter().enumerate() {
                if let Some(p) = *p {
                    st.global.apply(a, Some(p));
                }
            }
            let before: Vec<Option<usize>> = st.global.placement.clone();
            repair_assignment(&mut st.global);
            forced = (0..aa)
                .filter(|&a| was_present[a] && (prev[a].is_none() || before[a] != st.global.placement[a]))
                .count();
        } else if aa <= cfg.direct_max_agents && pp <= cfg.max_pools {
            let all: Vec<u32> = (0..aa as u32).collect();
            let greedy = greedy_assignment(inst);
            for (a, p) in greedy.iter().enumerate() {
                st.global.apply(a, *p);
            }
            subproblems += self.improve_batch(&mut st, &[all], None, derive_seed(cfg.seed, 2), true)?;
        } else {
            subproblems += self.coarse_place(&mut st, &clustering)?;
        }
        // Agents that fit nowhere stay unplaced; the metrics report them as violations.
        repair_assignment(&mut st.global);
        if time_to_feasible.is_none() && problem.is_feasible(&st.global.placement) {
            time_to_feasible = Some(t_start.elapsed().as_secs_f64());
        }
        stages.push(StageReport {
            stage: if prev.is_some() { "warm-start" } else { "place" }.into(),
            seconds: t0.elapsed().as_secs_f64(),
            subproblems,
            objective: Some(problem.objective(&st.global.placement)),
        });

        // 3. Improve: per cluster, then per pair of clusters.
        let t0 = Instant::now();
        let mut subproblems = 0;
        let pairs_of_clusters = cluster_pairs(inst, &clustering);
        for round in 0..cfg.rounds {
            if self.interrupted() {
                break;
            }
            let before = problem.objective(&st.global.placement);
            let r = round as u64 * 4;
            subproblems +=
                self.improve_batch(&mut st, &clustering.members, None, derive_seed(cfg.seed, 10 + r), false)?;
            subproblems +=
                self.improve_batch(&mut st, &pairs_of_clusters, None, derive_seed(cfg.seed, 11 + r), false)?;
            let (sets, pools) = pool_pairs(&st.global, 48);
            subproblems += self.improve_batch(&mut st, &sets, Some(&pools), derive_seed(cfg.seed, 12 + r), false)?;
            refine_moves(&mut st.global, cfg.refine_passes);
            let after = problem.objective(&st.global.placement);
            if after >= before - 1e-9 * (1.0 + before.abs()) {
                break;
            }
        }
        if time_to_feasible.is_none() && problem.is_feasible(&st.global.placement) {
            time_to_feasible = Some(t_start.elapsed().as_secs_f64());
        }
        stages.push(StageReport {
            stage: "improve".into(),
            seconds: t0.elapsed().as_secs_f64(),
            subproblems,
            objective: Some(problem.objective(&st.global.placement)),
        });

        // 4. Refine across borders.
        let t0 = Instant::now();
        if !self.interrupted() {
            refine_moves(&mut st.global, cfg.refine_passes);
        }
        if time_to_feasible.is_none() && problem.is_feasible(&st.global.placement) {
            time_to_feasible = Some(t_start.elapsed().as_secs_f64());
        }
        stages.push(StageReport {
            stage: "refine".into(),
            seconds: t0.elapsed().as_secs_f64(),
            subproblems: 0,
            objective: Some(problem.objective(&st.global.placement)),
        });

        // 4b. Constrained engine over the whole assignment (capacities as native
        // constraints), then the exact optimum when the scenario is small enough.
        let t0 = Instant::now();
        if cfg.constrained_max_vars > 0 && aa > 0 && aa * pp <= cfg.constrained_max_vars && !self.interrupted() {
            let time_limit = cfg.time_limit.map(|t| {
                let left = t * (1.0 - super::schedule_lns::schedule_share(inst)) - t_start.elapsed().as_secs_f64();
                std::time::Duration::from_secs_f64(left.max(0.05))
            });
            let params = crate::cqm::CqmSaParams {
                chains: 2,
                sweeps: 200,
                cycles: 2,
                seed: derive_seed(cfg.seed, 20),
                time_limit,
                target_energy: None,
            };
            let current = st.global.placement.clone();
            let interrupt = cfg.interrupt.as_ref().map(Interrupt::flag);
            let (found, first) = super::constrained::solve_assignment_timed(&problem, &current, params, interrupt)
                .map_err(|e| OrchestrateError::InvalidParameter {
                    name: "constrained",
                    reason: e.to_string(),
                })?;
            if time_to_feasible.is_none()
                && let Some(first) = first
            {
                time_to_feasible = Some((t0.duration_since(t_start) + first).as_secs_f64());
            }
            if let Some(found) = found {
                let found: Vec<Option<usize>> = found.into_iter().map(Some).collect();
                let old_feasible = problem.is_feasible(&current);
                if !old_feasible || problem.objective(&found) < problem.objective(&current) - 1e-9 {
                    for (a, &p) in found.iter().enumerate() {
                        if st.global.placement[a] != p {
                            st.global.apply(a, p);
                        }
                    }
                }
            }
        }
        let exact = if previous.is_none() && !self.interrupted() {
            exact_assignment(inst, cfg.exact_max_leaves)
        } else {
            None
        };
        if let Some((ex, _)) = &exact {
            let ex: Vec<Option<usize>> = ex.iter().map(|&p| Some(p)).collect();
            if problem.objective(&ex) < problem.objective(&st.global.placement) - 1e-9
                || !problem.is_feasible(&st.global.placement)
            {
                for (a, &p) in ex.iter().enumerate() {
                    if st.global.placement[a] != p {
                        st.global.apply(a, p);
                    }
                }
            }
        }
        stages.push(StageReport {
            stage: "constrained".into(),
            seconds: t0.elapsed().as_secs_f64(),
            subproblems: 0,
            objective: Some(problem.objective(&st.global.placement)),
        });

        // 5. Schedule.
        let t0 = Instant::now();
        let sched = if self.interrupted() {
            // Interrupted: the list schedule (greedy, fast) keeps the plan complete.
            let ls = list_schedule(inst);
            super::schedule::ScheduleResult {
                start: ls.start.iter().map(|s| s.unwrap_or(0)).collect(),
                agent: ls.agent,
                subproblems: 0,
                qubo_wins: 0,
            }
        } else {
            let sched = schedule(
                inst,
                self.backend.as_ref(),
                cfg.schedule_chunk,
                cfg.schedule_window,
                &cfg.penalties,
                derive_seed(cfg.seed, 3),
            )?;
            // Then large-neighbourhood search over the schedule (the rest of the budget).
            let left = cfg
                .time_limit
                .map(|t| std::time::Duration::from_secs_f64((t - t_start.elapsed().as_secs_f64()).max(0.05)));
            super::schedule_lns::polish_schedule(inst, sched, left, derive_seed(cfg.seed, 4), cfg.interrupt.as_ref())?
        };
        stages.push(StageReport {
            stage: "schedule".into(),
            seconds: t0.elapsed().as_secs_f64(),
            subproblems: sched.subproblems,
            objective: None,
        });
        let solve_time = t_start.elapsed().as_secs_f64();
        let stop_reason = if self.interrupted() {
            StopReason::Interrupted
        } else if cfg.time_limit.is_some_and(|t| solve_time >= t) {
            StopReason::TimeLimit
        } else {
            StopReason::Completed
        };

        // 6. Metrics and comparisons.
        let placement = st.global.placement.clone();
        let (mut metrics, violations) = evaluate(
            inst,
            &placement,
            Some(&clustering.cluster_of),
            &sched.start,
            &sched.agent,
        );
        metrics.solve_time_s = solve_time;
        if time_to_feasible.is_none()
            && violations.iter().all(|v| {
                !matches!(
                    v,
                    Violation::AgentUnplaced { .. }
                        | Violation::CapacityExceeded { .. }
                        | Violation::PoolNotAllowed { .. }
                )
            })
        {
            time_to_feasible = Some(solve_time);
        }
        metrics.time_to_feasible_s = time_to_feasible;
        let mut comparison = Comparison::default();
        if cfg.baseline {
            let t0 = Instant::now();
            let g = greedy_assignment(inst);
            let ls = list_schedule(inst);
            let gs: Vec<usize> = ls.start.iter().map(|s| s.unwrap_or(0)).collect();
            let (mut gm, _) = evaluate(inst, &g, None, &gs, &ls.agent);
            gm.solve_time_s = t0.elapsed().as_secs_f64();
            comparison.improvement_vs_greedy_pct = if gm.objective.abs() > 0.0 {
                100.0 * (gm.objective - metrics.objective) / gm.objective.abs()
            } else {
                0.0
            };
            comparison.greedy = gm;
            let gb = super::baseline::greedy_assignment_in(inst, &super::baseline::traffic_order(inst));
            let (place, comm) = super::baseline::assignment_objective(inst, &gb);
            comparison.greedy_traffic_order_objective = place + comm;
        }
        if let Some((_, opt)) = exact {
            comparison.exact_objective = Some(opt);
            comparison.gap_to_exact = Some(metrics.objective - opt);
        }
        if let (Some(report), Some(prev)) = (replan.as_mut(), &prev) {
            let moved: Vec<usize> = (0..aa).filter(|&a| was_present[a] && prev[a] != placement[a]).collect();
            report.moved = moved.len();
            report.kept = (0..aa).filter(|&a| was_present[a]).count() - moved.len();
            report.forced = forced;
            report.move_cost = move_cost;
            report.moved_agents = moved.iter().take(100).map(|&a| inst.agent_ids[a].clone()).collect();
        }
        Ok(Plan {
            format: "qam-plan".into(),
            version: 1,
            backend: self.backend.name(),
            seed: cfg.seed,
            placements: (0..aa)
                .map(|a| Placement {
                    agent: inst.agent_ids[a].clone(),
                    pool: placement[a].map(|p| inst.pool_ids[p].clone()),
                    cluster: clustering.cluster_of[a],
                })
                .collect(),
            schedule: (0..inst.tasks.len())
                .map(|t| ScheduledTask {
                    task: inst.task_ids[t].clone(),
                    start: sched.start[t],
                    end: sched.start[t] + inst.tasks[t].duration,
                    agent: sched.agent[t].map(|a| inst.agent_ids[a].clone()),
                })
                .collect(),
            violations,
            metrics,
            comparison,
            replan,
            stages,
            stop_reason: Some(stop_reason),
        })
    }

    /// Coarse placement: each group's clusters placed whole by one QUBO, groups in order.
    fn coarse_place(&self, st: &mut State, clustering: &Clustering) -> Result<usize, OrchestrateError> {
        let cfg = &self.config;
        let inst = st.inst;
        let (pp, kk) = (inst.num_pools(), inst.num_kinds());
        let mut solved = 0;
        for (g, clusters) in clustering.groups().into_iter().enumerate() {
            if self.interrupted() {
                break; // the agents left are placed greedily by the repair that follows
            }
            let n = clusters.len();
            let members: Vec<&Vec<u32>> = clusters.iter().map(|&c| &clustering.members[c as usize]).collect();
            let mut item_of: HashMap<u32, usize> = HashMap::new();
            for (i, m) in members.iter().enumerate() {
                for &a in m.iter() {
                    item_of.insert(a, i);
                }
            }
            // Full-pool costs of each cluster: own costs + traffic to placed agents elsewhere.
            let mut full_cost = vec![0.0; n * pp];
            let mut load = vec![0.0; n * kk];
            let mut pair_w: HashMap<(u32, u32), f64> = HashMap::new();
            for (i, m) in members.iter().enumerate() {
                for &a in m.iter() {
                    let a = a as usize;
                    let c = &st.global.problem.cost[a * pp..(a + 1) * pp];
                    for p in 0..pp {
                        full_cost[i * pp + p] += c[p];
                    }
                    // Smallest load over the pools the agent may use (candidate sizing).
                    for k in 0..kk {
                        load[i * kk + k] += (0..pp)
                            .filter(|&p| inst.can_place(a, p))
                            .map(|p| inst.agent_load_in(a, p)[k])
                            .fold(f64::INFINITY, f64::min);
                    }
                    let (cols, w) = st.global.adj.row(a);
                    for (&b, &w) in cols.iter().zip(w) {
                        if let Some(&j) = item_of.get(&b) {
                            if j > i {
                                *pair_w.entry((i as u32, j as u32)).or_default() += w;
                            }
                        } else if let Some(q) = st.global.placement[b as usize] {
                            for p in 0..pp {
                                if p != q {
                                    full_cost[i * pp + p] += w;
                                }
                            }
                        }
                    }
                }
            }
            // Candidate pools: lowest total cost among pools with room, enough capacity.
            let free: Vec<f64> = (0..pp * kk)
                .map(|x| (inst.capacity[x] - st.global.usage[x]).max(0.0))
                .collect();
            let mut order: Vec<usize> = (0..pp).filter(|&p| (0..kk).any(|k| free[p * kk + k] > 0.0)).collect();
            let score = |p: usize| (0..n).map(|i| full_cost[i * pp + p]).sum::<f64>();
            order.sort_by(|&a, &b| score(a).total_cmp(&score(b)).then(a.cmp(&b)));
            let need: Vec<f64> = (0..kk).map(|k| (0..n).map(|i| load[i * kk + k]).sum::<f64>()).collect();
            let mut cand = Vec::new();
            for &p in &order {
                let enough =
                    (0..kk).all(|k| cand.iter().map(|&q: &usize| free[q * kk + k]).sum::<f64>() >= 1.3 * need[k]);
                if cand.len() >= cfg.max_pools && enough {
                    break;
                }
                cand.push(p);
                if cand.len() >= 2 * cfg.max_pools {
                    break;
                }
            }
            if cand.is_empty() {
                continue; // no room anywhere: the agents are placed (or reported) by repair
            }
            let m = cand.len();
            // Per-pool loads: a cluster's load in a pool is its members' sum there; it may
            // use the pool only if every member may.
            let (load, pool_load, allowed) = if inst.has_pool_loads() {
                let mut pl = vec![0.0; n * m * kk];
                let mut al = vec![true; n * m];
                for (i, mem) in members.iter().enumerate() {
                    for (lp, &p) in cand.iter().enumerate() {
                        for &a in mem.iter() {
                            al[i * m + lp] &= inst.can_place(a as usize, p);
                            for (k, l) in inst.agent_load_in(a as usize, p).iter().enumerate() {
                                pl[(i * m + lp) * kk + k] += l;
                            }
                        }
                    }
                }
                (Vec::new(), pl, al)
            } else {
                (load, Vec::new(), Vec::new())
            };
            let sub = AssignProblem {
                num_items: n,
                num_pools: m,
                num_kinds: kk,
                load,
                pool_load,
                allowed,
                cost: (0..n)
                    .flat_map(|i| cand.iter().map(move |&p| (i, p)))
                    .map(|(i, p)| full_cost[i * pp + p])
                    .collect(),
                pairs: pair_w.into_iter().map(|((i, j), w)| (i, j, w)).collect::<Vec<_>>(),
                capacity: cand
                    .iter()
                    .flat_map(|&p| (0..kk).map(move |k| (p, k)))
                    .map(|(p, k)| free[p * kk + k])
                    .collect(),
            };
            let mut sub = sub;
            sub.pairs.sort_by_key(|a| (a.0, a.1));
            let adj = Couplings::from_triplets(n, sub.pairs.clone())?;
            // Warm start: clusters greedily, in order.
            let mut warm = Assignment::with_adjacency(&sub, adj.clone(), vec![None; n]);
            repair_assignment(&mut warm);
            let warm = warm.placement;
            let aq = build_assign_qubo(&sub, &cfg.penalties)?;
            let sp = Subproblem {
                id: 1_000_000 + g as u64,
                warm_start: Some(aq.encode(&warm)?),
                model: Model::Qubo(aq.qubo.clone()),
                seed: derive_seed(cfg.seed, 1_000_000 + g as u64),
            };
            let sets = self
                .backend
                .solve_batch(std::slice::from_ref(&sp), &SolveContext::default())?;
            solved += 1;
            let cands = sets[0]
                .samples()
                .iter()
                .take(4)
                .map(|s| aq.decode(&s.state))
                .chain(std::iter::once(warm));
            if let Some((best, _, _)) = best_repaired(&sub, &adj, cands) {
                for (i, p) in best.iter().enumerate() {
                    if let Some(p) = p {
                        for &a in members[i].iter() {
                            st.global.apply(a as usize, Some(cand[*p]));
                        }
                    }
                }
            }
            // Agents of clusters that did not fit: one by one where they fit best.
            for m in &members {
                for &a in m.iter() {
                    if st.global.placement[a as usize].is_none()
                        && let Some((q, _)) = st.global.best_target(a as usize)
                    {
                        st.global.apply(a as usize, Some(q));
                    }
                }
            }
        }
        Ok(solved)
    }

    /// One improvement pass over `subsets` (disjoint agent sets), in batches. Candidate pools
    /// are `fixed_pools[s]` when given (disjoint between subsets), all pools with
    /// `all_pools`, otherwise chosen by [`candidate_pools`]. Returns the number of
    /// subproblems solved.
    fn improve_batch(
        &self,
        st: &mut State,
        subsets: &[Vec<u32>],
        fixed_pools: Option<&[Vec<usize>]>,
        seed: u64,
        all_pools: bool,
    ) -> Result<usize, OrchestrateError> {
        let cfg = &self.config;
        let inst = st.inst;
        let (aa, pp) = (inst.num_agents(), inst.num_pools());
        let mut owner = vec![u32::MAX; aa];
        let mut solved = 0;
        // Sets whose agents all share one pool with all their partners cost no traffic; their
        // subproblem could only trade placement cost, which the capacity left rarely allows
        // and the border refinement covers, so they are skipped (most sets at scale).
        let kept: Vec<Vec<u32>>;
        let subsets = if fixed_pools.is_none() && !all_pools {
            let g = &st.global;
            kept = subsets
                .iter()
                .filter(|set| {
                    let first = g.placement[set[0] as usize];
                    first.is_none()
                        || set.iter().any(|&a| {
                            let pa = g.placement[a as usize];
                            pa != first || g.adj.row(a as usize).0.iter().any(|&b| g.placement[b as usize] != pa)
                        })
                })
                .cloned()
                .collect();
            &kept[..]
        } else {
            subsets
        };
        for (chunk_index, chunk) in subsets.chunks(cfg.batch_size).enumerate() {
            if self.interrupted() {
                break;
            }
            for (s, set) in chunk.iter().enumerate() {
                for &a in set {
                    owner[a as usize] = s as u32;
                }
            }
            let g = &st.global;
            // Candidate pools per subset.
            let cands: Vec<Vec<usize>> = chunk
                .par_iter()
                .enumerate()
                .map(|(s, set)| {
                    if let Some(f) = fixed_pools {
                        return f[chunk_index * cfg.batch_size + s].clone();
                    }
                    if all_pools || pp <= cfg.max_pools {
                        return (0..pp).collect();
                    }
                    candidate_pools(g, set, &owner, s as u32, cfg.max_pools)
                })
                .collect();
            let mut users = vec![0usize; pp];
            for c in &cands {
                for &p in c {
                    users[p] += 1;
                }
            }
            let built: Vec<(AssignProblem, Vec<Option<usize>>)> = chunk
                .par_iter()
                .enumerate()
                .map(|(s, set)| build_agent_subproblem(g, set, &owner, s as u32, &cands[s], &users))
                .collect();
            let qubos: Vec<_> = built
                .par_iter()
                .map(|(sub, _)| build_assign_qubo(sub, &cfg.penalties))
                .collect::<Result<Vec<_>, _>>()?;
            let batch: Vec<Subproblem> = qubos
                .iter()
                .zip(&built)
                .enumerate()
                .map(|(s, (aq, (_, warm)))| {
                    Ok(Subproblem {
                        id: (chunk_index * cfg.batch_size + s) as u64,
                        warm_start: Some(aq.encode(warm)?),
                        model: Model::Qubo(aq.qubo.clone()),
                        seed: derive_seed(seed, (chunk_index * cfg.batch_size + s) as u64),
                    })
                })
                .collect::<Result<_, OrchestrateError>>()?;
            let sets = self.backend.solve_batch(&batch, &SolveContext::default())?;
            solved += batch.len();
            drop(batch);
            let answers: Vec<Option<Vec<Option<usize>>>> = built
                .par_iter()
                .zip(qubos.par_iter())
                .zip(sets.par_iter())
                .map(|(((sub, warm), aq), set)| {
                    let adj = Couplings::from_triplets(sub.num_items, sub.pairs.clone()).ok()?;
                    let cands = set
                        .samples()
                        .iter()
                        .take(4)
                        .map(|s| aq.decode(&s.state))
                        .chain(std::iter::once(warm.clone()));
                    best_repaired(sub, &adj, cands).map(|b| b.0)
                })
                .collect();
            // Apply in order, keeping only changes that lower the exact global objective.
            for (s, ans) in answers.into_iter().enumerate() {
                let Some(ans) = ans else { continue };
                let set = &chunk[s];
                let new: Vec<Option<usize>> = ans.iter().map(|p| p.map(|p| cands[s][p])).collect();
                try_apply(&mut st.global, set, &new);
            }
            for set in chunk {
                for &a in set {
                    owner[a as usize] = u32::MAX;
                }
            }
        }
        Ok(solved)
    }
}

/// Moves `set` to `new` if that lowers the global objective without overfilling any pool
/// more than before (reverting otherwise). Returns whether it was kept.
fn try_apply(g: &mut Assignment, set: &[u32], new: &[Option<usize>]) -> bool {
    let kk = g.problem.num_kinds;
    let old: Vec<Option<usize>> = set.iter().map(|&a| g.placement[a as usize]).collect();
    let mut touched: Vec<usize> = old.iter().chain(new).flatten().copied().collect();
    touched.sort_unstable();
    touched.dedup();
    let overflow = |g: &Assignment| -> f64 {
        touched
            .iter()
            .flat_map(|&p| (0..kk).map(move |k| (p, k)))
            .map(|(p, k)| (g.usage[p * kk + k] - g.problem.capacity[p * kk + k]).max(0.0))
            .sum()
    };
    let unplaced = |g: &Assignment| set.iter().filter(|&&a| g.placement[a as usize].is_none()).count();
    let (ov0, un0) = (overflow(g), unplaced(g));
    let mut delta = 0.0;
    for (&a, &p) in set.iter().zip(new) {
        delta += g.delta(a as usize, p);
        g.apply(a as usize, p);
    }
    let (ov1, un1) = (overflow(g), unplaced(g));
    let better_feas = un1 < un0 || (un1 == un0 && ov1 < ov0 - 1e-9);
    let same_feas = un1 == un0 && ov1 <= ov0 + 1e-9;
    if better_feas || (same_feas && delta < -1e-9 * (1.0 + delta.abs())) {
        return true;
    }
    for (&a, &p) in set.iter().zip(&old).rev() {
        g.apply(a as usize, p);
    }
    false
}

/// Candidate pools of an agent set: its current pools, then the pools of its outside
/// partners by traffic, then the cheapest pools with room; at most `max` unless the current
/// pools alone are more.
fn candidate_pools(g: &Assignment, set: &[u32], owner: &[u32], me: u32, max: usize) -> Vec<usize> {
    let pp = g.problem.num_pools;
    let kk = g.problem.num_kinds;
    let mut cand: Vec<usize> = set.iter().filter_map(|&a| g.placement[a as usize]).collect();
    cand.sort_unstable();
    cand.dedup();
    let mut pull = vec![0.0; pp];
    let mut cost = vec![0.0; pp];
    for &a in set {
        let (cols, w) = g.adj.row(a as usize);
        for (&b, &w) in cols.iter().zip(w) {
            if owner[b as usize] != me
                && let Some(q) = g.placement[b as usize]
            {
                pull[q] += w;
            }
        }
        let c = &g.problem.cost[a as usize * pp..(a as usize + 1) * pp];
        for p in 0..pp {
            cost[p] += c[p];
        }
    }
    let mut by_pull: Vec<usize> = (0..pp).filter(|&p| pull[p] > 0.0 && !cand.contains(&p)).collect();
    by_pull.sort_by(|&a, &b| pull[b].total_cmp(&pull[a]).then(a.cmp(&b)));
    for p in by_pull {
        if cand.len() >= max.saturating_sub(2).max(1) {
            break;
        }
        cand.push(p);
    }
    let mut by_cost: Vec<usize> = (0..pp)
        .filter(|&p| !cand.contains(&p) && (0..kk).any(|k| g.usage[p * kk + k] < g.problem.capacity[p * kk + k]))
        .collect();
    by_cost.sort_by(|&a, &b| cost[a].total_cmp(&cost[b]).then(a.cmp(&b)));
    for p in by_cost {
        if cand.len() >= max {
            break;
        }
        cand.push(p);
    }
    cand
}

/// The agent-level subproblem of `set` over `cand` pools, and the current placement of its
/// agents in local pool indices.
fn build_agent_subproblem(
    g: &Assignment,
    set: &[u32],
    owner: &[u32],
    me: u32,
    cand: &[usize],
    users: &[usize],
) -> (AssignProblem, Vec<Option<usize>>) {
    let pp = g.problem.num_pools;
    let kk = g.problem.num_kinds;
    let (n, m) = (set.len(), cand.len());
    let local_pool: HashMap<usize, usize> = cand.iter().enumerate().map(|(i, &p)| (p, i)).collect();
    let local: HashMap<u32, u32> = set.iter().enumerate().map(|(i, &a)| (a, i as u32)).collect();
    let per_pool = !g.problem.pool_load.is_empty();
    let mut load = Vec::with_capacity(if per_pool { 0 } else { n * kk });
    let mut pool_load = Vec::with_capacity(if per_pool { n * m * kk } else { 0 });
    let mut allowed = Vec::with_capacity(if g.problem.allowed.is_empty() { 0 } else { n * m });
    let mut cost = Vec::with_capacity(n * m);
    let mut pairs = Vec::new();
    let mut own = vec![0.0; m * kk];
    for (i, &a) in set.iter().enumerate() {
        let a = a as usize;
        if per_pool {
            for &p in cand {
                pool_load.extend_from_slice(g.problem.load_in(a, p));
            }
        } else {
            load.extend_from_slice(g.problem.load_in(a, 0));
        }
        if !g.problem.allowed.is_empty() {
            allowed.extend(cand.iter().map(|&p| g.problem.allowed(a, p)));
        }
        if let Some(p) = g.placement[a]
            && let Some(&lp) = local_pool.get(&p)
        {
            let l = g.problem.load_in(a, p);
            for k in 0..kk {
                own[lp * kk + k] += l[k];
            }
        }
        let c = &g.problem.cost[a * pp..(a + 1) * pp];
        let base = cost.len();
        cost.extend(cand.iter().map(|&p| c[p]));
        let (cols, w) = g.adj.row(a);
        for (&b, &w) in cols.iter().zip(w) {
            if owner[b as usize] == me {
                let j = local[&b];
                if j > i as u32 {
                    pairs.push((i as u32, j, w));
                }
            } else {
                let q = g.placement[b as usize];
                for (lp, &p) in cand.iter().enumerate() {
                    if q != Some(p) {
                        cost[base + lp] += w;
                    }
                }
            }
        }
    }
    let capacity: Vec<f64> = (0..m * kk)
        .map(|x| {
            let (lp, k) = (x / kk, x % kk);
            let p = cand[lp];
            let free = g.problem.capacity[p * kk + k] - g.usage[p * kk + k];
            (own[x] + free / users[p].max(1) as f64).max(0.0)
        })
        .collect();
    let warm = set
        .iter()
        .map(|&a| g.placement[a as usize].and_then(|p| local_pool.get(&p).copied()))
        .collect();
    (
        AssignProblem {
            num_items: n,
            num_pools: m,
            num_kinds: kk,
            load,
            pool_load,
            allowed,
            cost,
            pairs,
            capacity,
        },
        warm,
    )
}

/// Pairs of pools joined by the most traffic (greedy matching, heaviest first) and, for each
/// pair, up to `max_items` agents of the two pools with the most traffic to the other one
/// (the agents whose swap can un-split a team). Pool pairs are disjoint, so these
/// subproblems get the pools' full remaining capacity.
fn pool_pairs(g: &Assignment, max_items: usize) -> (Vec<Vec<u32>>, Vec<Vec<usize>>) {
    let pp = g.problem.num_pools;
    let n = g.problem.num_items;
    let mut w = vec![0.0; pp * pp];
    for a in 0..n {
        let Some(p) = g.placement[a] else { continue };
        let (cols, ws) = g.adj.row(a);
        for (&b, &x) in cols.iter().zip(ws) {
            if let Some(q) = g.placement[b as usize]
                && q > p
            {
                w[p * pp + q] += x;
            }
        }
    }
    let mut edges: Vec<(usize, usize, f64)> = (0..pp)
        .flat_map(|p| (p + 1..pp).map(move |q| (p, q)))
        .map(|(p, q)| (p, q, w[p * pp + q]))
        .filter(|e| e.2 > 0.0)
        .collect();
    edges.sort_by(|a, b| b.2.total_cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
    let mut partner = vec![usize::MAX; pp];
    for (p, q, _) in edges {
        if partner[p] == usize::MAX && partner[q] == usize::MAX {
            partner[p] = q;
            partner[q] = p;
        }
    }
    // Traffic of each agent to its pool's partner pool.
    let mut score = vec![0.0; n];
    for (a, s) in score.iter_mut().enumerate() {
        let Some(p) = g.placement[a] else { continue };
        if partner[p] == usize::MAX {
            continue;
        }
        let (cols, ws) = g.adj.row(a);
        for (&b, &x) in cols.iter().zip(ws) {
            if g.placement[b as usize] == Some(partner[p]) {
                *s += x;
            }
        }
    }
    let mut sets = Vec::new();
    let mut pools = Vec::new();
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); pp];
    for (a, &sc) in score.iter().enumerate() {
        if sc > 0.0
            && let Some(p) = g.placement[a]
        {
            members[p].push(a as u32);
        }
    }
    for p in 0..pp {
        let q = partner[p];
        if q == usize::MAX || q < p {
            continue;
        }
        let mut set: Vec<u32> = members[p].iter().chain(&members[q]).copied().collect();
        set.sort_by(|&a, &b| score[b as usize].total_cmp(&score[a as usize]).then(a.cmp(&b)));
        set.truncate(max_items);
        set.sort_unstable();
        if set.len() >= 2 {
            sets.push(set);
            pools.push(vec![p, q]);
        }
    }
    (sets, pools)
}

/// Pairs of clusters joined by the most traffic (greedy matching, heaviest first), as agent
/// sets; clusters left unmatched are not included.
fn cluster_pairs(inst: &Instance, c: &Clustering) -> Vec<Vec<u32>> {
    let mut w: HashMap<(u32, u32), f64> = HashMap::new();
    for (a, b, r) in inst.traffic.iter_upper() {
        let (x, y) = (c.cluster_of[a], c.cluster_of[b]);
        if x != y {
            *w.entry((x.min(y), x.max(y))).or_default() += r;
        }
    }
    let mut edges: Vec<((u32, u32), f64)> = w.into_iter().collect();
    edges.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut used = vec![false; c.members.len()];
    let mut out = Vec::new();
    for ((x, y), _) in edges {
        if !used[x as usize] && !used[y as usize] {
            used[x as usize] = true;
            used[y as usize] = true;
            let mut set = c.members[x as usize].clone();
            set.extend_from_slice(&c.members[y as usize]);
            out.push(set);
        }
    }
    out
}

/// Metrics of the greedy baseline alone (greedy placement, list schedule), with its time.
pub fn greedy_metrics(inst: &Instance) -> (Metrics, Vec<Violation>) {
    let t0 = Instant::now();
    let g = greedy_assignment(inst);
    let ls = list_schedule(inst);
    let gs: Vec<usize> = ls.start.iter().map(|s| s.unwrap_or(0)).collect();
    let (mut m, v) = evaluate(inst, &g, None, &gs, &ls.agent);
    m.solve_time_s = t0.elapsed().as_secs_f64();
    (m, v)
}
