//! The job journal: one SQLite database (`jobs.sqlite3`, WAL mode) in the data folder.
//!
//! A job row is inserted (and committed) before the client hears `202`; status moves
//! `queued -> running -> done | failed | cancelled`, and the final move is a conditional
//! `UPDATE .. WHERE status = 'running'`, so a job ends exactly once even when a worker and
//! a restart race. WAL with `synchronous = NORMAL` survives a killed process (the commit
//! is in the WAL file before `202` is sent); only a power loss can drop the last commits.

use super::{ServeError, now_s};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One job as stored.
#[derive(Clone, Debug, Serialize)]
pub struct JobRow {
    /// Job id (32 hex digits).
    pub id: String,
    /// Insertion order (also the list cursor).
    pub seq: i64,
    /// `solve` or `plan`.
    pub kind: String,
    /// The normalised request (JSON text).
    #[serde(skip)]
    pub request: String,
    /// `queued`, `running`, `done`, `failed` or `cancelled`.
    pub status: String,
    /// The result JSON text (done, or cancelled with a best-so-far result).
    #[serde(skip)]
    pub result: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// Unix seconds.
    pub created_at: f64,
    /// Unix seconds of the last start.
    pub started_at: Option<f64>,
    /// Unix seconds.
    pub finished_at: Option<f64>,
    /// How many times a worker started it (more than 1 after a restart).
    pub attempts: i64,
    /// A client asked to cancel it.
    pub cancel_requested: bool,
    /// Seconds of wall time earlier attempts ran before the server died (the last
    /// heartbeat of each attempt minus its start); a restarted job gets its time limit less
    /// this.
    pub spent_s: f64,
}

/// What [`Journal::insert`] did.
#[derive(Debug, PartialEq)]
pub enum Inserted {
    /// A new job with this id.
    New(String),
    /// The idempotency key was used before: that job's id, and whether its request is the
    /// same as this one.
    Existing {
        /// The earlier job.
        id: String,
        /// Whether the requests match.
        same_request: bool,
    },
}

/// The journal database.
pub struct Journal {
    conn: Connection,
    path: PathBuf,
}

const COLUMNS: &str = "id, seq, kind, request, status, result, error, created_at, started_at, finished_at, attempts, cancel_requested, spent_s";

fn row_to_job(r: &rusqlite::Row) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        id: r.get(0)?,
        seq: r.get(1)?,
        kind: r.get(2)?,
        request: r.get(3)?,
        status: r.get(4)?,
        result: r.get(5)?,
        error: r.get(6)?,
        created_at: r.get(7)?,
        started_at: r.get(8)?,
        finished_at: r.get(9)?,
        attempts: r.get(10)?,
        cancel_requested: r.get::<_, i64>(11)? != 0,
        spent_s: r.get(12)?,
    })
}

/// A fresh random job id (128 bits from the std hasher's random keys, time and a counter).
pub fn new_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let c = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u64(c);
        h.write_u64(t);
        h.write_u32(std::process::id());
        h.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

