//! Business rules and their sharing configurations: `GET/POST /api/cte/business_rules`,
//! `PATCH/DELETE /api/cte/business_rule` (singular, as CE spells them).
//!
//! A save is checked with `cte_core::rule::validate_rule` against the stored configurations,
//! tenants, tags and rules; every problem is reported at once. A filter that does not parse
//! answers 400 with CE's filter message (as CE's schema check does), anything else 422.

use cte_core::error::echo;
use std::collections::BTreeMap;

use axum::extract::State;
use chrono::{DateTime, Utc};
use cte_core::rule::{
    validate_rule, BusinessRule, RuleContext, RuleException, RuleFilters, RuleProblem, SharedWith,
};
use cte_core::time::{format_datetime, parse_datetime};
use cte_core::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::{Caller, CteRead, CteWrite};
use crate::error::ApiError;
use crate::extract::Json;
use crate::wire::SuccessOut;
use crate::AppState;

/// CE's `filters`: `mongo` is a JSON string; an object is taken too and stored as its text.
#[derive(Deserialize, ToSchema)]
pub(crate) struct FiltersIn {
    /// The UI query language, e.g. `type IN ("url")`.
    #[serde(default)]
    query: Option<String>,
    /// CE's JSON filter language, as a string (or an object).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    mongo: Option<Value>,
}

impl FiltersIn {
    fn into_core(self) -> Result<RuleFilters, ApiError> {
        let mongo = match self.mongo {
            None | Some(Value::Null) => "{}".to_string(),
            Some(Value::String(s)) => s,
            Some(v @ Value::Object(_)) => v.to_string(),
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "Invalid query provided. filters.mongo must be a JSON string or object.".into(),
                ))
            }
        };
        Ok(RuleFilters {
            query: self.query.unwrap_or_default(),
            mongo,
        })
    }
}

/// An exception: exactly one of `filters` and `tags`.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ExceptionIn {
    name: String,
    #[serde(default)]
    filters: Option<FiltersIn>,
    #[serde(default)]
    tags: Option<Vec<String>>,
}

fn exceptions_into_core(list: Vec<ExceptionIn>) -> Result<Vec<RuleException>, ApiError> {
    list.into_iter()
        .map(|e| {
            Ok(RuleException {
                name: e.name.trim().to_string(),
                filters: e.filters.map(FiltersIn::into_core).transpose()?,
                tags: e
                    .tags
                    .map(|t| t.into_iter().map(|s| s.trim().to_string()).collect()),
            })
        })
        .collect()
}

/// CE's `BusinessRuleIn` (POST) and `BusinessRuleUpdate` (PATCH, where only `name` is required).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RuleIn {
    name: String,
    #[serde(default)]
    filters: Option<FiltersIn>,
    #[serde(default)]
    exceptions: Option<Vec<ExceptionIn>>,
    #[serde(default)]
    muted: Option<bool>,
    #[serde(default)]
    unmute_at: Option<String>,
    /// `{"<source>": {"<destination>": [{"label","value","parameters"}]}}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    shared_with: Option<SharedWith>,
}

/// A business rule's filters in CE's two spellings.
#[derive(Serialize, ToSchema)]
pub(crate) struct RuleFiltersOut {
    /// The UI query language.
    query: String,
    /// CE's JSON filter language, as a string.
    mongo: String,
}

impl RuleFiltersOut {
    fn new(f: &RuleFilters) -> RuleFiltersOut {
        RuleFiltersOut {
            query: f.query.clone(),
            mongo: f.mongo.clone(),
        }
    }
}

/// A business rule exception: `filters` or `tags` (the other is `null`).
#[derive(Serialize, ToSchema)]
pub(crate) struct RuleExceptionOut {
    name: String,
    filters: Option<RuleFiltersOut>,
    tags: Option<Vec<String>>,
}

/// One target of a sharing configuration, as CE's UI sends it.
#[derive(Serialize, ToSchema)]
pub(crate) struct ActionOut {
    /// What the UI shows (`Add to URL List`).
    label: String,
    /// `url` or `file`.
    value: String,
    /// The target's fields (`list`, `name`, `url_list_type`, ...).
    #[schema(value_type = Object)]
    parameters: Value,
}

