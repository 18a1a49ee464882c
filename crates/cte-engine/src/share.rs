//! Pushing a planned list to the tenant: the URL-list and file-hash-list protocols of CE's Netskope
//! plugin (reference §2.3), made incremental and honest about what was applied.
//!
//! A URL-list push sends only what changed since the last acknowledged content (append when entries
//! only arrive, replace when something must leave), creates the list with its entries when it does
//! not exist, and always ends with a deploy, since changes are pending until then (reference §12).
//! Entries the tenant rejects are dropped and the call is retried once; they come back in
//! [`UrlPush::rejected`] with the tenant's reason. Nothing changed means no tenant call at all.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use cte_core::config::{Configuration, RunStatus};
use cte_core::filter::{parse_value, Filter};
use cte_core::indicator::DestinationStatus;
use cte_core::rule::{Action, BusinessRule, ShareTarget};
use cte_core::share::{
    plan_list, url_list_change, Exclusion, ListKind, ListPlan, ListRef, PushAck, ShareCandidate,
    ShareOutcome, UrlListChange,
};
use cte_core::store::{RunKind, Store};
use cte_core::tenant::{HashListOutcome, TenantClient, TenantError, UrlListPatch, UrlListType};
use cte_core::tenant_config::TenantConnector;
use cte_core::StoreError;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Where a URL-list push goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlListTarget {
    /// List name on the tenant.
    pub list: String,
    /// Exact or regex.
    pub list_type: UrlListType,
    /// Entry pushed when nothing else is (a URL list cannot be empty); removed once real entries exist.
    pub placeholder: String,
}

/// What a URL-list push did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlPush {
    /// Tenant calls made (reads included).
    pub calls: u32,
    /// The list content the tenant now holds (deployed), when it was pushed.
    pub content: Vec<String>,
    /// Entries the tenant refused, with its reason.
    pub rejected: Vec<(String, String)>,
    /// Whether a deploy was made.
    pub deployed: bool,
}

fn without(values: &[String], drop: &HashSet<String>) -> Vec<String> {
    values
        .iter()
        .filter(|v| !drop.contains(*v))
        .cloned()
        .collect()
}

/// Makes the tenant's list hold `wanted` (newest first), given what it was last acknowledged to
/// hold (`None` when unknown: the content is then replaced as a whole, which is safe to repeat).
pub async fn push_url_list(
    client: &dyn TenantClient,
    target: &UrlListTarget,
    wanted: &[String],
    acknowledged: Option<&[String]>,
) -> Result<UrlPush, TenantError> {
    let mut push = UrlPush::default();
    if let Some(ack) = acknowledged {
        if url_list_change(ack, wanted, &target.placeholder) == UrlListChange::None {
            push.content = ack.to_vec();
            return Ok(push);
        }
    }
    push.calls += 1;
    let existing = client
        .url_list_refs()
        .await?
        .into_iter()
        .find(|l| l.name == target.list);
    let mut dropped: HashSet<String> = HashSet::new();
    // At most two attempts: the second without the entries the first had rejected.
    for attempt in 0..2 {
        let entries = without(wanted, &dropped);
        let content = if entries.is_empty() {
            vec![target.placeholder.clone()]
        } else {
            entries
        };
        let result = match &existing {
            None => {
                push.calls += 1;
                client
                    .create_url_list(&target.list, &content, target.list_type)
                    .await
                    .map(|_| ())
            }
            Some(list) => {
                let change = match acknowledged {
                    Some(ack) => url_list_change(ack, &content, &target.placeholder),
                    None => UrlListChange::Replace(content.clone()),
                };
                let (patch, urls) = match change {
                    UrlListChange::None => (None, Vec::new()),
                    UrlListChange::Append(new) => (Some(UrlListPatch::Append), new),
                    UrlListChange::Replace(all) => (Some(UrlListPatch::Replace), all),
                };
                match patch {
                    None => Ok(()),
                    Some(patch) => {
                        push.calls += 1;
                        client
                            .patch_url_list(list.id, patch, &urls, target.list_type)
                            .await
                            .map(|_| ())
                    }
                }
            }
        };
        match result {
            Ok(()) => {
                push.content = content;
                break;
            }
            Err(TenantError::EntriesRejected { rejected }) if attempt == 0 => {
                for (value, reason) in rejected {
                    dropped.insert(value.clone());
                    push.rejected.push((value, reason));
                }
            }
            Err(e) => return Err(e),
        }
    }
    push.calls += 1;
    client.deploy_url_lists().await?;
    push.deployed = true;
    Ok(push)
}

/// What a file-hash-list push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashPush {
    /// Same set as the last acknowledged push: no tenant call.
    Skipped,
    /// Sent; the tenant replaced the list.
    Updated,
    /// Sent; the tenant already held exactly these hashes.
    Unchanged,
}

