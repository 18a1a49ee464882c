//! Schema migrations: numbered SQL files embedded in the binary, applied in one transaction.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::error::SqliteError;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_tenants.sql"),
    include_str!("../migrations/0003_business_rules.sql"),
    include_str!("../migrations/0004_share.sql"),
    include_str!("../migrations/0005_share_explain.sql"),
    include_str!("../migrations/0006_source_index_by_id.sql"),
    include_str!("../migrations/0007_value_key.sql"),
    include_str!("../migrations/0008_value_keys.sql"),
    include_str!("../migrations/0009_value_unique.sql"),
];

/// The schema version this build migrates to.
pub(crate) const LATEST: u32 = MIGRATIONS.len() as u32;

/// Brings the schema of `conn` up to date. A shipped migration file is never edited; changes come
/// as new files.
///
/// Foreign keys are off while migrations run, so a migration can rebuild a parent table (create,
/// copy, drop, rename: SQLite's documented procedure) without the drop cascading to its children;
/// before the commit, `foreign_key_check` must find nothing, and they are on again afterwards.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), SqliteError> {
    conn.pragma_update(None, "foreign_keys", false)?;
    let result = apply(conn);
    conn.pragma_update(None, "foreign_keys", true)?;
    result
}

fn apply(conn: &mut Connection) -> Result<(), SqliteError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: u32 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let latest = LATEST;
    if found > latest {
        return Err(SqliteError::SchemaTooNew { found, latest });
    }
    if found == latest {
        return Ok(());
    }
    for sql in &MIGRATIONS[found as usize..] {
        tx.execute_batch(sql)?;
    }
    let broken: Option<String> = tx
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .optional()?;
    if let Some(table) = broken {
        return Err(SqliteError::Corrupt(format!(
            "a migration left rows of '{table}' without their parent"
        )));
    }
    tx.pragma_update(None, "user_version", latest)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database as version `version` left it.
    fn at_version(version: usize) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        crate::value_key::register(&conn).unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        for sql in &MIGRATIONS[..version] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", version as u32)
            .unwrap();
        conn
    }

    /// A database as version 6 left it, with one indicator, its source record and a tag.
    fn version_6() -> Connection {
        let conn = at_version(6);
        conn.execute_batch(
            "INSERT INTO tags (name, color) VALUES ('t', '#fff');
             INSERT INTO indicators (id, value, type, test, safe, active, internal_hits, external_hits)
                 VALUES (41, 'Evil.example', 'domain', 0, 0, 1, 0, 1);
             INSERT INTO indicator_sources (indicator_id, source, seq, first_seen, last_seen,
                 reputation, severity, comments, extended_information, internal_hits, external_hits)
                 VALUES (41, 'DW', 0, 1, 2, 5, 3, '', '', 0, 1);
             INSERT INTO source_tags (indicator_id, source, tag, seq) VALUES (41, 'DW', 't', 0);",
        )
        .unwrap();
        conn
    }

    #[test]
    fn rebuilding_indicators_keeps_ids_and_children_and_fills_keys_into_tier_0() {
        let mut conn = version_6();
        migrate(&mut conn).unwrap();
        let (id, key): (i64, i64) = conn
            .query_row(
                "SELECT id, value_key FROM indicators WHERE value = 'Evil.example'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(id, 41);
        assert_eq!(key, crate::value_key::value_key("evil.example"));
        let children: i64 = conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM indicator_sources WHERE indicator_id = 41)
                      + (SELECT COUNT(*) FROM source_tags WHERE indicator_id = 41)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(children, 2, "the drop of the old table must not cascade");
        // Version 8 moved the key into tier 0 of value_keys.
        let entry: (i64, i64, i64) = conn
            .query_row("SELECT tier, key, id FROM value_keys", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(entry, (0, key, 41));
        let fk: bool = conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert!(fk, "foreign keys are on again after migrating");
        // The foreign key still points at the rebuilt table: deleting cascades.
        conn.execute("DELETE FROM indicators WHERE id = 41", [])
            .unwrap();
        let left: i64 = conn
            .query_row("SELECT COUNT(*) FROM source_tags", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
        let keys: i64 = conn
            .query_row("SELECT COUNT(*) FROM value_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(keys, 0, "a deleted indicator takes its key entry with it");
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
    }

    /// Version 8 kept values unique by the store's code alone: version 9 refuses a database in
    /// which some other writer stored a value twice, rather than carry the duplicate on.
    #[test]
    fn a_value_stored_twice_stops_the_migration() {
        let mut conn = at_version(8);
        conn.execute_batch(
            "INSERT INTO indicators (value, value_key, type, test, safe, active, internal_hits, external_hits)
                 VALUES ('twice.example', cte_value_key('twice.example'), 'domain', 0, 0, 1, 0, 1),
                        ('twice.example', cte_value_key('twice.example'), 'domain', 0, 0, 1, 0, 1);",
        )
        .unwrap();
        let e = migrate(&mut conn).expect_err("migrated a duplicate");
        assert!(e.to_string().contains("UNIQUE constraint failed"), "{e}");
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 8, "nothing of the migration stays");
    }

    /// A row that a writer of version 8 inserted without its key entry is found after the upgrade.
    #[test]
    fn rows_without_a_key_entry_get_one() {
        let mut conn = at_version(8);
        conn.execute_batch(
            "INSERT INTO indicators (id, value, value_key, type, test, safe, active, internal_hits, external_hits)
                 VALUES (7, 'lost.example', cte_value_key('lost.example'), 'domain', 0, 0, 1, 0, 1);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let found: i64 = conn
            .query_row(
                &format!(
                    "SELECT i.id FROM {} = ?1 AND i.value = ?2",
                    crate::value_key::KEYED
                ),
                rusqlite::params![crate::value_key::value_key("lost.example"), "lost.example"],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(found, 7);
    }
}
