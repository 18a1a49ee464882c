//! API tokens (`api_tokens`: client ids, secret hashes, scopes, login failures) and the access
//! grants issued to them (`access_grants`).

use chrono::{DateTime, Utc};
use cte_core::auth::{AccessGrant, ApiToken, Scope};
use cte_core::StoreResult;
use rusqlite::{params, OptionalExtension, Row, Transaction};

use crate::error::{conflict_or_sql, sql};
use crate::rows::{ms, opt_ms, opt_time, time};

fn scopes_to_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn scopes_from_text(s: &str) -> rusqlite::Result<Vec<Scope>> {
    Scope::parse_list(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

fn row_to_token(row: &Row<'_>) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        client_id: row.get(0)?,
        secret_hash: row.get(1)?,
        description: row.get(2)?,
        scopes: scopes_from_text(&row.get::<_, String>(3)?)?,
        created_at: time(row.get(4)?),
        expires_at: opt_time(row.get(5)?),
        failed_attempts: row.get(6)?,
        locked_until: opt_time(row.get(7)?),
    })
}

const TOKEN_COLUMNS: &str = "client_id, secret_hash, description, scopes, created_at, expires_at, failed_attempts, locked_until";

pub(crate) fn insert_api_token(tx: &Transaction<'_>, t: &ApiToken) -> StoreResult<()> {
    tx.execute(
        &format!(
            "INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ),
        params![
            t.client_id,
            t.secret_hash,
            t.description,
            scopes_to_text(&t.scopes),
            ms(t.created_at),
            opt_ms(t.expires_at),
            t.failed_attempts,
            opt_ms(t.locked_until)
        ],
    )
    .map_err(|e| conflict_or_sql(e, || format!("Token '{}' already exists.", t.client_id)))?;
    Ok(())
}

pub(crate) fn api_token(tx: &Transaction<'_>, client_id: &str) -> StoreResult<Option<ApiToken>> {
    tx.query_row(
        &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE client_id = ?1"),
        [client_id],
        row_to_token,
    )
    .optional()
    .map_err(sql)
}

pub(crate) fn api_tokens(tx: &Transaction<'_>) -> StoreResult<Vec<ApiToken>> {
    let mut stmt = tx
        .prepare(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, client_id"
        ))
        .map_err(sql)?;
    let rows = stmt.query_map([], row_to_token).map_err(sql)?;
    rows.collect::<Result<_, _>>().map_err(sql)
}

pub(crate) fn delete_api_token(tx: &Transaction<'_>, client_id: &str) -> StoreResult<bool> {
    let n = tx
        .execute("DELETE FROM api_tokens WHERE client_id = ?1", [client_id])
        .map_err(sql)?;
    Ok(n > 0)
}

pub(crate) fn set_login_failures(
    tx: &Transaction<'_>,
    client_id: &str,
    failed_attempts: u32,
    locked_until: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE api_tokens SET failed_attempts = ?2, locked_until = ?3 WHERE client_id = ?1",
        params![client_id, failed_attempts, opt_ms(locked_until)],
    )
    .map_err(sql)?;
    Ok(())
}

pub(crate) fn insert_access_grant(
    tx: &Transaction<'_>,
    g: &AccessGrant,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM access_grants WHERE expires_at <= ?1",
        [ms(now)],
    )
    .map_err(sql)?;
    tx.execute(
                "INSERT INTO access_grants (token_hash, client_id, scopes, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![g.token_hash, g.client_id, scopes_to_text(&g.scopes), ms(g.expires_at)],
            )
            .map_err(sql)?;
    Ok(())
}

pub(crate) fn access_grant(
    tx: &Transaction<'_>,
    token_hash: &str,
) -> StoreResult<Option<AccessGrant>> {
    tx.query_row(
        "SELECT token_hash, client_id, scopes, expires_at FROM access_grants WHERE token_hash = ?1",
        [token_hash],
        |r| {
            Ok(AccessGrant {
                token_hash: r.get(0)?,
                client_id: r.get(1)?,
                scopes: scopes_from_text(&r.get::<_, String>(2)?)?,
                expires_at: time(r.get(3)?),
            })
        },
    )
    .optional()
    .map_err(sql)
}
