//! Loading whole indicator documents, by value, by id or a batch at a time.

use std::collections::HashMap;

use cte_core::indicator::{Destination, Indicator, IndicatorKind, Severity, SourceRecord};
use cte_core::StoreResult;
use rusqlite::{params, OptionalExtension, Transaction};

use crate::error::{corrupt, sql};
use crate::rows::{opt_time, time};
use crate::value_key::{value_key, KEYED};

/// The columns of `indicators AS i` an [`IndicatorRow`] is read from (qualified: `json_each` has an `id`, a `value` and a
/// `type` of its own).
const ROW_COLUMNS: &str = "i.id, i.value, i.type, i.test, i.safe, i.active, i.expires_at, \
     i.internal_hits, i.external_hits, i.shared_with";

/// The `indicators` row of an indicator, as read by a `SELECT ROW_COLUMNS`: the document
/// without its source records. The type and `shared_with` are read in place, without a `String`
/// each (every ingest batch reads 10,000 of these).
fn indicator_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IndicatorRow> {
    let bad = |col: usize, e: String| {
        rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, e.into())
    };
    let kind: IndicatorKind = r.get_ref(2)?.as_str()?.parse().map_err(|e| bad(2, e))?;
    let shared = r.get_ref(9)?.as_str()?;
    let shared_with = if shared == "[]" {
        Vec::new()
    } else {
        serde_json::from_str(shared).map_err(|e| bad(9, format!("shared_with: {e}")))?
    };
    Ok((
        r.get(0)?,
        Indicator {
            value: r.get(1)?,
            kind,
            test: r.get(3)?,
            safe: r.get(4)?,
            active: r.get(5)?,
            expires_at: opt_time(r.get(6)?),
            internal_hits: r.get::<_, i64>(7)? as u64,
            external_hits: r.get::<_, i64>(8)? as u64,
            shared_with,
            sources: Vec::new(),
        },
    ))
}

/// An `indicators` row as [`indicator_row`] reads it: the row id and the document without its
/// source records.
pub(crate) type IndicatorRow = (i64, Indicator);

/// One JSON array of the integers `sorted` yields in ascending order, each written once: the form
/// in which a set of ids or keys is bound to one parameter. Queries read it with
/// `json_each(?) AS j CROSS JOIN t ON t.key = j.value`, so SQLite probes the table once per
/// element in the array's order, walking its key in order. (`t.key IN (SELECT value FROM
/// json_each(?))` made SQLite copy the array into a temporary B-tree first, to sort it and drop
/// repeats: about a twentieth of the server's CPU in a re-post, see docs/PERFORMANCE.md.)
fn json_ints(sorted: impl Iterator<Item = i64>) -> String {
    use std::fmt::Write;
    let mut out = String::from("[");
    let mut last = None;
    for i in sorted {
        debug_assert!(
            last.is_none_or(|l| l <= i),
            "json_ints wants ascending input"
        );
        if last == Some(i) {
            continue;
        }
        if last.is_some() {
            out.push(',');
        }
        let _ = write!(out, "{i}");
        last = Some(i);
    }
    out.push(']');
    out
}

/// Source records of the ids in a [`json_ints`] array, in primary-key order (id, source).
const SOURCES_OF_IDS: &str = "SELECT s.indicator_id, s.seq, s.source, s.first_seen, s.last_seen,
        s.reputation, s.severity, s.comments, s.extended_information, s.internal_hits,
        s.external_hits, s.retracted
     FROM json_each(?1) AS j CROSS JOIN indicator_sources AS s ON s.indicator_id = j.value";

/// Tags of the ids in a [`json_ints`] array.
const TAGS_OF_IDS: &str = "SELECT t.indicator_id, t.source, t.seq, t.tag
     FROM json_each(?1) AS j CROSS JOIN source_tags AS t ON t.indicator_id = j.value";

/// Share outcomes of the ids in a [`json_ints`] array (rarely any: the sort is of those only).
const DESTINATIONS_OF_IDS: &str =
    "SELECT d.indicator_id, d.source, d.destination, d.status, d.reason
     FROM json_each(?1) AS j CROSS JOIN source_destinations AS d ON d.indicator_id = j.value
     ORDER BY d.indicator_id, d.source, d.destination, d.list_kind, d.list_name";

