//! The pull cycle: malware and malsite alerts from each Netskope configuration's tenant, through
//! the Data Export iterator, turned into IoCs and stored through the same path as REST posts.
//!
//! Per configuration and alert type, a [`PullCheckpoint`] records the iterator and its position.
//! The first run walks the initial range (`days`) through a historical iterator positioned at
//! `now - days`, dropping alerts newer than the range's end; it then switches to the maintenance
//! iterator positioned exactly at that end, so there is neither a gap nor an overlap. Every page
//! is stored together with the checkpoint in one transaction; a run interrupted after a tenant call
//! asks for that page again (`resend`) and skips it when its digest shows it was already stored.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use cte_core::checkpoint::{PullCheckpoint, PullPhase};
use cte_core::config::{Configuration, PluginKind, RunStatus};
use cte_core::indicator::{IndicatorKind, Severity};
use cte_core::reconcile::ReportKind;
use cte_core::store::{IngestBatch, RunKind, Store};
use cte_core::tenant::{Alert, AlertType, IteratorOp, TenantClient, TenantError};
use cte_core::tenant_config::{NetskopeParams, NetskopeTenant, TenantConnector, ThreatDataType};
use cte_core::StoreError;
use sha2::{Digest, Sha256};

use crate::ingest::{prepare, RawIndicator};

/// Limits of one pull run.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Longest sleep for a tenant's `wait_time` hint.
    pub max_wait: Duration,
    /// Most pages per configuration and alert type in one run.
    pub max_pages: u32,
    /// Log progress every this many pages.
    pub progress_every: u32,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            max_wait: Duration::from_secs(30),
            max_pages: 100_000,
            progress_every: 50,
        }
    }
}

/// What one run pulled for one alert type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeReport {
    /// Pages fetched (resent pages included).
    pub pages: u64,
    /// Alerts stored.
    pub alerts: u64,
    /// IoCs reconciled.
    pub iocs: u64,
    /// Alert values refused by normalisation (logged).
    pub invalid: u64,
    /// Alerts outside the initial range that were dropped.
    pub out_of_range: u64,
}

/// What one run did for one configuration.
#[derive(Debug, Clone)]
pub struct PullReport {
    /// Configuration name.
    pub configuration: String,
    /// Per alert type.
    pub types: Vec<(AlertType, TypeReport)>,
    /// `Err` with the reason when the run failed.
    pub outcome: Result<(), String>,
}

