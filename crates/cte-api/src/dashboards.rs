//! Dashboards: `GET /api/cte/dashboards/` (group and count indicators) and
//! `GET /api/cte/dashboard/pull` (source records by type and source, retracted or not).

use std::collections::BTreeMap;

use axum::extract::State;
use cte_core::dashboard::{CountBy, DashboardQuery, GroupKey, GroupValue};
use cte_core::field::Field;
use cte_core::time::format_datetime;
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, CteRead};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::indicators::parse_filters;
use crate::AppState;

/// The largest `limit` a dashboard takes (CE has none; Mongo refuses 0).
const MAX_LIMIT: u64 = 10_000;

/// Query parameters of `GET /api/cte/dashboards/`. `group_by` may repeat, so the query string
/// is read as pairs and gathered here.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DashboardParams {
    /// Groups to return, 1 to 10000 (default 10).
    limit: Option<u64>,
    /// `internalHits` or `externalHits`: what each group adds up. Default: 1 per row, or
    /// `externalHits` when grouping by `value`.
    count_by: Option<String>,
    /// A field to group by; repeat for several. One of `value, type, sources.source,
    /// sources.comments, test, active, internalHits, externalHits, sources.reputation,
    /// sources.firstSeen, sources.lastSeen, expiresAt`. A `sources.*` field counts each source
    /// record of an indicator in its own group (Mongo's `$unwind`).
    #[param(explode = true)]
    group_by: Option<Vec<String>>,
    /// Smallest counts first (default false).
    ascending: Option<bool>,
    /// CE's JSON filter language, applied to indicators before grouping.
    filters: Option<String>,
}

fn parse_bool(name: &str, v: &str) -> Result<bool, ApiError> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ApiError::Unprocessable(format!(
            "Invalid query parameters: {name} must be a boolean; got '{v}'."
        ))),
    }
}

impl DashboardParams {
    fn from_pairs(pairs: Vec<(String, String)>) -> Result<DashboardParams, ApiError> {
        let mut p = DashboardParams::default();
        for (k, v) in pairs {
            match k.as_str() {
                "limit" => {
                    p.limit = Some(v.trim().parse().map_err(|_| {
                        ApiError::Unprocessable(format!(
                            "Invalid query parameters: limit must be a non-negative integer; got '{v}'."
                        ))
                    })?)
                }
                "count_by" => p.count_by = Some(v),
                "group_by" => p.group_by.get_or_insert_with(Vec::new).push(v),
                "ascending" => p.ascending = Some(parse_bool("ascending", &v)?),
                "filters" => p.filters = Some(v),
                // FastAPI ignores parameters it does not declare.
                _ => {}
            }
        }
        Ok(p)
    }

    fn into_query(self) -> Result<DashboardQuery, ApiError> {
        let limit = self.limit.unwrap_or(10);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::BadRequest(format!(
                "Limit must be between 1 and {MAX_LIMIT}. Provided limit: {limit}."
            )));
        }
        let mut group_by: Vec<GroupKey> = Vec::new();
        for g in self.group_by.iter().flatten() {
            let key = GroupKey::from_param(g.trim()).ok_or_else(|| {
                let allowed: Vec<&str> = GroupKey::all().map(|k| k.field().as_param()).collect();
                ApiError::BadRequest(format!(
                    "Invalid group_by '{g}'. Allowed values are: {}.",
                    allowed.join(", ")
                ))
            })?;
            if !group_by.contains(&key) {
                group_by.push(key);
            }
        }
        let count_by = match self.count_by.as_deref().map(str::trim) {
            None | Some("") if group_by.iter().any(|k| k.field() == Field::Value) => {
                CountBy::ExternalHits
            }
            None | Some("") => CountBy::Rows,
            Some("internalHits") => CountBy::InternalHits,
            Some("externalHits") => CountBy::ExternalHits,
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "Invalid count_by '{other}'. Allowed values are: internalHits, externalHits."
                )))
            }
        };
        Ok(DashboardQuery {
            filter: parse_filters(self.filters.as_deref())?,
            group_by,
            count_by,
            ascending: self.ascending.unwrap_or(false),
            limit,
        })
    }
}

/// One group of `GET /api/cte/dashboards/`.
#[derive(Serialize, ToSchema)]
pub(crate) struct DashboardGroup {
    /// The group's values, keyed by the last segment of each `group_by` path
    /// (`{"source": "DW", "type": "url"}`).
    #[serde(rename = "_id")]
    #[schema(value_type = Object)]
    id: Map<String, Value>,
    /// The sum over the group.
    count: i64,
}

fn group_json(v: &GroupValue) -> Value {
    match v {
        GroupValue::Text(s) => json!(s),
        GroupValue::Int(n) => json!(n),
        GroupValue::Bool(b) => json!(b),
        GroupValue::Time(t) => json!(format_datetime(*t)),
        GroupValue::Null => Value::Null,
    }
}

/// Groups and counts indicators.
#[utoipa::path(
    get,
    path = "/api/cte/dashboards/",
    operation_id = "dashboards",
    tag = "dashboards",
    params(DashboardParams),
    responses(
        (status = 200, description = "Groups sorted by count (ties by their values)", body = Vec<DashboardGroup>),
        (status = 400, description = "Bad `limit`, `group_by`, `count_by` or `filters`", body = crate::error::ErrorBody),
        (status = 422, description = "A parameter of the wrong type", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["cte_read"]))
)]
pub(crate) async fn dashboards(
    State(state): State<AppState>,
    _: Caller<CteRead>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<DashboardGroup>>, ApiError> {
    let query = DashboardParams::from_pairs(pairs)?.into_query()?;
    let keys = query.group_by.clone();
    let rows = state.run(move |store| store.dashboard(&query)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| DashboardGroup {
                id: keys
                    .iter()
                    .zip(&r.key)
                    .map(|(k, v)| (k.field().name().to_string(), group_json(v)))
                    .collect(),
                count: r.count,
            })
            .collect(),
    ))
}

/// Counts of one type from one source in `GET /api/cte/dashboard/pull`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PullCountsOut {
    retracted_count: u64,
    unretracted_count: u64,
    all_count: u64,
}

/// Source records by indicator type, then source: `{"url": {"DW": {...}}}`.
#[utoipa::path(
    get,
    path = "/api/cte/dashboard/pull",
    operation_id = "dashboard_pull",
    tag = "dashboards",
    responses(
        (status = 200, description = "`{\"<type>\": {\"<source>\": counts}}`",
         body = BTreeMap<String, BTreeMap<String, PullCountsOut>>),
    ),
    security(("bearer" = ["cte_read"]))
)]
pub(crate) async fn pull(
    State(state): State<AppState>,
    _: Caller<CteRead>,
) -> Result<Json<BTreeMap<String, BTreeMap<String, PullCountsOut>>>, ApiError> {
    let counts = state.run(|store| store.pull_dashboard()).await?;
    let mut out: BTreeMap<String, BTreeMap<String, PullCountsOut>> = BTreeMap::new();
    for c in counts {
        out.entry(c.kind).or_default().insert(
            c.source,
            PullCountsOut {
                retracted_count: c.retracted,
                unretracted_count: c.unretracted,
                all_count: c.retracted + c.unretracted,
            },
        );
    }
    Ok(Json(out))
}
