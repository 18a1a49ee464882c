//! One share run ([`share_all`]): every non-muted rule's sharing configurations under the `share`
//! lease, each target planned, written to the outbox, pushed, acknowledged and tagged, and the run
//! recorded on each destination.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Duration, Utc};
use cte_core::config::{Configuration, RunStatus};
use cte_core::indicator::DestinationStatus;
use cte_core::rule::{Action, BusinessRule, ShareTarget};
use cte_core::share::PushAck;
use cte_core::store::{RunKind, Store};
use cte_core::tenant_config::TenantConnector;
use cte_core::StoreError;
use sha2::{Digest, Sha256};

use super::execute::{content_of, push_hash_list, push_url_list, HashPush};
use super::plan::{outcomes, plan_selection, refused_outcome, tenant_of};
use super::tagging::{apply_tags, tagging_enabled};

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

/// How long the share lease outlives its holder's last renewal by default: a worker killed while
/// sharing blocks the others for at most this long.
pub const DEFAULT_SHARE_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// Who shares, and how long the lease lasts past each renewal. The holder renews it every third of
/// `lapse` while the cycle runs, so a live holder keeps it however long the cycle takes, and a
/// holder that stops (killed, frozen, cut off from the database) loses it `lapse` after its last
/// renewal, on any platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareLease {
    /// A name unique to this process, shown to the workers it keeps out.
    pub holder: String,
    /// How long the lease lasts past each renewal.
    pub lapse: std::time::Duration,
}

impl ShareLease {
    /// A lease for `holder` with [`DEFAULT_SHARE_LEASE`].
    pub fn new(holder: impl Into<String>) -> ShareLease {
        ShareLease {
            holder: holder.into(),
            lapse: DEFAULT_SHARE_LEASE,
        }
    }

    fn until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        Duration::from_std(self.lapse)
            .ok()
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Renews the lease every third of `lapse`, for ever; sets `lost` when another holder has it.
    async fn keep(
        &self,
        store: &dyn Store,
        clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
        lost: &AtomicBool,
    ) {
        let every = (self.lapse / 3).max(std::time::Duration::from_millis(10));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let now = clock();
            match store.try_lease(SHARE_LEASE_NAME, &self.holder, now, self.until(now)) {
                Ok(None) => {}
                Ok(Some((other, _))) => {
                    tracing::error!(holder = %other, "the share lease was taken over; stopping after this target");
                    lost.store(true, Ordering::Relaxed);
                }
                Err(e) => tracing::warn!("cannot renew the share lease: {e}"),
            }
        }
    }
}

const SHARE_LEASE_NAME: &str = "share";

fn payload_digest(entries: &[String]) -> String {
    let json = serde_json::to_vec(entries).expect("strings serialize");
    hex::encode(Sha256::digest(&json))
}

/// Runs one share cycle over every non-muted rule's sharing configurations (or only those whose
/// destination is in `only`), holding the `share` lease (renewed while it runs, see
/// [`ShareLease`]) so that two workers never push at once.
pub async fn share_all(
    store: &dyn Store,
    connector: &dyn TenantConnector,
    clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
    lease: &ShareLease,
    only: Option<&[String]>,
) -> Result<Vec<TargetReport>, ShareError> {
    share_all_until(
        store,
        connector,
        clock,
        lease,
        only,
        &AtomicBool::new(false),
    )
    .await
}

