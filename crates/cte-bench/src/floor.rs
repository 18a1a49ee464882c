//! The floor: the same rows written by a plain prepared-INSERT loop, one transaction per batch, on
//! the schema `cte-store-sqlite` creates and with the pragmas it sets. No reconciliation, no HTTP,
//! no JSON: what SQLite on this machine allows.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};

use crate::gen::{self, Ioc};

/// An empty database with the store's schema and the bench's tags.
pub struct Floor {
    conn: Connection,
    /// The slice of `value_keys` tier 1 merged next, as the store's writer merges them.
    next_slice: u32,
    _dir: tempfile::TempDir,
}

/// Expiry the store computes for a source with `ageAfterDays = 90` (the value only has to be of
/// the same kind; the floor does not read the clock per row).
const EXPIRES_AT_MS: i64 = 1_780_000_000_000;

impl Floor {
    /// Creates the schema through `SqliteStore::open` (so later migrations, e.g. indexes, count).
    pub fn new(tmp_root: Option<&Path>) -> anyhow::Result<Floor> {
        let dir = match tmp_root {
            Some(root) => tempfile::tempdir_in(root)?,
            None => tempfile::tempdir()?,
        };
        let path = dir.path().join("floor.db");
        drop(cte_store_sqlite::SqliteStore::open(&path)?);
        let conn = Connection::open(&path)?;
        cte_store_sqlite::configure(&conn)?;
        for tag in gen::TAGS {
            conn.execute(
                "INSERT INTO tags (name, color) VALUES (?1, '#5E6AD2')",
                [tag],
            )?;
        }
        Ok(Floor {
            conn,
            next_slice: 0,
            _dir: dir,
        })
    }

    /// Inserts `rows` (new values) in one transaction (their key entries, added by trigger, merged
    /// into tier 0 as the store merges them); returns the time it took.
    pub fn insert(&mut self, rows: &[Ioc]) -> anyhow::Result<Duration> {
        let t0 = Instant::now();
        let tx = self.conn.transaction()?;
        {
            // As the store inserts: OR FAIL, and the key entry added by the table's trigger.
            let mut ind = tx.prepare_cached(
                "INSERT OR FAIL INTO indicators (value, type, test, safe, active, expires_at, internal_hits, external_hits, shared_with, value_key)
                 VALUES (?1, ?2, 0, 0, 1, ?3, 0, 1, '[]', ?4)",
            )?;
            let mut src = tx.prepare_cached(
                "INSERT INTO indicator_sources (indicator_id, source, seq, first_seen, last_seen, reputation, severity,
                    comments, extended_information, internal_hits, external_hits, retracted)
                 VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, ?7, ?8, 0, 1, 0)",
            )?;
            let mut tag = tx.prepare_cached(
                "INSERT INTO source_tags (indicator_id, source, tag, seq) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for r in rows {
                let value_key = cte_store_sqlite::value_key(&r.value);
                ind.execute(params![r.value, r.kind, EXPIRES_AT_MS, value_key])?;
                let id = tx.last_insert_rowid();
                let severity = ["unknown", "low", "medium", "high", "critical"]
                    .iter()
                    .position(|s| *s == r.severity)
                    .unwrap_or(0) as i64;
                src.execute(params![
                    id,
                    r.source,
                    r.first_seen_ms,
                    r.last_seen_ms,
                    r.reputation,
                    severity,
                    r.comments,
                    r.extended_information
                ])?;
                for (seq, t) in r.tags.iter().enumerate() {
                    tag.execute(params![id, r.source, t, seq as i64])?;
                }
            }
        }
        cte_store_sqlite::merge_slice(&tx, self.next_slice, cte_store_sqlite::SLICES)?;
        self.next_slice = (self.next_slice + 1) % cte_store_sqlite::SLICES;
        tx.commit()?;
        Ok(t0.elapsed())
    }
}
