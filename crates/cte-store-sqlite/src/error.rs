//! The adapter's own error, and its mapping onto the port's [`StoreError`].

use cte_core::{StoreError, StoreResult};

/// What can go wrong inside the SQLite adapter.
#[derive(Debug, thiserror::Error)]
pub enum SqliteError {
    /// A rusqlite call failed.
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    /// The database was written by a newer version of this program.
    #[error("database schema version {found} is newer than this program knows ({latest}); upgrade the program")]
    SchemaTooNew {
        /// Version in the file.
        found: u32,
        /// Latest version this build knows.
        latest: u32,
    },
    /// The token key file is missing, unreadable or does not match.
    #[error("token key: {0}")]
    Key(String),
    /// A stored value could not be read back.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A backup could not be made.
    #[error("backup: {0}")]
    Backup(String),
}

impl From<SqliteError> for StoreError {
    fn from(e: SqliteError) -> StoreError {
        StoreError::Unavailable(Box::new(e))
    }
}

pub(crate) fn sql(e: rusqlite::Error) -> StoreError {
    StoreError::from(SqliteError::Sql(e))
}

/// `e` as the port's error: `Conflict(exists())` when it broke a UNIQUE or PRIMARY KEY constraint
/// (the name is taken), else as [`sql`] gives it.
pub(crate) fn conflict_or_sql(e: rusqlite::Error, exists: impl FnOnce() -> String) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(exists())
    } else {
        sql(e)
    }
}

/// `Ok` when a statement changed `n` rows, any at all; `NotFound(missing())` when it changed none.
pub(crate) fn found(n: usize, missing: impl FnOnce() -> String) -> StoreResult<()> {
    if n == 0 {
        return Err(StoreError::NotFound(missing()));
    }
    Ok(())
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

pub(crate) fn corrupt(msg: String) -> StoreError {
    StoreError::from(SqliteError::Corrupt(msg))
}
