//! Bulk edits of stored indicators: retracting a source's record, adding and removing tags, and
//! deleting, by value or by filter; and removing every record of a deleted source.

use cte_core::query::Locator;
use cte_core::{StoreError, StoreResult};
use rusqlite::types::Value;
use rusqlite::{params, OptionalExtension, Transaction};

use crate::documents::id_of;
use crate::error::{found, sql};
use crate::filter_sql;
use crate::listing::select_ids;
use crate::value_key::value_key;

pub(crate) fn set_retracted(
    tx: &Transaction<'_>,
    value: &str,
    source: &str,
    retracted: bool,
) -> StoreResult<()> {
    let id = id_of(tx, value)?.ok_or_else(|| {
        StoreError::NotFound(format!("Indicator with value='{value}' does not exist."))
    })?;
    let n = tx
        .execute(
            "UPDATE indicator_sources SET retracted = ?3 WHERE indicator_id = ?1 AND source = ?2",
            params![id, source, retracted],
        )
        .map_err(sql)?;
    found(n, || {
        format!("Indicator with value='{value}' has no record from source '{source}'.")
    })
}

/// Row ids located, each with the source whose records an edit touches (`None` = all sources).
fn locate(tx: &Transaction<'_>, locator: &Locator) -> StoreResult<(Vec<i64>, Option<String>)> {
    match locator {
        Locator::Values { values, source } => {
            let mut ids = Vec::new();
            let mut with_source = tx
                .prepare_cached(crate::value_key::ID_WITH_SOURCE)
                .map_err(sql)?;
            for v in values {
                let id = match source {
                    Some(src) => with_source
                        .query_row(params![v, src, value_key(v)], |r| r.get(0))
                        .optional()
                        .map_err(sql)?,
                    None => id_of(tx, v)?,
                };
                if let Some(id) = id {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
            Ok((ids, source.clone()))
        }
        Locator::Query(filter) => {
            let mut params: Vec<Value> = Vec::new();
            let cond = filter_sql::compile(filter, &mut params);
            let ids = select_ids(
                tx,
                &format!("SELECT i.id FROM indicators i WHERE {cond} ORDER BY i.id"),
                params,
            )?;
            Ok((ids, None))
        }
    }
}

pub(crate) fn edit_tags(
    tx: &Transaction<'_>,
    locator: &Locator,
    add: &[String],
    remove: &[String],
) -> StoreResult<u64> {
    let (ids, source) = locate(tx, locator)?;
    let mut sources_of = tx
        .prepare_cached("SELECT source FROM indicator_sources WHERE indicator_id = ?1")
        .map_err(sql)?;
    let mut del = tx
        .prepare_cached(
            "DELETE FROM source_tags WHERE indicator_id = ?1 AND source = ?2 AND tag = ?3",
        )
        .map_err(sql)?;
    let mut ins = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO source_tags (indicator_id, source, tag, seq)
             SELECT ?1, ?2, ?3, COALESCE(MAX(seq) + 1, 0) FROM source_tags WHERE indicator_id = ?1 AND source = ?2",
        )
        .map_err(sql)?;
    for &id in &ids {
        let sources: Vec<String> = match &source {
            Some(s) => vec![s.clone()],
            None => sources_of
                .query_map([id], |r| r.get(0))
                .map_err(sql)?
                .collect::<Result<_, _>>()
                .map_err(sql)?,
        };
        for s in &sources {
            for tag in remove {
                del.execute(params![id, s, tag]).map_err(sql)?;
            }
            for tag in add {
                ins.execute(params![id, s, tag]).map_err(sql)?;
            }
        }
    }
    Ok(ids.len() as u64)
}

pub(crate) fn delete(tx: &Transaction<'_>, locator: &Locator) -> StoreResult<u64> {
    let (ids, _) = locate(tx, locator)?;
    let mut del = tx
        .prepare_cached("DELETE FROM indicators WHERE id = ?1")
        .map_err(sql)?;
    let mut n = 0;
    for id in ids {
        n += del.execute([id]).map_err(sql)? as u64;
    }
    Ok(n)
}

/// Removes every record of `source`; indicators left without any source are deleted, and the hit
/// counters of the others lose that source's share.
pub(crate) fn remove_source(tx: &Transaction<'_>, source: &str) -> StoreResult<()> {
    tx.execute(
        "UPDATE indicators SET
            internal_hits = internal_hits - (SELECT s.internal_hits FROM indicator_sources s WHERE s.indicator_id = indicators.id AND s.source = ?1),
            external_hits = external_hits - (SELECT s.external_hits FROM indicator_sources s WHERE s.indicator_id = indicators.id AND s.source = ?1)
         WHERE id IN (SELECT indicator_id FROM indicator_sources WHERE source = ?1)",
        [source],
    )
    .map_err(sql)?;
    tx.execute("DELETE FROM indicator_sources WHERE source = ?1", [source])
        .map_err(sql)?;
    tx.execute(
        "DELETE FROM indicators WHERE NOT EXISTS (SELECT 1 FROM indicator_sources s WHERE s.indicator_id = indicators.id)",
        [],
    )
    .map_err(sql)?;
    Ok(())
}
