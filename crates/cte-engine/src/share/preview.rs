//! What the API shows beside a planned push: why each other selected indicator is left off the
//! list ([`exclusions`]), and the size of a selection before CE's cut ([`selection_size`], CE's
//! `business_rules/test`).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use cte_core::rule::BusinessRule;
use cte_core::share::Exclusion;
use cte_core::store::Store;
use cte_core::tenant::UrlListType;
use cte_core::time::format_datetime;

use super::plan::{sharing_filter, PlannedPush};

/// Why an indicator of the source that the rule's filters select is not on the planned list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excluded {
    /// Indicator value.
    pub value: String,
    /// `exception`, `retracted`, `inactive`, `expired`, `test`, `type`, `over cap`,
    /// `over 300000 entries` or `rejected by tenant`.
    pub reason: String,
    /// More: the exception's name, the cap, the tenant's words.
    pub detail: Option<String>,
}

/// Every indicator of `source` that the rule's filters (without exceptions) select and that the
/// planned push leaves off the list, newest first, with the first reason that applies: the rule's
/// exceptions, the source's retraction, inactive, expired (at the plan's time), test, the list's kind, CE's cut, an earlier
/// refusal by the tenant. Evaluated in memory over one store read.
pub fn exclusions(
    store: &dyn Store,
    rule: &BusinessRule,
    planned: &PlannedPush,
) -> Result<Vec<Excluded>, String> {
    let base = rule.filter().map_err(|e| e.detail())?;
    let exceptions = rule
        .exceptions
        .iter()
        .map(|e| e.filter().map(|f| (e.name.as_str(), f)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let listed: HashSet<&str> = planned.plan.entries.iter().map(String::as_str).collect();
    let cut: HashMap<&str, &Exclusion> = planned
        .plan
        .excluded
        .iter()
        .map(|(v, e)| (v.as_str(), e))
        .collect();
    let refused: HashMap<&str, &str> = planned
        .refused
        .iter()
        .map(|(v, r)| (v.as_str(), r.as_str()))
        .collect();
    let mut out = Vec::new();
    for ind in store
        .source_indicators(&base, &planned.source)
        .map_err(|e| e.to_string())?
    {
        if listed.contains(ind.value.as_str()) {
            continue;
        }
        let (reason, detail) =
            if let Some((name, _)) = exceptions.iter().find(|(_, f)| f.matches(&ind)) {
                ("exception", Some(format!("exception '{name}'")))
            } else if ind.source(&planned.source).is_some_and(|s| s.retracted) {
                ("retracted", None)
            } else if !ind.active {
                ("inactive", None)
            } else if let Some(at) = ind.expires_at.filter(|at| *at <= planned.at) {
                (
                    "expired",
                    Some(format!("expired at {}", format_datetime(at))),
                )
            } else if ind.test {
                ("test", None)
            } else if let Some(e) = cut.get(ind.value.as_str()) {
                match e {
                    Exclusion::Type => (
                        "type",
                        Some(format!(
                            "a {} does not go on a {} list",
                            ind.kind.as_str(),
                            planned.list.kind
                        )),
                    ),
                    Exclusion::OverCap { .. } => ("over cap", Some(e.reason())),
                    Exclusion::OverCount => ("over 300000 entries", Some(e.reason())),
                }
            } else if let Some(r) = refused.get(ind.value.as_str()) {
                ("rejected by tenant", Some(r.to_string()))
            } else {
                ("not selected", None)
            };
        out.push(Excluded {
            value: ind.value,
            reason: reason.to_string(),
            detail,
        });
    }
    Ok(out)
}

/// CE's `business_rules/test`: how many indicators a sharing configuration selects and the bytes
/// of the payload that would carry them all, uncut.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SelectionSize {
    /// MD5 and SHA-256 indicators.
    pub hash_count: usize,
    /// Bytes of the `list` value of the hash-list body (`h1,h2,...`), the part the tenant's size
    /// limit measures.
    pub hash_size: usize,
    /// URL-like indicators.
    pub url_count: usize,
    /// Bytes of the URL-list replace body (`{"data":{"urls":[...],"type":...}}`) holding them all.
    pub url_size: usize,
}

/// Sizes the selection of the sharing configuration `rule` / `source` (newest first, before the
/// cut); `list_type` is the URL list's match type.
pub fn selection_size(
    store: &dyn Store,
    rule: &BusinessRule,
    source: &str,
    list_type: UrlListType,
    now: DateTime<Utc>,
) -> Result<SelectionSize, String> {
    let filter = sharing_filter(rule, source, now)?;
    let candidates = store
        .share_candidates(&filter, source)
        .map_err(|e| e.to_string())?;
    let mut urls = Vec::new();
    let mut hashes = Vec::new();
    for c in candidates {
        if c.kind.is_hash() {
            hashes.push(c.value);
        } else if c.kind.is_url_like() {
            urls.push(c.value);
        }
    }
    Ok(SelectionSize {
        hash_count: hashes.len(),
        hash_size: cte_core::push::hash_list_value(&hashes).len(),
        url_count: urls.len(),
        url_size: cte_core::push::url_list_body(&urls, list_type).len(),
    })
}
