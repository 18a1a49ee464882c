//! Online backup: a consistent copy of a live database, taken while servers and workers keep
//! writing to it, with the token key file that belongs to it.

use std::path::{Path, PathBuf};

use rusqlite::backup::Backup;
use rusqlite::{Connection, OpenFlags};

use crate::error::SqliteError;
use crate::secrets::{key_path, write_private};

/// What [`backup`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// Pages copied.
    pub pages: u64,
    /// Bytes of the copy.
    pub bytes: u64,
    /// The key file copied beside it (`<out>.key`), when the database has one.
    pub key_file: Option<PathBuf>,
}

/// Copies the database `db` to the new file `out` with SQLite's online backup, in one step: the
/// copy is the database as of one read transaction, and writers go on meanwhile (WAL). The copy
/// is checked with `PRAGMA integrity_check`. The tenants' key file `<db>.key`, without which the
/// copy's tenant tokens cannot be read, is copied to `<out>.key` (mode 0600). `out` must not exist.
pub fn backup(db: &Path, out: &Path) -> Result<BackupReport, SqliteError> {
    if out.exists() {
        return Err(SqliteError::Backup(format!(
            "{} exists; back up to a new file",
            out.display()
        )));
    }
    if !db.is_file() {
        return Err(SqliteError::Backup(format!(
            "{} is not a database file",
            db.display()
        )));
    }
    let source = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let mut target = Connection::open(out)?;
    {
        let copy = Backup::new(&source, &mut target)?;
        // -1: every page in one step, so no write can restart the copy half-way.
        copy.step(-1)?;
    }
    let check: String = target.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(SqliteError::Backup(format!(
            "the copy in {} failed its integrity check: {check}",
            out.display()
        )));
    }
    let pages: u64 = target.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    drop(target);
    let key = key_path(db);
    let key_file = if key.is_file() {
        let to = key_path(out);
        copy_private(&key, &to)?;
        Some(to)
    } else {
        None
    };
    let bytes = std::fs::metadata(out)
        .map_err(|e| SqliteError::Backup(format!("{}: {e}", out.display())))?
        .len();
    Ok(BackupReport {
        pages,
        bytes,
        key_file,
    })
}

/// Copies `from` to the new file `to`, readable by its owner only.
fn copy_private(from: &Path, to: &Path) -> Result<(), SqliteError> {
    let bytes = std::fs::read(from)
        .map_err(|e| SqliteError::Backup(format!("cannot read {}: {e}", from.display())))?;
    write_private(to, &bytes).map_err(SqliteError::Backup)
}

/// `PRAGMA integrity_check` of the database file `db` on a connection of its own: `"ok"`, or
/// SQLite's list of problems.
pub fn integrity_check(db: &Path) -> Result<String, SqliteError> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    let problems: Vec<String> = conn
        .prepare("PRAGMA integrity_check")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(problems.join("\n"))
}
