//! Checks a [`Scenario`] and compiles it into a dense, index-based [`Instance`].
//!
//! Every error names the offending field by its JSON path (`traffic[12].to`,
//! `pools[2].capacity.cpu`, ...). Checks: unique ids; known resource kinds, pools, agents
//! and tasks in every reference; finite, non-negative loads, capacities and rates; no
//! self-traffic; durations of at least one slot; every task's capability offered by some
//! agent; acyclic precedence (the cycle is named); every agent fits at least one pool;
//! total demand at most total capacity per resource kind (the shortfall per kind is named).
//! Per-pool loads (`"load": {"p0": {"cpu": 2}}`) must name known pools, and may not ask a
//! pool for a resource kind it has no capacity of (both errors name the agent and pool);
//! their total demand counts each agent's smallest load over the pools it may use.

use super::ScenarioError;
use super::scenario::{Costs, Load, Scenario};
use crate::model::Couplings;
use std::collections::HashMap;

/// One task with its references resolved to indices.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSpec {
    /// Index into [`Instance::capabilities`].
    pub capability: usize,
    /// Length in slots (>= 1).
    pub duration: usize,
    /// Tasks that must finish first.
    pub preds: Vec<usize>,
    /// Tasks that must not overlap this one (symmetric: listed on both sides).
    pub conflicts: Vec<usize>,
}

/// A validated scenario with dense arrays: agents `0..A`, pools `0..P`, kinds `0..K`.
#[derive(Clone, Debug)]
pub struct Instance {
    /// Resource kind names.
    pub kinds: Vec<String>,
    /// Agent ids, index order = scenario order.
    pub agent_ids: Vec<String>,
    /// Pool ids.
    pub pool_ids: Vec<String>,
    /// Agent loads when they are the same in every pool, row-major `load[a * K + k]`;
    /// empty when some agent has per-pool loads (then `pool_load` holds every agent's).
    /// Read loads with [`Instance::agent_load_in`].
    pub load: Vec<f64>,
    /// Loads per pool, `pool_load[(a * P + p) * K + k]`, when some agent's load depends on
    /// the pool (agents with one load repeat it in every pool); empty otherwise. Pools an
    /// agent may not use hold 0 here and `false` in `allowed`.
    pub pool_load: Vec<f64>,
    /// Pools each agent may be placed in, `allowed[a * P + p]`; empty: every pool (see
    /// [`Instance::can_place`]).
    pub allowed: Vec<bool>,
    /// Placement costs, row-major `cost[a * P + p]`.
    pub cost: Vec<f64>,
    /// Pool capacities, row-major `capacity[p * K + k]`.
    pub capacity: Vec<f64>,
    /// Undirected traffic graph: weight = sum of the rates in both directions.
    pub traffic: Couplings,
    /// Cost per unit of rate between agents in different pools.
    pub comm_cost: f64,
    /// Capability names (those used by agents or tasks).
    pub capabilities: Vec<String>,
    /// Agents having each capability (sorted).
    pub capability_agents: Vec<Vec<u32>>,
    /// Task ids.
    pub task_ids: Vec<String>,
    /// Tasks with resolved references.
    pub tasks: Vec<TaskSpec>,
    /// A topological order of the tasks (predecessors first).
    pub topo_order: Vec<usize>,
    /// Hard horizon in slots, if any.
    pub horizon: Option<usize>,
}

impl Instance {
    /// Number of agents.
    pub fn num_agents(&self) -> usize {
        self.agent_ids.len()
    }
    /// Number of pools.
    pub fn num_pools(&self) -> usize {
        self.pool_ids.len()
    }
    /// Number of resource kinds.
    pub fn num_kinds(&self) -> usize {
        self.kinds.len()
    }
    /// Loads of agent `a` when placed in pool `p`, one per kind.
    pub fn agent_load_in(&self, a: usize, p: usize) -> &[f64] {
        let k = self.num_kinds();
        if self.pool_load.is_empty() {
            &self.load[a * k..(a + 1) * k]
        } else {
            let x = (a * self.num_pools() + p) * k;
            &self.pool_load[x..x + k]
        }
    }
    /// True when agent `a` may be placed in pool `p` (a per-pool load lists `p`, or the
    /// load is the same everywhere). Capacity is not checked here.
    pub fn can_place(&self, a: usize, p: usize) -> bool {
        self.allowed.is_empty() || self.allowed[a * self.num_pools() + p]
    }
    /// True when some agent's load depends on the pool.
    pub fn has_pool_loads(&self) -> bool {
        !self.pool_load.is_empty()
    }
    /// Costs of agent `a`, one per pool.
    pub fn agent_cost(&self, a: usize) -> &[f64] {
        let p = self.num_pools();
        &self.cost[a * p..(a + 1) * p]
    }
    /// Capacities of pool `p`, one per kind.
    pub fn pool_capacity(&self, p: usize) -> &[f64] {
        let k = self.num_kinds();
        &self.capacity[p * k..(p + 1) * k]
    }
    /// Total traffic weight (each unordered pair once).
    pub fn total_traffic(&self) -> f64 {
        self.traffic.csr().2.iter().sum::<f64>() / 2.0
    }
}

