//! Random, realistic scenarios (`qam gen-scenario`).
//!
//! Agents work in teams (sizes uniform in `team_size/2 ..= 3*team_size/2`) and teams in
//! departments of about five teams. Traffic is clustered: each agent talks to about six
//! team mates at rates uniform in [2, 10], and with probability 0.3 to one agent of
//! another team of its department (rate in [0.2, 2]) and with probability 0.05 to anyone
//! (rate in [0.1, 1]). Agent ids are shuffled so they reveal nothing about teams.
//! Loads are integers: cpu in {1, 2, 4}, memory in {2, 4, 8, 16} GB (correlated with cpu).
//! Pool prices are uniform in [0.6, 1.4]; an agent's cost in a pool is
//! `price * (cpu + mem/4) * U[0.9, 1.1]`, rounded to 0.01. Pool capacities share
//! `total demand / utilisation` with random weights in [0.5, 1.5] (integers, at least the
//! largest agent). Tasks form a DAG (each has 0-2 predecessors among the 20 tasks
//! before it), last 1-4 slots, need a capability (a few capabilities are rare), and 10%
//! conflict with another task.
//!
//! With [`LoadModel::PerPool`] (`--load-model per-pool`) loads and costs depend on the
//! pool, generalized-assignment style (Chu & Beasley type D: use and cost inversely
//! correlated, so the cheapest pool is the one where the agent needs most): agent `a` in
//! pool `p` has load `round1(base_a * f)` per kind with `f ~ U[0.5, 1.5]` and cost
//! `round2(price_p * size_a * (2.1 - f + U[-0.1, 0.1]))`; with 3 or more pools each agent
//! cannot use a pool with probability 0.1 (never its cheapest). Capacities: with `T_k` the
//! total load of kind `k` when every agent is in its cheapest pool,
//! `C[p,k] = ceil(T_k / U * L[p,k] / sum_q L[q,k])` (`L[p,k]` = the agents' total load in
//! `p`), at least the largest single load there. So `U = utilisation` is the ratio of the
//! cheapest-choice load to capacity (the issue's "capacity at 80% of the cheapest free
//! choice" is U = 1.25); U is in (0, 1.2]. Teams, traffic and tasks are those of the
//! uniform model with the same seed (the per-pool draws use their own random stream).

use super::ScenarioError;
use super::scenario::{Agent, Costs, Load, Pool, Scenario, Task, Traffic};
use crate::rng::Rng;
use std::collections::{BTreeMap, HashSet};

/// Parameters of [`generate`].
#[derive(Clone, Debug, PartialEq)]
pub struct GenParams {
    /// Number of agents.
    pub agents: usize,
    /// Number of pools.
    pub pools: usize,
    /// Number of tasks.
    pub tasks: usize,
    /// Mean team size (default 16).
    pub team_size: usize,
    /// Total demand / total capacity per resource kind (default 0.85).
    pub utilisation: f64,
    /// Cost per unit of rate crossing pools (default 1).
    pub comm_cost: f64,
    /// Seed.
    pub seed: u64,
    /// Loads the same in every pool (default) or per pool (see the module docs; then
    /// `utilisation` is the cheapest-choice load over capacity, in (0, 1.2]).
    pub load_model: LoadModel,
}

/// How [`generate`] makes agents' loads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LoadModel {
    /// One load per agent, the same in every pool.
    #[default]
    Uniform,
    /// A load per agent and pool, inversely correlated with the cost (GAP type D).
    PerPool,
}

crate::names::named_enum!(LoadModel, "load model" {
    Uniform = "uniform": "Same load in every pool",
    PerPool = "per-pool": "A load per pool",
});

impl Default for GenParams {
    fn default() -> Self {
        GenParams {
            agents: 100,
            pools: 5,
            tasks: 20,
            team_size: 16,
            utilisation: 0.85,
            comm_cost: 1.0,
            seed: 0,
            load_model: LoadModel::Uniform,
        }
    }
}