impl Journal {
    /// Opens (or creates) `dir/jobs.sqlite3` in WAL mode.
    pub fn open(dir: &Path) -> Result<Journal, ServeError> {
        std::fs::create_dir_all(dir).map_err(|source| ServeError::Io {
            what: format!("cannot create data folder {}", dir.display()),
            source,
        })?;
        let path = dir.join("jobs.sqlite3");
        let err = |source| ServeError::Journal {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open(&path).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS jobs (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 id TEXT NOT NULL UNIQUE,
                 kind TEXT NOT NULL,
                 idem_key TEXT UNIQUE,
                 request TEXT NOT NULL,
                 status TEXT NOT NULL,
                 result TEXT,
                 error TEXT,
                 created_at REAL NOT NULL,
                 started_at REAL,
                 finished_at REAL,
                 attempts INTEGER NOT NULL DEFAULT 0,
                 cancel_requested INTEGER NOT NULL DEFAULT 0,
                 checkpoint TEXT,
                 spent_s REAL NOT NULL DEFAULT 0,
                 alive_at REAL
             );
             CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);",
        )
        .map_err(err)?;
        // Journals written before `spent_s` / `alive_at` existed get the two columns.
        let has_spent: bool = conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name = 'spent_s'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(err)?
            > 0;
        if !has_spent {
            conn.execute_batch(
                "ALTER TABLE jobs ADD COLUMN spent_s REAL NOT NULL DEFAULT 0;
                 ALTER TABLE jobs ADD COLUMN alive_at REAL;",
            )
            .map_err(err)?;
        }
        Ok(Journal { conn, path })
    }

    fn err(&self, source: rusqlite::Error) -> ServeError {
        ServeError::Journal {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Inserts a queued job (committed when this returns), or finds the job an earlier
    /// request with the same idempotency key made.
    pub fn insert(&mut self, kind: &str, request: &str, idem_key: Option<&str>) -> Result<Inserted, ServeError> {
        let path = self.path.display().to_string();
        let err = |source| ServeError::Journal {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        if let Some(key) = idem_key {
            let found: Option<(String, String)> = tx
                .query_row("SELECT id, request FROM jobs WHERE idem_key = ?1", [key], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(err)?;
            if let Some((id, req)) = found {
                return Ok(Inserted::Existing {
                    id,
                    same_request: req == request,
                });
            }
        }
        let id = new_id();
        tx.execute(
            "INSERT INTO jobs (id, kind, idem_key, request, status, created_at) VALUES (?1, ?2, ?3, ?4, 'queued', ?5)",
            params![id, kind, idem_key, request, now_s()],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Inserted::New(id))
    }

    /// The job an idempotency key made, if any.
    pub fn find_key(&self, key: &str) -> Result<Option<JobRow>, ServeError> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM jobs WHERE idem_key = ?1"),
                [key],
                row_to_job,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Moves a queued job to running (one more attempt) and returns it; `None` when it is
    /// no longer queued (cancelled meanwhile).
    pub fn claim(&mut self, id: &str) -> Result<Option<JobRow>, ServeError> {
        let n = self
            .conn
            .execute(
                "UPDATE jobs SET status = 'running', started_at = ?2, attempts = attempts + 1
                 WHERE id = ?1 AND status = 'queued'",
                params![id, now_s()],
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Ok(None);
        }
        self.get(id)
    }

    /// Ends a running job with `status`; true when this call ended it (exactly once).
    pub fn finish(
        &mut self,
        id: &str,
        status: &str,
        result: Option<&str>,
        error: Option<&str>,
    ) -> Result<bool, ServeError> {
        let n = self
            .conn
            .execute(
                "UPDATE jobs SET status = ?2, result = ?3, error = ?4, finished_at = ?5, checkpoint = NULL
                 WHERE id = ?1 AND status = 'running'",
                params![id, status, result, error, now_s()],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// Cancels a queued job; true when it was queued.
    pub fn cancel_queued(&mut self, id: &str) -> Result<bool, ServeError> {
        let n = self
            .conn
            .execute(
                "UPDATE jobs SET status = 'cancelled', cancel_requested = 1, finished_at = ?2
                 WHERE id = ?1 AND status = 'queued'",
                params![id, now_s()],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// Records that a client asked to cancel a running job (a restart then cancels it).
    pub fn request_cancel(&mut self, id: &str) -> Result<(), ServeError> {
        self.conn
            .execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?1", [id])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The job `id`.
    pub fn get(&self, id: &str) -> Result<Option<JobRow>, ServeError> {
        self.conn
            .query_row(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"), [id], row_to_job)
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Up to `limit` jobs, newest first, older than `before` (a `seq` cursor).
    pub fn list(&self, limit: usize, before: Option<i64>) -> Result<Vec<JobRow>, ServeError> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM jobs WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![before.unwrap_or(i64::MAX), limit as i64], row_to_job)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// After a restart: running jobs go back to the queue (or to `cancelled` when a client
    /// had asked), and the ids of all queued jobs are returned, oldest first.
    /// A running job's time so far (last heartbeat minus start) is added to its `spent_s`.
    pub fn recover(&mut self) -> Result<Vec<String>, ServeError> {
        let now = now_s();
        self.conn
            .execute(
                "UPDATE jobs SET spent_s = spent_s + MAX(0.0, COALESCE(alive_at, started_at) - started_at),
                                 alive_at = NULL
                 WHERE status = 'running' AND started_at IS NOT NULL",
                [],
            )
            .map_err(|e| self.err(e))?;
        self.conn
            .execute(
                "UPDATE jobs SET status = 'cancelled', finished_at = ?1
                 WHERE status = 'running' AND cancel_requested = 1",
                [now],
            )
            .map_err(|e| self.err(e))?;
        self.conn
            .execute("UPDATE jobs SET status = 'queued' WHERE status = 'running'", [])
            .map_err(|e| self.err(e))?;
        let mut st = self
            .conn
            .prepare("SELECT id FROM jobs WHERE status = 'queued' ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let ids = st
            .query_map([], |r| r.get(0))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<String>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(ids)
    }

    /// Number of jobs in each status.
    #[cfg(test)]
    pub fn counts(&self) -> Result<Vec<(String, i64)>, ServeError> {
        let mut st = self
            .conn
            .prepare("SELECT status, COUNT(*) FROM jobs GROUP BY status")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Marks every running job as alive now (the workers call it about twice a second):
    /// after a crash, [`recover`](Self::recover) counts a job's time up to its last
    /// heartbeat as spent.
    pub fn heartbeat(&mut self) -> Result<(), ServeError> {
        self.conn
            .execute("UPDATE jobs SET alive_at = ?1 WHERE status = 'running'", [now_s()])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Stores a running job's latest checkpoint (JSON text), replacing the previous one.
    pub fn save_checkpoint(&mut self, id: &str, checkpoint: &str) -> Result<(), ServeError> {
        self.conn
            .execute(
                "UPDATE jobs SET checkpoint = ?2, alive_at = ?3 WHERE id = ?1 AND status = 'running'",
                params![id, checkpoint, now_s()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The job's last checkpoint, if any.
    pub fn checkpoint(&self, id: &str) -> Result<Option<String>, ServeError> {
        self.conn
            .query_row("SELECT checkpoint FROM jobs WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_end_exactly_once_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        let Inserted::New(a) = j.insert("solve", "{\"x\":1}", Some("k1")).unwrap() else {
            panic!("new job expected")
        };
        assert_eq!(
            j.insert("solve", "{\"x\":1}", Some("k1")).unwrap(),
            Inserted::Existing {
                id: a.clone(),
                same_request: true
            }
        );
        assert_eq!(
            j.insert("solve", "{\"x\":2}", Some("k1")).unwrap(),
            Inserted::Existing {
                id: a.clone(),
                same_request: false
            }
        );
        let Inserted::New(b) = j.insert("solve", "{}", None).unwrap() else {
            panic!("new job expected")
        };
        assert!(j.claim(&a).unwrap().is_some());
        assert!(j.claim(&a).unwrap().is_none(), "claimed twice");
        drop(j);
        // A restart: the running job goes back to the queue, in order.
        let mut j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.recover().unwrap(), vec![a.clone(), b.clone()]);
        assert_eq!(j.claim(&a).unwrap().unwrap().attempts, 2);
        assert!(j.finish(&a, "done", Some("{}"), None).unwrap());
        assert!(!j.finish(&a, "failed", None, Some("late")).unwrap(), "ended twice");
        assert!(j.cancel_queued(&b).unwrap());
        assert!(j.claim(&b).unwrap().is_none());
        let mut counts = j.counts().unwrap();
        counts.sort();
        assert_eq!(counts, vec![("cancelled".to_string(), 1), ("done".to_string(), 1)]);
        let page = j.list(1, None).unwrap();
        assert_eq!(page[0].id, b);
        assert_eq!(j.list(10, Some(page[0].seq)).unwrap()[0].id, a);
    }

    #[test]
    fn a_restart_counts_the_time_a_running_job_spent_up_to_its_last_heartbeat() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        let Inserted::New(a) = j.insert("solve", "{}", None).unwrap() else {
            panic!("new job expected")
        };
        assert_eq!(j.claim(&a).unwrap().unwrap().spent_s, 0.0);
        // Pretend the attempt started 5 s ago and its last heartbeat was 2 s ago.
        let now = now_s();
        j.conn
            .execute(
                "UPDATE jobs SET started_at = ?2, alive_at = ?3 WHERE id = ?1",
                params![a, now - 5.0, now - 2.0],
            )
            .unwrap();
        drop(j);
        let mut j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.recover().unwrap(), vec![a.clone()]);
        let row = j.claim(&a).unwrap().unwrap();
        assert!((row.spent_s - 3.0).abs() < 1e-6, "{}", row.spent_s);
        // A second crash adds the second attempt's time; a heartbeat marks it alive now.
        j.heartbeat().unwrap();
        drop(j);
        let mut j = Journal::open(dir.path()).unwrap();
        j.recover().unwrap();
        let spent = j.get(&a).unwrap().unwrap().spent_s;
        assert!((3.0..3.5).contains(&spent), "{spent}");
    }

    #[test]
    fn an_old_journal_without_spent_time_is_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("jobs.sqlite3")).unwrap();
        conn.execute_batch(
            "CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
                 kind TEXT NOT NULL, idem_key TEXT UNIQUE, request TEXT NOT NULL, status TEXT NOT NULL,
                 result TEXT, error TEXT, created_at REAL NOT NULL, started_at REAL, finished_at REAL,
                 attempts INTEGER NOT NULL DEFAULT 0, cancel_requested INTEGER NOT NULL DEFAULT 0,
                 checkpoint TEXT);
             INSERT INTO jobs (id, kind, request, status, created_at) VALUES ('old', 'solve', '{}', 'queued', 0);",
        )
        .unwrap();
        drop(conn);
        let mut j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.recover().unwrap(), vec!["old".to_string()]);
        assert_eq!(j.claim("old").unwrap().unwrap().spent_s, 0.0);
    }
}
