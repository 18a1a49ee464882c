//! Lists of indicators: a page by filter, sort and offset, every indicator a source reported,
//! counts, and how often each tag is used.

use cte_core::filter::Filter;
use cte_core::indicator::Indicator;
use cte_core::query::{ListQuery, SortKey};
use cte_core::store::TagUsage;
use cte_core::StoreResult;
use rusqlite::types::Value;
use rusqlite::Transaction;

use crate::documents::load_many;
use crate::error::sql;
use crate::{fields, filter_sql};

fn sort_sql(key: SortKey, ascending: bool) -> String {
    // Like MongoDB, an ascending sort on an array field uses each document's smallest element and a
    // descending sort its largest.
    let agg = if ascending { "MIN" } else { "MAX" };
    let column = fields::column(key.field()).sql("s");
    let expr = if key.field().is_per_source() {
        format!("(SELECT {agg}({column}) FROM indicator_sources s WHERE s.indicator_id = i.id)")
    } else {
        column
    };
    let dir = if ascending { "ASC" } else { "DESC" };
    format!("{expr} {dir}, i.id {dir}")
}

pub(crate) fn list(tx: &Transaction<'_>, q: &ListQuery) -> StoreResult<Vec<Indicator>> {
    let mut params: Vec<Value> = Vec::new();
    let cond = filter_sql::compile(&q.filter, &mut params);
    let order = match q.sort {
        Some(key) => sort_sql(key, q.ascending),
        None => "i.id ASC".to_string(),
    };
    params.push(Value::Integer(q.limit.min(i64::MAX as u64) as i64));
    params.push(Value::Integer(q.skip.min(i64::MAX as u64) as i64));
    let text =
        format!("SELECT i.id FROM indicators i WHERE {cond} ORDER BY {order} LIMIT ? OFFSET ?");
    let ids = select_ids(tx, &text, params)?;
    load_many(tx, &ids)
}

/// Every indicator `filter` selects that `source` reported, newest `lastSeen` of that source first
/// (the order of the share candidates).
pub(crate) fn of_source(
    tx: &Transaction<'_>,
    filter: &Filter,
    source: &str,
) -> StoreResult<Vec<Indicator>> {
    let mut params: Vec<Value> = vec![Value::Text(source.to_string())];
    let cond = filter_sql::compile(filter, &mut params);
    let text = format!(
        "SELECT i.id FROM indicators i
         JOIN indicator_sources s ON s.indicator_id = i.id AND s.source = ?
         WHERE {cond} ORDER BY s.last_seen DESC, i.id DESC"
    );
    let ids = select_ids(tx, &text, params)?;
    load_many(tx, &ids)
}

pub(crate) fn select_ids(
    tx: &Transaction<'_>,
    text: &str,
    params: Vec<Value>,
) -> StoreResult<Vec<i64>> {
    let mut stmt = tx.prepare_cached(text).map_err(sql)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params), |r| r.get(0))
        .map_err(sql)?;
    rows.collect::<Result<_, _>>().map_err(sql)
}

pub(crate) fn count(tx: &Transaction<'_>, filter: &Filter) -> StoreResult<u64> {
    let mut params: Vec<Value> = Vec::new();
    let cond = filter_sql::compile(filter, &mut params);
    let text = format!("SELECT COUNT(*) FROM indicators i WHERE {cond}");
    let mut stmt = tx.prepare_cached(&text).map_err(sql)?;
    let n: i64 = stmt
        .query_row(rusqlite::params_from_iter(params), |r| r.get(0))
        .map_err(sql)?;
    Ok(n as u64)
}

pub(crate) fn tag_usage(tx: &Transaction<'_>, filter: &Filter) -> StoreResult<TagUsage> {
    let total = count(tx, filter)?;
    let mut params: Vec<Value> = Vec::new();
    let cond = filter_sql::compile(filter, &mut params);
    let text = format!(
        "SELECT t.tag, COUNT(DISTINCT t.indicator_id) FROM source_tags t
         JOIN indicators i ON i.id = t.indicator_id WHERE {cond} GROUP BY t.tag"
    );
    let mut stmt = tx.prepare_cached(&text).map_err(sql)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })
        .map_err(sql)?;
    let per_tag = rows.collect::<Result<_, _>>().map_err(sql)?;
    Ok(TagUsage { total, per_tag })
}
