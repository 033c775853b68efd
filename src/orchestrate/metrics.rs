//! Metrics of a plan, computed from scratch from the instance and the plan (not from what
//! the solvers believe): objective, utilisation per pool, violations, traffic crossing
//! pools and clusters, makespan, tasks scheduled, solve time.

use super::validate::Instance;
use serde::{Deserialize, Serialize};

/// A constraint the plan breaks. Plans report these instead of hiding them; a good plan has
/// none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Violation {
    /// An agent could not be placed: no pool has room left for it (capacities too tight to
    /// pack every agent, although total capacity suffices).
    AgentUnplaced {
        /// Agent id.
        agent: String,
    },
    /// An agent is placed in a pool its per-pool load does not list.
    PoolNotAllowed {
        /// Agent id.
        agent: String,
        /// Pool id.
        pool: String,
    },
    /// A pool is over capacity.
    CapacityExceeded {
        /// Pool id.
        pool: String,
        /// Resource kind.
        resource: String,
        /// Load placed there.
        used: f64,
        /// Its capacity.
        capacity: f64,
    },
    /// A task starts before a predecessor ends.
    PrecedenceViolated {
        /// Task id.
        task: String,
        /// The predecessor.
        after: String,
    },
    /// Two conflicting tasks overlap.
    ConflictViolated {
        /// Task id.
        task: String,
        /// The other task.
        with: String,
    },
    /// A task has no agent (or its agent runs two tasks at once, or lacks the capability).
    TaskUnassigned {
        /// Task id.
        task: String,
    },
    /// A task ends after the hard horizon.
    PastHorizon {
        /// Task id.
        task: String,
        /// Its end slot.
        end: usize,
        /// The horizon.
        horizon: usize,
    },
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Violation::AgentUnplaced { agent } => {
                write!(f, "agent `{agent}` is not placed (no pool has room left for it)")
            }
            Violation::PoolNotAllowed { agent, pool } => {
                write!(
                    f,
                    "agent `{agent}` is placed in pool `{pool}`, which its load does not list"
                )
            }
            Violation::CapacityExceeded {
                pool,
                resource,
                used,
                capacity,
            } => write!(f, "pool `{pool}` uses {used} {resource} of {capacity}"),
            Violation::PrecedenceViolated { task, after } => {
                write!(f, "task `{task}` starts before `{after}` ends")
            }
            Violation::ConflictViolated { task, with } => write!(f, "tasks `{task}` and `{with}` overlap"),
            Violation::TaskUnassigned { task } => write!(f, "task `{task}` has no free capable agent"),
            Violation::PastHorizon { task, end, horizon } => {
                write!(f, "task `{task}` ends at slot {end}, after the horizon {horizon}")
            }
        }
    }
}

/// Use of one pool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolUse {
    /// Pool id.
    pub pool: String,
    /// Agents placed there.
    pub agents: usize,
    /// Load per resource kind (same order as the scenario's `resource_kinds`).
    pub used: Vec<f64>,
    /// Capacity per resource kind.
    pub capacity: Vec<f64>,
    /// Largest `used / capacity` over the kinds (0 for an empty pool).
    pub utilisation: f64,
}

/// Metrics of a plan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Placement cost plus communication cost (what the placement minimises).
    pub objective: f64,
    /// Sum of the agents' costs in their pools.
    pub placement_cost: f64,
    /// `comm_cost` times the traffic between agents in different pools.
    pub communication_cost: f64,
    /// Agents.
    pub agents: usize,
    /// Agents placed.
    pub agents_placed: usize,
    /// Use of each pool.
    pub pools: Vec<PoolUse>,
    /// Mean of the pools' utilisations.
    pub mean_utilisation: f64,
    /// Largest pool utilisation.
    pub max_utilisation: f64,
    /// Number of violations (0 for a valid plan).
    pub violations: usize,
    /// Total traffic (each pair once).
    pub traffic_total: f64,
    /// Share of the traffic between agents in different pools.
    pub cross_pool_traffic_share: f64,
    /// Share of the traffic between agents in different clusters (`None` without
    /// clusters, e.g. for the greedy baseline).
    pub cross_cluster_traffic_share: Option<f64>,
    /// Number of clusters.
    pub clusters: usize,
    /// Tasks.
    pub tasks: usize,
    /// Tasks scheduled with an agent and no violation.
    pub tasks_scheduled: usize,
    /// Last slot used plus one (0 without tasks).
    pub makespan: usize,
    /// Sum of the tasks' end slots (what the scheduler minimises).
    pub total_completion_time: f64,
    /// Wall time to produce the plan, seconds.
    pub solve_time_s: f64,
    /// Seconds from the start until the placement first had every agent placed within
    /// capacity (end of the first pipeline stage with a feasible placement, or the moment
    /// the constrained stage found one); `None` when it never was (or for baselines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_feasible_s: Option<f64>,
}

