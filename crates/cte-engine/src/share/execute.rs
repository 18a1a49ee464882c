//! Pushing a planned list to the tenant: the URL-list and file-hash-list protocols of CE's Netskope
//! plugin (reference §2.3), made incremental and honest about what was applied.
//!
//! A URL-list push sends only what changed since the last acknowledged content (append when entries
//! only arrive, replace when something must leave), creates the list with its entries when it does
//! not exist, and always ends with a deploy, since changes are pending until then (reference §12).
//! Entries the tenant rejects are dropped and the call is retried once; they come back in
//! [`UrlPush::rejected`] with the tenant's reason. Nothing changed means no tenant call at all.

use std::collections::HashSet;

use cte_core::push::PushCall;
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

/// What the caller knows of a URL list on the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlListOnTenant {
    /// Not read yet: a preview shows both possible writes.
    Unknown,
    /// The tenant has no list of that name: it is created.
    Missing,
    /// The tenant has it under this id.
    Exists(i64),
}

/// One call of a planned push, and when it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedCall {
    /// The call; [`PushCall::render`] gives its exact request.
    pub call: PushCall,
    /// `None` when the call is sent; otherwise the condition under which it is (a preview that
    /// does not know whether the list exists shows both writes).
    pub when: Option<String>,
}

pub(super) fn content_of(entries: &[String], placeholder: &str) -> Vec<String> {
    if entries.is_empty() {
        vec![placeholder.to_string()]
    } else {
        entries.to_vec()
    }
}

/// The write that makes a list hold `content`: create when the list is missing (`existing` is
/// `None`), else the minimal patch against the acknowledged content (a replace when that is
/// unknown); `None` when nothing changes. `Some(None)` means the list exists under an id not read
/// yet.
fn url_list_write(
    target: &UrlListTarget,
    content: &[String],
    acknowledged: Option<&[String]>,
    existing: Option<Option<i64>>,
) -> Option<PushCall> {
    let Some(id) = existing else {
        return Some(PushCall::CreateUrlList {
            name: target.list.clone(),
            urls: content.to_vec(),
            list_type: target.list_type,
        });
    };
    let change = match acknowledged {
        Some(ack) => url_list_change(ack, content, &target.placeholder),
        None => UrlListChange::Replace(content.to_vec()),
    };
    let (patch, urls) = match change {
        UrlListChange::None => return None,
        UrlListChange::Append(new) => (UrlListPatch::Append, new),
        UrlListChange::Replace(all) => (UrlListPatch::Replace, all),
    };
    Some(PushCall::PatchUrlList {
        id,
        patch,
        urls,
        list_type: target.list_type,
    })
}

/// The calls [`push_url_list`] makes for `wanted` when the tenant accepts every entry: none when
/// the acknowledged content already matches; else the list read, the write, and the deploy.
pub fn url_list_calls(
    target: &UrlListTarget,
    wanted: &[String],
    acknowledged: Option<&[String]>,
    on_tenant: UrlListOnTenant,
) -> Vec<PlannedCall> {
    if let Some(ack) = acknowledged {
        if url_list_change(ack, wanted, &target.placeholder) == UrlListChange::None {
            return Vec::new();
        }
    }
    let content = content_of(wanted, &target.placeholder);
    let sent = |call| PlannedCall { call, when: None };
    let mut calls = vec![sent(PushCall::ListUrlLists)];
    match on_tenant {
        UrlListOnTenant::Missing => {
            calls.extend(url_list_write(target, &content, acknowledged, None).map(sent))
        }
        UrlListOnTenant::Exists(id) => {
            calls.extend(url_list_write(target, &content, acknowledged, Some(Some(id))).map(sent))
        }
        UrlListOnTenant::Unknown => {
            if let Some(call) = url_list_write(target, &content, acknowledged, None) {
                calls.push(PlannedCall {
                    call,
                    when: Some("if the tenant has no list of this name".into()),
                });
            }
            if let Some(call) = url_list_write(target, &content, acknowledged, Some(None)) {
                calls.push(PlannedCall {
                    call,
                    when: Some("if the tenant has the list ({id} from the read)".into()),
                });
            }
        }
    }
    calls.push(sent(PushCall::DeployUrlLists));
    calls
}

