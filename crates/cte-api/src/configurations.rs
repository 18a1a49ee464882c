//! Plugin configurations: `GET/PATCH /api/cte/plugins/configurations`,
//! `POST /api/cte/plugins/configurations/{plugin_id}`, `DELETE /api/cte/configuration`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use cte_core::auth::Scope;
use cte_core::config::{Configuration, PluginKind};
use cte_core::error::echo;
use cte_core::tenant::AccessProbe;
use cte_core::tenant_config::NetskopeParams;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, CteRead, CteWrite};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::tenants::{connect, tenant_check_error};
use crate::wire::{ConfigurationIn, ConfigurationOut, SuccessOut};
use crate::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Only active (or inactive) configurations.
    active: Option<bool>,
}

/// `GET /api/cte/plugins/configurations?active=`
#[utoipa::path(
    get,
    path = "/api/cte/plugins/configurations",
    operation_id = "list_configurations",
    tag = "configurations",
    params(ListParams),
    responses(
        (status = 200, description = "Configurations by name (`parameters` only with `cte_write`)", body = Vec<ConfigurationOut>),
        (status = 422, description = "A parameter of the wrong type", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["cte_read"]))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller<CteRead>,
    Query(p): Query<ListParams>,
) -> Result<Json<Vec<ConfigurationOut>>, ApiError> {
    let with_params = caller.has(Scope::CteWrite);
    let all = state.run(|store| store.configurations()).await?;
    Ok(Json(
        all.iter()
            .filter(|c| p.active.is_none_or(|a| c.active == a))
            .map(|c| ConfigurationOut::new(c, with_params))
            .collect(),
    ))
}

/// `POST /api/cte/plugins/configurations/{plugin_id}`
#[utoipa::path(
    post,
    path = "/api/cte/plugins/configurations/{plugin_id}",
    operation_id = "create_configuration",
    tag = "configurations",
    params(("plugin_id" = String, Path, description = "`api_sources` or `netskope`")),
    request_body = crate::wire::ConfigurationIn,
    responses(
        (status = 201, description = "Created", body = ConfigurationOut),
        (status = 400, description = "Unknown tenant, or the tenant refused", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown plugin", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid body or a duplicate name", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["cte_write"]))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    _: Caller<CteWrite>,
    Path(plugin_id): Path<String>,
    Json(body): Json<ConfigurationIn>,
) -> Result<(StatusCode, Json<ConfigurationOut>), ApiError> {
    let plugin = match PluginKind::from_id(&plugin_id) {
        Some(p @ (PluginKind::ApiSources | PluginKind::Netskope)) => p,
        _ => {
            return Err(ApiError::NotFound(format!(
                "Plugin with id='{plugin_id}' does not exist. Available: api_sources, netskope."
            )))
        }
    };
    let name = body
        .name
        .clone()
        .ok_or_else(|| ApiError::Unprocessable("name is required.".into()))?;
    let mut config = Configuration::new(name.trim(), plugin, state.now());
    let tenant_given = body.tenant.is_some();
    body.apply(&mut config).map_err(ApiError::Unprocessable)?;
    if config.plugin.is_netskope() {
        check_netskope(&state, &mut config, true).await?;
    } else if tenant_given {
        return Err(ApiError::Unprocessable(
            "tenant applies only to Netskope configurations.".into(),
        ));
    }
    let stored = config.clone();
    state
        .run(move |store| store.insert_configuration(&stored))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ConfigurationOut::new(&config, true)),
    ))
}

#[utoipa::path(
    patch,
    path = "/api/cte/plugins/configurations",
    operation_id = "update_configuration",
    tag = "configurations",
    request_body = crate::wire::ConfigurationIn,
    responses(
        (status = 200, description = "Saved", body = ConfigurationOut),
        (status = 400, description = "Unknown tenant, or the tenant refused", body = crate::error::ErrorBody),
        (status = 404, description = "No such configuration", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid body", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["cte_write"]))
)]
/// `PATCH /api/cte/plugins/configurations`: body carries `name` and the fields to change.
pub(crate) async fn update(
    State(state): State<AppState>,
    _: Caller<CteWrite>,
    Json(body): Json<ConfigurationIn>,
) -> Result<Json<ConfigurationOut>, ApiError> {
    let name = body
        .name
        .clone()
        .ok_or_else(|| ApiError::Unprocessable("name is required.".into()))?;
    let lookup = name.clone();
    let mut config = state
        .run(move |store| store.configuration(&lookup))
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "Configuration with name '{}' does not exist.",
                echo(&name)
            ))
        })?;
    let recheck =
        body.tenant.is_some() || body.parameters.is_some() || body.ssl_validation.is_some();
    body.apply(&mut config).map_err(ApiError::Unprocessable)?;
    if config.plugin.is_netskope() {
        check_netskope(&state, &mut config, recheck).await?;
    }
    let stored = config.clone();
    state
        .run(move |store| store.update_configuration(&stored))
        .await?;
    Ok(Json(ConfigurationOut::new(&config, true)))
}

/// Validates a Netskope configuration: its tenant exists, its parameters are the plugin's (stored in
/// CE's spelling), and, when `against_tenant`, the tenant's token may read the alerts it will pull.
async fn check_netskope(
    state: &AppState,
    config: &mut Configuration,
    against_tenant: bool,
) -> Result<(), ApiError> {
    let params = NetskopeParams::from_json(&config.parameters).map_err(ApiError::Unprocessable)?;
    config.parameters = params.to_json();
    let tenant_name = config.tenant.clone().ok_or_else(|| {
        ApiError::Unprocessable("tenant is required for Netskope configurations.".into())
    })?;
    let lookup = tenant_name.clone();
    let tenant = state
        .run(move |store| store.tenant(&lookup))
        .await?
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "Tenant with name '{}' does not exist.",
                echo(&tenant_name)
            ))
        })?;
    if against_tenant && params.is_pull_required {
        let probes: Vec<AccessProbe> = params
            .alert_types()
            .into_iter()
            .map(AccessProbe::Alerts)
            .collect();
        let client = connect(state, &tenant, config.ssl_validation)?;
        client
            .check_access(&probes)
            .await
            .map_err(|e| tenant_check_error(&tenant.name, e))?;
    }
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeleteBody {
    name: String,
    #[serde(default = "yes")]
    keep_data: bool,
}

fn yes() -> bool {
    true
}

#[utoipa::path(
    delete,
    path = "/api/cte/configuration",
    operation_id = "delete_configuration",
    tag = "configurations",
    request_body = DeleteBody,
    responses(
        (status = 200, description = "Deleted", body = SuccessOut),
        (status = 404, description = "No such configuration", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid body", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["cte_write"]))
)]
/// `DELETE /api/cte/configuration` body `{"name", "keepData"}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    _: Caller<CteWrite>,
    Json(body): Json<DeleteBody>,
) -> Result<Json<SuccessOut>, ApiError> {
    state
        .run(move |store| store.delete_configuration(&body.name, body.keep_data))
        .await?;
    Ok(Json(SuccessOut::YES))
}
