//! Sharing state: candidates for a list, the acknowledged list content, the push outbox, per
//! indicator destination statuses, and leases.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use cte_core::filter::Filter;
use cte_core::indicator::{DestinationStatus, IndicatorKind};
use cte_core::share::{ListHolding, ListRef, ListState, PushAck, ShareCandidate, ShareRecord};
use cte_core::{StoreError, StoreResult};
use rusqlite::types::Value;
use rusqlite::{params, OptionalExtension, Transaction};

use crate::error::{sql, SqliteError};
use crate::filter_sql;
use crate::rows::{ms, time};
use crate::value_key::value_key;

pub(crate) fn candidates(
    tx: &Transaction<'_>,
    filter: &Filter,
    source: &str,
) -> StoreResult<Vec<ShareCandidate>> {
    let mut params: Vec<Value> = vec![Value::Text(source.to_string())];
    let cond = filter_sql::compile(filter, &mut params);
    let text = format!(
        "SELECT i.value, i.type FROM indicators i
         JOIN indicator_sources s ON s.indicator_id = i.id AND s.source = ?
         WHERE {cond} ORDER BY s.last_seen DESC, i.id DESC"
    );
    let mut stmt = tx.prepare_cached(&text).map_err(sql)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(sql)?;
    let mut out = Vec::new();
    for row in rows {
        let (value, kind) = row.map_err(sql)?;
        let kind: IndicatorKind = kind
            .parse()
            .map_err(|e: String| StoreError::from(SqliteError::Corrupt(e)))?;
        out.push(ShareCandidate { value, kind });
    }
    Ok(out)
}

pub(crate) fn list_state(tx: &Transaction<'_>, list: &ListRef) -> StoreResult<ListState> {
    let row: Option<(String, i64, String)> = tx
        .query_row(
            "SELECT content, generation, rejected FROM share_state WHERE tenant = ?1 AND kind = ?2 AND list = ?3",
            params![list.tenant, list.kind, list.list],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(sql)?;
    let unconfirmed: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM share_outbox
             WHERE tenant = ?1 AND kind = ?2 AND list = ?3 AND acked_at IS NULL)",
            params![list.tenant, list.kind, list.list],
            |r| r.get(0),
        )
        .map_err(sql)?;
    let corrupt =
        |e: serde_json::Error| StoreError::from(SqliteError::Corrupt(format!("share_state: {e}")));
    let (content, generation, rejected) = match row {
        Some((text, g, rejected)) => (
            serde_json::from_str(&text).map_err(corrupt)?,
            g,
            serde_json::from_str(&rejected).map_err(corrupt)?,
        ),
        None => (Vec::new(), 0, Vec::new()),
    };
    Ok(ListState {
        content,
        generation,
        unconfirmed,
        rejected,
    })
}

pub(crate) fn begin_push(
    tx: &Transaction<'_>,
    list: &ListRef,
    destination: &str,
    payload_sha256: &str,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let generation: i64 = tx
        .query_row(
            "SELECT COALESCE((SELECT generation FROM share_state WHERE tenant = ?1 AND kind = ?2 AND list = ?3), 0) + 1",
            params![list.tenant, list.kind, list.list],
            |r| r.get(0),
        )
        .map_err(sql)?;
    tx.execute(
        "INSERT INTO share_outbox (tenant, kind, list, destination, generation, payload_sha256, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![list.tenant, list.kind, list.list, destination, generation, payload_sha256, ms(now)],
    )
    .map_err(sql)?;
    Ok(tx.last_insert_rowid())
}

