//! Schema migrations: numbered SQL files embedded in the binary, applied in one transaction.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::SqliteError;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_tenants.sql"),
    include_str!("../migrations/0003_business_rules.sql"),
    include_str!("../migrations/0004_share.sql"),
    include_str!("../migrations/0005_share_explain.sql"),
    include_str!("../migrations/0006_source_index_by_id.sql"),
];

/// Brings the schema of `conn` up to date. A shipped migration file is never edited; changes come
/// as new files.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), SqliteError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: u32 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let latest = MIGRATIONS.len() as u32;
    if found > latest {
        return Err(SqliteError::SchemaTooNew { found, latest });
    }
    for sql in &MIGRATIONS[found as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", latest)?;
    tx.commit()?;
    Ok(())
}
