//! The global CTE settings (`settings`) and the plugin configurations (`configurations`): the
//! sources and destinations, with the status of their last pull and share runs.

use cte_core::config::{Configuration, IntervalUnit, PluginKind, RunStatus};
use cte_core::reconcile::TagStrategy;
use cte_core::store::RunKind;
use cte_core::StoreResult;
use rusqlite::{params, OptionalExtension, Row, Transaction};

use crate::bulk_edits;
use crate::error::{conflict_or_sql, corrupt, found, sql};
use crate::rows::{conversion_error, ms, opt_ms, opt_time, time};

const CONFIG_COLUMNS: &str = "name, plugin, active, tenant, ssl_validation, poll_interval, poll_interval_unit, reputation, age_after_days, parameters, tags_aggregate_strategy, created_at, pull_last_run_at, pull_success, pull_message, share_last_run_at, share_success, share_message";

fn row_to_config(row: &Row<'_>) -> rusqlite::Result<Configuration> {
    let plugin: String = row.get(1)?;
    let unit: String = row.get(6)?;
    let params: String = row.get(9)?;
    let strategy: String = row.get(10)?;
    Ok(Configuration {
        name: row.get(0)?,
        plugin: PluginKind::from_id(&plugin)
            .ok_or_else(|| conversion_error(format!("unknown plugin {plugin}")))?,
        active: row.get(2)?,
        tenant: row.get(3)?,
        ssl_validation: row.get(4)?,
        poll_interval: row.get::<_, i64>(5)? as u64,
        poll_interval_unit: serde_json::from_value(serde_json::Value::String(unit))
            .map_err(|e| conversion_error(e.to_string()))?,
        reputation: row.get(7)?,
        age_after_days: row.get(8)?,
        parameters: serde_json::from_str(&params).map_err(|e| conversion_error(e.to_string()))?,
        tags_aggregate_strategy: serde_json::from_value(serde_json::Value::String(strategy))
            .map_err(|e| conversion_error(e.to_string()))?,
        created_at: time(row.get(11)?),
        pull: RunStatus {
            last_run_at: opt_time(row.get(12)?),
            last_run_success: row.get(13)?,
            message: row.get(14)?,
        },
        share: RunStatus {
            last_run_at: opt_time(row.get(15)?),
            last_run_success: row.get(16)?,
            message: row.get(17)?,
        },
    })
}

fn unit_text(u: IntervalUnit) -> String {
    serde_json::to_value(u)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "seconds".into())
}

fn strategy_text(s: TagStrategy) -> &'static str {
    match s {
        TagStrategy::Overwrite => "overwrite",
        _ => "append",
    }
}

fn config_params(c: &Configuration) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value as V;
    let opt_i = |v: Option<i64>| v.map(V::Integer).unwrap_or(V::Null);
    let opt_b = |v: Option<bool>| v.map(|b| V::Integer(b as i64)).unwrap_or(V::Null);
    let opt_s = |v: &Option<String>| v.clone().map(V::Text).unwrap_or(V::Null);
    vec![
        V::Text(c.name.clone()),
        V::Text(c.plugin.id().into()),
        V::Integer(c.active as i64),
        opt_s(&c.tenant),
        V::Integer(c.ssl_validation as i64),
        V::Integer(c.poll_interval as i64),
        V::Text(unit_text(c.poll_interval_unit)),
        V::Integer(c.reputation.into()),
        V::Integer(c.age_after_days.into()),
        V::Text(c.parameters.to_string()),
        V::Text(strategy_text(c.tags_aggregate_strategy).into()),
        V::Integer(ms(c.created_at)),
        opt_i(opt_ms(c.pull.last_run_at)),
        opt_b(c.pull.last_run_success),
        opt_s(&c.pull.message),
        opt_i(opt_ms(c.share.last_run_at)),
        opt_b(c.share.last_run_success),
        opt_s(&c.share.message),
    ]
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

pub(crate) fn insert_configuration(tx: &Transaction<'_>, c: &Configuration) -> StoreResult<()> {
    let placeholders = (1..=18)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    tx.execute(
        &format!("INSERT INTO configurations ({CONFIG_COLUMNS}) VALUES ({placeholders})"),
        rusqlite::params_from_iter(config_params(c)),
    )
    .map_err(|e| {
        conflict_or_sql(e, || {
            format!("Configuration with name '{}' already exists.", c.name)
        })
    })?;
    Ok(())
}

pub(crate) fn configuration(
    tx: &Transaction<'_>,
    name: &str,
) -> StoreResult<Option<Configuration>> {
    tx.query_row(
        &format!("SELECT {CONFIG_COLUMNS} FROM configurations WHERE name = ?1"),
        [name],
        row_to_config,
    )
    .optional()
    .map_err(sql)
}

pub(crate) fn configurations(tx: &Transaction<'_>) -> StoreResult<Vec<Configuration>> {
    let mut stmt = tx
        .prepare(&format!(
            "SELECT {CONFIG_COLUMNS} FROM configurations ORDER BY name"
        ))
        .map_err(sql)?;
    let rows = stmt.query_map([], row_to_config).map_err(sql)?;
    rows.collect::<Result<_, _>>().map_err(sql)
}

pub(crate) fn update_configuration(tx: &Transaction<'_>, c: &Configuration) -> StoreResult<()> {
    let sets = CONFIG_COLUMNS
        .split(", ")
        .enumerate()
        .skip(1)
        .map(|(i, col)| format!("{col} = ?{}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let n = tx
        .execute(
            &format!("UPDATE configurations SET {sets} WHERE name = ?1"),
            rusqlite::params_from_iter(config_params(c)),
        )
        .map_err(sql)?;
    found(n, || {
        format!("Configuration with name '{}' does not exist.", c.name)
    })
}

pub(crate) fn delete_configuration(
    tx: &Transaction<'_>,
    name: &str,
    keep_data: bool,
) -> StoreResult<()> {
    let n = tx
        .execute("DELETE FROM configurations WHERE name = ?1", [name])
        .map_err(sql)?;
    found(n, || {
        format!("Configuration with name '{name}' does not exist.")
    })?;
    if !keep_data {
        bulk_edits::remove_source(tx, name)?;
    }
    Ok(())
}

pub(crate) fn update_settings(tx: &Transaction<'_>, text: String) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ('cte', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [text],
    )
    .map_err(sql)?;
    Ok(())
}

pub(crate) fn record_run(
    tx: &Transaction<'_>,
    configuration: &str,
    kind: RunKind,
    status: &RunStatus,
) -> StoreResult<()> {
    let text = match kind {
            RunKind::Pull => "UPDATE configurations SET pull_last_run_at = ?2, pull_success = ?3, pull_message = ?4 WHERE name = ?1",
            RunKind::Share => "UPDATE configurations SET share_last_run_at = ?2, share_success = ?3, share_message = ?4 WHERE name = ?1",
        };
    let n = tx
        .execute(
            text,
            params![
                configuration,
                opt_ms(status.last_run_at),
                status.last_run_success,
                status.message
            ],
        )
        .map_err(sql)?;
    found(n, || {
        format!("Configuration with name '{configuration}' does not exist.")
    })
}
