//! Where results go: stdout or `--out FILE`, as text or JSON lines.

use anyhow::Result;
use clap::ValueEnum;
use qam::io::AtomicFile;
use std::io::Write;
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
/// are produced. A file (`--out`) is written atomically ([`AtomicFile`]): its previous
/// contents stay until [`Sink::finish`], and a run that fails or is killed leaves them.
pub struct Sink {
    out: Out,
}

enum Out {
    Stdout(std::io::StdoutLock<'static>),
    File(AtomicFile),
}

impl Sink {
    /// stdout, or the file `path` (replaced atomically on [`Sink::finish`]).
    pub fn open(path: Option<&PathBuf>) -> Result<Self> {
        let out = match path {
            Some(p) => Out::File(AtomicFile::create(p)?),
            None => Out::Stdout(std::io::stdout().lock()),
        };
        Ok(Sink { out })
    }

    /// Writes one line and flushes.
    pub fn line(&mut self, text: &str) -> Result<()> {
        let w: &mut dyn Write = match &mut self.out {
            Out::Stdout(s) => s,
            Out::File(f) => f,
        };
        match (writeln!(w, "{text}").and_then(|_| w.flush()), &self.out) {
            (Err(source), Out::File(f)) => Err(qam::io::WriteError::Io {
                path: f.path().display().to_string(),
                source,
            }
            .into()),
            (r, _) => Ok(r?),
        }
    }

    /// Completes the output: commits the file (flush, fsync, rename over the destination).
    pub fn finish(self) -> Result<()> {
        match self.out {
            Out::Stdout(mut s) => Ok(s.flush()?),
            Out::File(f) => Ok(f.commit()?),
        }
    }
}