/// Evaluates a plan: `pool[a]` per agent, `cluster[a]` per agent (if any), `start[t]` and
/// `agent[t]` per task. Returns the metrics and every violation found.
#[allow(clippy::needless_range_loop)] // parallel arrays indexed by agent, pool and kind
pub fn evaluate(
    inst: &Instance,
    pool: &[Option<usize>],
    cluster: Option<&[u32]>,
    start: &[usize],
    agent: &[Option<usize>],
) -> (Metrics, Vec<Violation>) {
    let (aa, pp, kk) = (inst.num_agents(), inst.num_pools(), inst.num_kinds());
    let mut v = Vec::new();
    let (placement_cost, communication_cost) = super::baseline::assignment_objective(inst, pool);
    let mut used = vec![0.0; pp * kk];
    let mut count = vec![0usize; pp];
    for a in 0..aa {
        match pool[a] {
            Some(p) => {
                count[p] += 1;
                for k in 0..kk {
                    used[p * kk + k] += inst.agent_load_in(a, p)[k];
                }
                if !inst.can_place(a, p) {
                    v.push(Violation::PoolNotAllowed {
                        agent: inst.agent_ids[a].clone(),
                        pool: inst.pool_ids[p].clone(),
                    });
                }
            }
            None => v.push(Violation::AgentUnplaced {
                agent: inst.agent_ids[a].clone(),
            }),
        }
    }
    let mut pools = Vec::with_capacity(pp);
    for p in 0..pp {
        let cap = inst.pool_capacity(p).to_vec();
        let u = used[p * kk..(p + 1) * kk].to_vec();
        let mut util: f64 = 0.0;
        for k in 0..kk {
            if cap[k] > 0.0 {
                util = util.max(u[k] / cap[k]);
            } else if u[k] > 0.0 {
                util = f64::INFINITY;
            }
            if u[k] > cap[k] + 1e-9 * (1.0 + cap[k]) {
                v.push(Violation::CapacityExceeded {
                    pool: inst.pool_ids[p].clone(),
                    resource: inst.kinds[k].clone(),
                    used: u[k],
                    capacity: cap[k],
                });
            }
        }
        pools.push(PoolUse {
            pool: inst.pool_ids[p].clone(),
            agents: count[p],
            used: u,
            capacity: cap,
            utilisation: util,
        });
    }
    let traffic_total = inst.total_traffic();
    let mut cross_pool = 0.0;
    let mut cross_cluster = 0.0;
    for (a, b, w) in inst.traffic.iter_upper() {
        if pool[a].is_none() || pool[a] != pool[b] {
            cross_pool += w;
        }
        if let Some(c) = cluster
            && c[a] != c[b]
        {
            cross_cluster += w;
        }
    }
    let share = |x: f64| if traffic_total > 0.0 { x / traffic_total } else { 0.0 };

    // Schedule.
    let nt = inst.tasks.len();
    let mut bad_task = vec![false; nt];
    for t in 0..nt {
        let spec = &inst.tasks[t];
        for &p in &spec.preds {
            if start[p] + inst.tasks[p].duration > start[t] {
                bad_task[t] = true;
                v.push(Violation::PrecedenceViolated {
                    task: inst.task_ids[t].clone(),
                    after: inst.task_ids[p].clone(),
                });
            }
        }
        for &o in &spec.conflicts {
            if o > t && start[o] < start[t] + spec.duration && start[t] < start[o] + inst.tasks[o].duration {
                bad_task[t] = true;
                bad_task[o] = true;
                v.push(Violation::ConflictViolated {
                    task: inst.task_ids[t].clone(),
                    with: inst.task_ids[o].clone(),
                });
            }
        }
        if let Some(h) = inst.horizon
            && start[t] + spec.duration > h
        {
            bad_task[t] = true;
            v.push(Violation::PastHorizon {
                task: inst.task_ids[t].clone(),
                end: start[t] + spec.duration,
                horizon: h,
            });
        }
    }
    // Agents: capable, and one task at a time.
    let mut by_agent: std::collections::HashMap<usize, Vec<usize>> = std::collections::HashMap::new();
    for t in 0..nt {
        let ok = agent[t].is_some_and(|a| {
            inst.capability_agents[inst.tasks[t].capability]
                .binary_search(&(a as u32))
                .is_ok()
        });
        if ok {
            by_agent.entry(agent[t].expect("checked")).or_default().push(t);
        } else {
            bad_task[t] = true;
            v.push(Violation::TaskUnassigned {
                task: inst.task_ids[t].clone(),
            });
        }
    }
    let mut agents_sorted: Vec<_> = by_agent.into_iter().collect();
    agents_sorted.sort_by_key(|e| e.0);
    for (_, mut ts) in agents_sorted {
        ts.sort_by_key(|&t| (start[t], t));
        for w in ts.windows(2) {
            if start[w[0]] + inst.tasks[w[0]].duration > start[w[1]] {
                bad_task[w[1]] = true;
                v.push(Violation::TaskUnassigned {
                    task: inst.task_ids[w[1]].clone(),
                });
            }
        }
    }
    let makespan = (0..nt).map(|t| start[t] + inst.tasks[t].duration).max().unwrap_or(0);
    let total_completion_time = (0..nt).map(|t| (start[t] + inst.tasks[t].duration) as f64).sum::<f64>() + 0.0;
    let utils: Vec<f64> = pools.iter().map(|p| p.utilisation).collect();
    let metrics = Metrics {
        objective: placement_cost + communication_cost,
        placement_cost,
        communication_cost,
        agents: aa,
        agents_placed: pool.iter().filter(|p| p.is_some()).count(),
        mean_utilisation: utils.iter().sum::<f64>() / pp.max(1) as f64,
        max_utilisation: utils.iter().fold(0.0, |a: f64, &b| a.max(b)),
        pools,
        violations: v.len(),
        traffic_total,
        cross_pool_traffic_share: share(cross_pool * 1.0),
        cross_cluster_traffic_share: cluster.map(|_| share(cross_cluster)),
        clusters: cluster.map_or(0, |c| c.iter().map(|&x| x as usize + 1).max().unwrap_or(0)),
        tasks: nt,
        tasks_scheduled: bad_task.iter().filter(|&&b| !b).count(),
        makespan,
        total_completion_time,
        solve_time_s: 0.0,
        time_to_feasible_s: None,
    };
    (metrics, v)
}
