//! Tags: `GET/POST/DELETE /api/cte/tags`.

use axum::extract::State;
use cte_core::tag::{normalize_tag_name, AppliedOn, Tag};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, CteRead, CteWrite};
use crate::business_rules::rule_using_tag;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::indicators::parse_filters;
use crate::wire::EmptyOut;
use crate::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// CE's JSON filter language: `appliedOn` is computed over the indicators it selects.
    filters: Option<String>,
}

/// A tag with how it applies to the filtered indicators.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TagOut {
    name: String,
    color: String,
    /// `all`, `some` or `none`.
    applied_on: &'static str,
}

#[utoipa::path(
    get,
    path = "/api/cte/tags",
    operation_id = "list_tags",
    tag = "tags",
    params(ListParams),
    responses(
        (status = 200, description = "Every tag", body = Vec<TagOut>),
        (status = 400, description = "Invalid filter", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["cte_read"]))
)]
/// `GET /api/cte/tags?filters=` → `[{"name","color","appliedOn"}]`, `appliedOn` computed over the
/// indicators the filter selects.
pub(crate) async fn list(
    State(state): State<AppState>,
    _: Caller<CteRead>,
    Query(p): Query<ListParams>,
) -> Result<Json<Vec<TagOut>>, ApiError> {
    let filter = parse_filters(p.filters.as_deref())?;
    let (tags, usage) = state
        .run(move |store| Ok::<_, cte_core::StoreError>((store.tags()?, store.tag_usage(&filter)?)))
        .await?;
    Ok(Json(
        tags.into_iter()
            .map(|t| {
                let n = usage.per_tag.get(&t.name).copied().unwrap_or(0);
                TagOut {
                    applied_on: AppliedOn::from_counts(n, usage.total).as_str(),
                    name: t.name,
                    color: t.color,
                }
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct TagIn {
    name: String,
    #[serde(default)]
    color: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/cte/tags",
    operation_id = "create_tag",
    tag = "tags",
    request_body = TagIn,
    responses(
        (status = 200, description = "Created", body = EmptyOut),
        (status = 422, description = "Invalid name or a duplicate", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["cte_write"]))
)]
/// `POST /api/cte/tags` `{"name","color"}` → `{}`; 422 on a duplicate.
pub(crate) async fn create(
    State(state): State<AppState>,
    _: Caller<CteWrite>,
    Json(body): Json<TagIn>,
) -> Result<Json<EmptyOut>, ApiError> {
    let name = normalize_tag_name(&body.name).map_err(ApiError::Unprocessable)?;
    let tag = Tag {
        name,
        color: body.color.unwrap_or_else(|| "#969696".into()),
    };
    state.run(move |store| store.insert_tag(&tag)).await?;
    Ok(Json(EmptyOut {}))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct TagDelete {
    name: String,
}

#[utoipa::path(
    delete,
    path = "/api/cte/tags",
    operation_id = "delete_tag",
    tag = "tags",
    request_body = TagDelete,
    responses(
        (status = 200, description = "Deleted", body = EmptyOut),
        (status = 400, description = "A business rule refers to the tag", body = crate::error::ErrorBody),
        (status = 404, description = "No such tag", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid body", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["cte_write"]))
)]
/// `DELETE /api/cte/tags` `{"name"}` → `{}`: the tag leaves every indicator. A tag a business
/// rule refers to (filters or exceptions) is refused with CE's 400.
pub(crate) async fn delete(
    State(state): State<AppState>,
    _: Caller<CteWrite>,
    Json(body): Json<TagDelete>,
) -> Result<Json<EmptyOut>, ApiError> {
    let name = body.name.trim().to_string();
    state
        .run(move |store| -> Result<(), ApiError> {
            if rule_using_tag(store, &name)?.is_some() {
                return Err(ApiError::BadRequest(format!(
                    "{name} is in use by one of the CTE business rules."
                )));
            }
            Ok(store.delete_tag(&name)?)
        })
        .await?;
    Ok(Json(EmptyOut {}))
}
