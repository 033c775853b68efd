//! File formats: qbsolv `.qubo`, G-set/rudy MaxCut graphs, OR-Library `bqp`, MatrixMarket
//! coordinate, and qam's own JSON. Read and write, detected from the extension and the
//! header. Every parse error names the file and the line.
//!
//! | format | read as | energy reported | write from |
//! |---|---|---|---|
//! | qbsolv `.qubo` | QUBO (0-based, `i <= j`) | `x^T Q x` (minimised) | any model (Ising converted) |
//! | G-set / rudy | Ising `J_ij = w_ij`, `h = 0` | `sum w s_i s_j`; cut `= (W - E) / 2` | Ising/QUBO with no linear term and no offset |
//! | OR-Library bqp | QUBO `Q_ii = -q_ii`, `Q_ij = -2 q_ij` | `-f(x)` (bqp maximises `f`) | any model without offset |
//! | MatrixMarket | `E = sum_i M_ii v_i + sum_{i != j} M_ij v_i v_j` | as written | any model |
//! | JSON | either vartype, offset kept | as written | any model |

mod atomic;
mod bqp;
mod gset;
mod json;
mod mtx;
mod qbsolv;
mod text;

pub use atomic::{AtomicFile, WriteError, check_not_input, check_overwrite, same_file, write_atomic};

use crate::model::{Ising, Model, ModelError};
use std::fmt;
use std::path::Path;

/// Errors reading or writing a model file.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// File path.
        path: String,
        /// Underlying OS error.
        #[source]
        source: std::io::Error,
    },
    /// The content is malformed at a given line (1-based).
    #[error("{path}:{line}: {msg}")]
    Parse {
        /// File path (or a label for in-memory text).
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// Writing an output file failed (atomically: the previous contents are kept).
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The file as a whole is unusable (unknown format, missing instance, a model the
    /// format cannot represent).
    #[error("{path}: {msg}")]
    Invalid {
        /// File path.
        path: String,
        /// What is wrong.
        msg: String,
    },
}

/// A supported file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// qbsolv `.qubo`.
    Qbsolv,
    /// G-set / rudy MaxCut graph.
    Gset,
    /// OR-Library `bqp` (several instances per file).
    Bqp,
    /// MatrixMarket coordinate.
    MatrixMarket,
    /// qam's JSON model.
    Json,
}

impl Format {
    /// All formats.
    pub const ALL: [Format; 5] = [
        Format::Qbsolv,
        Format::Gset,
        Format::Bqp,
        Format::MatrixMarket,
        Format::Json,
    ];

    /// Name used by `--format`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Qbsolv => "qubo",
            Format::Gset => "gset",
            Format::Bqp => "bqp",
            Format::MatrixMarket => "mtx",
            Format::Json => "json",
        }
    }

    /// Parses a `--format` value (also accepts `qbsolv`, `rudy`, `orlib`, `mm`,
    /// `matrixmarket`).
    pub fn from_name(name: &str) -> Option<Format> {
        Some(match name.to_ascii_lowercase().as_str() {
            "qubo" | "qbsolv" => Format::Qbsolv,
            "gset" | "rudy" => Format::Gset,
            "bqp" | "orlib" => Format::Bqp,
            "mtx" | "mm" | "matrixmarket" => Format::MatrixMarket,
            "json" => Format::Json,
            _ => return None,
        })
    }

    /// The format an extension stands for unambiguously (`.txt` stands for none).
    pub fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "qubo" => Format::Qbsolv,
            "gset" | "rud" | "rudy" => Format::Gset,
            "bqp" => Format::Bqp,
            "mtx" | "mm" => Format::MatrixMarket,
            "json" => Format::Json,
            _ => return None,
        })
    }

    /// Guesses the format from the first content line (used when the extension is
    /// ambiguous, e.g. the `.txt` of the G-set and OR-Library distributions).
    pub fn sniff(text: &str) -> Option<Format> {
        let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
        if first.starts_with("%%MatrixMarket") {
            return Some(Format::MatrixMarket);
        }
        if first.starts_with('{') {
            return Some(Format::Json);
        }
        if first.starts_with(['c', 'p', 'C', 'P']) {
            return Some(Format::Qbsolv);
        }
        let toks: Vec<&str> = first.split_ascii_whitespace().collect();
        if !toks.iter().all(|t| t.parse::<u64>().is_ok()) {
            return None;
        }
        match toks.len() {
            1 => Some(Format::Bqp),
            2 => Some(Format::Gset),
            _ => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a problem's energy means to its users.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ProblemKind {
    /// Plain minimisation of the model's energy.
    Minimize,
    /// MaxCut on a graph of total edge weight `total_weight`: the model is the Ising
    /// `E(s) = sum w_ij s_i s_j` and `cut(s) = (total_weight - E(s)) / 2`.
    MaxCut {
        /// Sum of all edge weights `W`.
        total_weight: f64,
    },
    /// The file's objective is maximised and the model is its negation: objective `= -E`.
    Maximize,
}

/// A model read from a file, with what its energy means.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// The model qam minimises.
    pub model: Model,
    /// How to report its energy (cut value, objective).
    pub kind: ProblemKind,
    /// Variable labels from the file (dimod's `variable_labels`): `labels[i]` names
    /// variable `i` of the model and of every returned state. `None`: variables are
    /// named by their index.
    pub labels: Option<Vec<serde_json::Value>>,
}