/// Largest magnitude of any number in a scenario (costs, capacities, loads, rates): far
/// above any real quantity, and low enough that the QUBOs built from sums and products of
/// them (penalties included) stay finite, so overflow is reported here, naming the field.
pub const MAX_SCENARIO_VALUE: f64 = 1e12;

fn check_finite(field: impl FnOnce() -> String, v: f64) -> Result<(), ScenarioError> {
    if !v.is_finite() {
        return Err(ScenarioError::Invalid {
            field: field(),
            reason: format!("not a finite number ({v})"),
        });
    }
    if v.abs() > MAX_SCENARIO_VALUE {
        return Err(ScenarioError::Invalid {
            field: field(),
            reason: format!("{v:e} exceeds the limit of {MAX_SCENARIO_VALUE:e} in magnitude"),
        });
    }
    Ok(())
}

fn index_ids<'a>(ids: impl Iterator<Item = &'a String>, what: &str) -> Result<HashMap<&'a str, usize>, ScenarioError> {
    let mut map = HashMap::new();
    for (i, id) in ids.enumerate() {
        if map.insert(id.as_str(), i).is_some() {
            return Err(ScenarioError::Duplicate {
                field: format!("{what}[{i}].id"),
                id: id.clone(),
            });
        }
    }
    Ok(map)
}

/// Longest task, in slots: schedules are planned slot by slot, so durations drive memory
/// and time.
pub const MAX_SLOTS: usize = 1 << 20;

/// Largest sum of task durations (and horizon), in slots.
pub const MAX_TOTAL_SLOTS: usize = 1 << 22;

