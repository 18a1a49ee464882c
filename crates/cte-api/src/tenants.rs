//! Netskope tenants (the seed's Settings > Netskope Tenant): `GET/POST/PATCH/DELETE
//! /api/settings/tenants`. Tokens are write-only: no route returns them.

use cte_core::error::echo;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use cte_core::tenant::{AccessProbe, TenantClient, TenantError};
use cte_core::tenant_config::{NetskopeTenant, Token};
use cte_core::time::format_datetime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Admin, Caller, CteRead};
use crate::error::ApiError;
use crate::extract::Json;
use crate::wire::EmptyOut;
use crate::AppState;

/// A Netskope tenant as listed: never its tokens.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TenantOut {
    name: String,
    tenant_name: String,
    /// Days of alerts a new configuration pulls first.
    initial_range: u32,
    use_system_proxy: bool,
    has_v1_token: bool,
    created_at: String,
}

impl TenantOut {
    fn new(t: &NetskopeTenant) -> TenantOut {
        TenantOut {
            name: t.name.clone(),
            tenant_name: t.tenant_name.clone(),
            initial_range: t.initial_range_days,
            use_system_proxy: t.use_system_proxy,
            has_v1_token: t.v1_token.is_some(),
            created_at: format_datetime(t.created_at),
        }
    }
}

/// Turns a failed tenant check into a 400 that says what to fix.
pub(crate) fn tenant_check_error(tenant: &str, e: TenantError) -> ApiError {
    match e {
        TenantError::MissingPrivilege { message, .. } => ApiError::BadRequest(format!(
            "The Netskope tenant V2 API Token of '{tenant}' does not have the necessary permissions: {message}"
        )),
        TenantError::Unauthorized { message } => ApiError::BadRequest(format!(
            "The Netskope tenant '{tenant}' refused the V2 API Token: {message}. Check the token and its expiry in Settings > Tools > REST API v2."
        )),
        other => ApiError::BadRequest(format!(
            "Could not validate the Netskope tenant '{tenant}': {other}"
        )),
    }
}

/// A client for `tenant`, or a 400/500 saying why there is none.
pub(crate) fn connect(
    state: &AppState,
    tenant: &NetskopeTenant,
    ssl_validation: bool,
) -> Result<Arc<dyn TenantClient>, ApiError> {
    let connector = state.connector.as_ref().ok_or_else(|| {
        ApiError::BadRequest(
            "This server was started without access to Netskope tenants, so tenants cannot be checked or used."
                .into(),
        )
    })?;
    connector
        .connect(tenant, ssl_validation)
        .map_err(|e| ApiError::BadRequest(format!("Invalid tenant '{}': {e}", echo(&tenant.name))))
}

/// Checks that the tenant's V2 token may read both alert types (what the plugin needs to pull).
async fn check_tenant(state: &AppState, tenant: &NetskopeTenant) -> Result<(), ApiError> {
    let client = connect(state, tenant, true)?;
    client
        .check_access(AccessProbe::TENANT)
        .await
        .map_err(|e| tenant_check_error(&tenant.name, e))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TenantIn {
    name: Option<String>,
    tenant_name: Option<String>,
    /// V1 token (optional; only for file-hash lists). An empty string removes it.
    token: Option<String>,
    #[serde(rename = "v2token")]
    v2_token: Option<String>,
    initial_range: Option<i64>,
    use_system_proxy: Option<bool>,
}

impl TenantIn {
    fn apply(self, t: &mut NetskopeTenant) -> Result<(), ApiError> {
        if let Some(v) = self.tenant_name {
            let v = v.trim().trim_end_matches('/').to_string();
            if v.is_empty() {
                return Err(ApiError::Unprocessable(
                    "tenantName must not be empty.".into(),
                ));
            }
            t.tenant_name = v;
        }
        if let Some(v) = self.token {
            t.v1_token = (!v.trim().is_empty()).then(|| Token::new(v.trim()));
        }
        if let Some(v) = self.v2_token {
            if v.trim().is_empty() {
                return Err(ApiError::Unprocessable("v2token must not be empty.".into()));
            }
            t.v2_token = Token::new(v.trim());
        }
        if let Some(v) = self.initial_range {
            t.initial_range_days =
                u32::try_from(v).ok().filter(|d| *d <= 365).ok_or_else(|| {
                    ApiError::Unprocessable(format!(
                        "initialRange must be between 0 and 365 days; got {v}."
                    ))
                })?;
        }
        if let Some(v) = self.use_system_proxy {
            t.use_system_proxy = v;
        }
        Ok(())
    }
}

/// `GET /api/settings/tenants`
#[utoipa::path(
    get,
    path = "/api/settings/tenants",
    operation_id = "list_tenants",
    tag = "tenants",
    responses(
        (status = 200, description = "Every tenant, without tokens", body = Vec<TenantOut>),
    ),
    security(("bearer" = ["cte_read"]))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    _: Caller<CteRead>,
) -> Result<Json<Vec<TenantOut>>, ApiError> {
    let all = state.run(|store| store.tenants()).await?;
    Ok(Json(all.iter().map(TenantOut::new).collect()))
}