/// Replaces the file-hash list with `hashes` unless it is the set last acknowledged.
pub async fn push_hash_list(
    client: &dyn TenantClient,
    list: &str,
    hashes: &[String],
    acknowledged: Option<&[String]>,
) -> Result<HashPush, TenantError> {
    if let Some(ack) = acknowledged {
        let a: HashSet<&str> = ack.iter().map(String::as_str).collect();
        let b: HashSet<&str> = hashes.iter().map(String::as_str).collect();
        if a == b {
            return Ok(HashPush::Skipped);
        }
    }
    Ok(match client.replace_file_hash_list(list, hashes).await? {
        HashListOutcome::Updated => HashPush::Updated,
        HashListOutcome::Unchanged => HashPush::Unchanged,
    })
}

/// What one sharing configuration's target did in a share run.
#[derive(Debug, Clone)]
pub struct TargetReport {
    /// Business rule.
    pub rule: String,
    /// Source configuration.
    pub source: String,
    /// Destination configuration.
    pub destination: String,
    /// `url:<list>` or `file:<list>`.
    pub target: String,
    /// Entries on the list after the run.
    pub shared: usize,
    /// Left out by the cap or the 300k limit.
    pub unshared: usize,
    /// Refused by the tenant.
    pub failed: usize,
    /// Tenant calls made.
    pub calls: u32,
    /// `Err` with the reason when this target failed.
    pub outcome: Result<(), String>,
}

impl TargetReport {
    /// One line for logs.
    pub fn summary(&self) -> String {
        let head = format!(
            "rule '{}' {} -> {} {}",
            self.rule, self.source, self.destination, self.target
        );
        match &self.outcome {
            Ok(()) => format!(
                "{head}: {} shared, {} unshared, {} failed, {} tenant calls",
                self.shared, self.unshared, self.failed, self.calls
            ),
            Err(e) => format!("{head}: failed: {e}"),
        }
    }
}

