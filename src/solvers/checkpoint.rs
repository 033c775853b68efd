//! Checkpoints: long solves (`hierarchical`, `pt`) save their state every few rounds
//! through [`SolveContext::checkpoint`](super::SolveContext) so that a killed run can
//! resume from it (`qam solve --checkpoint/--resume`, `qam serve` after a restart).
//!
//! A state is a solver-specific JSON document with at least `solver` and `round`; spins
//! are stored as a string of `+` / `-` ([`spins_to_text`]). The saver decides how often a
//! save is wanted ([`Checkpoint::due`]); solvers ask before building the state.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where a solver saves its state and finds the state to resume from.
pub trait Checkpoint: Sync {
    /// The state an earlier run of the same solve saved, to resume from (`None`: start
    /// fresh). Solvers ignore a state that is not theirs or does not fit the model.
    fn resume(&self) -> Option<Value>;
    /// Whether a save is wanted now (e.g. a second since the last one).
    fn due(&self) -> bool;
    /// Saves `state`.
    fn save(&self, state: Value);
}

/// Spins (`±1`) as a string of `+` and `-`.
pub fn spins_to_text(spins: &[i8]) -> String {
    spins.iter().map(|&s| if s > 0 { '+' } else { '-' }).collect()
}

/// The spins of [`spins_to_text`]'s string, if it has `n` of them and nothing else.
pub fn spins_from_text(text: &str, n: usize) -> Option<Vec<i8>> {
    if text.len() != n {
        return None;
    }
    text.bytes()
        .map(|b| match b {
            b'+' => Some(1),
            b'-' => Some(-1),
            _ => None,
        })
        .collect()
}

/// The state to resume from when it belongs to `solver` (field `solver`) and is for `n`
/// variables (field `n`).
pub fn resume_for(cp: Option<&dyn Checkpoint>, solver: &str, n: usize) -> Option<Value> {
    let v = cp?.resume()?;
    (v.get("solver").and_then(Value::as_str) == Some(solver) && v.get("n").and_then(Value::as_u64) == Some(n as u64))
        .then_some(v)
}

/// Errors reading a checkpoint file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a checkpoint, or one of another problem or solver.
    #[error("{path}: {msg}")]
    Invalid {
        /// The file.
        path: String,
        /// What does not match.
        msg: String,
    },
}

/// A checkpoint file: `{"fingerprint": .., "state": ..}`, written atomically (a temporary
/// file in the same folder, then renamed over it) at most once per `interval`.
/// `fingerprint` identifies the solve (solver, model, parameters); a file made by another
/// solve is refused on resume.
pub struct FileCheckpoint {
    path: PathBuf,
    fingerprint: Value,
    resume: Option<Value>,
    interval: Duration,
    last: Mutex<Option<Instant>>,
    error: Mutex<Option<String>>,
}

impl FileCheckpoint {
    /// Saves to `path` (when `Some`) and resumes from `resume` (when `Some`; it must hold
    /// a checkpoint with the same `fingerprint`).
    pub fn new(
        path: Option<&Path>,
        resume: Option<&Path>,
        fingerprint: Value,
        interval: Duration,
    ) -> Result<FileCheckpoint, CheckpointError> {
        let resume = match resume {
            None => None,
            Some(r) => {
                let name = r.display().to_string();
                let text = std::fs::read_to_string(r).map_err(|source| CheckpointError::Read {
                    path: name.clone(),
                    source,
                })?;
                let invalid = |msg: String| CheckpointError::Invalid {
                    path: name.clone(),
                    msg,
                };
                let v: Value = serde_json::from_str(&text).map_err(|e| invalid(format!("not a checkpoint: {e}")))?;
                if v["fingerprint"] != fingerprint {
                    return Err(invalid(format!(
                        "made by another solve ({}), not this one ({fingerprint})",
                        v["fingerprint"]
                    )));
                }
                Some(v["state"].clone())
            }
        };
        Ok(FileCheckpoint {
            path: path.map(Path::to_path_buf).unwrap_or_default(),
            fingerprint,
            resume,
            interval,
            last: Mutex::new(None),
            error: Mutex::new(None),
        })
    }

    /// The round the resumed state was saved at, if resuming.
    pub fn resumed_round(&self) -> Option<u64> {
        self.resume.as_ref()?.get("round")?.as_u64()
    }

    /// The first error a save met (saves never stop the solve).
    pub fn error(&self) -> Option<String> {
        self.error.lock().ok()?.clone()
    }

    fn write(&self, state: Value) -> std::io::Result<()> {
        let text = json!({"fingerprint": self.fingerprint, "state": state}).to_string();
        crate::io::write_atomic(&self.path, |w| w.write_all(text.as_bytes())).map_err(std::io::Error::other)
    }
}

impl Checkpoint for FileCheckpoint {
    fn resume(&self) -> Option<Value> {
        self.resume.clone()
    }

    fn due(&self) -> bool {
        !self.path.as_os_str().is_empty()
            && self
                .last
                .lock()
                .map(|l| l.is_none_or(|t| t.elapsed() >= self.interval))
                .unwrap_or(false)
    }

    fn save(&self, state: Value) {
        if let Ok(mut l) = self.last.lock() {
            *l = Some(Instant::now());
        }
        if let Err(e) = self.write(state)
            && let Ok(mut err) = self.error.lock()
        {
            err.get_or_insert_with(|| format!("cannot write checkpoint {}: {e}", self.path.display()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spins_round_trip() {
        let s = vec![1, -1, -1, 1, 1];
        assert_eq!(spins_from_text(&spins_to_text(&s), 5), Some(s));
        assert_eq!(spins_from_text("+-x", 3), None);
        assert_eq!(spins_from_text("+-", 3), None);
    }

    #[test]
    fn file_checkpoint_round_trips_and_refuses_another_solve() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("cp.json");
        let fp = json!({"solver": "hierarchical", "n": 3});
        let cp = FileCheckpoint::new(Some(&f), None, fp.clone(), Duration::from_secs(3600)).unwrap();
        assert!(cp.due());
        cp.save(json!({"round": 7}));
        assert!(!cp.due(), "throttled");
        let again = FileCheckpoint::new(None, Some(&f), fp, Duration::ZERO).unwrap();
        assert_eq!(again.resumed_round(), Some(7));
        assert!(!again.due(), "no path: never saves");
        let e = FileCheckpoint::new(None, Some(&f), json!({"other": 1}), Duration::ZERO)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("cp.json") && e.contains("another solve"), "{e}");
    }
}
