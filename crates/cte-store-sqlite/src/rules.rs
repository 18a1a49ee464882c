//! Business rules (`business_rules`) and their sharing configurations (`sharing_configurations`),
//! plus the two aging updates: unmuting rules and deactivating expired indicators.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cte_core::rule::{Action, BusinessRule, RuleException, RuleFilters};
use cte_core::{StoreError, StoreResult};
use rusqlite::{params, OptionalExtension, Transaction};

use crate::error::{sql, SqliteError};
use crate::rows::{ms, opt_ms, opt_time};

fn corrupt(what: &str, e: serde_json::Error) -> StoreError {
    StoreError::from(SqliteError::Corrupt(format!("{what}: {e}")))
}

fn exceptions_json(v: &[RuleException]) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| corrupt("cannot encode exceptions", e))
}

fn actions_json(v: &[Action]) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| corrupt("cannot encode actions", e))
}

fn not_found(name: &str) -> StoreError {
    StoreError::NotFound(format!("Business rule with name '{name}' does not exist."))
}

/// A foreign-key failure here means a sharing configuration names a configuration that is gone.
fn map_write(e: rusqlite::Error, rule: &BusinessRule) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            StoreError::Conflict(format!(
                "Business rule with name '{}' already exists.",
                rule.name
            ))
        }
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
        {
            StoreError::Invalid(format!(
                "A sharing configuration of business rule '{}' names a configuration that does not exist.",
                rule.name
            ))
        }
        _ => sql(e),
    }
}

/// Makes the rule's sharing rows match `rule.shared_with`. Rows that stay keep their identity
/// (updated in place, not deleted and re-inserted), so that state the share cycle keeps per
/// sharing configuration survives edits of the rule's other fields.
fn write_sharing(tx: &Transaction<'_>, id: i64, rule: &BusinessRule) -> StoreResult<()> {
    let stored: Vec<(String, String)> = {
        let mut stmt = tx
            .prepare_cached(
                "SELECT source, destination FROM sharing_configurations WHERE rule_id = ?1",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sql)?;
        rows.collect::<Result<_, _>>().map_err(sql)?
    };
    for (src, dst) in stored {
        let kept = rule
            .shared_with
            .get(&src)
            .is_some_and(|d| d.contains_key(&dst));
        if !kept {
            tx.execute(
                "DELETE FROM sharing_configurations WHERE rule_id = ?1 AND source = ?2 AND destination = ?3",
                params![id, src, dst],
            )
            .map_err(sql)?;
        }
    }
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO sharing_configurations (rule_id, source, destination, actions)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (rule_id, source, destination) DO UPDATE SET actions = excluded.actions",
        )
        .map_err(sql)?;
    for (src, dst, actions) in rule.sharing_configurations() {
        stmt.execute(params![id, src, dst, actions_json(actions)?])
            .map_err(|e| map_write(e, rule))?;
    }
    Ok(())
}

pub(crate) fn insert(tx: &Transaction<'_>, rule: &BusinessRule) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO business_rules (name, filters_query, filters_mongo, exceptions, muted, unmute_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            rule.name,
            rule.filters.query,
            rule.filters.mongo,
            exceptions_json(&rule.exceptions)?,
            rule.muted,
            opt_ms(rule.unmute_at)
        ],
    )
    .map_err(|e| map_write(e, rule))?;
    write_sharing(tx, tx.last_insert_rowid(), rule)
}

pub(crate) fn update(tx: &Transaction<'_>, rule: &BusinessRule) -> StoreResult<()> {
    let id: i64 = tx
        .query_row(
            "SELECT id FROM business_rules WHERE name = ?1",
            [&rule.name],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql)?
        .ok_or_else(|| not_found(&rule.name))?;
    tx.execute(
        "UPDATE business_rules SET filters_query = ?2, filters_mongo = ?3, exceptions = ?4,
         muted = ?5, unmute_at = ?6 WHERE id = ?1",
        params![
            id,
            rule.filters.query,
            rule.filters.mongo,
            exceptions_json(&rule.exceptions)?,
            rule.muted,
            opt_ms(rule.unmute_at)
        ],
    )
    .map_err(|e| map_write(e, rule))?;
    write_sharing(tx, id, rule)
}

pub(crate) fn delete(tx: &Transaction<'_>, name: &str) -> StoreResult<()> {
    let n = tx
        .execute("DELETE FROM business_rules WHERE name = ?1", [name])
        .map_err(sql)?;
    if n == 0 {
        return Err(not_found(name));
    }
    Ok(())
}

/// Rules in creation order; one rule when `name` is given.
pub(crate) fn load(tx: &Transaction<'_>, name: Option<&str>) -> StoreResult<Vec<BusinessRule>> {
    type Raw = (i64, String, String, String, String, bool, Option<i64>);
    let raws: Vec<Raw> = {
        let mut stmt = tx
            .prepare_cached(
                "SELECT id, name, filters_query, filters_mongo, exceptions, muted, unmute_at
                 FROM business_rules WHERE ?1 IS NULL OR name = ?1 ORDER BY id",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map([name], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .map_err(sql)?;
        rows.collect::<Result<_, _>>().map_err(sql)?
    };
    let mut sharing: BTreeMap<i64, Vec<(String, String, String)>> = BTreeMap::new();
    {
        let mut stmt = tx
            .prepare_cached(
                "SELECT s.rule_id, s.source, s.destination, s.actions FROM sharing_configurations s
                 JOIN business_rules b ON b.id = s.rule_id WHERE ?1 IS NULL OR b.name = ?1",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(sql)?;
        for row in rows {
            let (id, src, dst, actions): (i64, String, String, String) = row.map_err(sql)?;
            sharing.entry(id).or_default().push((src, dst, actions));
        }
    }
    raws.into_iter()
        .map(|(id, name, query, mongo, exceptions, muted, unmute_at)| {
            let exceptions: Vec<RuleException> = serde_json::from_str(&exceptions)
                .map_err(|e| corrupt(&format!("exceptions of rule '{name}'"), e))?;
            let mut rule = BusinessRule {
                name,
                filters: RuleFilters { query, mongo },
                exceptions,
                muted,
                unmute_at: opt_time(unmute_at),
                shared_with: Default::default(),
            };
            for (src, dst, actions) in sharing.remove(&id).unwrap_or_default() {
                let actions: Vec<Action> = serde_json::from_str(&actions)
                    .map_err(|e| corrupt(&format!("actions of rule '{}'", rule.name), e))?;
                rule.shared_with
                    .entry(src)
                    .or_default()
                    .insert(dst, actions);
            }
            Ok(rule)
        })
        .collect()
}

pub(crate) fn unmute_due(tx: &Transaction<'_>, now: DateTime<Utc>) -> StoreResult<u64> {
    let n = tx
        .execute(
            "UPDATE business_rules SET muted = 0, unmute_at = NULL
             WHERE muted = 1 AND unmute_at IS NOT NULL AND unmute_at <= ?1",
            [ms(now)],
        )
        .map_err(sql)?;
    Ok(n as u64)
}

pub(crate) fn deactivate_expired(tx: &Transaction<'_>, now: DateTime<Utc>) -> StoreResult<u64> {
    let n = tx
        .execute(
            "UPDATE indicators SET active = 0
             WHERE active = 1 AND expires_at IS NOT NULL AND expires_at <= ?1",
            [ms(now)],
        )
        .map_err(sql)?;
    Ok(n as u64)
}
