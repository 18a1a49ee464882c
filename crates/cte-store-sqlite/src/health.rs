//! The store's health check: a connection of its own, opened for the check, so that the answer
//! says whether the database file can be opened and read now, not what a pooled connection has
//! cached.

use std::path::Path;

use cte_core::store::StoreHealth;
use cte_core::StoreResult;
use rusqlite::{Connection, OpenFlags};

use crate::error::sql;

/// Opens `path` read-only and reads its schema version.
pub(crate) fn health(path: &Path) -> StoreResult<StoreHealth> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql)?;
    let schema_version = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sql)?;
    Ok(StoreHealth {
        schema_version,
        schema_latest: crate::migrate::LATEST,
    })
}
