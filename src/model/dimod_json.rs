//! Sample sets as dimod JSON (`SampleSet.to_serializable`, schema 3.2.0, unpacked), and
//! states read back from such files, plain JSON arrays or text rows (warm starts).
//!
//! The written object loads with `dimod.SampleSet.from_serializable(json.load(f))`: keys
//! `type`, `version.sampleset_schema`, `num_variables`, `num_rows`, `sample_data` (an
//! `int8` array of shape `[rows, variables]`), `sample_type`, `sample_packed: false`,
//! `vectors` (`energy` float64, `num_occurrences` int64), `variable_labels`,
//! `variable_type` (`SPIN` / `BINARY`) and `info`. Rows are aggregated (identical states
//! merged, `num_occurrences` summed) and sorted by energy.

use super::{SampleSet, Vartype, check_state};
use serde_json::{Value, json};

/// dimod's SampleSet schema version written here.
pub const SAMPLESET_SCHEMA: &str = "3.2.0";

/// Errors reading states for a warm start; they name the field or line.
#[derive(Debug, thiserror::Error)]
pub enum StatesError {
    /// The content is not in a recognised shape.
    #[error("{0}")]
    Format(String),
    /// A state does not fit the model (length or domain); names the row.
    #[error("row {row}: {reason}")]
    Row {
        /// 0-based row index.
        row: usize,
        /// What is wrong.
        reason: String,
    },
}

fn array(data: Value, data_type: &str, shape: Vec<usize>) -> Value {
    json!({"type": "array", "data": data, "data_type": data_type, "shape": shape, "use_bytes": false})
}

impl SampleSet {
    /// The set as a dimod `SampleSet.to_serializable(pack_samples=False)` object,
    /// aggregated. `labels` name the variables (default `0..n`); `info` goes to the
    /// `info` field (dimod keeps it as given).
    pub fn to_dimod_json(&self, labels: Option<&[Value]>, info: Value) -> Value {
        let mut agg = self.clone();
        agg.aggregate();
        let rows = agg.samples();
        let n = self.num_variables;
        let labels: Vec<Value> = match labels {
            Some(l) => l.to_vec(),
            None => (0..n).map(|i| json!(i)).collect(),
        };
        json!({
            "type": "SampleSet",
            "version": {"sampleset_schema": SAMPLESET_SCHEMA},
            "num_variables": n,
            "num_rows": rows.len(),
            "sample_data": array(
                json!(rows.iter().map(|s| &s.state).collect::<Vec<_>>()),
                "int8",
                vec![rows.len(), n],
            ),
            "sample_type": "int8",
            "sample_packed": false,
            "vectors": {
                "energy": array(json!(rows.iter().map(|s| s.energy).collect::<Vec<_>>()), "float64", vec![rows.len()]),
                "num_occurrences": array(
                    json!(rows.iter().map(|s| s.num_occurrences).collect::<Vec<_>>()),
                    "int64",
                    vec![rows.len()],
                ),
            },
            "variable_labels": labels,
            "variable_type": self.vartype.as_str(),
            "info": info,
        })
    }
}

