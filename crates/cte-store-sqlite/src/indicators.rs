//! Indicator queries: reconciliation writes and loading whole documents.

use std::collections::HashMap;

use cte_core::indicator::{
    Destination, DestinationStatus, Indicator, IndicatorKind, Severity, SourceRecord,
};
use cte_core::reconcile::{merge, Observation, SourcePolicy};
use cte_core::store::IngestBatch;
use cte_core::{StoreError, StoreResult};
use rusqlite::{params, CachedStatement, OptionalExtension, Transaction};

use crate::error::{sql, SqliteError};
use crate::rows::{ms, opt_ms, opt_time, time};
use crate::value_key::{value_key, Tiers, KEYED};

fn corrupt(msg: String) -> StoreError {
    StoreError::from(SqliteError::Corrupt(msg))
}

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
type IndicatorRow = (i64, Indicator);

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
fn complete_documents(
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
fn load_by_id(tx: &Transaction<'_>, id: i64) -> StoreResult<Option<Indicator>> {
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
fn stored_rows(
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

/// The global CTE settings as stored (defaults when never saved).
pub(crate) fn read_settings(tx: &Transaction<'_>) -> StoreResult<cte_core::config::CteSettings> {
    let v: Option<String> = tx
        .query_row("SELECT value FROM settings WHERE key = 'cte'", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(sql)?;
    match v {
        Some(t) => serde_json::from_str(&t).map_err(|e| corrupt(format!("settings: {e}"))),
        None => Ok(cte_core::config::CteSettings::default()),
    }
}

/// An ingest batch reconciled against what was stored, ready to be written by [`apply`].
///
/// Planning only reads, so [`crate::SqliteStore`] plans on a read snapshot while another batch
/// is being written, and writes the plan under the writer lock if no commit since that snapshot
/// touched any of [`Plan::keys`] (otherwise it plans again under the lock).
pub(crate) struct Plan {
    /// One step per observation, in order.
    steps: Vec<Step>,
    /// The sorted, deduplicated value keys of the batch: the rows the plan depends on.
    pub(crate) keys: Vec<i64>,
    settings: cte_core::config::CteSettings,
    /// The destinations some business rule shares each reporting source to.
    destinations: HashMap<String, Vec<String>>,
}

enum Step {
    /// The first report of a value in the batch, reconciled with what was stored.
    FirstReport(Reconciled),
    /// A later report of a value the batch already reports (by its index): it is reconciled when
    /// written, with what the earlier report wrote.
    LaterReport(usize),
}

/// One observation merged with the stored document.
struct Reconciled {
    /// The stored row, `None` for a new value.
    id: Option<i64>,
    doc: Indicator,
    /// Position of the reporting source in `doc.sources`.
    seq: usize,
    /// The tags this source had stored, so unchanged tag rows are not rewritten.
    stored_tags: Option<Vec<String>>,
}

fn reconcile(
    obs: &Observation,
    existing: Option<(i64, Indicator)>,
    batch: &IngestBatch<'_>,
    settings: &cte_core::config::CteSettings,
    destinations: &[String],
) -> StoreResult<Reconciled> {
    let policy = policy_of(batch, &obs.source)?;
    let (id, existing) = match existing {
        Some((id, ind)) => (Some(id), Some(ind)),
        None => (None, None),
    };
    let mut stored_tags = None;
    if let Some(old) = &existing {
        if old.kind != obs.kind {
            return Err(StoreError::Invalid(format!(
                "Indicator '{}' is stored as type '{}'; it cannot also be '{}'.",
                obs.value, old.kind, obs.kind
            )));
        }
        stored_tags = old.source(&obs.source).map(|s| s.tags.clone());
    }
    let mut doc = merge(
        existing,
        obs,
        policy,
        settings.criteria,
        batch.report,
        batch.now,
    );
    let seq = doc
        .sources
        .iter()
        .position(|s| s.source == obs.source)
        .expect("merge keeps the reporting source");
    mark_pending(&mut doc.sources[seq], destinations);
    Ok(Reconciled {
        id,
        doc,
        seq,
        stored_tags,
    })
}

fn policy_of<'b>(batch: &'b IngestBatch<'_>, source: &str) -> StoreResult<&'b SourcePolicy> {
    batch.policies.get(source).ok_or_else(|| {
        StoreError::Invalid(format!(
            "Configuration with name='{source}' does not exist."
        ))
    })
}

/// Reconciles each observation with what is stored (reads only; see [`Plan`]).
pub(crate) fn plan(tx: &Transaction<'_>, batch: &IngestBatch<'_>) -> StoreResult<Plan> {
    let settings = read_settings(tx)?;
    let mut destinations: HashMap<String, Vec<String>> = HashMap::new();
    for obs in batch.observations {
        if !destinations.contains_key(&obs.source) {
            policy_of(batch, &obs.source)?;
            let names = sharing_destinations(tx, &obs.source)?;
            destinations.insert(obs.source.clone(), names);
        }
    }
    // Each distinct value of the batch gets a slot, in order of first report.
    let mut slot_of: HashMap<&str, usize> = HashMap::with_capacity(batch.observations.len());
    let mut distinct: Vec<&str> = Vec::with_capacity(batch.observations.len());
    for obs in batch.observations {
        slot_of.entry(obs.value.as_str()).or_insert_with(|| {
            distinct.push(obs.value.as_str());
            distinct.len() - 1
        });
    }
    let mut keys: Vec<i64> = distinct.iter().map(|v| value_key(v)).collect();
    keys.sort_unstable();
    keys.dedup();
    // What was stored before this batch, looked up at once.
    let (slots, rows): (Vec<usize>, Vec<IndicatorRow>) =
        stored_rows(tx, &keys, &slot_of)?.into_iter().unzip();
    let mut stored: Vec<Option<(i64, Indicator)>> = (0..distinct.len()).map(|_| None).collect();
    for (slot, doc) in slots.into_iter().zip(complete_documents(tx, rows)?) {
        stored[slot] = Some(doc);
    }
    let mut seen = vec![false; distinct.len()];
    let mut steps = Vec::with_capacity(batch.observations.len());
    for (i, obs) in batch.observations.iter().enumerate() {
        let slot = slot_of[obs.value.as_str()];
        if std::mem::replace(&mut seen[slot], true) {
            steps.push(Step::LaterReport(i));
            continue;
        }
        steps.push(Step::FirstReport(reconcile(
            obs,
            stored[slot].take(),
            batch,
            &settings,
            &destinations[&obs.source],
        )?));
    }
    Ok(Plan {
        steps,
        keys,
        settings,
        destinations,
    })
}

/// Writes a [`Plan`] made from what is stored now (on this transaction, or on a snapshot that no
/// commit has changed for the batch's values since). Returns the stored indicators, in the order
/// of first appearance of each value, when the batch asks for them.
pub(crate) fn apply(
    tx: &Transaction<'_>,
    batch: &IngestBatch<'_>,
    plan: Plan,
    tiers: &mut Tiers,
) -> StoreResult<Vec<Indicator>> {
    let mut writer = BatchWriter::prepare(tx)?;
    let later_reports = plan.steps.iter().any(|s| matches!(s, Step::LaterReport(_)));
    let mut out: Vec<Indicator> = Vec::with_capacity(if batch.return_indicators {
        plan.steps.len()
    } else {
        0
    });
    // Only a batch that reports a value twice needs to find what it wrote for the value.
    let mut position: HashMap<String, usize> = HashMap::new();
    let mut written: HashMap<String, i64> = HashMap::new();
    for step in plan.steps {
        let r = match step {
            Step::FirstReport(r) => r,
            Step::LaterReport(i) => {
                // Merged with what the earlier report of the value wrote.
                let obs = &batch.observations[i];
                let existing = match written.get(&obs.value) {
                    Some(&id) => load_by_id(tx, id)?.map(|ind| (id, ind)),
                    None => None,
                };
                reconcile(
                    obs,
                    existing,
                    batch,
                    &plan.settings,
                    &plan.destinations[&obs.source],
                )?
            }
        };
        let id = writer.indicator(r.id, &r.doc)?;
        let record = &r.doc.sources[r.seq];
        writer.source_record(id, r.seq, record, r.stored_tags.as_deref())?;
        writer.pending_marks(id, &record.source, &plan.destinations[&record.source])?;
        if later_reports && !written.contains_key(&r.doc.value) {
            written.insert(r.doc.value.clone(), id);
        }
        if batch.return_indicators {
            if !later_reports {
                out.push(r.doc);
                continue;
            }
            match position.get(&r.doc.value) {
                Some(&i) => out[i] = r.doc,
                None => {
                    position.insert(r.doc.value.clone(), out.len());
                    out.push(r.doc);
                }
            }
        }
    }
    if writer.inserted {
        tiers.merge_next(tx).map_err(sql)?;
    }
    Ok(out)
}

/// The destinations some business rule shares this source's IoCs to.
fn sharing_destinations(tx: &Transaction<'_>, source: &str) -> StoreResult<Vec<String>> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT DISTINCT destination FROM sharing_configurations WHERE source = ?1 ORDER BY destination",
        )
        .map_err(sql)?;
    let rows = stmt.query_map([source], |r| r.get(0)).map_err(sql)?;
    rows.collect::<Result<_, _>>().map_err(sql)
}

/// As CE does on every report, marks the record `pending` for each destination its source is
/// shared to, until the next share cycle for that destination settles it (the pending entry has
/// no list; the share cycle's acknowledgement removes it). [`BatchWriter::pending_marks`] stores the marks.
fn mark_pending(record: &mut SourceRecord, destinations: &[String]) {
    for d in destinations {
        let already = record
            .destinations
            .iter()
            .any(|x| &x.name == d && x.status == DestinationStatus::Pending);
        if !already {
            record.destinations.push(Destination {
                name: d.clone(),
                status: DestinationStatus::Pending,
                reason: None,
            });
        }
    }
}

/// The statements an ingest batch writes with, prepared once for the batch, and what they wrote.
struct BatchWriter<'tx> {
    insert_row: CachedStatement<'tx>,
    update_row: CachedStatement<'tx>,
    insert_source: CachedStatement<'tx>,
    update_source: CachedStatement<'tx>,
    append_tag: CachedStatement<'tx>,
    delete_tags: CachedStatement<'tx>,
    insert_tag: CachedStatement<'tx>,
    insert_pending: CachedStatement<'tx>,
    /// Whether [`BatchWriter::indicator`] inserted a row (and so, by trigger, a tier-1 key entry).
    inserted: bool,
}

impl<'tx> BatchWriter<'tx> {
    fn prepare(tx: &'tx Transaction<'_>) -> StoreResult<BatchWriter<'tx>> {
        let p = |text: &str| tx.prepare_cached(text).map_err(sql);
        Ok(BatchWriter {
            // Triggers refuse a stored value and add the row's key entry (migration 0009). OR
            // FAIL: an INSERT that fires a trigger and may ABORT (the default for its NOT NULL
            // checks) keeps a statement journal, a copy of every page it changes; with FAIL it
            // keeps none, and a single-row INSERT has nothing of its own to undo either way.
            insert_row: p(
                "INSERT OR FAIL INTO indicators (value, type, test, safe, active, expires_at, internal_hits, external_hits, shared_with, value_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?,
            update_row: p(
                "UPDATE indicators SET test = ?2, safe = ?3, active = ?4, expires_at = ?5,
                 internal_hits = ?6, external_hits = ?7, shared_with = ?8 WHERE id = ?1",
            )?,
            // The plan knows whether the record exists (it read it), so a stored record gets a
            // plain UPDATE rather than an INSERT that fails into ON CONFLICT.
            insert_source: p(
                "INSERT INTO indicator_sources (indicator_id, source, seq, first_seen, last_seen, reputation, severity,
                    comments, extended_information, internal_hits, external_hits, retracted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?,
            // `seq` (?3) stays as stored: it orders the records, and stored seqs may have gaps.
            update_source: p(
                "UPDATE indicator_sources SET first_seen = ?4, last_seen = ?5, reputation = ?6,
                    severity = ?7, comments = ?8, extended_information = ?9, internal_hits = ?10,
                    external_hits = ?11, retracted = ?12
                 WHERE indicator_id = ?1 AND source = ?2",
            )?,
            // Stored seqs may have gaps (bulk tag removal), so appended tags go after the largest.
            append_tag: p(
                "INSERT INTO source_tags (indicator_id, source, tag, seq)
                 SELECT ?1, ?2, ?3, COALESCE(MAX(seq) + 1, 0) FROM source_tags
                 WHERE indicator_id = ?1 AND source = ?2",
            )?,
            delete_tags: p("DELETE FROM source_tags WHERE indicator_id = ?1 AND source = ?2")?,
            insert_tag: p(
                "INSERT INTO source_tags (indicator_id, source, tag, seq) VALUES (?1, ?2, ?3, ?4)",
            )?,
            insert_pending: p(
                "INSERT OR IGNORE INTO source_destinations (indicator_id, source, destination, status)
                 VALUES (?1, ?2, ?3, 'pending')",
            )?,
            inserted: false,
        })
    }

    /// Writes the indicator row (inserts it when `id` is `None`); returns its id.
    fn indicator(&mut self, id: Option<i64>, ind: &Indicator) -> StoreResult<i64> {
        let shared: std::borrow::Cow<'_, str> = if ind.shared_with.is_empty() {
            "[]".into()
        } else {
            serde_json::to_string(&ind.shared_with)
                .expect("strings serialize")
                .into()
        };
        match id {
            Some(id) => {
                self.update_row
                    .execute(params![
                        id,
                        ind.test,
                        ind.safe,
                        ind.active,
                        opt_ms(ind.expires_at),
                        ind.internal_hits as i64,
                        ind.external_hits as i64,
                        shared
                    ])
                    .map_err(sql)?;
                Ok(id)
            }
            None => {
                let id = self
                    .insert_row
                    .insert(params![
                        ind.value,
                        ind.kind.as_str(),
                        ind.test,
                        ind.safe,
                        ind.active,
                        opt_ms(ind.expires_at),
                        ind.internal_hits as i64,
                        ind.external_hits as i64,
                        shared,
                        value_key(&ind.value)
                    ])
                    .map_err(sql)?;
                self.inserted = true;
                Ok(id)
            }
        }
    }

    /// Writes one source record. `stored_tags` are the record's tags as stored before (`None` when
    /// the record is new, which decides between INSERT and UPDATE): tag rows are only written where they changed, and an append (what
    /// reconciliation does unless the source overwrites tags) only inserts the new ones.
    fn source_record(
        &mut self,
        id: i64,
        seq: usize,
        s: &SourceRecord,
        stored_tags: Option<&[String]>,
    ) -> StoreResult<()> {
        let statement = match stored_tags {
            Some(_) => &mut self.update_source,
            None => &mut self.insert_source,
        };
        let changed = statement
            .execute(params![
                id,
                s.source,
                seq as i64,
                ms(s.first_seen),
                ms(s.last_seen),
                s.reputation,
                s.severity.rank(),
                s.comments,
                s.extended_information,
                s.internal_hits as i64,
                s.external_hits as i64,
                s.retracted
            ])
            .map_err(sql)?;
        if changed != 1 {
            return Err(corrupt(format!(
                "source record ({id}, {}) was not where the plan read it",
                s.source
            )));
        }
        let tag_error = |tag: &str, e: rusqlite::Error| match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
            {
                StoreError::Invalid(format!("Tag '{tag}' does not exist."))
            }
            _ => sql(e),
        };
        match stored_tags {
            Some(old) if s.tags.starts_with(old) => {
                for tag in &s.tags[old.len()..] {
                    self.append_tag
                        .execute(params![id, s.source, tag])
                        .map_err(|e| tag_error(tag, e))?;
                }
            }
            stored => {
                if stored.is_some() {
                    self.delete_tags
                        .execute(params![id, s.source])
                        .map_err(sql)?;
                }
                for (i, tag) in s.tags.iter().enumerate() {
                    self.insert_tag
                        .execute(params![id, s.source, tag, i as i64])
                        .map_err(|e| tag_error(tag, e))?;
                }
            }
        }
        Ok(())
    }

    /// Stores what [`mark_pending`] marks (a mark already stored stays as it is).
    fn pending_marks(&mut self, id: i64, source: &str, destinations: &[String]) -> StoreResult<()> {
        for d in destinations {
            self.insert_pending
                .execute(params![id, source, d])
                .map_err(sql)?;
        }
        Ok(())
    }
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
