//! Ingest: a batch of observations reconciled with the stored indicators ([`plan`], which only
//! reads), then written ([`apply`]).

use std::collections::HashMap;

use cte_core::indicator::{Destination, DestinationStatus, Indicator, SourceRecord};
use cte_core::reconcile::{merge, Observation, SourcePolicy};
use cte_core::store::IngestBatch;
use cte_core::{StoreError, StoreResult};
use rusqlite::{params, CachedStatement, Transaction};

use crate::configurations::read_settings;
use crate::documents::{complete_documents, load_by_id, stored_rows, IndicatorRow};
use crate::error::{corrupt, sql};
use crate::rows::{ms, opt_ms};
use crate::value_key::{value_key, Tiers};

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