/// The calls [`push_hash_list`] makes: none when the set is the one last acknowledged.
pub fn hash_list_calls(
    list: &str,
    hashes: &[String],
    acknowledged: Option<&[String]>,
) -> Vec<PlannedCall> {
    if let Some(ack) = acknowledged {
        let a: HashSet<&str> = ack.iter().map(String::as_str).collect();
        let b: HashSet<&str> = hashes.iter().map(String::as_str).collect();
        if a == b {
            return Vec::new();
        }
    }
    vec![PlannedCall {
        call: PushCall::ReplaceFileHashList {
            name: list.to_string(),
            hashes: hashes.to_vec(),
        },
        when: None,
    }]
}

/// Sends one planned call through the tenant port method of the same name and arguments, which
/// builds its body with the same `cte_core::push` function [`PushCall::render`] uses.
pub(super) async fn send_call(
    client: &dyn TenantClient,
    call: &PushCall,
) -> Result<(), TenantError> {
    match call {
        PushCall::ListUrlLists => client.url_list_refs().await.map(|_| ()),
        PushCall::CreateUrlList {
            name,
            urls,
            list_type,
        } => client
            .create_url_list(name, urls, *list_type)
            .await
            .map(|_| ()),
        PushCall::PatchUrlList {
            id: Some(id),
            patch,
            urls,
            list_type,
        } => client
            .patch_url_list(*id, *patch, urls, *list_type)
            .await
            .map(|_| ()),
        PushCall::PatchUrlList { id: None, .. } => Err(TenantError::InvalidInput(
            "a URL-list patch needs the list id".into(),
        )),
        PushCall::DeployUrlLists => client.deploy_url_lists().await.map(|_| ()),
        PushCall::ReplaceFileHashList { name, hashes } => client
            .replace_file_hash_list(name, hashes)
            .await
            .map(|_| ()),
    }
}

/// Makes the tenant's list hold `wanted` (newest first), given what it was last acknowledged to
/// hold (`None` when unknown: the content is then replaced as a whole, which is safe to repeat).
/// The calls are [`url_list_calls`]'s for the list as the read finds it; when the tenant rejects
/// entries, the write is computed again without them and sent once more.
pub async fn push_url_list(
    client: &dyn TenantClient,
    target: &UrlListTarget,
    wanted: &[String],
    acknowledged: Option<&[String]>,
) -> Result<UrlPush, TenantError> {
    let mut push = UrlPush::default();
    // Nothing changed: no tenant call. The test of `url_list_calls`, without building its calls
    // (each a full copy of the list).
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
        .find(|l| l.name == target.list)
        .map(|l| Some(l.id));
    let mut dropped: HashSet<String> = HashSet::new();
    // At most two attempts: the second without the entries the first had rejected.
    for attempt in 0..2 {
        let content = content_of(&without(wanted, &dropped), &target.placeholder);
        let result = match url_list_write(target, &content, acknowledged, existing) {
            None => Ok(()),
            Some(call) => {
                push.calls += 1;
                send_call(client, &call).await
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
    send_call(client, &PushCall::DeployUrlLists).await?;
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

/// Replaces the file-hash list with `hashes` unless it is the set last acknowledged
/// (the call of [`hash_list_calls`]).
pub async fn push_hash_list(
    client: &dyn TenantClient,
    list: &str,
    hashes: &[String],
    acknowledged: Option<&[String]>,
) -> Result<HashPush, TenantError> {
    let mut outcome = HashPush::Skipped;
    for planned in hash_list_calls(list, hashes, acknowledged) {
        if let PushCall::ReplaceFileHashList { name, hashes } = &planned.call {
            outcome = match client.replace_file_hash_list(name, hashes).await? {
                HashListOutcome::Updated => HashPush::Updated,
                HashListOutcome::Unchanged => HashPush::Unchanged,
            };
        }
    }
    Ok(outcome)
}