impl Problem {
    /// A plain minimisation problem.
    pub fn minimize(model: Model) -> Self {
        Problem {
            model,
            kind: ProblemKind::Minimize,
            labels: None,
        }
    }

    /// A MaxCut problem on edges `(i, j, w)` (0-based): the Ising `J_ij = w_ij`.
    pub fn maxcut(n: usize, edges: &[(u32, u32, f64)]) -> Result<Self, ModelError> {
        let total_weight = edges.iter().map(|e| e.2).sum();
        let ising = Ising::from_entries(n, edges, 0.0)?;
        Ok(Problem {
            model: Model::Ising(ising),
            kind: ProblemKind::MaxCut { total_weight },
            labels: None,
        })
    }

    /// Cut value of a state (in the model's vartype) for MaxCut problems.
    pub fn cut(&self, state: &[i8]) -> Option<f64> {
        match self.kind {
            ProblemKind::MaxCut { total_weight } => Some((total_weight - self.model.energy(state)) / 2.0),
            _ => None,
        }
    }

    /// The value users of this format compare: the cut (MaxCut), the objective
    /// (maximisation formats) or the energy.
    pub fn metric_value(&self, energy: f64) -> f64 {
        match self.kind {
            ProblemKind::MaxCut { total_weight } => (total_weight - energy) / 2.0,
            ProblemKind::Maximize => -energy,
            ProblemKind::Minimize => energy,
        }
    }

    /// True when [`metric_value`](Self::metric_value) is maximised (cut, objective).
    pub fn higher_is_better(&self) -> bool {
        !matches!(self.kind, ProblemKind::Minimize)
    }

    /// The energy whose [`metric_value`](Self::metric_value) is `value` (for targets given
    /// as a cut or an objective).
    pub fn energy_of_metric(&self, value: f64) -> f64 {
        match self.kind {
            ProblemKind::MaxCut { total_weight } => total_weight - 2.0 * value,
            ProblemKind::Maximize => -value,
            ProblemKind::Minimize => value,
        }
    }

    /// The file's own objective for maximisation formats (`-energy`).
    pub fn objective(&self, energy: f64) -> Option<f64> {
        match self.kind {
            ProblemKind::Maximize => Some(-energy),
            _ => None,
        }
    }
}

/// Options for reading.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOptions {
    /// Force a format instead of detecting it.
    pub format: Option<Format>,
    /// Instance to read from multi-instance files (1-based; default 1).
    pub instance: Option<usize>,
}

/// Reads a model file, detecting its format from the extension, then the first line.
pub fn read_file(path: impl AsRef<Path>, opts: ReadOptions) -> Result<Problem, IoError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| IoError::File {
        path: name.clone(),
        source,
    })?;
    read_bytes(&bytes, &name, opts)
}

