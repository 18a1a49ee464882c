//! `POST /api/auth`, API-token management (`/api/users/tokens`) and the bearer-token extractor.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use cte_core::auth::{AccessGrant, Scope};
use cte_core::time::format_datetime;
use cte_engine::tokens;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::extract::{Form, Json, Query};
use crate::wire::EmptyOut;
use crate::AppState;

/// A scope as a type, for [`Caller`].
pub(crate) trait RequiredScope {
    /// The scope the caller must hold.
    const SCOPE: Scope;
}

/// `cte_read`: read IoCs, tags, configurations, rules.
pub(crate) struct CteRead;

/// `cte_write`: write them.
pub(crate) struct CteWrite;

/// `admin`: API tokens and tenants.
pub(crate) struct Admin;

impl RequiredScope for CteRead {
    const SCOPE: Scope = Scope::CteRead;
}

impl RequiredScope for CteWrite {
    const SCOPE: Scope = Scope::CteWrite;
}

impl RequiredScope for Admin {
    const SCOPE: Scope = Scope::Admin;
}

/// The authenticated caller of a request, holding scope `S`: the extractor answers CE's 401
/// without a valid bearer and 403 without `S`. It reads only the request's head, and axum runs
/// such extractors before the one that reads the body (`Json`, `Form`, last in the argument
/// list), so a refused request is refused before its body is read or parsed.
pub(crate) struct Caller<S> {
    grant: AccessGrant,
    scope: PhantomData<fn() -> S>,
}

impl<S> Caller<S> {
    /// Whether the caller also holds `scope` (answers that show more to some callers).
    pub(crate) fn has(&self, scope: Scope) -> bool {
        self.grant.scopes.contains(&scope)
    }
}

impl<S: RequiredScope> FromRequestParts<AppState> for Caller<S> {
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
        if let Some(slot) = parts.extensions.get::<crate::observe::ClientId>() {
            slot.set(&grant.client_id);
        }
        if !grant.scopes.contains(&S::SCOPE) {
            return Err(ApiError::Forbidden("Not enough permissions.".into()));
        }
        if S::SCOPE != Scope::CteRead {
            let per_minute = state.limits().write_budget_per_minute;
            state
                .budgets()
                .take(&grant.client_id, per_minute, state.now())?;
        }
        Ok(Caller {
            grant,
            scope: PhantomData,
        })
    }
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

/// `POST /api/auth` answer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenOut {
    #[serde(rename = "access_token")]
    access_token: String,
    /// `bearer`.
    #[serde(rename = "token_type")]
    token_type: &'static str,
    scopes: Vec<&'static str>,
    expires_at: String,
    first_login: bool,
    password_policy_violation: bool,
    /// Always `null`: there are no user accounts.
    #[schema(value_type = Option<Object>)]
    password_policy: Option<Value>,
}

/// An API token as listed; `client_secret` only in the answer that created it.
#[derive(Serialize, ToSchema)]
pub(crate) struct ApiTokenOut {
    client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    client_secret: Option<String>,
    description: String,
    scopes: Vec<&'static str>,
    #[serde(rename = "createdAt")]
    created_at: String,
    #[serde(rename = "expiresAt")]
    expires_at: Option<String>,
}

