//! Keyset paging over indicators: row-id order, resuming after the last row id a page returned.

use cte_core::filter::Filter;
use cte_core::indicator::Indicator;
use cte_core::StoreResult;
use rusqlite::types::Value;
use rusqlite::Transaction;

use crate::documents::load_many;
use crate::error::sql;
use crate::filter_sql;

/// A page of at most `limit` indicators with a row id above `after`, and the id to resume after
/// when at least one more row matches.
pub(crate) fn list_after(
    tx: &Transaction<'_>,
    filter: &Filter,
    after: Option<i64>,
    limit: u64,
) -> StoreResult<(Vec<Indicator>, Option<i64>)> {
    let mut params: Vec<Value> = Vec::new();
    let cond = filter_sql::compile(filter, &mut params);
    params.push(Value::Integer(after.unwrap_or(i64::MIN)));
    // One row past the page tells whether another page exists.
    params.push(Value::Integer(
        limit.saturating_add(1).min(i64::MAX as u64) as i64
    ));
    let text =
        format!("SELECT i.id FROM indicators i WHERE ({cond}) AND i.id > ? ORDER BY i.id LIMIT ?");
    let mut stmt = tx.prepare_cached(&text).map_err(sql)?;
    let mut ids: Vec<i64> = stmt
        .query_map(rusqlite::params_from_iter(params), |r| r.get(0))
        .map_err(sql)?
        .collect::<Result<_, _>>()
        .map_err(sql)?;
    let more = ids.len() as u64 > limit;
    ids.truncate(limit.min(usize::MAX as u64) as usize);
    let next = if more { ids.last().copied() } else { None };
    Ok((load_many(tx, &ids)?, next))
}
