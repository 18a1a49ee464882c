//! What the next push of one sharing configuration's target will be, computed from the stored
//! state alone: the rule's selection, CE's cut, earlier refusals, the outcomes and the calls.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use cte_core::config::Configuration;
use cte_core::filter::{parse_value, Filter};
use cte_core::indicator::DestinationStatus;
use cte_core::rule::{Action, BusinessRule, ShareTarget};
use cte_core::share::{
    plan_list, Exclusion, ListKind, ListPlan, ListRef, ListState, ShareCandidate, ShareOutcome,
};
use cte_core::store::Store;
use cte_core::time::format_datetime;
use serde_json::json;

use super::execute::{
    content_of, hash_list_calls, url_list_calls, PlannedCall, UrlListOnTenant, UrlListTarget,
};

/// The filter of what a sharing configuration pushes at `now`: the rule's selection, reported by
/// `source` and not retracted by it, active, not expired (whether or not the age cycle has marked
/// it inactive yet), and not a test indicator.
pub fn sharing_filter(
    rule: &BusinessRule,
    source: &str,
    now: DateTime<Utc>,
) -> Result<Filter, String> {
    let selection = rule.selection().map_err(|e| e.to_string())?;
    let own = parse_value(&json!({
        "sources": {"$elemMatch": {"source": source, "retracted": false}},
        "active": true,
        "expiresAt": {"$not": {"$lte": format_datetime(now)}},
        "test": false,
    }))
    .map_err(|e| e.detail())?;
    Ok(selection.and(own))
}

/// Plans one target: the entries to push, newest first, and every selected indicator's outcome
/// before the tenant has answered.
pub fn plan_target(candidates: &[ShareCandidate], target: &ShareTarget) -> (ListKind, ListPlan) {
    let (kind, cap) = match target {
        ShareTarget::UrlList(t) => (ListKind::Url, t.max_size_mb),
        ShareTarget::FileHashList(t) => (ListKind::FileHash, t.max_size_mb),
        _ => (ListKind::Url, 0),
    };
    let plan = plan_list(
        candidates.iter().map(|c| (c.value.as_str(), c.kind)),
        kind,
        cap,
    );
    (kind, plan)
}

pub(super) fn outcomes(plan: &ListPlan, rejected: &[(String, String)]) -> Vec<ShareOutcome> {
    let rejected_set: HashMap<&str, &str> = rejected
        .iter()
        .map(|(v, r)| (v.as_str(), r.as_str()))
        .collect();
    let mut out = Vec::with_capacity(plan.entries.len() + plan.excluded.len());
    for v in &plan.entries {
        out.push(match rejected_set.get(v.as_str()) {
            Some(reason) => ShareOutcome {
                value: v.clone(),
                status: DestinationStatus::Failed,
                reason: Some(format!("rejected by tenant: {reason}")),
            },
            None => ShareOutcome {
                value: v.clone(),
                status: DestinationStatus::Shared,
                reason: None,
            },
        });
    }
    for (v, why) in &plan.excluded {
        if *why != Exclusion::Type {
            out.push(ShareOutcome {
                value: v.clone(),
                status: DestinationStatus::Unshared,
                reason: Some(why.reason()),
            });
        }
    }
    out
}

/// What the next push of one sharing configuration's target will do, computed from the stored
/// state only (nothing is written, the tenant is not called).
#[derive(Debug, Clone)]
pub struct PlannedPush {
    /// The time the plan was made for: what has expired by then is left out.
    pub at: DateTime<Utc>,
    /// Business rule.
    pub rule: String,
    /// Source configuration.
    pub source: String,
    /// Destination configuration.
    pub destination: String,
    /// The target.
    pub target: ShareTarget,
    /// The tenant list.
    pub list: ListRef,
    /// Kind of list.
    pub kind: ListKind,
    /// What the store knows of the list.
    pub state: ListState,
    /// CE's cut of the selection: entries in push order and what was left out.
    pub plan: ListPlan,
    /// Selected values the tenant refused for this list before; they are not offered again.
    pub refused: Vec<(String, String)>,
    /// Every selected indicator's status if the tenant accepts the push as planned.
    pub outcomes: Vec<ShareOutcome>,
    /// The list content after the push, in push order (the placeholder when nothing is selected).
    pub content: Vec<String>,
    /// The tenant calls, in order, with their exact bodies
    /// ([`PushCall::render`](cte_core::push::PushCall::render)).
    pub calls: Vec<PlannedCall>,
}

impl PlannedPush {
    /// The content the tenant was last acknowledged to hold, when it is known.
    pub fn acknowledged(&self) -> Option<&[String]> {
        (!self.state.unconfirmed && self.state.generation > 0)
            .then_some(self.state.content.as_slice())
    }

