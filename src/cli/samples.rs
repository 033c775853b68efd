//! Samples in and out: `--samples FILE` (dimod SampleSet JSON), `--initial-states FILE`
//! (warm starts) and `--beta-schedule LIST|FILE` (custom β per sweep).

use anyhow::{Context, Result};
use qam::model::{Model, SampleSet, dimod_json};
use serde_json::json;
use std::path::Path;

/// Writes `set` to `path` as a dimod SampleSet JSON (every read, aggregated), atomically:
/// a temporary file in the same directory, then a rename.
/// `labels` are the problem's variable labels (dimod inputs), else `0..n`.
pub fn write_samples(path: &Path, set: &SampleSet, source: &Path, labels: Option<&[serde_json::Value]>) -> Result<()> {
    let info = json!({
        "solver": set.info.solver,
        "problem": source.display().to_string(),
        "seed": set.info.seed,
        "params": set.info.params,
        "stop_reason": set.info.stop_reason,
        "time_to_target_s": set.info.time_to_target_s,
        "timing": set.info.timing,
    });
    let text = set.to_dimod_json(labels, info).to_string();
    qam::io::write_atomic(path, |w| w.write_all(text.as_bytes()))
        .with_context(|| format!("--samples: cannot write {}", path.display()))
}

/// Reads `--initial-states FILE` for `model` (states converted to its vartype).
pub fn read_initial_states(path: &Path, model: &Model) -> Result<Vec<Vec<i8>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--initial-states: cannot read {}", path.display()))?;
    dimod_json::read_states(&text, model.num_variables(), model.vartype())
        .with_context(|| format!("--initial-states {}", path.display()))
}

/// The β values of `--beta-schedule`.
#[derive(Clone, Debug, PartialEq)]
pub struct BetaList(pub Vec<f64>);

/// `--beta-schedule`: a comma-separated list of β, or a file of β separated by commas,
/// spaces or newlines (`#` comments). Every β must be finite and non-negative.
pub fn parse_beta_schedule(s: &str) -> std::result::Result<BetaList, String> {
    let path = Path::new(s);
    let (text, origin) = if path.is_file() {
        let t = std::fs::read_to_string(path).map_err(|e| format!("cannot read {s}: {e}"))?;
        (t, format!("{s}: "))
    } else {
        (s.to_string(), String::new())
    };
    let mut betas = Vec::new();
    for (k, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        for t in line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
        {
            let b: f64 = t.parse().map_err(|_| {
                format!(
                    "{origin}line {}: `{t}` is not a number (expected β values or a file)",
                    k + 1
                )
            })?;
            if !b.is_finite() || b < 0.0 {
                return Err(format!(
                    "{origin}line {}: β = {t} must be finite and non-negative",
                    k + 1
                ));
            }
            betas.push(b);
        }
    }
    if betas.is_empty() {
        return Err(format!("{origin}no β values"));
    }
    Ok(BetaList(betas))
}