pub(crate) fn ack_push(
    tx: &Transaction<'_>,
    ack: &PushAck<'_>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let list = ack.list;
    // Every unconfirmed push of this list is settled by this one: its content is now known.
    tx.execute(
        "UPDATE share_outbox SET acked_at = ?4 WHERE tenant = ?1 AND kind = ?2 AND list = ?3 AND acked_at IS NULL",
        params![list.tenant, list.kind, list.list, ms(now)],
    )
    .map_err(sql)?;
    let generation: i64 = tx
        .query_row(
            "SELECT generation FROM share_outbox WHERE id = ?1",
            [ack.outbox_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql)?
        .ok_or_else(|| {
            StoreError::NotFound(format!("outbox row {} does not exist", ack.outbox_id))
        })?;
    let content = serde_json::to_string(ack.content).expect("strings serialize");
    let rejected = serde_json::to_string(ack.rejected).expect("strings serialize");
    tx.execute(
        "INSERT INTO share_state (tenant, kind, list, content, rejected, generation, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(tenant, kind, list) DO UPDATE SET content = excluded.content,
            rejected = excluded.rejected, generation = excluded.generation, updated_at = excluded.updated_at",
        params![list.tenant, list.kind, list.list, content, rejected, generation, ms(now)],
    )
    .map_err(sql)?;

    // Statuses: the listed outcomes replace this list's rows for this source and destination.
    tx.execute(
        "CREATE TEMP TABLE IF NOT EXISTS share_touched (indicator_id INTEGER PRIMARY KEY)",
        [],
    )
    .map_err(sql)?;
    tx.execute("DELETE FROM temp.share_touched", [])
        .map_err(sql)?;
    tx.execute(
        "INSERT OR IGNORE INTO temp.share_touched (indicator_id)
         SELECT indicator_id FROM source_destinations
         WHERE source = ?1 AND destination = ?2 AND list_tenant = ?3 AND list_kind = ?4 AND list_name = ?5",
        params![ack.source, ack.destination, list.tenant, list.kind, list.list],
    )
    .map_err(sql)?;
    tx.execute(
        "DELETE FROM source_destinations
         WHERE source = ?1 AND destination = ?2 AND list_tenant = ?3 AND list_kind = ?4 AND list_name = ?5",
        params![ack.source, ack.destination, list.tenant, list.kind, list.list],
    )
    .map_err(sql)?;
    // A share for this source and destination has run: the `pending` marks set at ingest are settled.
    tx.execute(
        "DELETE FROM source_destinations
         WHERE source = ?1 AND destination = ?2 AND list_name = '' AND status = 'pending'",
        params![ack.source, ack.destination],
    )
    .map_err(sql)?;
    {
        let mut id_of = tx
            .prepare_cached(crate::value_key::ID_WITH_SOURCE)
            .map_err(sql)?;
        let mut upsert = tx
            .prepare_cached(
                "INSERT INTO source_destinations (indicator_id, source, destination, status, reason,
                    rule, list_tenant, list_kind, list_name, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT(indicator_id, source, destination, list_tenant, list_kind, list_name)
                 DO UPDATE SET status = excluded.status, reason = excluded.reason,
                    rule = excluded.rule, updated_at = excluded.updated_at",
            )
            .map_err(sql)?;
        let mut touch = tx
            .prepare_cached("INSERT OR IGNORE INTO temp.share_touched (indicator_id) VALUES (?1)")
            .map_err(sql)?;
        let mut ids: HashMap<&str, i64> = HashMap::new();
        for o in ack.outcomes {
            let id: Option<i64> = match ids.get(o.value.as_str()) {
                Some(id) => Some(*id),
                None => id_of
                    .query_row(params![o.value, ack.source, value_key(&o.value)], |r| {
                        r.get(0)
                    })
                    .optional()
                    .map_err(sql)?,
            };
            let Some(id) = id else { continue };
            ids.insert(o.value.as_str(), id);
            upsert
                .execute(params![
                    id,
                    ack.source,
                    ack.destination,
                    o.status.as_str(),
                    o.reason,
                    ack.rule,
                    list.tenant,
                    list.kind,
                    list.list,
                    ms(now)
                ])
                .map_err(sql)?;
            touch.execute([id]).map_err(sql)?;
        }
    }
    // `sharedWith`: the destinations an indicator is currently shared with.
    tx.execute(
        "UPDATE indicators SET shared_with = (
            SELECT COALESCE(json_group_array(destination), '[]') FROM (
                SELECT DISTINCT destination FROM source_destinations
                WHERE indicator_id = indicators.id AND status = ?1 ORDER BY destination))
         WHERE id IN (SELECT indicator_id FROM temp.share_touched)",
        [DestinationStatus::Shared.as_str()],
    )
    .map_err(sql)?;
    tx.execute("DELETE FROM temp.share_touched", [])
        .map_err(sql)?;
    Ok(())
}

pub(crate) fn records(tx: &Transaction<'_>, value: &str) -> StoreResult<Vec<ShareRecord>> {
    type Raw = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i64>,
    );
    let mut stmt = tx
        .prepare_cached(
            "SELECT d.source, d.destination, d.status, d.reason, d.rule, d.list_tenant, d.list_kind,
                    d.list_name, d.updated_at
             FROM value_keys k CROSS JOIN indicators i ON i.id = k.id
                  CROSS JOIN source_destinations d ON d.indicator_id = i.id
             WHERE k.tier IN (0, 1) AND k.key = ?2 AND i.value = ?1
             ORDER BY d.source, d.destination",
        )
        .map_err(sql)?;
    let rows: Vec<Raw> = stmt
        .query_map(params![value, value_key(value)], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ))
        })
        .map_err(sql)?
        .collect::<Result<_, _>>()
        .map_err(sql)?;
    rows.into_iter()
        .map(
            |(source, destination, status, reason, rule, tenant, kind, list, at)| {
                let status: DestinationStatus = status
                    .parse()
                    .map_err(|e: String| StoreError::from(SqliteError::Corrupt(e)))?;
                let list = match (tenant, kind, list) {
                    (Some(tenant), Some(kind), Some(list)) => Some(ListRef { tenant, kind, list }),
                    _ => None,
                };
                Ok(ShareRecord {
                    source,
                    destination,
                    status,
                    reason,
                    rule,
                    list,
                    at: at.map(time),
                })
            },
        )
        .collect()
}

pub(crate) fn lists_holding(tx: &Transaction<'_>, value: &str) -> StoreResult<Vec<ListHolding>> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT s.tenant, s.kind, s.list, s.updated_at FROM share_state s
             WHERE EXISTS (SELECT 1 FROM json_each(s.content) e WHERE e.value = ?1)
             ORDER BY s.tenant, s.kind, s.list",
        )
        .map_err(sql)?;
    let rows = stmt
        .query_map([value], |r| {
            Ok(ListHolding {
                list: ListRef {
                    tenant: r.get(0)?,
                    kind: r.get(1)?,
                    list: r.get(2)?,
                },
                at: time(r.get(3)?),
            })
        })
        .map_err(sql)?;
    rows.collect::<Result<_, _>>().map_err(sql)
}

pub(crate) fn try_lease(
    tx: &Transaction<'_>,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StoreResult<Option<(String, DateTime<Utc>)>> {
    let current: Option<(String, i64)> = tx
        .query_row(
            "SELECT holder, expires_at FROM leases WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(sql)?;
    if let Some((h, exp)) = current {
        if h != holder && exp > ms(now) {
            return Ok(Some((h, time(exp))));
        }
    }
    tx.execute(
        "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at",
        params![name, holder, ms(until)],
    )
    .map_err(sql)?;
    Ok(None)
}

pub(crate) fn release_lease(tx: &Transaction<'_>, name: &str, holder: &str) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
        params![name, holder],
    )
    .map_err(sql)?;
    Ok(())
}