/// A business rule as CE returns it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RuleOut {
    name: String,
    filters: RuleFiltersOut,
    exceptions: Vec<RuleExceptionOut>,
    muted: bool,
    unmute_at: Option<String>,
    /// `{"<source>": {"<destination>": [target, ...]}}`.
    shared_with: BTreeMap<String, BTreeMap<String, Vec<ActionOut>>>,
}

impl RuleOut {
    fn new(rule: &BusinessRule) -> RuleOut {
        RuleOut {
            name: rule.name.clone(),
            filters: RuleFiltersOut::new(&rule.filters),
            exceptions: rule
                .exceptions
                .iter()
                .map(|e| RuleExceptionOut {
                    name: e.name.clone(),
                    filters: e.filters.as_ref().map(RuleFiltersOut::new),
                    tags: e.tags.clone(),
                })
                .collect(),
            muted: rule.muted,
            unmute_at: rule.unmute_at.map(format_datetime),
            shared_with: rule
                .shared_with
                .iter()
                .map(|(source, destinations)| {
                    let destinations = destinations
                        .iter()
                        .map(|(dest, actions)| {
                            let actions = actions
                                .iter()
                                .map(|a| ActionOut {
                                    label: a.label.clone(),
                                    value: a.value.clone(),
                                    parameters: a.parameters.clone(),
                                })
                                .collect();
                            (dest.clone(), actions)
                        })
                        .collect();
                    (source.clone(), destinations)
                })
                .collect(),
        }
    }
}

/// `GET /api/cte/business_rules` → every rule, oldest first.
#[utoipa::path(
    get,
    path = "/api/cte/business_rules",
    operation_id = "list_business_rules",
    tag = "business_rules",
    responses(
        (status = 200, description = "Every rule, oldest first", body = Vec<RuleOut>),
    ),
    security(("bearer" = ["cte_read"]))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    _: Caller<CteRead>,
) -> Result<Json<Vec<RuleOut>>, ApiError> {
    let rules = state.run(|store| store.business_rules()).await?;
    Ok(Json(rules.iter().map(RuleOut::new).collect()))
}

/// `POST /api/cte/business_rules` → the stored rule. A rule cannot be created muted.
#[utoipa::path(
    post,
    path = "/api/cte/business_rules",
    operation_id = "create_business_rule",
    tag = "business_rules",
    request_body = RuleIn,
    responses(
        (status = 200, description = "The stored rule", body = RuleOut),
        (status = 400, description = "Filter does not parse", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid rule or sharing configuration", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["cte_write"]))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    _: Caller<CteWrite>,
    Json(body): Json<RuleIn>,
) -> Result<Json<RuleOut>, ApiError> {
    if body.muted == Some(true) {
        return Err(ApiError::Unprocessable(
            "A business rule cannot be created muted.".into(),
        ));
    }
    let rule = BusinessRule {
        name: body.name,
        filters: body
            .filters
            .map(FiltersIn::into_core)
            .transpose()?
            .unwrap_or_default(),
        exceptions: exceptions_into_core(body.exceptions.unwrap_or_default())?,
        muted: false,
        unmute_at: None,
        shared_with: body.shared_with.unwrap_or_default(),
    };
    let saved = state
        .run(move |store| -> Result<BusinessRule, ApiError> {
            let rule = checked(store, &rule)?;
            store.insert_business_rule(&rule)?;
            Ok(rule)
        })
        .await?;
    Ok(Json(RuleOut::new(&saved)))
}

/// `PATCH /api/cte/business_rule` with `name` and the fields to change → the stored rule.
/// Muting needs `unmuteAt` in the future; unmuting clears it.
#[utoipa::path(
    patch,
    path = "/api/cte/business_rule",
    operation_id = "update_business_rule",
    tag = "business_rules",
    request_body = RuleIn,
    responses(
        (status = 200, description = "The stored rule", body = RuleOut),
        (status = 400, description = "Filter does not parse", body = crate::error::ErrorBody),
        (status = 404, description = "No such rule", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid rule or sharing configuration", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["cte_write"]))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    _: Caller<CteWrite>,
    Json(body): Json<RuleIn>,
) -> Result<Json<RuleOut>, ApiError> {
    let now = state.now();
    let unmute_at = body
        .unmute_at
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            parse_datetime(s).ok_or_else(|| {
                ApiError::Unprocessable(format!(
                    "unmuteAt '{}' is not an ISO 8601 datetime.",
                    echo(s)
                ))
            })
        })
        .transpose()?;
    let filters = body.filters.map(FiltersIn::into_core).transpose()?;
    let exceptions = body.exceptions.map(exceptions_into_core).transpose()?;
    let name = body.name.trim().to_string();
    let (muted, shared_with) = (body.muted, body.shared_with);
    let saved = state
        .run(move |store| -> Result<BusinessRule, ApiError> {
            let mut rule = store.business_rule(&name)?.ok_or_else(|| {
                StoreError::NotFound(format!(
                    "Business rule with name '{}' does not exist.",
                    echo(&name)
                ))
            })?;
            if let Some(f) = filters {
                rule.filters = f;
            }
            if let Some(e) = exceptions {
                rule.exceptions = e;
            }
            if let Some(s) = shared_with {
                rule.shared_with = s;
            }
            apply_mute(&mut rule, muted, unmute_at, now)?;
            let rule = checked(store, &rule)?;
            store.update_business_rule(&rule)?;
            Ok(rule)
        })
        .await?;
    Ok(Json(RuleOut::new(&saved)))
}