impl ApiTokenOut {
    fn new(t: &cte_core::auth::ApiToken, client_secret: Option<String>) -> ApiTokenOut {
        ApiTokenOut {
            client_id: t.client_id.clone(),
            client_secret,
            description: t.description.clone(),
            scopes: t.scopes.iter().map(|s| s.as_str()).collect(),
            created_at: format_datetime(t.created_at),
            expires_at: t.expires_at.map(format_datetime),
        }
    }
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
        (status = 200, description = "A bearer token", body = TokenOut),
        (status = 401, description = "Invalid client_id/client_secret, or locked", body = crate::error::ErrorBody),
        (status = 403, description = "A requested scope is not granted", body = crate::error::ErrorBody),
        (status = 422, description = "Unsupported grant_type or invalid form", body = crate::error::ErrorBody),
    ),
)]
pub(crate) async fn token(
    State(state): State<AppState>,
    Form(form): Form<TokenForm>,
) -> Result<Json<TokenOut>, ApiError> {
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
    Ok(Json(TokenOut {
        access_token: issued.access_token,
        token_type: "bearer",
        scopes: issued.scopes.iter().map(|s| s.as_str()).collect(),
        expires_at: format_datetime(issued.expires_at),
        first_login: false,
        password_policy_violation: false,
        password_policy: None,
    }))
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
        (status = 201, description = "The token with its secret", body = ApiTokenOut),
        (status = 400, description = "Invalid scopes", body = crate::error::ErrorBody),
        (status = 422, description = "A parameter of the wrong type", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["admin"]))
)]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    _: Caller<Admin>,
    Query(p): Query<CreateTokenParams>,
) -> Result<(StatusCode, Json<ApiTokenOut>), ApiError> {
    let scopes = Scope::parse_list(p.scopes.as_deref().unwrap_or("cte_read,cte_write"))
        .map_err(|e| ApiError::BadRequest(format!("Invalid scopes: {e}.")))?;
    let description = p.description.unwrap_or_default();
    let expire = p.expire_after.unwrap_or(60);
    let now = state.now();
    let new = state
        .run(move |store| tokens::create_token(store, &description, scopes, Some(expire), now))
        .await?;
    let body = ApiTokenOut::new(&new.token, Some(new.client_secret));
    Ok((StatusCode::CREATED, Json(body)))
}

/// `GET /api/users/tokens` (admin): tokens without secrets.
/// Lists API tokens (never their secrets).
#[utoipa::path(
    get,
    path = "/api/users/tokens",
    operation_id = "list_tokens",
    tag = "tokens",
    responses(
        (status = 200, description = "Every token", body = Vec<ApiTokenOut>),
    ),
    security(("bearer" = ["admin"]))
)]
pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    _: Caller<Admin>,
) -> Result<Json<Vec<ApiTokenOut>>, ApiError> {
    let list = state.run(|store| store.api_tokens()).await?;
    Ok(Json(
        list.iter().map(|t| ApiTokenOut::new(t, None)).collect(),
    ))
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
        (status = 200, description = "Deleted", body = EmptyOut),
        (status = 404, description = "No such token", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid body", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["admin"]))
)]
pub(crate) async fn delete_token(
    State(state): State<AppState>,
    _: Caller<Admin>,
    Json(body): Json<DeleteToken>,
) -> Result<Json<EmptyOut>, ApiError> {
    let id = body.client_id.clone();
    if !state.run(move |store| store.delete_api_token(&id)).await? {
        return Err(ApiError::NotFound(format!(
            "Token with client_id '{}' does not exist.",
            body.client_id
        )));
    }
    Ok(Json(EmptyOut {}))
}

/// Each token's budget of write requests: a bucket of `per_minute` requests, refilled
/// continuously at `per_minute` a minute (so bursts up to the budget go through, and a steady
/// rate up to it forever).
#[derive(Default)]
pub(crate) struct Budgets(std::sync::Mutex<std::collections::HashMap<String, Bucket>>);

struct Bucket {
    left: f64,
    at: chrono::DateTime<chrono::Utc>,
}

impl Budgets {
    /// Takes one request from `client_id`'s budget at `now`, or says when the next one may go.
    pub(crate) fn take(
        &self,
        client_id: &str,
        per_minute: u32,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), ApiError> {
        if per_minute == 0 {
            return Ok(());
        }
        let full = f64::from(per_minute);
        let per_ms = full / 60_000.0;
        let mut buckets = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(client_id.to_string()).or_insert(Bucket {
            left: full,
            at: now,
        });
        let elapsed = (now - bucket.at).num_milliseconds().max(0) as f64;
        bucket.left = (bucket.left + elapsed * per_ms).min(full);
        bucket.at = now;
        if bucket.left >= 1.0 {
            bucket.left -= 1.0;
            return Ok(());
        }
        let retry_after = ((1.0 - bucket.left) / per_ms / 1000.0).ceil().max(1.0) as u64;
        Err(ApiError::TooManyRequests {
            detail: format!(
                "This token has used its budget of {per_minute} write requests a minute; retry in {retry_after} s."
            ),
            retry_after,
        })
    }
}
