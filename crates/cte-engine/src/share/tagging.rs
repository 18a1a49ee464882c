//! CE's tagging side effects of a push: `Unshared` on what a list left out, `Invalid host` on what
//! the tenant refused, unless the destination turned tagging off.

use std::collections::HashSet;

use cte_core::config::Configuration;
use cte_core::query::Locator;
use cte_core::share::{Exclusion, ListPlan};
use cte_core::store::Store;
use cte_core::tag::Tag;
use cte_core::tenant_config::NetskopeParams;
use cte_core::StoreError;

/// CE's tag on indicators a list left out.
pub const UNSHARED_TAG: &str = "Unshared";
/// CE's tag on indicators the tenant refused.
pub const INVALID_HOST_TAG: &str = "Invalid host";
/// CE's colour for both tags.
pub const TAG_COLOR: &str = "#ED3347";

/// Whether the destination's `enable_tagging` is on (CE's default: yes).
pub fn tagging_enabled(dest: &Configuration) -> bool {
    NetskopeParams::from_json(&dest.parameters)
        .map(|p| p.enable_tagging)
        .unwrap_or(true)
}

/// CE's tagging side effects of a push, on every source's record of the indicators concerned (as
/// CE's plugin tags them): `Unshared` on the indicators the cut left out and off the shared ones,
/// `Invalid host` on the ones the tenant refused. The tags are created when missing.
pub(super) fn apply_tags(
    store: &dyn Store,
    plan: &ListPlan,
    rejected: &[(String, String)],
) -> Result<(), StoreError> {
    let cut: Vec<String> = plan
        .excluded
        .iter()
        .filter(|(_, e)| *e != Exclusion::Type)
        .map(|(v, _)| v.clone())
        .collect();
    let refused: HashSet<&str> = rejected.iter().map(|(v, _)| v.as_str()).collect();
    let shared: Vec<String> = plan
        .entries
        .iter()
        .filter(|v| !refused.contains(v.as_str()))
        .cloned()
        .collect();
    let rejected: Vec<String> = rejected.iter().map(|(v, _)| v.clone()).collect();
    let needed: Vec<String> = [
        (!cut.is_empty()).then_some(UNSHARED_TAG),
        (!rejected.is_empty()).then_some(INVALID_HOST_TAG),
    ]
    .into_iter()
    .flatten()
    .map(str::to_string)
    .collect();
    for name in store.missing_tags(&needed)? {
        match store.insert_tag(&Tag {
            name,
            color: TAG_COLOR.into(),
        }) {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let on = |values: Vec<String>| Locator::Values {
        values,
        source: None,
    };
    let unshared = [UNSHARED_TAG.to_string()];
    if !cut.is_empty() {
        store.edit_tags(&on(cut), &unshared, &[])?;
    }
    if !shared.is_empty() {
        store.edit_tags(&on(shared), &[], &unshared)?;
    }
    if !rejected.is_empty() {
        store.edit_tags(&on(rejected), &[INVALID_HOST_TAG.to_string()], &[])?;
    }
    Ok(())
}
