//! Atomic output files: every file qam writes goes through [`AtomicFile`] (or
//! [`write_atomic`]), so a failed, interrupted (`kill -9`) or concurrent run never leaves a
//! truncated or interleaved file and never destroys the previous contents.
//!
//! The data go to a temporary file in the destination's directory (same file system, so
//! the final `rename` is atomic); [`AtomicFile::commit`] flushes, `fsync`s and renames it
//! over the destination. Dropping an uncommitted file removes the temporary file and leaves
//! the destination untouched. A destination that exists and is not a regular file (a
//! terminal, a pipe, `/dev/null`, `/dev/full`) cannot be replaced by a rename: it is written
//! directly, and write errors still name it.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Errors writing an output file; each names the path it concerns.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Creating, writing, syncing or renaming failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The destination (or the temporary file next to it, named in `source`'s context).
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The output would overwrite one of the inputs of the same command.
    #[error("output {output} is also an input ({input}); choose another output path")]
    SameAsInput {
        /// Output path as given.
        output: String,
        /// The input it refers to.
        input: String,
    },
    /// The output exists and overwriting was not allowed.
    #[error("{0} already exists (use --force to overwrite it)")]
    Exists(String),
}

enum Target {
    /// Temporary file to rename over the destination on commit.
    Temp { tmp: PathBuf, file: BufWriter<File> },
    /// A special file (device, pipe) written in place.
    Direct(BufWriter<File>),
}

/// An output file written atomically: nothing appears at the destination until
/// [`AtomicFile::commit`]; dropping it uncommitted discards what was written.
pub struct AtomicFile {
    path: PathBuf,
    target: Option<Target>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl AtomicFile {
    /// Starts writing `path`: creates a temporary file next to it (same directory, name
    /// `.NAME.tmp.PID.K`). Errors name `path`.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, WriteError> {
        let path = path.as_ref().to_path_buf();
        let err = |source| WriteError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Ok(meta) = std::fs::metadata(&path)
            && !meta.is_file()
        {
            if meta.is_dir() {
                return Err(err(std::io::Error::other("is a directory")));
            }
            let file = OpenOptions::new().write(true).open(&path).map_err(err)?;
            return Ok(AtomicFile {
                path,
                target: Some(Target::Direct(BufWriter::new(file))),
            });
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .ok_or_else(|| err(std::io::Error::other("not a file name")))?
            .to_string_lossy()
            .into_owned();
        let tmp = dir.join(format!(
            ".{name}.tmp.{}.{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(err)?;
        Ok(AtomicFile {
            path,
            target: Some(Target::Temp {
                tmp,
                file: BufWriter::new(file),
            }),
        })
    }

    /// The destination path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_err(&self, source: std::io::Error) -> WriteError {
        WriteError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Flushes, `fsync`s and renames the temporary file over the destination (then syncs
    /// the directory, so the rename itself survives a crash).
    pub fn commit(mut self) -> Result<(), WriteError> {
        match self.target.take() {
            Some(Target::Temp { tmp, file }) => {
                let done = (|| {
                    let file = file.into_inner().map_err(|e| e.into_error())?;
                    file.sync_all()?;
                    drop(file);
                    std::fs::rename(&tmp, &self.path)
                })();
                if let Err(e) = done {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(self.io_err(e));
                }
                if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty())
                    && let Ok(d) = File::open(dir)
                {
                    let _ = d.sync_all();
                }
                Ok(())
            }
            Some(Target::Direct(mut file)) => file.flush().map_err(|e| self.io_err(e)),
            None => Ok(()),
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.target.as_mut() {
            Some(Target::Temp { file, .. }) | Some(Target::Direct(file)) => file.write(buf),
            None => Err(std::io::Error::other("file already committed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.target.as_mut() {
            Some(Target::Temp { file, .. }) | Some(Target::Direct(file)) => file.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(Target::Temp { tmp, .. }) = self.target.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Writes `path` atomically with `write`: all or nothing, the previous contents kept on any
/// error. Errors name `path`.
pub fn write_atomic(
    path: impl AsRef<Path>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    let mut f = AtomicFile::create(path)?;
    if let Err(e) = write(&mut f) {
        return Err(f.io_err(e));
    }
    f.commit()
}

/// True when `a` and `b` name the same existing file (same device and inode on Unix,
/// same canonical path elsewhere).
pub fn same_file(a: impl AsRef<Path>, b: impl AsRef<Path>) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a.as_ref()), std::fs::metadata(b.as_ref())) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        ma.dev() == mb.dev() && ma.ino() == mb.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (ma, mb);
        matches!(
            (std::fs::canonicalize(a.as_ref()), std::fs::canonicalize(b.as_ref())),
            (Ok(x), Ok(y)) if x == y
        )
    }
}

/// Refuses an `output` that is one of `inputs` (it would be destroyed before or while it
/// is read). Special files (`/dev/stdout`, pipes) are never refused.
pub fn check_not_input<P: AsRef<Path>>(output: &Path, inputs: &[P]) -> Result<(), WriteError> {
    if std::fs::metadata(output).is_ok_and(|m| !m.is_file()) {
        return Ok(());
    }
    for input in inputs {
        if same_file(output, input) {
            return Err(WriteError::SameAsInput {
                output: output.display().to_string(),
                input: input.as_ref().display().to_string(),
            });
        }
    }
    Ok(())
}

/// Refuses to overwrite an existing `path` unless `force`.
pub fn check_overwrite(path: &Path, force: bool) -> Result<(), WriteError> {
    if !force && std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) {
        return Err(WriteError::Exists(path.display().to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_and_drop_keeps_the_old_contents() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        std::fs::write(&p, "old\n").unwrap();
        {
            let mut f = AtomicFile::create(&p).unwrap();
            f.write_all(b"partial").unwrap();
            // dropped without commit
        }
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old\n");
        let r = write_atomic(&p, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(r.unwrap_err().to_string().contains("out.txt"));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old\n");
        write_atomic(&p, |w| w.write_all(b"new\n")).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
        // No temporary file left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn same_file_and_overwrite_checks() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::write(&a, "x").unwrap();
        let alias = dir.path().join(".").join("a");
        assert!(same_file(&a, &alias));
        assert!(check_not_input(&alias, &[&a]).is_err());
        assert!(check_not_input(&dir.path().join("b"), &[&a]).is_ok());
        assert!(check_overwrite(&a, false).is_err());
        assert!(check_overwrite(&a, true).is_ok());
        assert!(check_overwrite(&dir.path().join("b"), false).is_ok());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn full_device_error_names_the_path() {
        let e = write_atomic("/dev/full", |w| w.write_all(&[b'x'; 1 << 16])).unwrap_err();
        assert!(e.to_string().contains("/dev/full"), "{e}");
    }
}