/// Why a share run did not run.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    /// Another worker holds the share lease.
    #[error("another worker ({holder}) is sharing until {until}; this run skipped")]
    Busy {
        /// Who holds it.
        holder: String,
        /// Until when.
        until: DateTime<Utc>,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How long a share run may hold the lease before another worker may take over.
pub const SHARE_LEASE: Duration = Duration::minutes(30);

/// The filter of what a sharing configuration pushes: the rule's selection, reported by `source`
/// and not retracted by it, active, and not a test indicator.
pub fn sharing_filter(rule: &BusinessRule, source: &str) -> Result<Filter, String> {
    let selection = rule.selection().map_err(|e| e.to_string())?;
    let own = parse_value(&json!({
        "sources": {"$elemMatch": {"source": source, "retracted": false}},
        "active": true,
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

fn outcomes(plan: &ListPlan, rejected: &[(String, String)]) -> Vec<ShareOutcome> {
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

fn payload_digest(entries: &[String]) -> String {
    let json = serde_json::to_vec(entries).expect("strings serialize");
    hex::encode(Sha256::digest(&json))
}

/// Runs one share cycle over every non-muted rule's sharing configurations (or only those whose
/// destination is in `only`), holding the `share` lease so that two workers never push at once.
pub async fn share_all(
    store: &dyn Store,
    connector: &dyn TenantConnector,
    clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
    holder: &str,
    only: Option<&[String]>,
) -> Result<Vec<TargetReport>, ShareError> {
    let now = clock();
    if let Some((holder, until)) = store.try_lease("share", holder, now, now + SHARE_LEASE)? {
        return Err(ShareError::Busy { holder, until });
    }
    let result = share_rules(store, connector, clock, only).await;
    store.release_lease("share", holder)?;
    let reports = result?;
    let mut by_destination: HashMap<String, Vec<&TargetReport>> = HashMap::new();
    for r in &reports {
        by_destination
            .entry(r.destination.clone())
            .or_default()
            .push(r);
    }
    for (destination, rs) in by_destination {
        let ok = rs.iter().all(|r| r.outcome.is_ok());
        let message = rs
            .iter()
            .map(|r| r.summary())
            .collect::<Vec<_>>()
            .join("; ");
        store.record_run(
            &destination,
            RunKind::Share,
            &RunStatus {
                last_run_at: Some(now),
                last_run_success: Some(ok),
                message: Some(message),
            },
        )?;
    }
    Ok(reports)
}

async fn share_rules(
    store: &dyn Store,
    connector: &dyn TenantConnector,
    clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
    only: Option<&[String]>,
) -> Result<Vec<TargetReport>, StoreError> {
    let mut reports = Vec::new();
    let configurations: HashMap<String, Configuration> = store
        .configurations()?
        .into_iter()
        .map(|c| (c.name.clone(), c))
        .collect();
    for rule in store.business_rules()? {
        if rule.muted {
            continue;
        }
        for (source, destination, actions) in rule.sharing_configurations() {
            if only.is_some_and(|d| !d.iter().any(|n| n == destination)) {
                continue;
            }
            let Some(dest) = configurations.get(destination) else {
                continue;
            };
            if !dest.active || !dest.plugin.is_netskope() {
                continue;
            }
            for action in actions {
                let mut report = TargetReport {
                    rule: rule.name.clone(),
                    source: source.to_string(),
                    destination: destination.to_string(),
                    target: action.value.clone(),
                    shared: 0,
                    unshared: 0,
                    failed: 0,
                    calls: 0,
                    outcome: Ok(()),
                };
                if let Err(e) = share_target(
                    store,
                    connector,
                    clock,
                    &rule,
                    source,
                    dest,
                    action,
                    &mut report,
                )
                .await
                {
                    report.outcome = Err(e);
                }
                match &report.outcome {
                    Ok(()) => tracing::info!("{}", report.summary()),
                    Err(_) => tracing::error!("{}", report.summary()),
                }
                reports.push(report);
            }
        }
    }
    Ok(reports)
}

#[allow(clippy::too_many_arguments)]
async fn share_target(
    store: &dyn Store,
    connector: &dyn TenantConnector,
    clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
    rule: &BusinessRule,
    source: &str,
    dest: &Configuration,
    action: &Action,
    report: &mut TargetReport,
) -> Result<(), String> {
    let target = ShareTarget::from_action(action)?;
    let key = target.list_key();
    report.target = format!("{}:{}", key.kind, key.name);
    let tenant_name = dest
        .tenant
        .as_deref()
        .ok_or("the destination names no tenant")?;
    let tenant = store
        .tenant(tenant_name)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("tenant '{tenant_name}' does not exist"))?;
    let client = connector
        .connect(&tenant, dest.ssl_validation)
        .map_err(|e| e.to_string())?;
    let filter = sharing_filter(rule, source)?;
    let list = ListRef {
        tenant: tenant.name.clone(),
        kind: key.kind.to_string(),
        list: key.name.clone(),
    };
    let state = store.list_state(&list).map_err(|e| e.to_string())?;
    // Values this list's tenant refused before are not offered again (they stay `failed`).
    let refused: HashMap<&str, &str> = state
        .rejected
        .iter()
        .map(|(v, r)| (v.as_str(), r.as_str()))
        .collect();
    let mut candidates = store
        .share_candidates(&filter, source)
        .map_err(|e| e.to_string())?;
    let mut still_refused: Vec<(String, String)> = Vec::new();
    candidates.retain(|c| match refused.get(c.value.as_str()) {
        Some(reason) => {
            still_refused.push((c.value.clone(), reason.to_string()));
            false
        }
        None => true,
    });
    let (kind, plan) = plan_target(&candidates, &target);
    let acknowledged =
        (!state.unconfirmed && state.generation > 0).then_some(state.content.as_slice());

    // Write the outbox row before anything is sent; acknowledge after the tenant has applied it.
    let outbox_id = store
        .begin_push(&list, &dest.name, &payload_digest(&plan.entries), clock())
        .map_err(|e| e.to_string())?;
    let (content, rejected, calls) = match &target {
        ShareTarget::UrlList(t) => {
            let push = push_url_list(
                client.as_ref(),
                &UrlListTarget {
                    list: t.list.clone(),
                    list_type: t.list_type,
                    placeholder: t.default_url.clone(),
                },
                &plan.entries,
                acknowledged,
            )
            .await
            .map_err(|e| e.to_string())?;
            (push.content, push.rejected, push.calls)
        }
        ShareTarget::FileHashList(t) => {
            let hashes = if plan.entries.is_empty() {
                vec![t.default_file_hash.clone()]
            } else {
                plan.entries.clone()
            };
            let pushed = push_hash_list(client.as_ref(), &t.list, &hashes, acknowledged)
                .await
                .map_err(|e| e.to_string())?;
            let calls = u32::from(pushed != HashPush::Skipped);
            (hashes, Vec::new(), calls)
        }
        _ => return Err("unsupported target".into()),
    };
    let mut outcomes = outcomes(&plan, &rejected);
    outcomes.extend(still_refused.iter().map(|(v, reason)| ShareOutcome {
        value: v.clone(),
        status: DestinationStatus::Failed,
        reason: Some(format!("rejected by tenant: {reason}")),
    }));
    let mut all_rejected = still_refused;
    all_rejected.extend(rejected.iter().cloned());
    report.calls = calls;
    report.failed = all_rejected.len();
    report.unshared = outcomes
        .iter()
        .filter(|o| o.status == DestinationStatus::Unshared)
        .count();
    report.shared = outcomes
        .iter()
        .filter(|o| o.status == DestinationStatus::Shared)
        .count();
    store
        .ack_push(
            &PushAck {
                outbox_id,
                list: &list,
                content: &content,
                rejected: &all_rejected,
                source,
                destination: &dest.name,
                list_kind: kind,
                outcomes: &outcomes,
            },
            clock(),
        )
        .map_err(|e| e.to_string())?;
    Ok(())
}
