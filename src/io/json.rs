//! qam's JSON model format (and dimod's serializable BQM, read only).
//!
//! ```json
//! {
//!   "format": "qam-model",
//!   "version": 1,
//!   "vartype": "BINARY",
//!   "num_variables": 3,
//!   "offset": 0.5,
//!   "linear": [[0, -1.0], [2, 2.5]],
//!   "quadratic": [[0, 1, 3.0], [1, 2, -4.0]]
//! }
//! ```
//! `vartype` is `BINARY` (QUBO, `x in {0,1}`) or `SPIN` (Ising, `s in {-1,+1}`). The energy
//! is `sum linear_i v_i + sum quadratic_ij v_i v_j + offset`. Indices are 0-based; `linear`
//! may also be a dense list of `num_variables` numbers. Each variable and each pair may be
//! listed once. A dimod `BinaryQuadraticModel.to_serializable(use_bytes=False)` document
//! (schema 3) is read too, its variables numbered in label order.

use super::text::Src;
use super::{IoError, Problem};
use crate::model::{Couplings, Ising, Model, ModelError, Qubo, Vartype};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Format tag written in qam's JSON files.
pub const FORMAT_TAG: &str = "qam-model";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonModel {
    format: String,
    version: u32,
    vartype: Vartype,
    num_variables: usize,
    #[serde(default)]
    offset: f64,
    #[serde(default)]
    linear: Linear,
    #[serde(default)]
    quadratic: Vec<(u64, u64, f64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    info: Option<Value>,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Linear {
    Sparse(Vec<(u64, f64)>),
    Dense(Vec<f64>),
}

impl Default for Linear {
    fn default() -> Self {
        Linear::Sparse(Vec::new())
    }
}

pub(super) fn read(src: &Src, text: &str) -> Result<Problem, IoError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| src.err(e.line().max(1), format!("invalid JSON: {e}")))?;
    if value.get("type").and_then(Value::as_str) == Some("BinaryQuadraticModel") {
        return read_dimod(src, text, &value);
    }
    // Vartype words are case-insensitive (`spin`, `Binary`).
    let mut value = value;
    if let Some(vt) = value
        .get("vartype")
        .and_then(Value::as_str)
        .map(str::to_ascii_uppercase)
        && (vt == "BINARY" || vt == "SPIN")
    {
        value["vartype"] = Value::String(vt);
    }
    let m: JsonModel = match serde_json::from_value(value) {
        Ok(m) => m,
        // Parse the text again only to learn the line of the offending value.
        Err(e) => {
            return Err(match serde_json::from_str::<JsonModel>(text) {
                Err(e) if e.line() > 0 => src.err(e.line(), format!("not a qam model: {e}")),
                _ => invalid(src, format!("not a qam model: {e}")),
            });
        }
    };
    if m.format != FORMAT_TAG {
        return Err(invalid(
            src,
            format!("field `format` is `{}`, expected `{FORMAT_TAG}`", m.format),
        ));
    }
    if m.version != 1 {
        return Err(invalid(
            src,
            format!("field `version` is {}, this qam reads version 1", m.version),
        ));
    }
    let n = m.num_variables;
    let items = m.quadratic.len()
        + match &m.linear {
            Linear::Sparse(v) => v.len(),
            Linear::Dense(v) => v.len(),
        };
    if let Some(msg) = super::text::variables_problem(n, items, "`num_variables`") {
        return Err(invalid(src, msg));
    }
    // Errors about the k-th element of a list name the element and, when it can be found
    // in the text, its line.
    let at = |key: &str, k: usize, msg: String| -> IoError {
        let msg = format!("{key}[{k}]: {msg}");
        match element_line(text, key, k) {
            Some(line) => src.err(line, msg),
            None => invalid(src, msg),
        }
    };
    let idx = |key: &str, k: usize, i: u64| -> Result<u32, IoError> {
        if i >= n as u64 {
            Err(at(key, k, format!("index {i} out of range for num_variables = {n}")))
        } else {
            Ok(i as u32)
        }
    };
    let mut linear = vec![0.0; n];
    match m.linear {
        Linear::Dense(v) => {
            if v.len() != n {
                return Err(invalid(
                    src,
                    format!("`linear` has {} values but num_variables = {n}", v.len()),
                ));
            }
            linear = v;
        }
        Linear::Sparse(pairs) => {
            let mut seen = vec![false; n];
            for (k, (i, v)) in pairs.into_iter().enumerate() {
                let i = idx("linear", k, i)? as usize;
                if seen[i] {
                    return Err(at("linear", k, format!("variable {i} listed twice")));
                }
                seen[i] = true;
                linear[i] = v;
            }
        }
    }
    let mut pairs = Vec::with_capacity(m.quadratic.len());
    for (k, (i, j, w)) in m.quadratic.into_iter().enumerate() {
        let (i, j) = (idx("quadratic", k, i)?, idx("quadratic", k, j)?);
        if i == j {
            return Err(at(
                "quadratic",
                k,
                format!("pair ({i}, {i}) couples a variable with itself; put it in `linear`"),
            ));
        }
        pairs.push((i, j, w));
    }
    if let Some((first, k)) = first_duplicate(&pairs) {
        let (i, j) = (pairs[k].0.min(pairs[k].1), pairs[k].0.max(pairs[k].1));
        return Err(at(
            "quadratic",
            k,
            format!("pair ({i}, {j}) listed twice (first as quadratic[{first}])"),
        ));
    }
    build(src, m.vartype, linear, pairs, m.offset, true)
}