/// Capabilities and the share of agents that have each (teams add their speciality).
const CAPS: [(&str, f64); 8] = [
    ("plan", 0.3),
    ("search", 0.4),
    ("code", 0.35),
    ("review", 0.25),
    ("test", 0.3),
    ("db", 0.1),
    ("deploy", 0.04),
    ("gpu", 0.02),
];

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Generates a scenario (see the module docs for the model). Same parameters, same
/// scenario.
pub fn generate(p: &GenParams) -> Scenario {
    let mut rng = Rng::stream(p.seed, 0);
    let n = p.agents;
    let team_size = p.team_size.max(2);
    // Teams over a shuffled id order.
    let mut perm: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut perm);
    let mut teams: Vec<Vec<usize>> = Vec::new();
    let mut pos = 0;
    while pos < n {
        let lo = (team_size / 2).max(2);
        let size = lo + rng.below((team_size + 1) as u64) as usize;
        let end = (pos + size).min(n);
        teams.push(perm[pos..end].to_vec());
        pos = end;
    }
    let depts: Vec<usize> = (0..teams.len()).map(|t| t / 5).collect();
    let num_depts = teams.len().div_ceil(5);
    let dept_teams: Vec<Vec<usize>> = (0..num_depts)
        .map(|d| (0..teams.len()).filter(|&t| depts[t] == d).collect())
        .collect();

    // Loads and capabilities.
    let mut loads = vec![(0.0, 0.0); n];
    let mut caps: Vec<Vec<String>> = vec![Vec::new(); n];
    for (t, team) in teams.iter().enumerate() {
        let speciality = CAPS[t % 5].0; // common capabilities as team specialities
        for &a in team {
            let cpu = [1.0, 2.0, 4.0][rng.below(3) as usize];
            let mem = cpu * [2.0, 4.0][rng.below(2) as usize];
            loads[a] = (cpu, mem);
            let mut c: Vec<String> = vec![speciality.to_string()];
            for (name, share) in CAPS {
                if name != speciality && rng.next_f64() < share {
                    c.push(name.to_string());
                }
            }
            caps[a] = c;
        }
    }
    // Make sure every capability exists.
    for (i, (name, _)) in CAPS.iter().enumerate() {
        if n > 0 && !caps.iter().any(|c| c.iter().any(|x| x == name)) {
            caps[i % n].push(name.to_string());
        }
    }

    // Pools.
    let pp = p.pools.max(1);
    let price: Vec<f64> = (0..pp).map(|_| 0.6 + 0.8 * rng.next_f64()).collect();
    let weight: Vec<f64> = (0..pp).map(|_| 0.5 + rng.next_f64()).collect();
    let wsum: f64 = weight.iter().sum();
    let total_cpu: f64 = loads.iter().map(|l| l.0).sum();
    let total_mem: f64 = loads.iter().map(|l| l.1).sum();
    let util = p.utilisation.clamp(0.05, 1.0);
    let pools: Vec<Pool> = (0..pp)
        .map(|j| {
            let share = weight[j] / wsum / util;
            let mut cap = BTreeMap::new();
            cap.insert("cpu".to_string(), (total_cpu * share).ceil().max(4.0));
            cap.insert("mem_gb".to_string(), (total_mem * share).ceil().max(16.0));
            Pool {
                id: format!("p{j}"),
                capacity: cap,
            }
        })
        .collect();

    let agents: Vec<Agent> = (0..n)
        .map(|a| {
            let (cpu, mem) = loads[a];
            let size = cpu + mem / 4.0;
            let costs: Vec<f64> = (0..pp)
                .map(|j| round2(price[j] * size * (0.9 + 0.2 * rng.next_f64())))
                .collect();
            let cost = if pp <= 8 {
                Costs::PerPool((0..pp).map(|j| (format!("p{j}"), costs[j])).collect())
            } else {
                Costs::Dense(costs)
            };
            let mut load = BTreeMap::new();
            load.insert("cpu".to_string(), cpu);
            load.insert("mem_gb".to_string(), mem);
            Agent {
                id: format!("a{a}"),
                capabilities: caps[a].clone(),
                load: Load::Uniform(load),
                cost,
            }
        })
        .collect();
    let (pools, agents) = match p.load_model {
        LoadModel::Uniform => (pools, agents),
        LoadModel::PerPool => per_pool_loads(p, &loads, &price, agents),
    };

    // Traffic.
    let mut traffic = Vec::new();
    let mut seen: HashSet<(usize, usize)> = HashSet::new();
    let mut push = |a: usize, b: usize, rate: f64, traffic: &mut Vec<Traffic>| {
        if a != b && seen.insert((a.min(b), a.max(b))) {
            traffic.push(Traffic {
                from: format!("a{a}"),
                to: format!("a{b}"),
                rate: round2(rate),
            });
        }
    };
    for (t, team) in teams.iter().enumerate() {
        let m = team.len();
        let prob = (6.0 / (m.max(2) - 1) as f64).min(1.0);
        for i in 0..m {
            for j in i + 1..m {
                if rng.next_f64() < prob {
                    push(team[i], team[j], 2.0 + 8.0 * rng.next_f64(), &mut traffic);
                }
            }
            // Keep the team connected: a chain.
            if i + 1 < m {
                push(team[i], team[i + 1], 2.0 + 8.0 * rng.next_f64(), &mut traffic);
            }
        }
        let dt = &dept_teams[depts[t]];
        for &a in team {
            if dt.len() > 1 && rng.next_f64() < 0.3 {
                let other = dt[rng.below(dt.len() as u64) as usize];
                if other != t {
                    let b = teams[other][rng.below(teams[other].len() as u64) as usize];
                    push(a, b, 0.2 + 1.8 * rng.next_f64(), &mut traffic);
                }
            }
            if n > 1 && rng.next_f64() < 0.05 {
                let b = rng.below(n as u64) as usize;
                push(a, b, 0.1 + 0.9 * rng.next_f64(), &mut traffic);
            }
        }
    }

    // Tasks: a DAG over ids in creation order.
    let weights = [3.0, 3.0, 3.0, 2.0, 2.0, 1.0, 0.5, 0.5];
    let wtot: f64 = weights.iter().sum();
    let mut tasks: Vec<Task> = Vec::with_capacity(p.tasks);
    for t in 0..p.tasks {
        let mut u = rng.next_f64() * wtot;
        let mut ci = 0;
        while ci + 1 < weights.len() && u >= weights[ci] {
            u -= weights[ci];
            ci += 1;
        }
        let mut after = Vec::new();
        if t > 0 {
            let npred = rng.below(3) as usize;
            for _ in 0..npred {
                let lo = t.saturating_sub(20);
                let q = lo + rng.below((t - lo) as u64) as usize;
                let id = format!("t{q}");
                if !after.contains(&id) {
                    after.push(id);
                }
            }
        }
        tasks.push(Task {
            id: format!("t{t}"),
            capability: CAPS[ci].0.to_string(),
            duration: 1 + rng.below(4) as usize,
            after,
            conflicts: Vec::new(),
        });
    }
    for t in 0..p.tasks {
        if p.tasks > 1 && rng.next_f64() < 0.1 {
            let o = rng.below(p.tasks as u64) as usize;
            if o != t {
                let id = format!("t{o}");
                if !tasks[t].conflicts.contains(&id) && !tasks[t].after.contains(&id) {
                    tasks[t].conflicts.push(id);
                }
            }
        }
    }

    Scenario {
        format: "qam-scenario".into(),
        resource_kinds: vec!["cpu".into(), "mem_gb".into()],
        comm_cost: p.comm_cost,
        horizon: None,
        pools,
        agents,
        tasks,
        traffic,
    }
}

