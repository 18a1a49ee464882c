//! `POST /api/auth`, API-token management (`/api/users/tokens`) and the bearer-token extractor.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use cte_core::auth::{AccessGrant, Scope};
use cte_core::time::format_datetime;
use cte_engine::tokens;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::extract::{Form, Json, Query};
use crate::AppState;

/// The authenticated caller of a request.
pub(crate) struct Caller(AccessGrant);

impl Caller {
    /// Fails with CE's 403 unless the caller has `scope`.
    pub(crate) fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.0.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden("Not enough permissions.".into()))
        }
    }

    pub(crate) fn has(&self, scope: Scope) -> bool {
        self.0.scopes.contains(&scope)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let invalid = || ApiError::Unauthorized("Could not validate credentials.".into());
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .ok_or_else(|| ApiError::Unauthorized("Not authenticated".into()))?;
        let (scheme, token) = header.split_once(' ').ok_or_else(invalid)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(invalid());
        }
        let token = token.trim().to_string();
        let now = state.now();
        let grant = state
            .run(move |store| tokens::authorize(store, &token, now))
            .await?;
        Ok(Caller(grant))
    }
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

/// `POST /api/auth` (form-encoded), CE's OAuth2 token endpoint.
/// Exchanges API-token client credentials for a bearer (form-encoded, CE's `POST /api/auth`).
#[utoipa::path(
    post,
    path = "/api/auth",
    operation_id = "auth",
    tag = "auth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A bearer token", body = crate::openapi::TokenOut),
        (status = 401, description = "Invalid client_id/client_secret, or locked", body = crate::openapi::ErrorBody),
        (status = 403, description = "A requested scope is not granted", body = crate::openapi::ErrorBody),
        (status = 422, description = "Unsupported grant_type or invalid form", body = crate::openapi::ErrorBody),
    ),
)]
pub(crate) async fn token(
    State(state): State<AppState>,
    Form(form): Form<TokenForm>,
) -> Result<Json<Value>, ApiError> {
    match form.grant_type.as_deref().unwrap_or("password") {
        "client_credentials" => {}
        "password" => {
            return Err(ApiError::Unprocessable(
                "grant_type 'password' is not supported: there are no user accounts. Create an API token with `cte-server token create` and use grant_type=client_credentials."
                    .into(),
            ))
        }
        _ => return Err(ApiError::Unprocessable("grant_type not supported.".into())),
    }
    let (Some(id), Some(secret)) = (form.client_id, form.client_secret) else {
        return Err(ApiError::Unauthorized(
            "Invalid client_id/client_secret provided.".into(),
        ));
    };
    let requested = Scope::parse_list(form.scope.as_deref().unwrap_or(""))
        .map_err(|_| ApiError::Forbidden("Unauthorized".into()))?;
    let now = state.now();
    let issued = state
        .run(move |store| tokens::login(store, &id, &secret, &requested, now))
        .await?;
    Ok(Json(json!({
        "access_token": issued.access_token,
        "token_type": "bearer",
        "scopes": issued.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "expiresAt": format_datetime(issued.expires_at),
        "firstLogin": false,
        "passwordPolicyViolation": false,
        "passwordPolicy": null,
    })))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CreateTokenParams {
    description: Option<String>,
    /// Minutes; negative = never. CE's default is 60.
    expire_after: Option<i64>,
    /// Comma-separated scopes; default `cte_read,cte_write`.
    scopes: Option<String>,
}

/// `POST /api/users/tokens?description=&expire_after=&scopes=` (admin).
/// Creates an API token; the secret is shown only here.
#[utoipa::path(
    post,
    path = "/api/users/tokens",
    operation_id = "create_token",
    tag = "tokens",
    params(CreateTokenParams),
    responses(
        (status = 201, description = "The token with its secret", body = crate::openapi::ApiTokenOut),
        (status = 400, description = "Invalid scopes", body = crate::openapi::ErrorBody),
        (status = 422, description = "A parameter of the wrong type", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or invalid bearer", body = crate::openapi::ErrorBody),
        (status = 403, description = "Missing scope `admin`", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = ["admin"]))
)]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<CreateTokenParams>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Scope::Admin)?;
    let scopes = Scope::parse_list(p.scopes.as_deref().unwrap_or("cte_read,cte_write"))
        .map_err(|e| ApiError::BadRequest(format!("Invalid scopes: {e}.")))?;
    let description = p.description.unwrap_or_default();
    let expire = p.expire_after.unwrap_or(60);
    let now = state.now();
    let new = state
        .run(move |store| tokens::create_token(store, &description, scopes, Some(expire), now))
        .await?;
    let mut body = token_json(&new.token);
    body["client_secret"] = json!(new.client_secret);
    Ok((StatusCode::CREATED, Json(body)))
}

fn token_json(t: &cte_core::auth::ApiToken) -> Value {
    json!({
        "client_id": t.client_id,
        "description": t.description,
        "scopes": t.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "createdAt": format_datetime(t.created_at),
        "expiresAt": t.expires_at.map(format_datetime),
    })
}

/// `GET /api/users/tokens` (admin): tokens without secrets.
/// Lists API tokens (never their secrets).
#[utoipa::path(
    get,
    path = "/api/users/tokens",
    operation_id = "list_tokens",
    tag = "tokens",
    responses(
        (status = 200, description = "Every token", body = Vec<crate::openapi::ApiTokenOut>),
        (status = 401, description = "Missing or invalid bearer", body = crate::openapi::ErrorBody),
        (status = 403, description = "Missing scope `admin`", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = ["admin"]))
)]
pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::Admin)?;
    let list = state.run(|store| store.api_tokens()).await?;
    Ok(Json(Value::Array(list.iter().map(token_json).collect())))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct DeleteToken {
    client_id: String,
}

/// `DELETE /api/users/tokens` body `{"client_id"}` (admin).
/// Deletes an API token and the bearers issued to it.
#[utoipa::path(
    delete,
    path = "/api/users/tokens",
    operation_id = "delete_token",
    tag = "tokens",
    request_body = DeleteToken,
    responses(
        (status = 200, description = "Deleted", body = crate::openapi::EmptyOut),
        (status = 404, description = "No such token", body = crate::openapi::ErrorBody),
        (status = 422, description = "Invalid body", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or invalid bearer", body = crate::openapi::ErrorBody),
        (status = 403, description = "Missing scope `admin`", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = ["admin"]))
)]
pub(crate) async fn delete_token(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<DeleteToken>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::Admin)?;
    let id = body.client_id.clone();
    if !state.run(move |store| store.delete_api_token(&id)).await? {
        return Err(ApiError::NotFound(format!(
            "Token with client_id '{}' does not exist.",
            body.client_id
        )));
    }
    Ok(Json(json!({})))
}