/// The first pair listed again (either order): `(index of the first listing, index of
/// the repeat)`.
fn first_duplicate(pairs: &[(u32, u32, f64)]) -> Option<(usize, usize)> {
    let key = |k: usize| {
        let (i, j) = (pairs[k].0.min(pairs[k].1), pairs[k].0.max(pairs[k].1));
        ((i as u64) << 32) | j as u64
    };
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by_key(|&k| (key(k), k));
    order
        .windows(2)
        .filter(|w| key(w[0]) == key(w[1]))
        .map(|w| (w[0], w[1]))
        .min_by_key(|&(_, repeat)| repeat)
}

/// 1-based line where element `k` of the top-level array `key` starts, found by a light
/// scan of the text (strings and nesting respected). `None` when it cannot be found.
fn element_line(text: &str, key: &str, k: usize) -> Option<usize> {
    let b = text.as_bytes();
    let (mut depth, mut line, mut p) = (0usize, 1usize, 0usize);
    // Inside the target array: its depth and the index of the element being read.
    let mut target: Option<(usize, usize)> = None;
    let mut expect_element = false;
    let mut last_key: Option<(usize, usize)> = None; // byte range of the last key at depth 1
    while p < b.len() {
        let c = b[p];
        if expect_element && !c.is_ascii_whitespace() && c != b']' {
            expect_element = false;
            if target.is_some_and(|(_, e)| e == k) {
                return Some(line);
            }
        }
        match c {
            b'\n' => line += 1,
            b'"' => {
                let start = p + 1;
                p += 1;
                while p < b.len() && b[p] != b'"' {
                    if b[p] == b'\\' {
                        p += 1;
                    } else if b[p] == b'\n' {
                        line += 1;
                    }
                    p += 1;
                }
                if depth == 1 {
                    last_key = Some((start, p.min(b.len())));
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if c == b'['
                    && depth == 2
                    && target.is_none()
                    && last_key.and_then(|(s, e)| text.get(s..e)) == Some(key)
                {
                    target = Some((depth, 0));
                    expect_element = true;
                }
            }
            b']' | b'}' => {
                if target.is_some_and(|(d, _)| d == depth) {
                    return None;
                }
                depth = depth.saturating_sub(1);
            }
            b',' => {
                if let Some((d, e)) = target.as_mut()
                    && *d == depth
                {
                    *e += 1;
                    expect_element = true;
                }
                if depth == 1 {
                    last_key = None;
                }
            }
            _ => {}
        }
        p += 1;
    }
    None
}

fn build(
    src: &Src,
    vartype: Vartype,
    linear: Vec<f64>,
    pairs: Vec<(u32, u32, f64)>,
    offset: f64,
    unique: bool,
) -> Result<Problem, IoError> {
    let n = linear.len();
    let quad = if unique {
        Couplings::from_unique_triplets(n, pairs)
    } else {
        Couplings::from_triplets(n, pairs)
    }
    .map_err(|e| match e {
        ModelError::DuplicateCoupling(i, j) => invalid(src, format!("quadratic: pair ({i}, {j}) listed twice")),
        e => invalid(src, e.to_string()),
    })?;
    let model = match vartype {
        Vartype::Binary => Model::Qubo(Qubo::new(linear, quad, offset).map_err(|e| invalid(src, e.to_string()))?),
        Vartype::Spin => Model::Ising(Ising::new(linear, quad, offset).map_err(|e| invalid(src, e.to_string()))?),
    };
    Ok(Problem::minimize(model))
}

/// dimod `to_serializable(use_bytes=False)` (BQM schema 3).
fn read_dimod(src: &Src, text: &str, v: &Value) -> Result<Problem, IoError> {
    if v.get("use_bytes").and_then(Value::as_bool) == Some(true) {
        return Err(invalid(
            src,
            "dimod BQM with use_bytes=true is not supported; save with use_bytes=False",
        ));
    }
    let vt = v
        .get("variable_type")
        .and_then(Value::as_str)
        .map(str::to_ascii_uppercase);
    let vartype = match vt.as_deref() {
        Some("BINARY") => Vartype::Binary,
        Some("SPIN") => Vartype::Spin,
        other => {
            return Err(invalid(
                src,
                format!("dimod BQM: `variable_type` must be BINARY or SPIN, found {other:?}"),
            ));
        }
    };
    let nums = |field: &str| -> Result<Vec<f64>, IoError> {
        let arr = v
            .get(field)
            .and_then(Value::as_array)
            .ok_or_else(|| invalid(src, format!("dimod BQM: missing list `{field}`")))?;
        arr.iter()
            .enumerate()
            .map(|(k, x)| {
                x.as_f64().ok_or_else(|| {
                    let msg = format!("dimod BQM: `{field}[{k}]` is not a number");
                    match element_line(text, field, k) {
                        Some(line) => src.err(line, msg),
                        None => invalid(src, msg),
                    }
                })
            })
            .collect()
    };
    let linear = nums("linear_biases")?;
    let n = linear.len();
    let (qb, head, tail) = (
        nums("quadratic_biases")?,
        nums("quadratic_head")?,
        nums("quadratic_tail")?,
    );
    if qb.len() != head.len() || qb.len() != tail.len() {
        return Err(invalid(
            src,
            "dimod BQM: quadratic_biases, quadratic_head and quadratic_tail differ in length",
        ));
    }
    let mut pairs = Vec::with_capacity(qb.len());
    for k in 0..qb.len() {
        let (i, j) = (head[k], tail[k]);
        let ok = |x: f64| x >= 0.0 && x.fract() == 0.0 && x < n as f64;
        if !ok(i) || !ok(j) || i == j {
            let msg = format!("dimod BQM: quadratic entry {k} has invalid indices ({i}, {j})");
            let field = if ok(i) { "quadratic_tail" } else { "quadratic_head" };
            return Err(match element_line(text, field, k) {
                Some(line) => src.err(line, msg),
                None => invalid(src, msg),
            });
        }
        pairs.push((i as u32, j as u32, qb[k]));
    }
    let offset = match v.get("offset") {
        None => 0.0,
        Some(x) => x
            .as_f64()
            .ok_or_else(|| invalid(src, format!("dimod BQM: `offset` must be a number, found {x}")))?,
    };
    if let Some(x) = v.get("num_variables") {
        match x.as_u64() {
            Some(k) if k == n as u64 => {}
            _ => {
                return Err(invalid(
                    src,
                    format!("dimod BQM: `num_variables` is {x} but `linear_biases` has {n} values"),
                ));
            }
        }
    }
    // Variable k is named variable_labels[k]; the labels come back with the results.
    let labels = match v.get("variable_labels") {
        None | Some(Value::Null) => None,
        Some(Value::Array(l)) => {
            if l.len() != n {
                return Err(invalid(
                    src,
                    format!(
                        "dimod BQM: `variable_labels` has {} labels but there are {n} variables",
                        l.len()
                    ),
                ));
            }
            let mut seen = std::collections::HashSet::with_capacity(n);
            for (k, label) in l.iter().enumerate() {
                if !seen.insert(label.to_string()) {
                    return Err(invalid(
                        src,
                        format!("dimod BQM: `variable_labels[{k}]` = {label} repeats a label"),
                    ));
                }
            }
            Some(l.clone())
        }
        Some(x) => {
            return Err(invalid(
                src,
                format!("dimod BQM: `variable_labels` must be a list, found {x}"),
            ));
        }
    };
    let mut problem = build(src, vartype, linear, pairs, offset, false)?;
    problem.labels = labels;
    Ok(problem)
}

fn invalid(src: &Src, msg: impl Into<String>) -> IoError {
    IoError::Invalid {
        path: src.path.to_string(),
        msg: msg.into(),
    }
}

pub(super) fn write(model: &Model) -> String {
    let linear = model
        .linear()
        .iter()
        .copied()
        .enumerate()
        .filter(|p| p.1 != 0.0)
        .map(|(i, v)| (i as u64, v))
        .collect();
    let m = JsonModel {
        format: FORMAT_TAG.into(),
        version: 1,
        vartype: model.vartype(),
        num_variables: model.num_variables(),
        offset: model.offset(),
        linear: Linear::Sparse(linear),
        quadratic: model
            .couplings()
            .iter_upper()
            .map(|(i, j, w)| (i as u64, j as u64, w))
            .collect(),
        info: None,
    };
    serde_json::to_string(&m).expect("a model with finite numbers serialises") + "\n"
}