    /// The URL-list target as [`push_url_list`] takes it.
    pub(super) fn url_target(&self) -> Option<UrlListTarget> {
        match &self.target {
            ShareTarget::UrlList(t) => Some(UrlListTarget {
                list: t.list.clone(),
                list_type: t.list_type,
                placeholder: t.default_url.clone(),
            }),
            _ => None,
        }
    }

    /// Whether the push will call the tenant at all.
    pub fn changes_anything(&self) -> bool {
        !self.calls.is_empty()
    }

    /// Computes the calls again for what is now known of the URL list on the tenant (a preview
    /// reads the tenant's list names to show the exact write; a file-hash push is unaffected).
    pub fn resolve(&mut self, on_tenant: UrlListOnTenant) {
        if let Some(t) = self.url_target() {
            self.calls = url_list_calls(&t, &self.plan.entries, self.acknowledged(), on_tenant);
        }
    }
}

/// The destination's tenant configuration name, or why there is none.
pub(super) fn tenant_of(dest: &Configuration) -> Result<&str, String> {
    dest.tenant
        .as_deref()
        .ok_or_else(|| "the destination names no tenant".to_string())
}

/// Plans the next push of one target of the sharing configuration `rule` / `source` → `dest`
/// from the stored state (see [`PlannedPush`]); `on_tenant` is what is known of a URL list.
pub fn plan_push(
    store: &dyn Store,
    rule: &BusinessRule,
    source: &str,
    dest: &Configuration,
    action: &Action,
    on_tenant: UrlListOnTenant,
    now: DateTime<Utc>,
) -> Result<PlannedPush, String> {
    let mut planned = plan_selection(store, rule, source, dest, action, now)?;
    let mut outcomes = outcomes(&planned.plan, &[]);
    outcomes.extend(
        planned
            .refused
            .iter()
            .map(|(v, reason)| refused_outcome(v, reason)),
    );
    planned.outcomes = outcomes;
    planned.content = match &planned.target {
        ShareTarget::UrlList(t) => content_of(&planned.plan.entries, &t.default_url),
        ShareTarget::FileHashList(t) => content_of(&planned.plan.entries, &t.default_file_hash),
        _ => return Err("unsupported target".into()),
    };
    planned.calls = match &planned.target {
        ShareTarget::FileHashList(t) => {
            hash_list_calls(&t.list, &planned.content, planned.acknowledged())
        }
        _ => Vec::new(),
    };
    planned.resolve(on_tenant);
    Ok(planned)
}

/// What a push needs of [`plan_push`]: the selection, CE's cut, earlier refusals and what the
/// store knows of the list, with `outcomes`, `content` and `calls` left empty. Those are for a
/// preview; with 300,000 entries each is another full copy of the list, which the worker would
/// otherwise hold through its push and acknowledgement.
pub(super) fn plan_selection(
    store: &dyn Store,
    rule: &BusinessRule,
    source: &str,
    dest: &Configuration,
    action: &Action,
    now: DateTime<Utc>,
) -> Result<PlannedPush, String> {
    let target = ShareTarget::from_action(action)?;
    if !matches!(
        target,
        ShareTarget::UrlList(_) | ShareTarget::FileHashList(_)
    ) {
        return Err("unsupported target".into());
    }
    let key = target.list_key();
    let list = ListRef {
        tenant: tenant_of(dest)?.to_string(),
        kind: key.kind.to_string(),
        list: key.name.clone(),
    };
    let filter = sharing_filter(rule, source, now)?;
    let state = store.list_state(&list).map_err(|e| e.to_string())?;
    // Values this list's tenant refused before are not offered again (they stay `failed`).
    let refused_before: HashMap<&str, &str> = state
        .rejected
        .iter()
        .map(|(v, r)| (v.as_str(), r.as_str()))
        .collect();
    let mut candidates = store
        .share_candidates(&filter, source)
        .map_err(|e| e.to_string())?;
    let mut refused: Vec<(String, String)> = Vec::new();
    candidates.retain(|c| match refused_before.get(c.value.as_str()) {
        Some(reason) => {
            refused.push((c.value.clone(), reason.to_string()));
            false
        }
        None => true,
    });
    let (kind, plan) = plan_target(&candidates, &target);
    Ok(PlannedPush {
        at: now,
        rule: rule.name.clone(),
        source: source.to_string(),
        destination: dest.name.clone(),
        target,
        list,
        kind,
        state,
        plan,
        refused,
        outcomes: Vec::new(),
        content: Vec::new(),
        calls: Vec::new(),
    })
}

pub(super) fn refused_outcome(value: &str, reason: &str) -> ShareOutcome {
    ShareOutcome {
        value: value.to_string(),
        status: DestinationStatus::Failed,
        reason: Some(format!("rejected by tenant: {reason}")),
    }
}