/// CE's `BusinessRuleUpdate` rule: muting (or re-timing a muted rule) needs `unmuteAt` in the
/// future; an unmuted rule has no `unmuteAt`.
fn apply_mute(
    rule: &mut BusinessRule,
    muted: Option<bool>,
    unmute_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let muting = muted.unwrap_or(rule.muted);
    if !muting {
        if unmute_at.is_some() && muted.is_none() {
            return Err(ApiError::Unprocessable(
                "unmuteAt applies only to a muted business rule; send \"muted\": true with it."
                    .into(),
            ));
        }
        rule.muted = false;
        rule.unmute_at = None;
        return Ok(());
    }
    if muted.is_none() && unmute_at.is_none() {
        return Ok(()); // still muted until the stored time
    }
    match unmute_at {
        Some(t) if t > now => {
            rule.muted = true;
            rule.unmute_at = Some(t);
            Ok(())
        }
        Some(_) => Err(ApiError::Unprocessable(
            "unmuteAt must be in the future when muting a business rule.".into(),
        )),
        None => Err(ApiError::Unprocessable(
            "unmuteAt is required when muting a business rule.".into(),
        )),
    }
}

/// Validates `rule` against the stored world; runs on the blocking thread.
fn checked(
    store: &dyn cte_core::store::Store,
    rule: &BusinessRule,
) -> Result<BusinessRule, ApiError> {
    let configurations = store.configurations()?;
    let tenants = store.tenants()?;
    let tags: Vec<String> = store.tags()?.into_iter().map(|t| t.name).collect();
    let rules = store.business_rules()?;
    let ctx = RuleContext {
        configurations: &configurations,
        tenants: &tenants,
        tags: &tags,
        rules: &rules,
    };
    validate_rule(rule, &ctx).map_err(problems_error)
}

fn problems_error(problems: Vec<RuleProblem>) -> ApiError {
    let detail = problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    if problems.iter().any(RuleProblem::is_filter) {
        ApiError::BadRequest(detail)
    } else {
        ApiError::Unprocessable(detail)
    }
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct DeleteBody {
    name: String,
}

/// `DELETE /api/cte/business_rule` `{"name"}` → `{"success": true}`.
#[utoipa::path(
    delete,
    path = "/api/cte/business_rule",
    operation_id = "delete_business_rule",
    tag = "business_rules",
    request_body = DeleteBody,
    responses(
        (status = 200, description = "Deleted", body = SuccessOut),
        (status = 404, description = "No such rule", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid body", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["cte_write"]))
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    _: Caller<CteWrite>,
    Json(body): Json<DeleteBody>,
) -> Result<Json<SuccessOut>, ApiError> {
    let name = body.name.trim().to_string();
    state
        .run(move |store| store.delete_business_rule(&name))
        .await?;
    Ok(Json(SuccessOut::YES))
}

/// The rule that refers to tag `name`, if any (CE refuses to delete such a tag).
pub(crate) fn rule_using_tag(
    store: &dyn cte_core::store::Store,
    name: &str,
) -> Result<Option<String>, StoreError> {
    Ok(store
        .business_rules()?
        .into_iter()
        .find(|r| r.referenced_tags().contains(name))
        .map(|r| r.name))
}