/// Parses a model from bytes; `path` is only used in messages and for format detection.
pub fn read_bytes(bytes: &[u8], path: &str, opts: ReadOptions) -> Result<Problem, IoError> {
    let text = text::decode(path, bytes)?;
    let format = detect_format(bytes, path, opts.format)?;
    if opts.instance.is_some_and(|k| k != 1) && format != Format::Bqp {
        return Err(IoError::Invalid {
            path: path.into(),
            msg: format!("--instance applies to multi-instance bqp files, not to {format} files"),
        });
    }
    let src = text::Src {
        path,
        text_len: text.len(),
        data_lines: text::count_data_lines(text),
    };
    match format {
        Format::Qbsolv => qbsolv::read(&src, text),
        Format::Gset => gset::read(&src, text),
        Format::Bqp => bqp::read(&src, text, opts.instance.unwrap_or(1)),
        Format::MatrixMarket => mtx::read(&src, text),
        Format::Json => json::read(&src, text),
    }
}

/// The format `bytes` would be read as (`format`, else the extension of `path`, else the
/// first line), as [`read_bytes`] decides.
pub fn detect_format(bytes: &[u8], path: &str, format: Option<Format>) -> Result<Format, IoError> {
    let text = text::decode(path, bytes)?;
    match format.or_else(|| Format::from_extension(Path::new(path))) {
        Some(f) => Ok(f),
        None => Format::sniff(text).ok_or_else(|| IoError::Invalid {
            path: path.into(),
            msg: "cannot tell the format from the extension or the first line; use --format \
                  (qubo, gset, bqp, mtx, json)"
                .into(),
        }),
    }
}

/// How many instances the file holds: the count on the first line of a multi-instance
/// OR-Library bqp file, 1 for every other format. Errors as [`read_bytes`] would for an
/// unknown format or a malformed count.
pub fn instance_count(bytes: &[u8], path: &str, format: Option<Format>) -> Result<usize, IoError> {
    if detect_format(bytes, path, format)? != Format::Bqp {
        return Ok(1);
    }
    let text = text::decode(path, bytes)?;
    let src = text::Src {
        path,
        text_len: text.len(),
        data_lines: text::count_data_lines(text),
    };
    bqp::count(&src, text)
}

/// Writes `problem` to `path` in `format` (default: from the extension), atomically (see
/// [`write_atomic`]).
pub fn write_file(path: impl AsRef<Path>, problem: &Problem, format: Option<Format>) -> Result<(), IoError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let format = format
        .or_else(|| Format::from_extension(path))
        .ok_or_else(|| IoError::Invalid {
            path: name.clone(),
            msg: "cannot tell the output format from the extension; use .qubo, .gset, .bqp, .mtx or .json \
                  (or --format)"
                .into(),
        })?;
    // Never write a file qam would refuse to read back as implausible.
    let m = &problem.model;
    let entries = m.num_interactions() + m.linear().iter().filter(|v| **v != 0.0).count();
    if let Some(msg) = text::variables_problem(m.num_variables(), entries, "the model's variable count") {
        return Err(IoError::Invalid { path: name, msg });
    }
    let text = write_string(problem, format).map_err(|msg| IoError::Invalid {
        path: name.clone(),
        msg,
    })?;
    Ok(write_atomic(path, |w| w.write_all(text.as_bytes()))?)
}

/// Renders `problem` in `format`; the error says why the format cannot hold the model.
pub fn write_string(problem: &Problem, format: Format) -> Result<String, String> {
    match format {
        Format::Qbsolv => Ok(qbsolv::write(&problem.model)),
        Format::Gset => gset::write(&problem.model),
        Format::Bqp => bqp::write(&problem.model),
        Format::MatrixMarket => Ok(mtx::write(&problem.model)),
        Format::Json => Ok(json::write(&problem.model)),
    }
}

/// Maps a model-building error to a parse error at `line`.
fn model_err(src: &text::Src, line: usize, e: ModelError) -> IoError {
    src.err(line, e.to_string())
}

/// Appends `v` in the shortest form that reads back to the same `f64`.
fn push_num(out: &mut String, v: f64) {
    use std::fmt::Write;
    if v == v.trunc() && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v:?}");
    }
}
