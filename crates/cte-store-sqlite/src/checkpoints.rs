//! Pull checkpoints (`pull_checkpoints`): where each configuration's pull of each alert type
//! stands in the tenant's Data Export iterator, saved with each page it ingests.

use cte_core::checkpoint::{PullCheckpoint, PullPhase};
use cte_core::tenant::AlertType;
use cte_core::{StoreError, StoreResult};
use rusqlite::{params, OptionalExtension, Transaction};

use crate::error::sql;
use crate::rows::{conversion_error, ms, time};

pub(crate) fn save_checkpoint(
    tx: &rusqlite::Transaction<'_>,
    c: &PullCheckpoint,
) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO pull_checkpoints (configuration, alert_type, phase, iterator, start_epoch, end_epoch,
            positioned, in_flight, last_digest, alerts, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(configuration, alert_type) DO UPDATE SET
            phase = excluded.phase, iterator = excluded.iterator, start_epoch = excluded.start_epoch,
            end_epoch = excluded.end_epoch, positioned = excluded.positioned, in_flight = excluded.in_flight,
            last_digest = excluded.last_digest, alerts = excluded.alerts, updated_at = excluded.updated_at",
    )
    .map_err(sql)?
    .execute(params![
        c.configuration,
        c.alert_type.as_str(),
        c.phase.as_str(),
        c.iterator,
        c.start_epoch,
        c.end_epoch,
        c.positioned,
        c.in_flight,
        c.last_digest,
        c.alerts as i64,
        ms(c.updated_at)
    ])
    .map_err(|e| match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
        {
            StoreError::NotFound(format!(
                "Configuration with name '{}' does not exist.",
                c.configuration
            ))
        }
        _ => sql(e),
    })?;
    Ok(())
}

pub(crate) fn pull_checkpoint(
    tx: &Transaction<'_>,
    configuration: &str,
    alert_type: AlertType,
) -> StoreResult<Option<PullCheckpoint>> {
    tx.query_row(
                "SELECT phase, iterator, start_epoch, end_epoch, positioned, in_flight, last_digest, alerts, updated_at
                 FROM pull_checkpoints WHERE configuration = ?1 AND alert_type = ?2",
                params![configuration, alert_type.as_str()],
                |r| {
                    let phase: String = r.get(0)?;
                    Ok(PullCheckpoint {
                        configuration: configuration.to_string(),
                        alert_type,
                        phase: PullPhase::parse(&phase)
                            .ok_or_else(|| conversion_error(format!("unknown phase {phase}")))?,
                        iterator: r.get(1)?,
                        start_epoch: r.get(2)?,
                        end_epoch: r.get(3)?,
                        positioned: r.get(4)?,
                        in_flight: r.get(5)?,
                        last_digest: r.get(6)?,
                        alerts: r.get::<_, i64>(7)? as u64,
                        updated_at: time(r.get(8)?),
                    })
                },
            )
            .optional()
            .map_err(sql)
}
