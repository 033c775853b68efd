//! Where results go: stdout or `--out FILE`, as text or JSON lines.

use anyhow::{Context, Result};
use clap::ValueEnum;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// Output style.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputKind {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// A line-oriented sink that flushes after every line, so batch results appear as they
/// are produced.
pub struct Sink {
    out: Box<dyn Write>,
}

impl Sink {
    /// stdout, or the file `path` (created or truncated).
    pub fn open(path: Option<&PathBuf>) -> Result<Self> {
        let out: Box<dyn Write> = match path {
            Some(p) => Box::new(BufWriter::new(
                File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
            )),
            None => Box::new(std::io::stdout().lock()),
        };
        Ok(Sink { out })
    }

    /// Writes one line and flushes.
    pub fn line(&mut self, text: &str) -> Result<()> {
        writeln!(self.out, "{text}")?;
        self.out.flush()?;
        Ok(())
    }
}
