//! Pushing a planned list to the tenant: the URL-list and file-hash-list protocols of CE's Netskope
//! plugin (reference §2.3), made incremental and honest about what was applied.
//!
//! A URL-list push sends only what changed since the last acknowledged content (append when entries
//! only arrive, replace when something must leave), creates the list with its entries when it does
//! not exist, and always ends with a deploy, since changes are pending until then (reference §12).
//! Entries the tenant rejects are dropped and the call is retried once; they come back in
//! [`UrlPush::rejected`] with the tenant's reason. Nothing changed means no tenant call at all.

use std::collections::HashSet;

use cte_core::share::{url_list_change, UrlListChange};
use cte_core::tenant::{HashListOutcome, TenantClient, TenantError, UrlListPatch, UrlListType};

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