/// Options of [`apply_scarcity`]: scheduling made hard (`qam gen-scenario
/// --scarce-capabilities K --conflict-density D --horizon-slack F`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScarcityParams {
    /// Number of scarce capabilities `scarce0 ..` added, each held by 1-3 agents; every
    /// task independently needs one of them (uniform) with probability 1/2. 0: none.
    pub scarce_capabilities: usize,
    /// Probability in [0, 1] that any two tasks conflict (may not overlap), added to the
    /// generator's own conflicts; pairs where one directly follows the other are skipped.
    pub conflict_density: f64,
    /// Hard horizon `ceil((1 + F) * M)` slots, where `M` is the makespan of the greedy list
    /// schedule of the scenario (so a feasible schedule exists); `None`: no horizon.
    pub horizon_slack: Option<f64>,
    /// Seed (its own random stream: the rest of the scenario does not change).
    pub seed: u64,
}

/// Most conflict pairs [`apply_scarcity`] may create (`D * tasks^2 / 2`), bounding memory.
pub const MAX_GEN_CONFLICTS: f64 = 5e6;

/// Checks [`ScarcityParams`] against a scenario of `tasks` tasks; errors name the field
/// (`scarce_capabilities`, `conflict_density`, `horizon_slack`).
pub fn check_scarcity(p: &ScarcityParams, tasks: usize) -> Result<(), super::ScenarioError> {
    let bad = |field: &str, reason: String| super::ScenarioError::Invalid {
        field: field.into(),
        reason,
    };
    if p.scarce_capabilities > 1000 {
        return Err(bad(
            "scarce_capabilities",
            format!("{} exceeds the limit of 1000", p.scarce_capabilities),
        ));
    }
    if !(p.conflict_density.is_finite() && (0.0..=1.0).contains(&p.conflict_density)) {
        return Err(bad(
            "conflict_density",
            format!("{} is not in [0, 1]", p.conflict_density),
        ));
    }
    let pairs = tasks as f64 * tasks.saturating_sub(1) as f64 / 2.0;
    if p.conflict_density > 0.0 && pairs > 1e8 {
        return Err(bad(
            "conflict_density",
            format!("draws every task pair: at most 1e8 pairs (about 14,000 tasks), got {pairs}"),
        ));
    }
    if p.conflict_density * pairs > MAX_GEN_CONFLICTS {
        return Err(bad(
            "conflict_density",
            format!(
                "{} x {pairs} task pairs would make more than {MAX_GEN_CONFLICTS:e} conflicts",
                p.conflict_density
            ),
        ));
    }
    if let Some(f) = p.horizon_slack
        && !(f.is_finite() && (0.0..=100.0).contains(&f))
    {
        return Err(bad("horizon_slack", format!("{f} is not in [0, 100]")));
    }
    Ok(())
}