/// Rows of the indicators whose ids are in a [`json_ints`] array.
fn rows_by_id() -> String {
    format!(
        "SELECT {ROW_COLUMNS} FROM json_each(?1) AS j CROSS JOIN indicators AS i WHERE i.id = j.value"
    )
}

/// Rows of the indicators whose keys are in a [`json_ints`] array (other values with those keys
/// included), through both tiers of `value_keys`.
fn rows_by_key() -> String {
    format!(
        "SELECT {ROW_COLUMNS} FROM json_each(?1) AS j CROSS JOIN value_keys AS k
         CROSS JOIN indicators AS i
         WHERE k.tier IN (0, 1) AND k.key = j.value AND i.id = k.id"
    )
}

/// Where each id of a [`complete_documents`] batch sits in it. The child tables' rows come back in id
/// order (the ids are bound sorted, see [`json_ints`]), so each lookup is usually the entry at
/// or just after the last one found; any other order falls back to a binary search.
struct IdSlots {
    /// (id, index in the batch), sorted by id.
    sorted: Vec<(i64, usize)>,
    last: usize,
}

impl IdSlots {
    fn new(docs: &[(i64, Indicator)]) -> IdSlots {
        let mut sorted: Vec<(i64, usize)> = docs
            .iter()
            .enumerate()
            .map(|(k, (id, _))| (*id, k))
            .collect();
        sorted.sort_unstable();
        IdSlots { sorted, last: 0 }
    }

    fn get(&mut self, id: i64) -> Option<usize> {
        for at in [self.last, self.last + 1] {
            match self.sorted.get(at) {
                Some(&(found, k)) if found == id => {
                    self.last = at;
                    return Some(k);
                }
                _ => {}
            }
        }
        let at = self.sorted.binary_search_by_key(&id, |&(id, _)| id).ok()?;
        self.last = at;
        Some(self.sorted[at].1)
    }
}

/// Completes rows read by [`indicator_row`] with their source records (tags and destinations
/// included), in the order given. Three queries for the lot, whatever its size: the ids go in
/// sorted as one JSON array (see [`json_ints`]), so a page or an ingest batch walks each table in
/// key order rather than with three lookups per document.
pub(crate) fn complete_documents(
    tx: &Transaction<'_>,
    mut docs: Vec<IndicatorRow>,
) -> StoreResult<Vec<(i64, Indicator)>> {
    let mut at = IdSlots::new(&docs);
    if docs.is_empty() {
        return Ok(docs);
    }
    let ids = json_ints(at.sorted.iter().map(|&(id, _)| id));

    // Source records come in primary-key order (id, source); `seq` orders them per document.
    let mut seqs: Vec<Vec<i64>> = vec![Vec::new(); docs.len()];
    let mut stmt = tx.prepare_cached(SOURCES_OF_IDS).map_err(sql)?;
    let mut rows = stmt.query([&ids]).map_err(sql)?;
    while let Some(r) = rows.next().map_err(sql)? {
        let Some(k) = at.get(r.get(0).map_err(sql)?) else {
            continue;
        };
        let severity: u8 = r.get(6).map_err(sql)?;
        seqs[k].push(r.get(1).map_err(sql)?);
        docs[k].1.sources.push(SourceRecord {
            source: r.get(2).map_err(sql)?,
            first_seen: time(r.get(3).map_err(sql)?),
            last_seen: time(r.get(4).map_err(sql)?),
            reputation: r.get(5).map_err(sql)?,
            severity: Severity::from_rank(severity).unwrap_or_default(),
            tags: Vec::new(),
            comments: r.get(7).map_err(sql)?,
            extended_information: r.get(8).map_err(sql)?,
            internal_hits: r.get::<_, i64>(9).map_err(sql)? as u64,
            external_hits: r.get::<_, i64>(10).map_err(sql)? as u64,
            destinations: Vec::new(),
            retracted: r.get(11).map_err(sql)?,
        });
    }
    drop(rows);
    for ((_, ind), seq) in docs.iter_mut().zip(seqs) {
        if ind.sources.len() > 1 {
            let mut order: Vec<(i64, SourceRecord)> =
                seq.into_iter().zip(ind.sources.drain(..)).collect();
            order.sort_by_key(|(seq, _)| *seq);
            ind.sources = order.into_iter().map(|(_, s)| s).collect();
        }
    }

    // Tags by (id, source, tag) from the primary key; `seq` orders them per record.
    let mut stmt = tx.prepare_cached(TAGS_OF_IDS).map_err(sql)?;
    let mut rows = stmt.query([&ids]).map_err(sql)?;
    // (document, its source record, seq, tag): the record is found while the row is read, from
    // the borrowed source name.
    let mut tags: Vec<(usize, usize, i64, String)> = Vec::new();
    while let Some(r) = rows.next().map_err(sql)? {
        let Some(k) = at.get(r.get(0).map_err(sql)?) else {
            continue;
        };
        let source = r
            .get_ref(1)
            .map_err(sql)?
            .as_str()
            .map_err(|e| corrupt(format!("source_tags.source: {e}")))?;
        if let Some(at_source) = docs[k].1.sources.iter().position(|s| s.source == source) {
            tags.push((k, at_source, r.get(2).map_err(sql)?, r.get(3).map_err(sql)?));
        }
    }
    drop(rows);
    tags.sort_by_key(|&(k, at_source, seq, _)| (k, at_source, seq));
    for (k, at_source, _, tag) in tags {
        docs[k].1.sources[at_source].tags.push(tag);
    }

    let mut stmt = tx.prepare_cached(DESTINATIONS_OF_IDS).map_err(sql)?;
    let mut rows = stmt.query([&ids]).map_err(sql)?;
    while let Some(r) = rows.next().map_err(sql)? {
        let Some(k) = at.get(r.get(0).map_err(sql)?) else {
            continue;
        };
        let source: String = r.get(1).map_err(sql)?;
        let status: String = r.get(3).map_err(sql)?;
        if let Some(s) = docs[k].1.sources.iter_mut().find(|s| s.source == source) {
            s.destinations.push(Destination {
                name: r.get(2).map_err(sql)?,
                status: status.parse().map_err(corrupt)?,
                reason: r.get(4).map_err(sql)?,
            });
        }
    }
    Ok(docs)
}