impl PullReport {
    /// One line for logs and the configuration's last-run message.
    pub fn summary(&self) -> String {
        let counts = self
            .types
            .iter()
            .map(|(t, r)| {
                format!(
                    "{t}: {} alerts, {} IoCs, {} pages, {} invalid",
                    r.alerts, r.iocs, r.pages, r.invalid
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        match &self.outcome {
            Ok(()) => format!("pulled {counts}"),
            Err(e) => format!("failed: {e} ({counts})"),
        }
    }
}

/// Why a pull stopped.
#[derive(Debug, thiserror::Error)]
enum PullError {
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stopped")]
    Stopped,
}

/// The IoCs CE's Netskope plugin makes of one alert (reference §2.2).
pub fn indicators_from_alert(
    alert: &Alert,
    source: &str,
    tenant_label: &str,
    types: &[ThreatDataType],
) -> Vec<RawIndicator> {
    let seen = alert
        .timestamp
        .and_then(|t| Utc.timestamp_opt(t, 0).single());
    let severity = alert
        .severity
        .as_deref()
        .and_then(|s| s.to_ascii_lowercase().parse::<Severity>().ok())
        .unwrap_or(Severity::Unknown);
    let tenant_label: String = tenant_label.chars().filter(|c| *c != ' ').collect();
    let alert_type = alert
        .alert_type
        .as_deref()
        .unwrap_or("")
        .to_ascii_lowercase();
    let make = |value: &str, kind: IndicatorKind, comments: &str| {
        let mut r = RawIndicator::new(value.trim(), kind, source);
        r.first_seen = seen;
        r.last_seen = seen;
        r.severity = severity;
        r.comments = comments.to_string();
        r
    };
    let mut out = Vec::new();
    if alert_type == "malware" {
        let mut comment = format!("{tenant_label} - {}", alert.object.as_deref().unwrap_or(""));
        if let Some(n) = alert.malware_name.as_deref().filter(|s| !s.is_empty()) {
            comment.push_str(&format!(", Malware Name: {n}"));
        }
        if let Some(t) = alert.malware_type.as_deref().filter(|s| !s.is_empty()) {
            comment.push_str(&format!(", Malware Type: {t}"));
        }
        let pairs = [
            (
                ThreatDataType::Md5,
                IndicatorKind::Md5,
                &alert.local_md5,
                &alert.md5,
            ),
            (
                ThreatDataType::Sha256,
                IndicatorKind::Sha256,
                &alert.local_sha256,
                &alert.sha256,
            ),
        ];
        for (wanted, kind, local, remote) in pairs {
            if !types.contains(&wanted) {
                continue;
            }
            let local = local.as_deref().filter(|s| !s.is_empty());
            let remote = remote.as_deref().filter(|s| !s.is_empty());
            match (local, remote) {
                (Some(l), Some(r)) if l.eq_ignore_ascii_case(r) => {
                    out.push(make(l, kind, &comment))
                }
                _ => {
                    for v in [local, remote].into_iter().flatten() {
                        out.push(make(v, kind, &comment));
                    }
                }
            }
        }
    } else if alert_type == "malsite" && types.contains(&ThreatDataType::Url) {
        if let Some(url) = alert.url.as_deref().filter(|s| !s.is_empty()) {
            let comment = format!("{tenant_label} - {}", alert.malsite_category.join(", "));
            out.push(make(url, IndicatorKind::Url, &comment));
        }
    }
    out
}

fn digest(alerts: &[Alert]) -> String {
    let mut h = Sha256::new();
    for a in alerts {
        match &a.id {
            Some(id) => h.update(id.as_bytes()),
            None => h.update(a.raw.to_string().as_bytes()),
        }
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

fn iterator_name(tenant: &str, config: &str, alert_type: AlertType, historical: bool) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    };
    let tag = &hex::encode(Sha256::digest(format!("{tenant}\0{config}").as_bytes()))[..8];
    format!(
        "{}_{}_{}_{}{}",
        clean(tenant),
        clean(config),
        tag,
        alert_type,
        if historical { "_historical" } else { "" }
    )
}

/// Pulls one configuration: every selected alert type, until each iterator is caught up.
pub async fn pull_configuration(
    store: &dyn Store,
    client: &dyn TenantClient,
    config: &Configuration,
    tenant: &NetskopeTenant,
    clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
    options: &PullOptions,
    stop: &AtomicBool,
) -> PullReport {
    let mut report = PullReport {
        configuration: config.name.clone(),
        types: Vec::new(),
        outcome: Ok(()),
    };
    let params = match NetskopeParams::from_json(&config.parameters) {
        Ok(p) => p,
        Err(e) => {
            report.outcome = Err(format!("invalid parameters: {e}"));
            return report;
        }
    };
    for alert_type in params.alert_types() {
        let mut r = TypeReport::default();
        let result = pull_type(
            store, client, config, tenant, &params, alert_type, clock, options, stop, &mut r,
        )
        .await;
        report.types.push((alert_type, r));
        if let Err(e) = result {
            report.outcome = Err(match e {
                PullError::Tenant(t) => format!("{alert_type} alerts: {t}"),
                PullError::Store(s) => format!("{alert_type} alerts: {s}"),
                PullError::Stopped => {
                    "stopped before the pull finished; it resumes next run".into()
                }
            });
            break;
        }
    }
    report
}

#[allow(clippy::too_many_arguments)]
async fn pull_type(
    store: &dyn Store,
    client: &dyn TenantClient,
    config: &Configuration,
    tenant: &NetskopeTenant,
    params: &NetskopeParams,
    alert_type: AlertType,
    clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
    options: &PullOptions,
    stop: &AtomicBool,
    report: &mut TypeReport,
) -> Result<(), PullError> {
    let now = clock();
    let mut cp = match store.pull_checkpoint(&config.name, alert_type)? {
        Some(cp) => cp,
        None => {
            let historical = params.days > 0;
            let end = now.timestamp();
            PullCheckpoint {
                configuration: config.name.clone(),
                alert_type,
                phase: if historical {
                    PullPhase::Historical
                } else {
                    PullPhase::Maintenance
                },
                iterator: iterator_name(&tenant.name, &config.name, alert_type, historical),
                start_epoch: if historical {
                    end - i64::from(params.days) * 86_400
                } else {
                    end
                },
                end_epoch: historical.then_some(end),
                positioned: false,
                in_flight: false,
                last_digest: None,
                alerts: 0,
                updated_at: now,
            }
        }
    };
    let started = Instant::now();
    let mut pages_this_run = 0u32;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(PullError::Stopped);
        }
        if pages_this_run >= options.max_pages {
            tracing::info!(configuration = %config.name, %alert_type, "page limit of this run reached; the rest comes next run");
            return Ok(());
        }
        let op = if !cp.positioned {
            IteratorOp::Epoch(cp.start_epoch)
        } else if cp.in_flight {
            IteratorOp::Resend
        } else {
            IteratorOp::Next
        };
        if !cp.in_flight {
            cp.in_flight = true;
            cp.updated_at = clock();
            store.save_pull_checkpoint(&cp)?;
        }
        let page = client.alerts_page(alert_type, &cp.iterator, op).await?;
        pages_this_run += 1;
        report.pages += 1;
        let page_digest = digest(&page.alerts);
        let already_stored =
            op == IteratorOp::Resend && cp.last_digest.as_deref() == Some(page_digest.as_str());

        let mut alerts: Vec<&Alert> = page.alerts.iter().collect();
        if let (PullPhase::Historical, Some(end)) = (cp.phase, cp.end_epoch) {
            let before = alerts.len();
            // The maintenance iterator starts at `end` (alerts at or after it), so the range ends just before.
            alerts.retain(|a| a.timestamp.is_none_or(|t| t < end));
            report.out_of_range += (before - alerts.len()) as u64;
        }
        let raws: Vec<RawIndicator> = alerts
            .iter()
            .flat_map(|a| {
                indicators_from_alert(
                    a,
                    &config.name,
                    &tenant.tenant_name,
                    &params.threat_data_type,
                )
            })
            .collect();

        cp.in_flight = false;
        cp.positioned = true;
        cp.last_digest = Some(page_digest);
        let empty = page.alerts.is_empty();
        let historical_done = cp.phase == PullPhase::Historical
            && (empty
                || page
                    .timestamp_hwm
                    .zip(cp.end_epoch)
                    .is_some_and(|(h, e)| h > e));
        if !already_stored {
            cp.alerts += alerts.len() as u64;
        }
        if historical_done {
            let end = cp.end_epoch.unwrap_or(cp.start_epoch);
            cp.phase = PullPhase::Maintenance;
            cp.iterator = iterator_name(&tenant.name, &config.name, alert_type, false);
            cp.start_epoch = end;
            cp.end_epoch = None;
            cp.positioned = false;
            cp.last_digest = None;
        }
        cp.updated_at = clock();

        if already_stored {
            store.save_pull_checkpoint(&cp)?;
        } else {
            let prepared = prepare(store, raws)?;
            for r in &prepared.rejected {
                tracing::warn!(configuration = %config.name, value = %r.value, reason = %r.reason, "alert value skipped");
            }
            report.invalid += prepared.rejected.len() as u64;
            report.iocs += prepared.observations.len() as u64;
            report.alerts += alerts.len() as u64;
            store.ingest_pull_page(
                &IngestBatch {
                    observations: &prepared.observations,
                    policies: &prepared.policies,
                    report: ReportKind::Pull,
                    now: clock(),
                    return_indicators: false,
                },
                &cp,
            )?;
        }
        if report
            .pages
            .is_multiple_of(u64::from(options.progress_every.max(1)))
        {
            tracing::info!(configuration = %config.name, %alert_type, pages = report.pages, alerts = report.alerts,
                elapsed_s = started.elapsed().as_secs(), "pull in progress");
        }
        if historical_done {
            continue;
        }
        if empty && cp.phase == PullPhase::Maintenance {
            return Ok(());
        }
        if let Some(wait) = page.wait_time.filter(|w| *w > 0) {
            let wait = Duration::from_secs(wait).min(options.max_wait);
            sleep_unless_stopped(wait, stop).await;
        }
    }
}

async fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let step = Duration::from_millis(100);
    let deadline = Instant::now() + total;
    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(step.min(deadline - Instant::now())).await;
    }
}