/// Makes the scheduling part of `s` hard (see [`ScarcityParams`]): scarce capabilities,
/// dense conflicts, a tight horizon. Same `s` and parameters, same result. Fails when the
/// parameters are out of range or `s` is not a valid scenario (needed for the horizon).
pub fn apply_scarcity(s: &mut Scenario, p: &ScarcityParams) -> Result<(), super::ScenarioError> {
    check_scarcity(p, s.tasks.len())?;
    let mut rng = Rng::stream(p.seed, 7);
    let n = s.agents.len();
    if p.scarce_capabilities > 0 && n > 0 {
        for c in 0..p.scarce_capabilities {
            let name = format!("scarce{c}");
            let holders = (1 + rng.below(3) as usize).min(n);
            let mut chosen: Vec<usize> = Vec::with_capacity(holders);
            while chosen.len() < holders {
                let a = rng.below(n as u64) as usize;
                if !chosen.contains(&a) {
                    chosen.push(a);
                }
            }
            for a in chosen {
                s.agents[a].capabilities.push(name.clone());
            }
        }
        for t in &mut s.tasks {
            if rng.bit() {
                t.capability = format!("scarce{}", rng.below(p.scarce_capabilities as u64));
            }
        }
    }
    if p.conflict_density > 0.0 {
        let m = s.tasks.len();
        for i in 0..m {
            for j in i + 1..m {
                if rng.next_f64() >= p.conflict_density {
                    continue;
                }
                let (a, b) = (s.tasks[i].id.clone(), s.tasks[j].id.clone());
                let related = s.tasks[i].after.contains(&b)
                    || s.tasks[j].after.contains(&a)
                    || s.tasks[i].conflicts.contains(&b)
                    || s.tasks[j].conflicts.contains(&a);
                if !related {
                    s.tasks[i].conflicts.push(b);
                }
            }
        }
    }
    if let Some(f) = p.horizon_slack {
        s.horizon = None;
        let inst = super::validate(s)?;
        let ls = super::schedule::list_schedule(&inst);
        let makespan = (0..inst.tasks.len())
            .map(|t| ls.start[t].unwrap_or(0) + inst.tasks[t].duration)
            .max()
            .unwrap_or(0);
        s.horizon = Some((((1.0 + f) * makespan as f64).ceil() as usize).max(1));
    }
    Ok(())
}