/// Completes one row (see [`complete_documents`]).
fn complete_document(tx: &Transaction<'_>, row: IndicatorRow) -> StoreResult<(i64, Indicator)> {
    complete_documents(tx, vec![row])?
        .pop()
        .ok_or_else(|| corrupt("a row went missing".into()))
}

/// Loads the whole document of the indicator with row id `id`.
pub(crate) fn load_by_id(tx: &Transaction<'_>, id: i64) -> StoreResult<Option<Indicator>> {
    Ok(load_many(tx, &[id])?.pop())
}

/// Loads the row id and whole document of the indicator `value`, with one query for its row.
fn load_with_id(tx: &Transaction<'_>, value: &str) -> StoreResult<Option<(i64, Indicator)>> {
    let mut stmt = tx
        .prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM {KEYED} = ?2 AND i.value = ?1"
        ))
        .map_err(sql)?;
    let row = stmt
        .query_row(params![value, value_key(value)], indicator_row)
        .optional()
        .map_err(sql)?;
    match row {
        Some(row) => Ok(Some(complete_document(tx, row)?)),
        None => Ok(None),
    }
}

/// The rows of the stored indicators whose key is one of `keys`, with the slot `slot_of` gives
/// their value (those of other values sharing a key are left out). One query: the keys travel
/// sorted as one JSON array (see [`json_ints`]), so the probes walk both tiers of `value_keys` in
/// order instead of jumping about them once per value.
pub(crate) fn stored_rows(
    tx: &Transaction<'_>,
    keys: &[i64],
    slot_of: &HashMap<&str, usize>,
) -> StoreResult<Vec<(usize, IndicatorRow)>> {
    let mut stmt = tx.prepare_cached(&rows_by_key()).map_err(sql)?;
    let mut rows = stmt.query([json_ints(keys.iter().copied())]).map_err(sql)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(sql)? {
        let row = indicator_row(r).map_err(sql)?;
        if let Some(&slot) = slot_of.get(row.1.value.as_str()) {
            out.push((slot, row));
        }
    }
    Ok(out)
}

pub(crate) fn id_of(tx: &Transaction<'_>, value: &str) -> StoreResult<Option<i64>> {
    let mut stmt = tx
        .prepare_cached(&format!("SELECT i.id FROM {KEYED} = ?2 AND i.value = ?1"))
        .map_err(sql)?;
    stmt.query_row(params![value, value_key(value)], |r| r.get(0))
        .optional()
        .map_err(sql)
}