/// Pulls every active Netskope configuration with polling on (or only those named in `only`).
/// A failing configuration is recorded as failed and the others go on.
pub async fn pull_all(
    store: &dyn Store,
    connector: &dyn TenantConnector,
    clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
    options: &PullOptions,
    stop: &AtomicBool,
    only: Option<&[String]>,
) -> Result<Vec<PullReport>, StoreError> {
    let mut reports = Vec::new();
    for config in store.configurations()? {
        if config.plugin != PluginKind::Netskope || !config.active {
            continue;
        }
        if only.is_some_and(|names| !names.contains(&config.name)) {
            continue;
        }
        let pulling = NetskopeParams::from_json(&config.parameters)
            .map(|p| p.is_pull_required)
            .unwrap_or(true);
        if !pulling {
            continue;
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let started_at = clock();
        let report = pull_one(store, connector, &config, clock, options, stop).await;
        match &report.outcome {
            Ok(()) => tracing::info!(configuration = %config.name, "{}", report.summary()),
            Err(_) => tracing::error!(configuration = %config.name, "{}", report.summary()),
        }
        store.record_run(
            &config.name,
            RunKind::Pull,
            &RunStatus {
                last_run_at: Some(started_at),
                last_run_success: Some(report.outcome.is_ok()),
                message: Some(report.summary()),
            },
        )?;
        reports.push(report);
    }
    Ok(reports)
}

async fn pull_one(
    store: &dyn Store,
    connector: &dyn TenantConnector,
    config: &Configuration,
    clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
    options: &PullOptions,
    stop: &AtomicBool,
) -> PullReport {
    let failed = |reason: String| PullReport {
        configuration: config.name.clone(),
        types: Vec::new(),
        outcome: Err(reason),
    };
    let Some(tenant_name) = config.tenant.as_deref() else {
        return failed("the configuration names no tenant".into());
    };
    let tenant = match store.tenant(tenant_name) {
        Ok(Some(t)) => t,
        Ok(None) => return failed(format!("tenant '{tenant_name}' does not exist")),
        Err(e) => return failed(format!("cannot read tenant '{tenant_name}': {e}")),
    };
    let client = match connector.connect(&tenant, config.ssl_validation) {
        Ok(c) => c,
        Err(e) => return failed(e.to_string()),
    };
    pull_configuration(
        store,
        client.as_ref(),
        config,
        &tenant,
        clock,
        options,
        stop,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alert(v: serde_json::Value) -> Alert {
        Alert::from_value(v)
    }

    const ALL: &[ThreatDataType] = &[
        ThreatDataType::Md5,
        ThreatDataType::Sha256,
        ThreatDataType::Url,
    ];

    #[test]
    fn malware_alert_maps_local_and_remote_hashes_like_ce() {
        let md5a = "a".repeat(32);
        let md5b = "b".repeat(32);
        let sha = "c".repeat(64);
        let a = alert(json!({
            "alert_type": "Malware", "severity": "High", "timestamp": 1_700_000_000,
            "md5": md5a, "local_md5": md5b, "sha256": sha, "local_sha256": sha.to_uppercase(),
            "object": "invoice.exe", "malware_name": "Evil", "malware_type": "Trojan"
        }));
        let out = indicators_from_alert(&a, "NS", "demo goskope.com", ALL);
        let got: Vec<(&str, IndicatorKind)> =
            out.iter().map(|r| (r.value.as_str(), r.kind)).collect();
        assert_eq!(
            got,
            [
                (md5b.as_str(), IndicatorKind::Md5),
                (md5a.as_str(), IndicatorKind::Md5),
                (sha.to_uppercase().as_str(), IndicatorKind::Sha256)
            ]
        );
        assert_eq!(
            out[0].comments,
            "demogoskope.com - invoice.exe, Malware Name: Evil, Malware Type: Trojan"
        );
        assert_eq!(out[0].severity, Severity::High);
        assert_eq!(
            out[0].first_seen,
            Utc.timestamp_opt(1_700_000_000, 0).single()
        );
        assert!(indicators_from_alert(&a, "NS", "t", &[ThreatDataType::Url]).is_empty());
        let only_sha = indicators_from_alert(&a, "NS", "t", &[ThreatDataType::Sha256]);
        assert_eq!(only_sha.len(), 1);
    }

    #[test]
    fn malsite_alert_maps_to_a_url_with_categories() {
        let a = alert(json!({
            "alert_type": "malsite", "severity": "weird", "timestamp": 1_700_000_000,
            "url": "http://bad.example/x", "malsite_category": ["Phishing", "Malware"]
        }));
        let out = indicators_from_alert(&a, "NS", "demo.goskope.com", ALL);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, IndicatorKind::Url);
        assert_eq!(out[0].severity, Severity::Unknown);
        assert_eq!(out[0].comments, "demo.goskope.com - Phishing, Malware");
        assert!(indicators_from_alert(&a, "NS", "t", &[ThreatDataType::Md5]).is_empty());
    }

    #[test]
    fn iterator_names_are_safe_and_distinct() {
        let a = iterator_name("Prod tenant", "NS a", AlertType::Malware, true);
        let b = iterator_name("Prod tenant", "NS_a", AlertType::Malware, true);
        assert_ne!(a, b);
        assert!(
            a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{a}"
        );
        assert!(a.ends_with("malware_historical"));
    }
}
