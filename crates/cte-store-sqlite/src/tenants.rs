//! Netskope tenants (`tenants`): a tenant's name and settings, with its API tokens sealed under
//! the database's key file (`secrets.rs`), each bound to its row.

use cte_core::tenant_config::{NetskopeTenant, Token};
use cte_core::{StoreError, StoreResult};
use rusqlite::{params, Transaction};

use crate::error::{conflict_or_sql, found, sql};
use crate::rows::{ms, time};
use crate::SqliteStore;

/// A tenant's tokens as the `tenants` row holds them, sealed by [`SqliteStore::seal_tenant`].
pub(crate) struct SealedTokens {
    v1: Option<Vec<u8>>,
    v2: Vec<u8>,
}

impl SqliteStore {
    pub(crate) fn seal_tenant(&self, t: &NetskopeTenant) -> StoreResult<SealedTokens> {
        let b = self.secret_box(true)?;
        let v1 = match &t.v1_token {
            Some(tok) => Some(b.seal(tok.expose(), &format!("tenants/{}/v1_token", t.name))?),
            None => None,
        };
        let v2 = b.seal(t.v2_token.expose(), &format!("tenants/{}/v2_token", t.name))?;
        Ok(SealedTokens { v1, v2 })
    }

    pub(crate) fn read_tenants(&self, name: Option<&str>) -> StoreResult<Vec<NetskopeTenant>> {
        type RawTenant = (String, String, Option<Vec<u8>>, Vec<u8>, u32, bool, i64);
        let rows: Vec<RawTenant> = self.read(|tx| {
            let mut stmt = tx
                .prepare(
                    "SELECT name, tenant_name, v1_token, v2_token, initial_range_days, use_system_proxy, created_at
                     FROM tenants WHERE ?1 IS NULL OR name = ?1 ORDER BY name",
                )
                .map_err(sql)?;
            let rows = stmt
                .query_map([name], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
                })
                .map_err(sql)?;
            rows.collect::<Result<_, _>>().map_err(sql)
        })?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let b = self.secret_box(false)?;
        rows.into_iter()
            .map(|(name, tenant_name, v1, v2, days, proxy, created)| {
                let v1_token = match v1 {
                    Some(v) => Some(Token::new(b.open(&v, &format!("tenants/{name}/v1_token"))?)),
                    None => None,
                };
                let v2_token = Token::new(b.open(&v2, &format!("tenants/{name}/v2_token"))?);
                Ok(NetskopeTenant {
                    name,
                    tenant_name,
                    v1_token,
                    v2_token,
                    initial_range_days: days,
                    use_system_proxy: proxy,
                    created_at: time(created),
                })
            })
            .collect()
    }
}

pub(crate) fn insert_tenant(
    tx: &Transaction<'_>,
    t: &NetskopeTenant,
    sealed: &SealedTokens,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO tenants (name, tenant_name, v1_token, v2_token, initial_range_days, use_system_proxy, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![t.name, t.tenant_name, sealed.v1, sealed.v2, t.initial_range_days, t.use_system_proxy, ms(t.created_at)],
    )
    .map_err(|e| conflict_or_sql(e, || format!("Tenant with name '{}' already exists.", t.name)))?;
    Ok(())
}

pub(crate) fn update_tenant(
    tx: &Transaction<'_>,
    t: &NetskopeTenant,
    sealed: &SealedTokens,
) -> StoreResult<()> {
    let n = tx
        .execute(
            "UPDATE tenants SET tenant_name = ?2, v1_token = ?3, v2_token = ?4, initial_range_days = ?5,
             use_system_proxy = ?6 WHERE name = ?1",
            params![t.name, t.tenant_name, sealed.v1, sealed.v2, t.initial_range_days, t.use_system_proxy],
        )
        .map_err(sql)?;
    found(n, || {
        format!("Tenant with name '{}' does not exist.", t.name)
    })
}

pub(crate) fn delete_tenant(tx: &Transaction<'_>, name: &str) -> StoreResult<()> {
    let users: Vec<String> = tx
        .prepare("SELECT name FROM configurations WHERE tenant = ?1 ORDER BY name")
        .map_err(sql)?
        .query_map([name], |r| r.get(0))
        .map_err(sql)?
        .collect::<Result<_, _>>()
        .map_err(sql)?;
    if !users.is_empty() {
        return Err(StoreError::Conflict(format!(
            "Tenant '{name}' is used by configuration(s) {}; delete them first.",
            users
                .iter()
                .map(|u| format!("'{u}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let n = tx
        .execute("DELETE FROM tenants WHERE name = ?1", [name])
        .map_err(sql)?;
    found(n, || format!("Tenant with name '{name}' does not exist."))
}
