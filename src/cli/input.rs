//! Input paths of the CLI: a file, or `-` for standard input (then the format comes from
//! `--format` or is sniffed from the first line; a message names `--format` when it cannot
//! be told).

use anyhow::{Context, Result, bail};
use qam::io::{Problem, ReadOptions, read_bytes};
use std::io::Read;
use std::path::Path;

/// True for the `-` path (standard input).
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The name of `path` in messages and results (`<stdin>` for `-`).
pub fn label(path: &Path) -> String {
    if is_stdin(path) {
        "<stdin>".into()
    } else {
        path.display().to_string()
    }
}

/// The bytes of `path`, or of standard input for `-` (at most half the available memory,
/// so a endless pipe is refused instead of exhausting it).
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    if !is_stdin(path) {
        return std::fs::read(path).with_context(|| format!("cannot read {}", path.display()));
    }
    let cap = qam::limits::available_memory().map_or(u64::MAX, |m| m / 2);
    let mut buf = Vec::new();
    std::io::stdin()
        .lock()
        .take(cap.saturating_add(1))
        .read_to_end(&mut buf)
        .context("cannot read standard input")?;
    if buf.len() as u64 > cap {
        bail!(
            "<stdin>: more than {} (half the available memory); write it to a file",
            qam::limits::fmt_bytes(cap)
        );
    }
    Ok(buf)
}

/// Refuses `-` given more than once (standard input can be read once).
pub fn check_one_stdin<P: AsRef<Path>>(paths: &[P]) -> Result<()> {
    if paths.iter().filter(|p| is_stdin(p.as_ref())).count() > 1 {
        bail!("`-` (standard input) can be given once");
    }
    Ok(())
}

/// Reads the problem at `path` (`-`: standard input). A multi-instance bqp file needs
/// `--instance` (only `qam solve` runs every instance), so that no instance is silently
/// chosen.
pub fn read_problem(path: &Path, opts: ReadOptions) -> Result<Problem> {
    let bytes = read_input(path)?;
    let name = label(path);
    if opts.instance.is_none() {
        let count = qam::io::instance_count(&bytes, &name, opts.format)?;
        if count > 1 {
            bail!("{name}: the file holds {count} instances; choose one with --instance (1..={count})");
        }
    }
    Ok(read_bytes(&bytes, &name, opts)?)
}
