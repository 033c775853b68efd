//! The scenario a fleet is planned for: agents, resource pools, tasks and the
//! communication graph, as read from and written to JSON (`qam-scenario`, schema in
//! README.md "Orchestration").
//!
//! A [`Scenario`] is what users write; it is checked and compiled into a dense, index-based
//! [`Instance`](super::validate::Instance) by [`validate`](super::validate::validate), which
//! reports every inconsistency with the JSON path of the offending field.

use super::ScenarioError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// A whole scenario. Field names are the JSON keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Always `"qam-scenario"` when written by qam (optional on input).
    #[serde(default = "scenario_format")]
    pub format: String,
    /// Resource kinds that pools offer and agents consume (e.g. `["cpu", "mem_gb"]`).
    pub resource_kinds: Vec<String>,
    /// Cost of one unit of message rate between two agents placed in different pools
    /// (default 1).
    #[serde(default = "one")]
    pub comm_cost: f64,
    /// Hard scheduling horizon in time slots; tasks must end by it. `None`: no hard limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizon: Option<usize>,
    /// Resource pools (machines, regions, clusters) agents are placed in.
    pub pools: Vec<Pool>,
    /// The agents to place.
    pub agents: Vec<Agent>,
    /// Tasks to schedule onto time slots (and onto agents with the capability).
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// Directed message rates between agents (both directions of a pair add up).
    #[serde(default)]
    pub traffic: Vec<Traffic>,
}

fn scenario_format() -> String {
    "qam-scenario".into()
}

fn one() -> f64 {
    1.0
}

/// A resource pool with a capacity per resource kind (kinds not listed have capacity 0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    /// Unique pool id.
    pub id: String,
    /// Capacity per resource kind, in the same units as agents' loads.
    pub capacity: BTreeMap<String, f64>,
}

/// An agent: what it can do, what it consumes, and what each pool charges for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    /// Unique agent id.
    pub id: String,
    /// Capabilities, matched against [`Task::capability`].
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Load per resource kind, the same in every pool (`{"cpu": 2}`; kinds not listed: 0),
    /// or per pool (`{"p0": {"cpu": 2}, "p1": {"cpu": 3}}`; pools not listed cannot take
    /// the agent). See [`Load`].
    #[serde(default)]
    pub load: Load,
    /// Cost of placing the agent in each pool.
    #[serde(default)]
    pub cost: Costs,
}

/// What an agent consumes: the same load in every pool, or a load per pool.
///
/// JSON: `{"cpu": 2, "mem_gb": 8}` (uniform: one number per resource kind, kinds not listed
/// are 0) or `{"p0": {"cpu": 2}, "p1": {"cpu": 3}}` (per pool: pool id -> load per kind). A
/// pool missing from a per-pool map means the agent cannot be placed there; an empty
/// object is a zero load everywhere. The two forms cannot be mixed in one agent.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Load {
    /// Load per resource kind, the same in every pool.
    Uniform(BTreeMap<String, f64>),
    /// Pool id -> load per resource kind; pools not listed cannot take the agent.
    PerPool(BTreeMap<String, BTreeMap<String, f64>>),
}

impl Default for Load {
    fn default() -> Self {
        Load::Uniform(BTreeMap::new())
    }
}

impl From<BTreeMap<String, f64>> for Load {
    fn from(m: BTreeMap<String, f64>) -> Self {
        Load::Uniform(m)
    }
}

/// One value of a `load` object: a number (uniform form) or an object (per-pool form).
enum LoadEntry {
    Amount(f64),
    Pool(BTreeMap<String, f64>),
}

impl<'de> Deserialize<'de> for LoadEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = LoadEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number (load of a resource kind) or an object {kind: load} (load in a pool)")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<LoadEntry, E> {
                Ok(LoadEntry::Amount(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<LoadEntry, E> {
                Ok(LoadEntry::Amount(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<LoadEntry, E> {
                Ok(LoadEntry::Amount(v as f64))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<LoadEntry, A::Error> {
                BTreeMap::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(LoadEntry::Pool)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Load {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let entries = BTreeMap::<String, LoadEntry>::deserialize(d)?;
        let mut uniform = BTreeMap::new();
        let mut per_pool = BTreeMap::new();
        for (k, e) in entries {
            match e {
                LoadEntry::Amount(v) => {
                    uniform.insert(k, v);
                }
                LoadEntry::Pool(m) => {
                    per_pool.insert(k, m);
                }
            }
        }
        match (uniform.keys().next(), per_pool.is_empty()) {
            (_, true) => Ok(Load::Uniform(uniform)),
            (None, false) => Ok(Load::PerPool(per_pool)),
            (Some(k), false) => Err(serde::de::Error::custom(format!(
                "`load` mixes a number (`{k}`) with per-pool objects: write either \
                 {{\"cpu\": 2}} (the same in every pool) or {{\"p0\": {{\"cpu\": 2}}}} (per pool)"
            ))),
        }
    }
}

/// Placement costs of one agent: a map `pool id -> cost` (pools not listed cost 0) or a
/// dense list aligned with [`Scenario::pools`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Costs {
    /// `{"pool-a": 1.5, "pool-b": 2.0}`.
    PerPool(BTreeMap<String, f64>),
    /// `[1.5, 2.0]`, one entry per pool in `pools` order.
    Dense(Vec<f64>),
}

impl Default for Costs {
    fn default() -> Self {
        Costs::PerPool(BTreeMap::new())
    }
}

/// A task: needs one agent with `capability` for `duration` consecutive time slots.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Unique task id.
    pub id: String,
    /// Capability the executing agent must have.
    pub capability: String,
    /// Length in time slots (at least 1).
    pub duration: usize,
    /// Tasks that must finish before this one starts (precedence).
    #[serde(default)]
    pub after: Vec<String>,
    /// Tasks that must not run at the same time as this one (either side may list it).
    #[serde(default)]
    pub conflicts: Vec<String>,
}

/// A directed message rate between two agents (messages per unit time, or any unit that
/// [`Scenario::comm_cost`] prices).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    /// Sending agent id.
    pub from: String,
    /// Receiving agent id.
    pub to: String,
    /// Message rate (non-negative).
    pub rate: f64,
}

impl Scenario {
    /// Parses a scenario from JSON text; errors carry the line and column.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        serde_json::from_str(text).map_err(|e| ScenarioError::Json {
            source_name: "scenario".into(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
    }

    /// Reads a scenario file; errors name the file and the line.
    pub fn read(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Scenario::from_json(&text).map_err(|e| match e {
            ScenarioError::Json {
                line, column, message, ..
            } => ScenarioError::Json {
                source_name: path.display().to_string(),
                line,
                column,
                message,
            },
            other => other,
        })
    }

    /// Pretty JSON text of the scenario.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("scenarios serialise")
    }

    /// Writes the scenario as JSON.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), ScenarioError> {
        let path = path.as_ref();
        crate::io::write_atomic(path, |w| w.write_all(self.to_json().as_bytes())).map_err(|e| ScenarioError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }
}
