//! qam's JSON for constrained models.
//!
//! ```json
//! {"format": "qam-cqm", "version": 1, "sense": "minimize",
//!  "variables": ["a", "b", "c"],
//!  "objective": {"offset": 0.5, "linear": [["a", 3.0], ["b", 2.0]], "quadratic": [["a", "b", 1.0]]},
//!  "constraints": [{"name": "pick", "terms": [["a", 1.0], ["b", 1.0], ["c", 1.0]], "sense": "=", "rhs": 1.0},
//!                  {"name": "cap", "terms": [["a", 2.0], ["b", 1.0]], "sense": "<=", "rhs": 1.0}],
//!  "one_hot": ["pick"]}
//! ```
//!
//! All variables are binary; `one_hot` names constraints of the form `sum x = 1` (unit
//! coefficients, disjoint variables) that solvers keep satisfied by their moves. Numbers
//! round-trip exactly. Errors name the file and the JSON field.

use super::{Cmp, ConstrainedModel, CqmError, Sense};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonObjective {
    #[serde(default)]
    offset: f64,
    #[serde(default)]
    linear: Vec<(String, f64)>,
    #[serde(default)]
    quadratic: Vec<(String, String, f64)>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonConstraint {
    name: String,
    terms: Vec<(String, f64)>,
    sense: Cmp,
    rhs: f64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonModel {
    format: String,
    version: u32,
    sense: Sense,
    variables: Vec<String>,
    objective: JsonObjective,
    #[serde(default)]
    constraints: Vec<JsonConstraint>,
    #[serde(default)]
    one_hot: Vec<String>,
}

/// The `format` tag of qam's constrained-model JSON.
pub const FORMAT: &str = "qam-cqm";

/// Serialises `m` (pretty-printed JSON).
pub fn write_string(m: &ConstrainedModel) -> String {
    let names = m.variable_names();
    let j = JsonModel {
        format: FORMAT.into(),
        version: 1,
        sense: m.sense(),
        variables: names.to_vec(),
        objective: JsonObjective {
            offset: m.offset(),
            linear: m
                .linear()
                .iter()
                .enumerate()
                .filter(|(_, c)| **c != 0.0)
                .map(|(i, &c)| (names[i].clone(), c))
                .collect(),
            quadratic: m
                .quadratic()
                .into_iter()
                .map(|(i, j, q)| (names[i].clone(), names[j].clone(), q))
                .collect(),
        },
        constraints: m
            .constraints()
            .iter()
            .map(|c| JsonConstraint {
                name: c.name.clone(),
                terms: c.terms.iter().map(|&(v, a)| (names[v].clone(), a)).collect(),
                sense: c.sense,
                rhs: c.rhs,
            })
            .collect(),
        one_hot: m
            .one_hot_constraints()
            .iter()
            .map(|&c| m.constraints()[c].name.clone())
            .collect(),
    };
    serde_json::to_string_pretty(&j).expect("plain data serialises")
}

fn err(file: &str, line: usize, msg: impl Into<String>) -> CqmError {
    CqmError::Parse {
        file: file.into(),
        line,
        msg: msg.into(),
    }
}

/// Parses qam's constrained-model JSON; `file` names it in errors.
pub fn read_str(text: &str, file: &str) -> Result<ConstrainedModel, CqmError> {
    let j: JsonModel = serde_json::from_str(text).map_err(|e| err(file, e.line(), e.to_string()))?;
    if j.format != FORMAT {
        return Err(err(file, 0, format!("`format` is `{}`, expected `{FORMAT}`", j.format)));
    }
    if j.version != 1 {
        return Err(err(file, 0, format!("`version` {} is not supported (1)", j.version)));
    }
    let mut m = ConstrainedModel::new(j.sense);
    for v in &j.variables {
        m.add_variable(v)
            .map_err(|e| err(file, 0, format!("`variables`: {e}")))?;
    }
    let var = |m: &ConstrainedModel, v: &str, field: &str| {
        m.variable_index(v)
            .ok_or_else(|| err(file, 0, format!("`{field}`: undefined variable `{v}`")))
    };
    let finite = |x: f64, field: &str| {
        if x.is_finite() {
            Ok(x)
        } else {
            Err(err(file, 0, format!("`{field}` is not finite")))
        }
    };
    m.add_offset(finite(j.objective.offset, "objective.offset")?);
    for (v, c) in &j.objective.linear {
        let i = var(&m, v, "objective.linear")?;
        m.add_linear(i, finite(*c, "objective.linear")?);
    }
    for (u, v, q) in &j.objective.quadratic {
        let a = var(&m, u, "objective.quadratic")?;
        let b = var(&m, v, "objective.quadratic")?;
        m.add_quadratic(a, b, finite(*q, "objective.quadratic")?);
    }
    let one_hot: std::collections::HashSet<&str> = j.one_hot.iter().map(|s| s.as_str()).collect();
    for (k, c) in j.constraints.iter().enumerate() {
        let field = format!("constraints[{k}]");
        let terms = c
            .terms
            .iter()
            .map(|(v, a)| Ok((var(&m, v, &field)?, *a)))
            .collect::<Result<Vec<_>, CqmError>>()?;
        if one_hot.contains(c.name.as_str()) {
            if c.sense != Cmp::Eq || c.rhs != 1.0 || terms.iter().any(|&(_, a)| a != 1.0) {
                return Err(err(file, 0, format!("`one_hot`: `{}` is not `sum x = 1`", c.name)));
            }
            let vars: Vec<usize> = terms.iter().map(|&(v, _)| v).collect();
            m.add_one_hot(&c.name, &vars)
                .map_err(|e| err(file, 0, format!("`{field}`: {e}")))?;
        } else {
            m.add_constraint(&c.name, terms, c.sense, c.rhs)
                .map_err(|e| err(file, 0, format!("`{field}`: {e}")))?;
        }
    }
    for name in &j.one_hot {
        if m.constraint_index(name).is_none() {
            return Err(err(file, 0, format!("`one_hot`: no constraint `{name}`")));
        }
    }
    Ok(m)
}

/// Reads a constrained-model JSON file.
pub fn read_file(path: &Path) -> Result<ConstrainedModel, CqmError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| err(&name, 0, format!("cannot read: {e}")))?;
    read_str(&text, &name)
}

/// True when `text` looks like qam's constrained-model JSON (has `"format": "qam-cqm"`).
pub fn sniff(text: &str) -> bool {
    text.trim_start().starts_with('{') && text.contains("\"qam-cqm\"")
}