/// Validates `s` and compiles it into an [`Instance`].
pub fn validate(s: &Scenario) -> Result<Instance, ScenarioError> {
    let kk = s.resource_kinds.len();
    let kind_index = {
        let mut m = HashMap::new();
        for (i, k) in s.resource_kinds.iter().enumerate() {
            if m.insert(k.as_str(), i).is_some() {
                return Err(ScenarioError::Duplicate {
                    field: format!("resource_kinds[{i}]"),
                    id: k.clone(),
                });
            }
        }
        m
    };
    if s.format != "qam-scenario" {
        return Err(ScenarioError::Invalid {
            field: "format".into(),
            reason: format!("`{}` is not `qam-scenario`", s.format),
        });
    }
    let known_kinds = s.resource_kinds.join(", ");
    check_finite(|| "comm_cost".into(), s.comm_cost)?;
    if s.comm_cost < 0.0 {
        return Err(ScenarioError::Invalid {
            field: "comm_cost".into(),
            reason: format!("negative ({})", s.comm_cost),
        });
    }
    if let Some(h) = s.horizon
        && h > MAX_TOTAL_SLOTS
    {
        return Err(ScenarioError::Invalid {
            field: "horizon".into(),
            reason: format!("{h} slots exceed the limit of {MAX_TOTAL_SLOTS}"),
        });
    }
    if s.horizon == Some(0) {
        return Err(ScenarioError::Invalid {
            field: "horizon".into(),
            reason: "must be at least 1 slot".into(),
        });
    }

    // Pools.
    if s.pools.is_empty() {
        return Err(ScenarioError::Invalid {
            field: "pools".into(),
            reason: "no pools".into(),
        });
    }
    let pool_index = index_ids(s.pools.iter().map(|p| &p.id), "pools")?;
    let pp = s.pools.len();
    let mut capacity = vec![0.0; pp * kk];
    for (p, pool) in s.pools.iter().enumerate() {
        for (kind, &v) in &pool.capacity {
            let field = || format!("pools[{p}].capacity.{kind}");
            let &k = kind_index
                .get(kind.as_str())
                .ok_or_else(|| ScenarioError::UnknownResource {
                    field: field(),
                    kind: kind.clone(),
                    known: known_kinds.clone(),
                })?;
            check_finite(field, v)?;
            if v < 0.0 {
                return Err(ScenarioError::NegativeCapacity {
                    field: field(),
                    value: v,
                });
            }
            capacity[p * kk + k] = v;
        }
    }

    // Agents.
    if s.agents.is_empty() {
        return Err(ScenarioError::Invalid {
            field: "agents".into(),
            reason: "no agents".into(),
        });
    }
    let agent_index = index_ids(s.agents.iter().map(|a| &a.id), "agents")?;
    let aa = s.agents.len();
    let per_pool = s.agents.iter().any(|a| matches!(a.load, Load::PerPool(_)));
    let mut load = vec![0.0; if per_pool { 0 } else { aa * kk }];
    let mut pool_load = vec![0.0; if per_pool { aa * pp * kk } else { 0 }];
    let mut allowed = vec![!per_pool; if per_pool { aa * pp } else { 0 }];
    let mut cost = vec![0.0; aa * pp];
    let mut cap_index: HashMap<String, usize> = HashMap::new();
    let mut capabilities: Vec<String> = Vec::new();
    let mut capability_agents: Vec<Vec<u32>> = Vec::new();
    let kind_of = |kind: &String, field: &dyn Fn() -> String| {
        kind_index
            .get(kind.as_str())
            .copied()
            .ok_or_else(|| ScenarioError::UnknownResource {
                field: field(),
                kind: kind.clone(),
                known: known_kinds.clone(),
            })
    };
    let check_load = |v: f64, field: &dyn Fn() -> String| {
        check_finite(field, v)?;
        if v < 0.0 {
            return Err(ScenarioError::Invalid {
                field: field(),
                reason: format!("negative load {v}"),
            });
        }
        Ok(())
    };
    for (a, agent) in s.agents.iter().enumerate() {
        match &agent.load {
            Load::Uniform(m) => {
                let mut row = vec![0.0; kk];
                for (kind, &v) in m {
                    let field = || format!("agents[{a}].load.{kind}");
                    let k = kind_of(kind, &field)?;
                    check_load(v, &field)?;
                    row[k] = v;
                }
                if per_pool {
                    for p in 0..pp {
                        pool_load[(a * pp + p) * kk..(a * pp + p + 1) * kk].copy_from_slice(&row);
                        allowed[a * pp + p] = true;
                    }
                } else {
                    load[a * kk..(a + 1) * kk].copy_from_slice(&row);
                }
            }
            Load::PerPool(m) => {
                for (pool, kinds) in m {
                    let &p = pool_index
                        .get(pool.as_str())
                        .ok_or_else(|| ScenarioError::UnknownPool {
                            field: format!("agents[{a}].load.{pool}"),
                            id: pool.clone(),
                        })?;
                    allowed[a * pp + p] = true;
                    for (kind, &v) in kinds {
                        let field = || format!("agents[{a}].load.{pool}.{kind}");
                        let k = kind_of(kind, &field)?;
                        check_load(v, &field)?;
                        if v > 0.0 && capacity[p * kk + k] <= 0.0 {
                            return Err(ScenarioError::Invalid {
                                field: field(),
                                reason: format!(
                                    "agent `{}` needs {v} {kind} in pool `{pool}`, which has no {kind} (leave \
                                     `{pool}` out of the agent's load if it cannot run there)",
                                    agent.id
                                ),
                            });
                        }
                        pool_load[(a * pp + p) * kk + k] = v;
                    }
                }
            }
        }
        match &agent.cost {
            Costs::PerPool(m) => {
                for (pool, &v) in m {
                    let field = || format!("agents[{a}].cost.{pool}");
                    let &p = pool_index
                        .get(pool.as_str())
                        .ok_or_else(|| ScenarioError::UnknownPool {
                            field: field(),
                            id: pool.clone(),
                        })?;
                    check_finite(field, v)?;
                    cost[a * pp + p] = v;
                }
            }
            Costs::Dense(v) => {
                if v.len() != pp {
                    return Err(ScenarioError::Invalid {
                        field: format!("agents[{a}].cost"),
                        reason: format!("{} entries but there are {pp} pools", v.len()),
                    });
                }
                for (p, &c) in v.iter().enumerate() {
                    check_finite(|| format!("agents[{a}].cost[{p}]"), c)?;
                    cost[a * pp + p] = c;
                }
            }
        }
        for c in &agent.capabilities {
            let next = capabilities.len();
            let ci = *cap_index.entry(c.clone()).or_insert(next);
            if ci == next {
                capabilities.push(c.clone());
                capability_agents.push(Vec::new());
            }
            if capability_agents[ci].last() != Some(&(a as u32)) {
                capability_agents[ci].push(a as u32);
            }
        }
    }

    // Traffic.
    let mut triplets = Vec::with_capacity(s.traffic.len());
    for (i, t) in s.traffic.iter().enumerate() {
        let from = *agent_index
            .get(t.from.as_str())
            .ok_or_else(|| ScenarioError::UnknownAgent {
                field: format!("traffic[{i}].from"),
                id: t.from.clone(),
            })?;
        let to = *agent_index
            .get(t.to.as_str())
            .ok_or_else(|| ScenarioError::UnknownAgent {
                field: format!("traffic[{i}].to"),
                id: t.to.clone(),
            })?;
        check_finite(|| format!("traffic[{i}].rate"), t.rate)?;
        if t.rate < 0.0 {
            return Err(ScenarioError::Invalid {
                field: format!("traffic[{i}].rate"),
                reason: format!("negative rate {}", t.rate),
            });
        }
        if from == to {
            return Err(ScenarioError::Invalid {
                field: format!("traffic[{i}]"),
                reason: format!("agent `{}` sends to itself", t.from),
            });
        }
        if t.rate > 0.0 {
            triplets.push((from as u32, to as u32, t.rate));
        }
    }
    let traffic = Couplings::from_triplets(aa, triplets).map_err(|e| ScenarioError::Invalid {
        field: "traffic".into(),
        reason: e.to_string(),
    })?;

    // Tasks.
    let task_index = index_ids(s.tasks.iter().map(|t| &t.id), "tasks")?;
    let mut tasks = Vec::with_capacity(s.tasks.len());
    let mut total_duration = 0usize;
    for (i, t) in s.tasks.iter().enumerate() {
        let capability = *cap_index.get(&t.capability).ok_or_else(|| ScenarioError::Invalid {
            field: format!("tasks[{i}].capability"),
            reason: format!("no agent has capability `{}`", t.capability),
        })?;
        if t.duration == 0 {
            return Err(ScenarioError::Invalid {
                field: format!("tasks[{i}].duration"),
                reason: "must be at least 1 slot".into(),
            });
        }
        if t.duration > MAX_SLOTS {
            return Err(ScenarioError::Invalid {
                field: format!("tasks[{i}].duration"),
                reason: format!("{} slots exceed the limit of {MAX_SLOTS}", t.duration),
            });
        }
        total_duration += t.duration;
        if total_duration > MAX_TOTAL_SLOTS {
            return Err(ScenarioError::Invalid {
                field: format!("tasks[{i}].duration"),
                reason: format!(
                    "the durations of tasks[0..={i}] add up to {total_duration} slots, above the limit of \
                     {MAX_TOTAL_SLOTS} (schedules are planned slot by slot)"
                ),
            });
        }
        let resolve = |list: &[String], name: &str| -> Result<Vec<usize>, ScenarioError> {
            let mut out = Vec::with_capacity(list.len());
            for (j, id) in list.iter().enumerate() {
                let &x = task_index.get(id.as_str()).ok_or_else(|| ScenarioError::UnknownTask {
                    field: format!("tasks[{i}].{name}[{j}]"),
                    id: id.clone(),
                })?;
                if x == i {
                    return Err(ScenarioError::Invalid {
                        field: format!("tasks[{i}].{name}[{j}]"),
                        reason: format!("task `{id}` refers to itself"),
                    });
                }
                out.push(x);
            }
            out.sort_unstable();
            out.dedup();
            Ok(out)
        };
        tasks.push(TaskSpec {
            capability,
            duration: t.duration,
            preds: resolve(&t.after, "after")?,
            conflicts: resolve(&t.conflicts, "conflicts")?,
        });
    }
    // Conflicts are symmetric.
    let listed: Vec<(usize, usize)> = tasks
        .iter()
        .enumerate()
        .flat_map(|(i, t)| t.conflicts.iter().map(move |&j| (i, j)))
        .collect();
    for (i, j) in listed {
        if !tasks[j].conflicts.contains(&i) {
            tasks[j].conflicts.push(i);
            tasks[j].conflicts.sort_unstable();
        }
    }
    let task_ids: Vec<String> = s.tasks.iter().map(|t| t.id.clone()).collect();
    let topo_order = topological_order(&tasks)
        .map_err(|cycle| ScenarioError::CyclicPrecedence(cycle.into_iter().map(|t| task_ids[t].clone()).collect()))?;

    // Capacity: every agent fits some pool; total demand within total capacity.
    let load_in = |a: usize, p: usize| -> &[f64] {
        if per_pool {
            &pool_load[(a * pp + p) * kk..(a * pp + p + 1) * kk]
        } else {
            &load[a * kk..(a + 1) * kk]
        }
    };
    let may_use = |a: usize, p: usize| !per_pool || allowed[a * pp + p];
    let fits = |a: usize, p: usize| {
        let l = load_in(a, p);
        may_use(a, p) && (0..kk).all(|k| l[k] <= capacity[p * kk + k])
    };
    for a in 0..aa {
        if (0..pp).any(|p| fits(a, p)) {
            continue;
        }
        let reason = if !per_pool {
            let l = load_in(a, 0);
            let parts: Vec<String> = (0..kk)
                .filter(|&k| l[k] > 0.0)
                .map(|k| {
                    let best = (0..pp).map(|p| capacity[p * kk + k]).fold(0.0, f64::max);
                    format!("{} {} (largest pool {})", s.resource_kinds[k], l[k], best)
                })
                .collect();
            parts.join(", ")
        } else {
            let usable: Vec<usize> = (0..pp).filter(|&p| may_use(a, p)).collect();
            if usable.is_empty() {
                "its per-pool load lists no pool".to_string()
            } else {
                let mut parts: Vec<String> = usable
                    .iter()
                    .take(3)
                    .map(|&p| {
                        let l = load_in(a, p);
                        let k = (0..kk)
                            .find(|&k| l[k] > capacity[p * kk + k])
                            .expect("the agent does not fit this pool");
                        format!(
                            "`{}` needs {} {} (capacity {})",
                            s.pools[p].id,
                            l[k],
                            s.resource_kinds[k],
                            capacity[p * kk + k]
                        )
                    })
                    .collect();
                if usable.len() > 3 {
                    parts.push(format!("and {} more pools", usable.len() - 3));
                }
                parts.join(", ")
            }
        };
        return Err(ScenarioError::Invalid {
            field: format!("agents[{a}].load"),
            reason: format!("agent `{}` fits in no pool: {reason}", s.agents[a].id),
        });
    }
    let mut short = Vec::new();
    for k in 0..kk {
        // Per-pool loads count with their smallest value over the pools the agent may use.
        let demand: f64 = (0..aa)
            .map(|a| {
                if !per_pool {
                    return load[a * kk + k];
                }
                (0..pp)
                    .filter(|&p| may_use(a, p))
                    .map(|p| load_in(a, p)[k])
                    .fold(f64::INFINITY, f64::min)
            })
            .sum();
        let cap: f64 = (0..pp).map(|p| capacity[p * kk + k]).sum();
        if demand > cap * (1.0 + 1e-12) {
            short.push(super::Shortfall {
                kind: s.resource_kinds[k].clone(),
                demand,
                capacity: cap,
            });
        }
    }
    if !short.is_empty() {
        return Err(ScenarioError::OverCapacity(short));
    }

    Ok(Instance {
        kinds: s.resource_kinds.clone(),
        agent_ids: s.agents.iter().map(|a| a.id.clone()).collect(),
        pool_ids: s.pools.iter().map(|p| p.id.clone()).collect(),
        load,
        pool_load,
        allowed,
        cost,
        capacity,
        traffic,
        comm_cost: s.comm_cost,
        capabilities,
        capability_agents,
        task_ids,
        tasks,
        topo_order,
        horizon: s.horizon,
    })
}