fn round1(x: f64) -> f64 {
    ((x * 10.0).round() / 10.0).max(0.1)
}

/// Per-pool loads, costs and capacities (model in the module docs) over the agents of the
/// uniform model (`loads[a] = (cpu, mem)`), from their own random stream.
#[allow(clippy::needless_range_loop)] // parallel arrays indexed by agent, pool and kind
fn per_pool_loads(
    p: &GenParams,
    loads: &[(f64, f64)],
    price: &[f64],
    mut agents: Vec<Agent>,
) -> (Vec<Pool>, Vec<Agent>) {
    let mut rng = Rng::stream(p.seed, 2);
    let (n, pp) = (loads.len(), price.len());
    // l[(a*pp + j)] = (cpu, mem) or None when pool j cannot take agent a.
    let mut l: Vec<Option<(f64, f64)>> = vec![None; n * pp];
    let mut c = vec![0.0; n * pp];
    let mut cheapest = vec![0usize; n];
    for a in 0..n {
        let (cpu, mem) = loads[a];
        let size = cpu + mem / 4.0;
        for j in 0..pp {
            let f = 0.5 + rng.next_f64();
            l[a * pp + j] = Some((round1(cpu * f), round1(mem * f)));
            c[a * pp + j] = round2(price[j] * size * (2.1 - f + 0.2 * (rng.next_f64() - 0.5))).max(0.01);
        }
        cheapest[a] = (0..pp)
            .min_by(|&x, &y| c[a * pp + x].total_cmp(&c[a * pp + y]).then(x.cmp(&y)))
            .expect("pools");
        if pp >= 3 {
            for j in 0..pp {
                if j != cheapest[a] && rng.next_f64() < 0.1 {
                    l[a * pp + j] = None;
                }
            }
        }
    }
    let util = p.utilisation.clamp(0.05, 1.2);
    let mut capacity = vec![[0.0f64; 2]; pp];
    for k in 0..2 {
        let get = |x: (f64, f64)| if k == 0 { x.0 } else { x.1 };
        let cheap_total: f64 = (0..n).map(|a| get(l[a * pp + cheapest[a]].expect("cheapest"))).sum();
        let min_total: f64 = (0..n)
            .map(|a| {
                (0..pp)
                    .filter_map(|j| l[a * pp + j].map(get))
                    .fold(f64::INFINITY, f64::min)
            })
            .sum();
        let in_pool: Vec<f64> = (0..pp)
            .map(|j| (0..n).filter_map(|a| l[a * pp + j].map(get)).sum())
            .collect();
        let largest: Vec<f64> = (0..pp)
            .map(|j| (0..n).filter_map(|a| l[a * pp + j].map(get)).fold(0.0, f64::max))
            .collect();
        let all: f64 = in_pool.iter().sum::<f64>().max(1e-9);
        let target = (cheap_total / util).max(min_total);
        for j in 0..pp {
            capacity[j][k] = (target * in_pool[j] / all).ceil().max(largest[j]).max(1.0);
        }
    }
    let pools = (0..pp)
        .map(|j| Pool {
            id: format!("p{j}"),
            capacity: BTreeMap::from([
                ("cpu".to_string(), capacity[j][0]),
                ("mem_gb".to_string(), capacity[j][1]),
            ]),
        })
        .collect();
    for (a, agent) in agents.iter_mut().enumerate() {
        let mut per = BTreeMap::new();
        for j in 0..pp {
            if let Some((cpu, mem)) = l[a * pp + j] {
                per.insert(
                    format!("p{j}"),
                    BTreeMap::from([("cpu".to_string(), cpu), ("mem_gb".to_string(), mem)]),
                );
            }
        }
        agent.load = Load::PerPool(per);
        let costs: Vec<f64> = c[a * pp..(a + 1) * pp].to_vec();
        agent.cost = if pp <= 8 {
            Costs::PerPool((0..pp).map(|j| (format!("p{j}"), costs[j])).collect())
        } else {
            Costs::Dense(costs)
        };
    }
    (pools, agents)
}