pub(crate) fn load_by_value(tx: &Transaction<'_>, value: &str) -> StoreResult<Option<Indicator>> {
    Ok(load_with_id(tx, value)?.map(|(_, ind)| ind))
}

/// The whole documents of `ids`, in that order (ids not stored are left out): one query for the
/// rows and three for the rest (see [`complete_documents`]).
pub(crate) fn load_many(tx: &Transaction<'_>, ids: &[i64]) -> StoreResult<Vec<Indicator>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut stmt = tx.prepare_cached(&rows_by_id()).map_err(sql)?;
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    let mut rows: HashMap<i64, IndicatorRow> = stmt
        .query_map([json_ints(sorted.into_iter())], |r| {
            indicator_row(r).map(|h| (h.0, h))
        })
        .map_err(sql)?
        .collect::<Result<_, _>>()
        .map_err(sql)?;
    let ordered: Vec<IndicatorRow> = ids.iter().filter_map(|id| rows.remove(id)).collect();
    Ok(complete_documents(tx, ordered)?
        .into_iter()
        .map(|(_, ind)| ind)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_slots_find_ids_in_any_order() {
        let doc = |id: i64| {
            (
                id,
                Indicator {
                    value: format!("v{id}.example"),
                    kind: IndicatorKind::Domain,
                    test: false,
                    safe: false,
                    active: true,
                    expires_at: None,
                    internal_hits: 0,
                    external_hits: 0,
                    shared_with: Vec::new(),
                    sources: Vec::new(),
                },
            )
        };
        // The batch's order is not the ids' order.
        let docs: Vec<(i64, Indicator)> = [40, 7, 19, 3, 88].into_iter().map(doc).collect();
        let mut at = IdSlots::new(&docs);
        // In id order, repeated (several child rows per document), as SQLite returns them...
        for (id, k) in [(3, 3), (3, 3), (7, 1), (19, 2), (19, 2), (40, 0), (88, 4)] {
            assert_eq!(at.get(id), Some(k), "{id}");
        }
        // ...and in any other order, with ids that are not in the batch.
        for (id, k) in [
            (19, Some(2)),
            (3, Some(3)),
            (5, None),
            (88, Some(4)),
            (1, None),
        ] {
            assert_eq!(at.get(id), k, "{id}");
        }
        assert_eq!(IdSlots::new(&[]).get(1), None);
    }

    #[test]
    fn json_ints_writes_sorted_input_once_each() {
        assert_eq!(json_ints([].into_iter()), "[]");
        assert_eq!(json_ints([-3, 1, 1, 7, 7, 7].into_iter()), "[-3,1,7]");
    }

    /// Every batch lookup walks the `json_each` array and probes a key per element: no scan of a
    /// stored table, and no temporary B-tree holding the array (the destinations' sort is of the
    /// rows found).
    #[test]
    fn batch_lookups_probe_a_key_per_element() {
        let dir = tempfile::tempdir().unwrap();
        drop(crate::SqliteStore::open(dir.path().join("plan.db")).unwrap());
        let conn = rusqlite::Connection::open(dir.path().join("plan.db")).unwrap();
        let queries = [
            (rows_by_key(), "PRIMARY KEY (tier=? AND key=?)"),
            (rows_by_id(), "INTEGER PRIMARY KEY"),
            (SOURCES_OF_IDS.to_string(), "PRIMARY KEY"),
            (TAGS_OF_IDS.to_string(), "PRIMARY KEY"),
            (DESTINATIONS_OF_IDS.to_string(), "PRIMARY KEY"),
        ];
        for (text, key) in queries {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {text}"))
                .unwrap()
                .query_map(["[1,2,3]"], |r| r.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(
                plan[0].starts_with("SCAN j VIRTUAL TABLE"),
                "{text}: {plan:?}"
            );
            assert!(
                plan[1].starts_with("SEARCH") && plan[1].contains(key),
                "{text}: {plan:?}"
            );
            let rest = &plan[2..];
            assert!(
                rest.iter()
                    .all(|p| p == "USE TEMP B-TREE FOR ORDER BY" || p.starts_with("SEARCH")),
                "{text}: {plan:?}"
            );
        }
    }
}