/// Kahn's algorithm; on a cycle returns the tasks along one cycle (first repeated last),
/// in precedence order (`a -> b`: `b` runs after `a`).
pub fn topological_order(tasks: &[crate::orchestrate::validate::TaskSpec]) -> Result<Vec<usize>, Vec<usize>> {
    let n = tasks.len();
    let mut indeg = vec![0usize; n];
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (t, spec) in tasks.iter().enumerate() {
        for &p in &spec.preds {
            indeg[t] += 1;
            succ[p].push(t);
        }
    }
    let mut queue: std::collections::VecDeque<usize> = (0..n).filter(|&t| indeg[t] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(t) = queue.pop_front() {
        order.push(t);
        for &s in &succ[t] {
            indeg[s] -= 1;
            if indeg[s] == 0 {
                queue.push_back(s);
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Walk predecessors among the remaining tasks until one repeats.
    let start = (0..n).find(|&t| indeg[t] > 0).expect("a task is left");
    let mut seen = vec![usize::MAX; n];
    let mut path = Vec::new();
    let mut t = start;
    while seen[t] == usize::MAX {
        seen[t] = path.len();
        path.push(t);
        t = *tasks[t]
            .preds
            .iter()
            .find(|&&p| indeg[p] > 0)
            .expect("a task left by Kahn has a predecessor left");
    }
    let mut cycle: Vec<usize> = path[seen[t]..].to_vec();
    cycle.reverse(); // predecessors first
    // Canonical rotation: start at the lowest task index.
    let m = (0..cycle.len()).min_by_key(|&i| cycle[i]).expect("non-empty cycle");
    cycle.rotate_left(m);
    cycle.push(cycle[0]);
    Err(cycle)
}

/// Checks that `previous` (a `--previous` plan) is a well-formed plan of (an earlier
/// version of) the scenario `inst`, before re-planning from it.
///
/// Always refused: a version other than 1, an agent or task listed twice, a schedule entry
/// with `end < start`. Refused unless `allow_mismatch` (they mean the plan belongs to
/// another scenario): an agent placed in no pool (`null`), fewer than half of the plan's
/// agents in the scenario, or none of its pools. Errors name the plan field.
pub fn check_previous(
    previous: &super::Plan,
    inst: &Instance,
    allow_mismatch: bool,
) -> Result<(), super::OrchestrateError> {
    use std::collections::HashSet;
    let err = |field: String, reason: String| super::OrchestrateError::Plan { field, reason };
    let hint = "; it looks like a plan of another scenario (--allow-mismatch to re-plan from it anyway)";
    if previous.version != 1 {
        return Err(err(
            "version".into(),
            format!("{} is not a plan version this qam reads (1)", previous.version),
        ));
    }
    let mut agents = HashSet::with_capacity(previous.placements.len());
    for (k, p) in previous.placements.iter().enumerate() {
        if !agents.insert(p.agent.as_str()) {
            return Err(err(
                format!("placements[{k}].agent"),
                format!("agent `{}` placed twice", p.agent),
            ));
        }
        if p.pool.is_none() && !allow_mismatch {
            return Err(err(
                format!("placements[{k}].pool"),
                format!("agent `{}` has no pool (null){hint}", p.agent),
            ));
        }
    }
    let mut tasks = HashSet::with_capacity(previous.schedule.len());
    for (k, t) in previous.schedule.iter().enumerate() {
        if !tasks.insert(t.task.as_str()) {
            return Err(err(
                format!("schedule[{k}].task"),
                format!("task `{}` scheduled twice", t.task),
            ));
        }
        if t.end < t.start {
            return Err(err(
                format!("schedule[{k}].end"),
                format!(
                    "task `{}` ends (slot {}) before it starts (slot {})",
                    t.task, t.end, t.start
                ),
            ));
        }
    }
    if allow_mismatch || previous.placements.is_empty() {
        return Ok(());
    }
    let ids: HashSet<&str> = inst.agent_ids.iter().map(String::as_str).collect();
    let known = agents.iter().filter(|a| ids.contains(*a)).count();
    if 2 * known < agents.len() {
        return Err(err(
            "placements".into(),
            format!(
                "only {known} of the plan's {} agents are in the scenario ({} agents){hint}",
                agents.len(),
                inst.agent_ids.len()
            ),
        ));
    }
    let pools: HashSet<&str> = inst.pool_ids.iter().map(String::as_str).collect();
    if !previous
        .placements
        .iter()
        .filter_map(|p| p.pool.as_deref())
        .any(|p| pools.contains(p))
    {
        return Err(err(
            "placements[].pool".into(),
            format!("none of the plan's pools is in the scenario{hint}"),
        ));
    }
    Ok(())
}

/// Most agents a generated scenario may have (2^22): each costs about a kilobyte of JSON
/// and QUBO data.
pub const MAX_GEN_AGENTS: usize = 1 << 22;

/// Checks [`super::GenParams`] before generating: at least one agent and one pool, at most
/// [`MAX_GEN_AGENTS`] agents, 2^16 pools and 2^20 tasks, a finite non-negative
/// `comm_cost` and a utilisation in `(0, 1]` (`(0, 1.2]` with per-pool loads). Errors name
/// the parameter.
pub fn check_gen_params(p: &super::GenParams) -> Result<(), ScenarioError> {
    let bad = |field: &str, reason: String| ScenarioError::Invalid {
        field: field.into(),
        reason,
    };
    for (field, v, max) in [
        ("agents", p.agents, MAX_GEN_AGENTS),
        ("pools", p.pools, 1 << 16),
        ("tasks", p.tasks, 1 << 20),
    ] {
        if v > max {
            return Err(bad(field, format!("{v} exceeds the limit of {max}")));
        }
    }
    if p.agents == 0 || p.pools == 0 {
        return Err(bad(
            "agents",
            format!(
                "agents and pools must be at least 1 (got {} agents, {} pools)",
                p.agents, p.pools
            ),
        ));
    }
    if !(p.comm_cost.is_finite() && (0.0..=MAX_SCENARIO_VALUE).contains(&p.comm_cost)) {
        return Err(bad(
            "comm_cost",
            format!("{} is not in [0, {MAX_SCENARIO_VALUE:e}]", p.comm_cost),
        ));
    }
    // Per-pool loads: the cheapest-choice load may exceed capacity (agents move to pools
    // where they need less), up to 1.2.
    let max_util = match p.load_model {
        super::LoadModel::Uniform => 1.0,
        super::LoadModel::PerPool => 1.2,
    };
    if !(p.utilisation > 0.0 && p.utilisation <= max_util) {
        return Err(bad(
            "utilisation",
            format!("{} is not in (0, {max_util}]", p.utilisation),
        ));
    }
    Ok(())
}

/// Agents listed per [`TightCapacity`] entry.
const TIGHT_AGENTS_LISTED: usize = 20;
/// Pool sets examined for proven shortfalls (the distinct sets of pools agents may use).
const TIGHT_MAX_POOL_SETS: usize = 1024;

/// The capacity constraints that keep agents unplaced, tightest first, at most `max`:
///
/// 1. proven shortfalls, which no plan can avoid: for each distinct set `S` of pools that
///    some agent may use (and all pools), the agents restricted to `S` need more of a resource
///    than `S` offers even at their smallest loads ([`TightReason::Demand`]), or are more
///    than the pools of `S` can hold by count ([`TightReason::Count`]), or more of them need
///    over half of the resource in every pool they may use than there are such pools
///    ([`TightReason::Exclusive`]);
/// 2. for the agents `placement` leaves unplaced (`None`), each `(pool, resource)`
///    constraint that has no room for them in this plan ([`TightReason::Blocking`]), the
///    one blocking most agents first.
///
/// Empty when every agent is placed. Loads in resource units; a constraint holds within
/// `1e-9 * (1 + capacity)`.
///
/// [`TightReason::Demand`]: super::plan::TightReason::Demand
/// [`TightReason::Exclusive`]: super::plan::TightReason::Exclusive
/// [`TightReason::Count`]: super::plan::TightReason::Count
/// [`TightReason::Blocking`]: super::plan::TightReason::Blocking
pub fn tight_capacities(inst: &Instance, placement: &[Option<usize>], max: usize) -> Vec<super::plan::TightCapacity> {
    use super::plan::{TightCapacity, TightReason};
    let (aa, pp, kk) = (inst.num_agents(), inst.num_pools(), inst.num_kinds());
    if placement.iter().all(|p| p.is_some()) || pp == 0 || max == 0 {
        return Vec::new();
    }
    let over = |need: f64, cap: f64| need > cap + 1e-9 * (1.0 + cap.abs());
    let names = |agents: &[usize]| -> Vec<String> {
        agents
            .iter()
            .take(TIGHT_AGENTS_LISTED)
            .map(|&a| inst.agent_ids[a].clone())
            .collect()
    };
    let words = pp.div_ceil(64);
    let allowed_bits = |a: usize| -> Vec<u64> {
        let mut b = vec![0u64; words];
        for p in (0..pp).filter(|&p| inst.can_place(a, p)) {
            b[p / 64] |= 1 << (p % 64);
        }
        b
    };
    let bits: Vec<Vec<u64>> = (0..aa).map(allowed_bits).collect();
    let mut sets: Vec<Vec<u64>> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let all: Vec<u64> = (0..words)
        .map(|w| {
            if w + 1 < words || pp % 64 == 0 {
                u64::MAX
            } else {
                (1u64 << (pp % 64)) - 1
            }
        })
        .collect();
    for b in std::iter::once(&all).chain(bits.iter()) {
        if sets.len() < TIGHT_MAX_POOL_SETS && seen.insert(b.clone()) {
            sets.push(b.clone());
        }
    }
    let pools_of = |b: &[u64]| -> Vec<usize> { (0..pp).filter(|&p| b[p / 64] >> (p % 64) & 1 == 1).collect() };
    let mut proven: Vec<(f64, TightCapacity)> = Vec::new();
    for s in &sets {
        let members: Vec<usize> = (0..aa)
            .filter(|&a| bits[a].iter().zip(s).all(|(x, y)| x & !y == 0))
            .collect();
        if members.is_empty() {
            continue;
        }
        let in_s = pools_of(s);
        for k in 0..kk {
            let min_load = |a: usize| {
                (0..pp)
                    .filter(|&p| inst.can_place(a, p))
                    .map(|p| inst.agent_load_in(a, p)[k])
                    .fold(f64::INFINITY, f64::min)
            };
            let need: f64 = members.iter().map(|&a| min_load(a)).sum();
            let cap: f64 = in_s.iter().map(|&p| inst.pool_capacity(p)[k]).sum();
            if over(need, cap) {
                proven.push((
                    (need - cap) / cap.abs().max(1e-12),
                    TightCapacity {
                        reason: TightReason::Demand,
                        pools: in_s.iter().map(|&p| inst.pool_ids[p].clone()).collect(),
                        resource: inst.kinds[k].clone(),
                        required: need,
                        capacity: cap,
                        agents: names(&members),
                        num_agents: members.len(),
                    },
                ));
            }
            // At most `fit(p)` members fit in pool p by their smallest loads there.
            let fit = |p: usize| {
                let mut l: Vec<f64> = members
                    .iter()
                    .filter(|&&a| inst.can_place(a, p))
                    .map(|&a| inst.agent_load_in(a, p)[k])
                    .collect();
                l.sort_by(f64::total_cmp);
                let cap = inst.pool_capacity(p)[k];
                let mut sum = 0.0;
                l.iter()
                    .take_while(|&&x| {
                        sum += x;
                        !over(sum, cap)
                    })
                    .count()
            };
            let fits: usize = in_s.iter().map(|&p| fit(p)).sum();
            if members.len() > fits {
                proven.push((
                    (members.len() - fits) as f64 / fits.max(1) as f64,
                    TightCapacity {
                        reason: TightReason::Count,
                        pools: in_s.iter().map(|&p| inst.pool_ids[p].clone()).collect(),
                        resource: inst.kinds[k].clone(),
                        required: members.len() as f64,
                        capacity: fits as f64,
                        agents: names(&members),
                        num_agents: members.len(),
                    },
                ));
            }
            let big: Vec<usize> = members
                .iter()
                .copied()
                .filter(|&a| {
                    (0..pp)
                        .filter(|&p| inst.can_place(a, p))
                        .all(|p| over(2.0 * inst.agent_load_in(a, p)[k], inst.pool_capacity(p)[k]))
                })
                .collect();
            let mut union = vec![0u64; words];
            for &a in &big {
                for (u, b) in union.iter_mut().zip(&bits[a]) {
                    *u |= b;
                }
            }
            let upools = pools_of(&union);
            if big.len() > upools.len() {
                proven.push((
                    (big.len() - upools.len()) as f64 / upools.len().max(1) as f64,
                    TightCapacity {
                        reason: TightReason::Exclusive,
                        pools: upools.iter().map(|&p| inst.pool_ids[p].clone()).collect(),
                        resource: inst.kinds[k].clone(),
                        required: big.len() as f64,
                        capacity: upools.len() as f64,
                        agents: names(&big),
                        num_agents: big.len(),
                    },
                ));
            }
        }
    }
    proven.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out: Vec<TightCapacity> = Vec::new();
    for (_, t) in proven {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    // What blocks the unplaced agents in this plan.
    let mut used = vec![0.0; pp * kk];
    for (a, p) in placement.iter().enumerate() {
        if let Some(p) = *p {
            for (k, l) in inst.agent_load_in(a, p).iter().enumerate() {
                used[p * kk + k] += l;
            }
        }
    }
    // (pool, kind) -> (blocked agents, smallest blocked load)
    let mut blocking: std::collections::BTreeMap<(usize, usize), (Vec<usize>, f64)> = Default::default();
    for a in (0..aa).filter(|&a| placement[a].is_none()) {
        for p in (0..pp).filter(|&p| inst.can_place(a, p)) {
            let l = inst.agent_load_in(a, p);
            for k in 0..kk {
                if over(used[p * kk + k] + l[k], inst.pool_capacity(p)[k]) {
                    let e = blocking.entry((p, k)).or_insert((Vec::new(), f64::INFINITY));
                    e.0.push(a);
                    e.1 = e.1.min(l[k]);
                }
            }
        }
    }
    type Blocked = ((usize, usize), (Vec<usize>, f64));
    let mut blocking: Vec<Blocked> = blocking.into_iter().collect();
    let excess = |((p, k), (_, l)): &Blocked| used[p * kk + k] + l - inst.pool_capacity(*p)[*k];
    blocking.sort_by(|x, y| y.1.0.len().cmp(&x.1.0.len()).then(excess(x).total_cmp(&excess(y))));
    for ((p, k), (agents, l)) in blocking {
        out.push(TightCapacity {
            reason: TightReason::Blocking,
            pools: vec![inst.pool_ids[p].clone()],
            resource: inst.kinds[k].clone(),
            required: used[p * kk + k] + l,
            capacity: inst.pool_capacity(p)[k],
            agents: names(&agents),
            num_agents: agents.len(),
        });
    }
    out.truncate(max);
    out
}