/// States for a warm start from `text`, converted to `vartype` and checked against `n`
/// variables. Accepted shapes: a dimod SampleSet JSON object (unpacked, as written by
/// [`SampleSet::to_dimod_json`] or `to_serializable(pack_samples=False)`; its
/// `variable_type` is honoured, rows repeated by `num_occurrences` are not expanded), a
/// JSON array of rows, or text with one row per line (values separated by spaces or
/// commas; `#` starts a comment). Values are 0/1 or -1/+1; a row of 0/1 values is read as
/// BINARY and one containing -1 as SPIN, unless the file says.
pub fn read_states(text: &str, n: usize, vartype: Vartype) -> Result<Vec<Vec<i8>>, StatesError> {
    let trimmed = text.trim_start();
    let (rows, declared): (Vec<Vec<i64>>, Option<Vartype>) = if trimmed.starts_with('{') {
        let v: Value = serde_json::from_str(text).map_err(|e| StatesError::Format(format!("not JSON: {e}")))?;
        if v.get("type").and_then(Value::as_str) != Some("SampleSet") {
            return Err(StatesError::Format(
                "JSON object is not a dimod SampleSet (`type` is not \"SampleSet\")".into(),
            ));
        }
        if v.get("sample_packed").and_then(Value::as_bool) != Some(false) {
            return Err(StatesError::Format(
                "`sample_packed` must be false (write it with to_serializable(pack_samples=False))".into(),
            ));
        }
        let vt = match v.get("variable_type").and_then(Value::as_str) {
            Some("SPIN") => Vartype::Spin,
            Some("BINARY") => Vartype::Binary,
            other => {
                return Err(StatesError::Format(format!(
                    "`variable_type` must be SPIN or BINARY, not {other:?}"
                )));
            }
        };
        let data = v
            .pointer("/sample_data/data")
            .cloned()
            .ok_or_else(|| StatesError::Format("`sample_data.data` is missing".into()))?;
        (json_rows(data)?, Some(vt))
    } else if trimmed.starts_with('[') {
        let v: Value = serde_json::from_str(text).map_err(|e| StatesError::Format(format!("not JSON: {e}")))?;
        (json_rows(v)?, None)
    } else {
        let mut rows = Vec::new();
        for (k, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let row = line
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|t| !t.is_empty())
                .map(|t| {
                    t.parse::<i64>()
                        .map_err(|_| StatesError::Format(format!("line {}: `{t}` is not 0, 1, -1 or +1", k + 1)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            rows.push(row);
        }
        (rows, None)
    };
    if rows.is_empty() {
        return Err(StatesError::Format("no states".into()));
    }
    let mut out = Vec::with_capacity(rows.len());
    for (row, r) in rows.into_iter().enumerate() {
        let vt = declared.unwrap_or(if r.contains(&-1) {
            Vartype::Spin
        } else {
            Vartype::Binary
        });
        let state: Vec<i8> = r
            .iter()
            .map(|&x| match (vt, x) {
                (Vartype::Spin, -1 | 1) | (Vartype::Binary, 0 | 1) => Ok(x as i8),
                _ => Err(StatesError::Row {
                    row,
                    reason: format!("value {x} is not in the {} domain", vt.as_str()),
                }),
            })
            .collect::<Result<_, _>>()?;
        check_state(&state, n, vt).map_err(|e| StatesError::Row {
            row,
            reason: e.to_string(),
        })?;
        out.push(match (vt, vartype) {
            (a, b) if a == b => state,
            (Vartype::Spin, _) => state.iter().map(|&s| (s + 1) / 2).collect(),
            (Vartype::Binary, _) => state.iter().map(|&x| 2 * x - 1).collect(),
        });
    }
    Ok(out)
}

fn json_rows(v: Value) -> Result<Vec<Vec<i64>>, StatesError> {
    let rows = v
        .as_array()
        .ok_or_else(|| StatesError::Format("states must be an array of rows".into()))?;
    rows.iter()
        .enumerate()
        .map(|(k, r)| {
            r.as_array()
                .ok_or_else(|| StatesError::Row {
                    row: k,
                    reason: "is not an array".into(),
                })?
                .iter()
                .map(|x| {
                    x.as_i64().ok_or_else(|| StatesError::Row {
                        row: k,
                        reason: format!("`{x}` is not an integer"),
                    })
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SolveInfo;

    #[test]
    fn writes_aggregated_rows_and_reads_them_back() {
        let set = SampleSet::from_states(
            Vartype::Spin,
            3,
            vec![(vec![1, -1, 1], -2.0), (vec![1, 1, 1], 3.0), (vec![1, -1, 1], -2.0)],
            SolveInfo::default(),
        );
        let v = set.to_dimod_json(None, json!({}));
        assert_eq!(v["num_rows"], 2);
        assert_eq!(v["vectors"]["num_occurrences"]["data"], json!([2, 1]));
        assert_eq!(v["sample_data"]["shape"], json!([2, 3]));
        let back = read_states(&v.to_string(), 3, Vartype::Binary).unwrap();
        assert_eq!(back, vec![vec![1, 0, 1], vec![1, 1, 1]]);
        assert_eq!(
            read_states("0 1 1\n# c\n1,0,0\n", 3, Vartype::Spin).unwrap()[1],
            vec![1, -1, -1]
        );
        assert!(matches!(
            read_states("0 1\n", 3, Vartype::Spin),
            Err(StatesError::Row { row: 0, .. })
        ));
        assert!(read_states("[[0, 2, 1]]", 3, Vartype::Spin).is_err());
        assert!(read_states("", 3, Vartype::Spin).is_err());
    }
}