/// [`share_all`], stopping before the next target once `stop` is set (a SIGTERM): the target
/// being pushed is finished and acknowledged, the lease given back, and the targets not reached
/// are left for the next cycle (their destinations' runs are not recorded, so they stay due).
pub async fn share_all_until(
    store: &dyn Store,
    connector: &dyn TenantConnector,
    clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
    lease: &ShareLease,
    only: Option<&[String]>,
    stop: &AtomicBool,
) -> Result<Vec<TargetReport>, ShareError> {
    let now = clock();
    if let Some((holder, until)) =
        store.try_lease(SHARE_LEASE_NAME, &lease.holder, now, lease.until(now))?
    {
        return Err(ShareError::Busy { holder, until });
    }
    let lost = AtomicBool::new(false);
    let result = tokio::select! {
        result = share_rules(store, connector, clock, only, &lost, stop) => result,
        () = lease.keep(store, clock, &lost) => unreachable!("the lease is kept until the cycle ends"),
    };
    store.release_lease(SHARE_LEASE_NAME, &lease.holder)?;
    let reports = result?;
    let mut by_destination: HashMap<String, Vec<&TargetReport>> = HashMap::new();
    // A destination asked for by name that has nothing to share is recorded too, so that a
    // scheduler waiting for its interval does not ask again at once.
    for name in only.unwrap_or_default() {
        by_destination.entry(name.clone()).or_default();
    }
    for r in &reports {
        by_destination
            .entry(r.destination.clone())
            .or_default()
            .push(r);
    }
    for (destination, rs) in by_destination {
        let ok = rs.iter().all(|r| r.outcome.is_ok());
        let message = if rs.is_empty() {
            "nothing to share: no business rule shares to this configuration".to_string()
        } else {
            rs.iter()
                .map(|r| r.summary())
                .collect::<Vec<_>>()
                .join("; ")
        };
        match store.record_run(
            &destination,
            RunKind::Share,
            &RunStatus {
                last_run_at: Some(now),
                last_run_success: Some(ok),
                message: Some(message),
            },
        ) {
            // A destination named on the command line that is not a configuration.
            Err(StoreError::NotFound(m)) => tracing::warn!("{m}"),
            other => other?,
        }
    }
    Ok(reports)
}

async fn share_rules(
    store: &dyn Store,
    connector: &dyn TenantConnector,
    clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
    only: Option<&[String]>,
    lost: &AtomicBool,
    stop: &AtomicBool,
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
                if lost.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed) {
                    return Ok(reports);
                }
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
    let tenant_name = tenant_of(dest)?;
    let tenant = store
        .tenant(tenant_name)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("tenant '{tenant_name}' does not exist"))?;
    let client = connector
        .connect(&tenant, dest.ssl_validation)
        .map_err(|e| e.to_string())?;
    let planned = plan_selection(store, rule, source, dest, action, clock())?;
    let acknowledged = planned.acknowledged();

    // Write the outbox row before anything is sent; acknowledge after the tenant has applied it.
    let outbox_id = store
        .begin_push(
            &planned.list,
            &dest.name,
            &payload_digest(&planned.plan.entries),
            clock(),
        )
        .map_err(|e| e.to_string())?;
    let (content, rejected, calls) = match &planned.target {
        ShareTarget::UrlList(_) => {
            let t = planned.url_target().ok_or("unsupported target")?;
            let push = push_url_list(client.as_ref(), &t, &planned.plan.entries, acknowledged)
                .await
                .map_err(|e| e.to_string())?;
            (push.content, push.rejected, push.calls)
        }
        ShareTarget::FileHashList(t) => {
            let content = content_of(&planned.plan.entries, &t.default_file_hash);
            let pushed = push_hash_list(client.as_ref(), &t.list, &content, acknowledged)
                .await
                .map_err(|e| e.to_string())?;
            let calls = u32::from(pushed != HashPush::Skipped);
            (content, Vec::new(), calls)
        }
        _ => return Err("unsupported target".into()),
    };
    let mut outcomes = outcomes(&planned.plan, &rejected);
    outcomes.extend(
        planned
            .refused
            .iter()
            .map(|(v, reason)| refused_outcome(v, reason)),
    );
    let mut all_rejected = planned.refused.clone();
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
                rule: &rule.name,
                list: &planned.list,
                content: &content,
                rejected: &all_rejected,
                source,
                destination: &dest.name,
                outcomes: &outcomes,
            },
            clock(),
        )
        .map_err(|e| e.to_string())?;
    if tagging_enabled(dest) {
        apply_tags(store, &planned.plan, &all_rejected).map_err(|e| e.to_string())?;
    }
    Ok(())
}
