//! The lookup key of an indicator value: the 64-bit FNV-1a hash of the value with ASCII letters
//! folded to lower case, its two halves XORed into a signed 32-bit integer; stored beside the value
//! in `indicators.value_key`, and indexed in the two tiers of the `value_keys` table.
//!
//! Why not an index on the value text: at a million IoCs that index is several times larger than
//! one on an integer, and since reports arrive in no particular order, every insert lands on a
//! random page of it. Each committed batch then rewrites most of the index's pages (to the WAL, and
//! again at checkpoint); a smaller index means fewer pages rewritten. 32 bits rather than 64 make
//! each index entry 4 bytes shorter (SQLite stores a 32-bit integer in 4 bytes, a 64-bit hash in
//! 8), which measured 10-20 % more bare inserts per second at a million rows; at that size about one
//! lookup in 4,000 meets a stored value with the same key, and pays one more comparison.
//!
//! Why two tiers: even a small key index, written at random, is rewritten nearly whole by every
//! batch once it has more pages than a batch has keys, so the writer's time per batch grew with
//! the store (by half between the first 100,000 IoCs and the millionth). A new row's entry goes
//! into tier 1 (by a trigger on `indicators`, migration 0009), which stays small; after each batch
//! that inserted values the writer moves one slice of the key space ([`SLICES`], in turn) from
//! tier 1 into tier 0, in key order ([`merge_slice`]), which rewrites only that slice of tier 0. A
//! lookup probes both tiers.
//!
//! The key is not unique: equal keys are told apart by comparing the value itself, so every lookup
//! is `key = ? AND value = ?`. Values are unique all the same: a trigger refuses a row whose value
//! is stored already, found the same way (migration 0009).
//!
//! The function is part of the file format: changing it requires a migration that recomputes
//! every stored key.

use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;

/// The lookup key of `value` (see the module documentation). Case-insensitive by construction, so
/// a filter's case-insensitive equality on the value can use the key too.
pub fn value_key(value: &str) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for b in value.bytes() {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(PRIME);
    }
    i64::from((h ^ (h >> 32)) as u32 as i32)
}

/// The indicators `i` whose key is the parameter this ends with, through both tiers: append
/// `= ?` (or `= j.value`) and the value test.
pub(crate) const KEYED: &str =
    "value_keys AS k CROSS JOIN indicators AS i ON i.id = k.id WHERE k.tier IN (0, 1) AND k.key";

/// Slices of the key space that tier 1 is merged into tier 0 by (see the module documentation):
/// after each batch that inserted values, the writer merges the entries of the next slice, in
/// turn. So tier 1 holds about the last `SLICES` batches' new values, and each merge rewrites
/// about 1/`SLICES` of tier 0: a flat cost per batch rather than a whole rewrite now and then.
pub const SLICES: u32 = 16;

/// Moves the entries of tier 1 whose key is in slice `slice` of `slices` (the keys' top bits)
/// into tier 0, in key order. Public for programs that write `indicators` rows themselves (the
/// bench's bare-SQLite floor), whose rows' entries go into tier 1 as the store's do, and must be
/// merged likewise.
pub fn merge_slice(conn: &Connection, slice: u32, slices: u32) -> rusqlite::Result<()> {
    let width = (1i64 << 32) / i64::from(slices);
    let low = i64::from(i32::MIN) + i64::from(slice % slices) * width;
    let high = if slice % slices == slices - 1 {
        i64::from(i32::MAX) + 1
    } else {
        low + width
    };
    conn.prepare_cached(
        "INSERT INTO value_keys (tier, key, id)
         SELECT 0, key, id FROM value_keys WHERE tier = 1 AND key >= ?1 AND key < ?2",
    )?
    .execute([low, high])?;
    conn.prepare_cached("DELETE FROM value_keys WHERE tier = 1 AND key >= ?1 AND key < ?2")?
        .execute([low, high])?;
    Ok(())
}

/// Which slice a writer merges next.
pub(crate) struct Tiers {
    next: u32,
    slices: u32,
}

impl Tiers {
    /// Merges by `slices` slices ([`SLICES`] but in tests).
    pub(crate) fn new(slices: u32) -> Tiers {
        Tiers { next: 0, slices }
    }

    /// Merges the next slice, in the transaction `conn` is in; the writer calls it after a batch
    /// that inserted entries into tier 1. (A slice whose merge is rolled back is merged again on
    /// its next turn.)
    pub(crate) fn merge_next(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        merge_slice(conn, self.next, self.slices)?;
        self.next = (self.next + 1) % self.slices;
        Ok(())
    }
}

/// The row id of the indicator `?1` (whose key is `?3`) if source `?2` reported it.
///
/// Written so that the key drives it: as a join with `indicator_sources`, SQLite (which has
/// no statistics here, and no longer knows the value to be unique) chose to walk every record of
/// the source and look each indicator up, once per value: a share acknowledgement of 300,000
/// entries ran for minutes. A test checks the plan.
pub(crate) const ID_WITH_SOURCE: &str = "SELECT i.id FROM value_keys AS k
     CROSS JOIN indicators AS i ON i.id = k.id
     WHERE k.tier IN (0, 1) AND k.key = ?3 AND i.value = ?1
       AND EXISTS (SELECT 1 FROM indicator_sources s WHERE s.indicator_id = i.id AND s.source = ?2)";

/// Makes [`value_key`] callable from SQL as `cte_value_key(text)` on `conn` (the migration that
/// introduced the column fills it with this).
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "cte_value_key",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let value: String = ctx.get(0)?;
            Ok(value_key(&value))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors_keep_the_file_format() {
        // FNV-1a 64 reference values, folded: changing them would orphan every stored key.
        let fold = |h: u64| i64::from((h ^ (h >> 32)) as u32 as i32);
        assert_eq!(value_key(""), fold(0xcbf2_9ce4_8422_2325));
        assert_eq!(value_key("a"), fold(0xaf63_dc4c_8601_ec8c));
        assert_eq!(value_key("foobar"), fold(0x8594_4171_f739_67e8));
        assert_eq!(value_key("foobar"), 0x72ad_2699);
        for v in ["", "a", "foobar", "https://x.example/a?b=c", "203.0.113.7"] {
            let k = value_key(v);
            assert!(
                i64::from(i32::MIN) <= k && k <= i64::from(i32::MAX),
                "{v}: {k}"
            );
        }
    }

    #[test]
    fn folds_ascii_case_only() {
        assert_eq!(value_key("Evil.COM"), value_key("evil.com"));
        assert_ne!(value_key("evil.com"), value_key("evil.con"));
        assert_ne!(value_key("É"), value_key("é"));
    }

    #[test]
    fn lookups_are_driven_by_the_key_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(dir.path().join("plan.db")).unwrap();
        drop(store);
        let conn = Connection::open(dir.path().join("plan.db")).unwrap();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {ID_WITH_SOURCE}"))
            .unwrap()
            .query_map(rusqlite::params!["x", "src", 1], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan[0].starts_with("SEARCH k USING PRIMARY KEY (tier=? AND key=?)"),
            "plan starts elsewhere: {plan:?}"
        );
        assert!(!plan.iter().any(|p| p.starts_with("SCAN")), "{plan:?}");
    }

    #[test]
    fn sql_function_agrees() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        let k: i64 = conn
            .query_row("SELECT cte_value_key('https://Example.org/x')", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(k, value_key("https://example.org/x"));
    }
}
