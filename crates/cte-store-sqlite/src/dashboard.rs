//! Dashboard aggregations ([`cte_core::dashboard`]) in SQL.
//!
//! The filter is compiled by [`filter_sql::compile`] and applied to the indicator row; grouping by a
//! per-source field joins `indicator_sources s`, one row per source record (Mongo's `$unwind`).
//! Ties in the count are broken by the group values, ascending, so results are deterministic.

use cte_core::dashboard::{
    CountBy, DashboardQuery, DashboardRow, GroupKey, GroupValue, PullCounts,
};
use cte_core::field::Field;
use cte_core::StoreResult;
use rusqlite::types::Value;
use rusqlite::Transaction;

use crate::error::sql;
use crate::fields::{self, Stored};
use crate::filter_sql;
use crate::rows::time;

fn group_value(key: GroupKey, r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<GroupValue> {
    Ok(match fields::column(key.field()).stored {
        Stored::Text | Stored::JsonArray => GroupValue::Text(r.get(i)?),
        Stored::Boolean => GroupValue::Bool(r.get(i)?),
        Stored::Integer => GroupValue::Int(r.get(i)?),
        Stored::Time { .. } => match r.get::<_, Option<i64>>(i)? {
            Some(ms) => GroupValue::Time(time(ms)),
            None => GroupValue::Null,
        },
    })
}

pub(crate) fn dashboard(
    tx: &Transaction<'_>,
    q: &DashboardQuery,
) -> StoreResult<Vec<DashboardRow>> {
    let mut params: Vec<Value> = Vec::new();
    let cond = filter_sql::compile(&q.filter, &mut params);
    let unwind = q.group_by.iter().any(|k| k.field().is_per_source());
    let from = if unwind {
        "indicators i JOIN indicator_sources s ON s.indicator_id = i.id"
    } else {
        "indicators i"
    };
    let sum = |field: Field| format!("SUM({})", fields::column(field).sql("s"));
    let count = match q.count_by {
        CountBy::Rows => "COUNT(*)".to_string(),
        CountBy::InternalHits => sum(Field::InternalHits),
        CountBy::ExternalHits => sum(Field::ExternalHits),
    };
    let cols: Vec<String> = q
        .group_by
        .iter()
        .map(|k| fields::column(k.field()).sql("s"))
        .collect();
    let dir = if q.ascending { "ASC" } else { "DESC" };
    let text = if cols.is_empty() {
        // One group over everything; none at all when nothing matches (as Mongo's `$group`).
        format!("SELECT {count} AS n FROM {from} WHERE {cond} HAVING COUNT(*) > 0")
    } else {
        let list = cols.join(", ");
        let ties = cols
            .iter()
            .map(|c| format!("{c} ASC"))
            .collect::<Vec<_>>()
            .join(", ");
        params.push(Value::Integer(q.limit.min(i64::MAX as u64) as i64));
        format!(
            "SELECT {list}, {count} AS n FROM {from} WHERE {cond} GROUP BY {list}
             ORDER BY n {dir}, {ties} LIMIT ?"
        )
    };
    let mut stmt = tx.prepare_cached(&text).map_err(sql)?;
    let keys = &q.group_by;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params), |r| {
            let key = keys
                .iter()
                .enumerate()
                .map(|(i, k)| group_value(*k, r, i))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(DashboardRow {
                key,
                count: r.get::<_, Option<i64>>(keys.len())?.unwrap_or(0),
            })
        })
        .map_err(sql)?;
    let mut out: Vec<DashboardRow> = rows.collect::<Result<_, _>>().map_err(sql)?;
    if q.group_by.is_empty() {
        out.truncate(q.limit.min(usize::MAX as u64) as usize);
    }
    Ok(out)
}

pub(crate) fn pull_counts(tx: &Transaction<'_>) -> StoreResult<Vec<PullCounts>> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT i.type, s.source, SUM(s.retracted <> 0), SUM(s.retracted = 0)
             FROM indicators i JOIN indicator_sources s ON s.indicator_id = i.id
             GROUP BY i.type, s.source ORDER BY i.type, s.source",
        )
        .map_err(sql)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(PullCounts {
                kind: r.get(0)?,
                source: r.get(1)?,
                retracted: r.get::<_, i64>(2)? as u64,
                unretracted: r.get::<_, i64>(3)? as u64,
            })
        })
        .map_err(sql)?;
    rows.collect::<Result<_, _>>().map_err(sql)
}