#[utoipa::path(
    post,
    path = "/api/settings/tenants",
    operation_id = "create_tenant",
    tag = "tenants",
    request_body = TenantIn,
    responses(
        (status = 201, description = "Saved after checking the V2 token against the tenant", body = TenantOut),
        (status = 400, description = "The tenant refused the token or could not be reached", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid body or a duplicate name", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["admin"]))
)]
/// `POST /api/settings/tenants` (admin): checks the V2 token against the tenant, then saves.
pub(crate) async fn create(
    State(state): State<AppState>,
    _: Caller<Admin>,
    Json(body): Json<TenantIn>,
) -> Result<(StatusCode, Json<TenantOut>), ApiError> {
    let name = body.name.clone().unwrap_or_default().trim().to_string();
    cte_core::config::validate_configuration_name(&name).map_err(ApiError::Unprocessable)?;
    if body.tenant_name.is_none() {
        return Err(ApiError::Unprocessable("tenantName is required.".into()));
    }
    if body.v2_token.is_none() {
        return Err(ApiError::Unprocessable("v2token is required.".into()));
    }
    let mut tenant = NetskopeTenant {
        name,
        tenant_name: String::new(),
        v1_token: None,
        v2_token: Token::new(""),
        initial_range_days: 7,
        use_system_proxy: false,
        created_at: state.now(),
    };
    body.apply(&mut tenant)?;
    let lookup = tenant.name.clone();
    if state
        .run(move |store| store.tenant(&lookup))
        .await?
        .is_some()
    {
        return Err(ApiError::Unprocessable(format!(
            "Tenant with name '{}' already exists.",
            tenant.name
        )));
    }
    check_tenant(&state, &tenant).await?;
    let stored = tenant.clone();
    state.run(move |store| store.insert_tenant(&stored)).await?;
    Ok((StatusCode::CREATED, Json(TenantOut::new(&tenant))))
}

#[utoipa::path(
    patch,
    path = "/api/settings/tenants",
    operation_id = "update_tenant",
    tag = "tenants",
    request_body = TenantIn,
    responses(
        (status = 200, description = "Saved", body = TenantOut),
        (status = 400, description = "The tenant refused the token or could not be reached", body = crate::error::ErrorBody),
        (status = 404, description = "No such tenant", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid body", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["admin"]))
)]
/// `PATCH /api/settings/tenants` (admin): body has `name` and the fields to change; tokens not
/// given are kept. The tenant is checked again when its address or V2 token changes.
pub(crate) async fn update(
    State(state): State<AppState>,
    _: Caller<Admin>,
    Json(body): Json<TenantIn>,
) -> Result<Json<TenantOut>, ApiError> {
    let name = body
        .name
        .clone()
        .ok_or_else(|| ApiError::Unprocessable("name is required.".into()))?;
    let lookup = name.clone();
    let mut tenant = state
        .run(move |store| store.tenant(&lookup))
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "Tenant with name '{}' does not exist.",
                echo(&name)
            ))
        })?;
    let recheck = body.tenant_name.is_some() || body.v2_token.is_some();
    body.apply(&mut tenant)?;
    if recheck {
        check_tenant(&state, &tenant).await?;
    }
    let stored = tenant.clone();
    state.run(move |store| store.update_tenant(&stored)).await?;
    Ok(Json(TenantOut::new(&tenant)))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct TenantDelete {
    name: String,
}

#[utoipa::path(
    delete,
    path = "/api/settings/tenants",
    operation_id = "delete_tenant",
    tag = "tenants",
    request_body = TenantDelete,
    responses(
        (status = 200, description = "Deleted", body = EmptyOut),
        (status = 400, description = "A configuration uses the tenant", body = crate::error::ErrorBody),
        (status = 404, description = "No such tenant", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid body", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["admin"]))
)]
/// `DELETE /api/settings/tenants` `{"name"}` (admin); refused while a configuration uses it.
pub(crate) async fn delete(
    State(state): State<AppState>,
    _: Caller<Admin>,
    Json(body): Json<TenantDelete>,
) -> Result<Json<EmptyOut>, ApiError> {
    state
        .run(move |store| store.delete_tenant(&body.name))
        .await
        .map_err(|e| match e {
            ApiError::Unprocessable(m) => ApiError::BadRequest(m),
            other => other,
        })?;
    Ok(Json(EmptyOut {}))
}