/// A changed copy of `s`: `fraction` of the agents leave (or fail; removed with their
/// traffic), and as many new agents join, each talking to a random existing agent and up to
/// five of its partners. New agents are `j0, j1, ...` (prefixed by `prefix`), copies of a
/// random existing agent's load, costs and capabilities.
///
/// # Errors
/// [`ScenarioError`] when `s` itself is invalid (see [`validate`](super::validate)): traffic
/// between unknown agents, duplicate ids, ... (a scenario read from a damaged file).
pub fn churn(s: &Scenario, fraction: f64, seed: u64, prefix: &str) -> Result<Scenario, ScenarioError> {
    super::validate(s)?;
    Ok(churn_valid(s, fraction, seed, prefix))
}

fn churn_valid(s: &Scenario, fraction: f64, seed: u64, prefix: &str) -> Scenario {
    let mut rng = Rng::stream(seed, 1);
    let n = s.agents.len();
    let k = ((n as f64) * fraction.clamp(0.0, 1.0)).round() as usize;
    let mut idx: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut idx);
    let gone: HashSet<&str> = idx[..k.min(n)].iter().map(|&a| s.agents[a].id.as_str()).collect();
    let mut out = s.clone();
    out.agents.retain(|a| !gone.contains(a.id.as_str()));
    out.traffic
        .retain(|t| !gone.contains(t.from.as_str()) && !gone.contains(t.to.as_str()));
    let survivors: Vec<usize> = (0..out.agents.len()).collect();
    if survivors.is_empty() {
        return out;
    }
    // Partners of each surviving agent.
    let pos: std::collections::HashMap<&str, usize> =
        out.agents.iter().enumerate().map(|(i, a)| (a.id.as_str(), i)).collect();
    let mut partners: Vec<Vec<usize>> = vec![Vec::new(); out.agents.len()];
    for t in &out.traffic {
        let (a, b) = (pos[t.from.as_str()], pos[t.to.as_str()]);
        partners[a].push(b);
        partners[b].push(a);
    }
    let mut new_agents = Vec::new();
    let mut new_traffic = Vec::new();
    for j in 0..k {
        let anchor = survivors[rng.below(survivors.len() as u64) as usize];
        let mut agent = out.agents[anchor].clone();
        agent.id = format!("{prefix}{j}");
        new_traffic.push(Traffic {
            from: agent.id.clone(),
            to: out.agents[anchor].id.clone(),
            rate: round2(2.0 + 8.0 * rng.next_f64()),
        });
        for &b in partners[anchor].iter().take(5) {
            new_traffic.push(Traffic {
                from: agent.id.clone(),
                to: out.agents[b].id.clone(),
                rate: round2(2.0 + 8.0 * rng.next_f64()),
            });
        }
        new_agents.push(agent);
    }
    out.agents.extend(new_agents);
    out.traffic.extend(new_traffic);
    out
}
