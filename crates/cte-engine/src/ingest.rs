//! Ingest: validate and normalise a batch of reports, check sources and tags, then reconcile it
//! into the store in one transaction. A batch with any bad element stores nothing.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};
use cte_core::error::echo;
use cte_core::indicator::{IndicatorKind, Severity, DEFAULT_REPUTATION};
use cte_core::normalize::{normalize_value, validate_extended_information};
use cte_core::reconcile::{Observation, ReportKind, SourcePolicy};
use cte_core::store::{IngestBatch, Store};
use cte_core::{Indicator, StoreError};

/// A report as a client sent it, before normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawIndicator {
    /// Value as sent.
    pub value: String,
    /// Declared kind.
    pub kind: IndicatorKind,
    /// Reporting configuration name.
    pub source: String,
    /// Test indicator.
    pub test: bool,
    /// Marked safe.
    pub safe: bool,
    /// Active flag.
    pub active: bool,
    /// Expiry, if given.
    pub expires_at: Option<DateTime<Utc>>,
    /// First seen, if given.
    pub first_seen: Option<DateTime<Utc>>,
    /// Last seen, if given.
    pub last_seen: Option<DateTime<Utc>>,
    /// Tag names.
    pub tags: Vec<String>,
    /// Reputation 1..=10; `None` means the default (5).
    pub reputation: Option<u8>,
    /// Severity.
    pub severity: Severity,
    /// Comments.
    pub comments: String,
    /// Link to more information, or empty.
    pub extended_information: String,
}

impl RawIndicator {
    /// A report with CE's defaults for everything but value, kind and source.
    pub fn new(value: impl Into<String>, kind: IndicatorKind, source: impl Into<String>) -> Self {
        RawIndicator {
            value: value.into(),
            kind,
            source: source.into(),
            test: false,
            safe: false,
            active: true,
            expires_at: None,
            first_seen: None,
            last_seen: None,
            tags: Vec::new(),
            reputation: None,
            severity: Severity::Unknown,
            comments: String::new(),
            extended_information: String::new(),
        }
    }
}

/// One refused element of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Position in the batch (0-based).
    pub index: usize,
    /// The value as sent, cut to [`cte_core::error::ECHO_LIMIT`] characters.
    pub value: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] '{}': {}", self.index, self.value, self.reason)
    }
}

/// Why a batch was not stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Some elements are invalid; nothing was stored.
    #[error("{} of {total} indicators are invalid; nothing was stored", rejected.len())]
    Rejected {
        /// The bad elements.
        rejected: Vec<Rejection>,
        /// Size of the batch.
        total: usize,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A batch after validation: what can be stored, and what was refused.
#[derive(Debug, Default)]
pub struct Prepared {
    /// Normalised reports, in batch order.
    pub observations: Vec<Observation>,
    /// Policy of each source named by an accepted report.
    pub policies: HashMap<String, SourcePolicy>,
    /// Refused elements, by index.
    pub rejected: Vec<Rejection>,
}

/// Validates and normalises `batch`: unknown sources, bad values, reputations or links, and
/// unknown tags are refused with a reason; the rest is ready for the store.
pub fn prepare(store: &dyn Store, batch: Vec<RawIndicator>) -> Result<Prepared, StoreError> {
    let mut rejected = Vec::new();
    let mut policies: HashMap<String, Option<SourcePolicy>> = HashMap::new();
    let mut tag_names: Vec<String> = Vec::new();
    let mut observations = Vec::with_capacity(batch.len());

    for (index, raw) in batch.into_iter().enumerate() {
        let mut reject = |reason: String| {
            rejected.push(Rejection {
                index,
                value: echo(&raw.value).into_owned(),
                reason,
            })
        };
        if !policies.contains_key(&raw.source) {
            let policy = store.configuration(&raw.source)?.map(|c| c.source_policy());
            policies.insert(raw.source.clone(), policy);
        }
        if policies[&raw.source].is_none() {
            reject(format!(
                "Configuration with name='{}' does not exist.",
                echo(&raw.source)
            ));
            continue;
        }
        let value = match normalize_value(raw.kind, &raw.value) {
            Ok(v) => v,
            Err(e) => {
                reject(format!("invalid {}: {}", raw.kind, e.reason));
                continue;
            }
        };
        let reputation = raw.reputation.unwrap_or(DEFAULT_REPUTATION);
        if !(1..=10).contains(&reputation) {
            reject(format!(
                "reputation must be between 1 and 10; got {reputation}"
            ));
            continue;
        }
        let extended_information = match validate_extended_information(&raw.extended_information) {
            Ok(v) => v,
            Err(e) => {
                reject(e.reason);
                continue;
            }
        };
        let mut tags = Vec::with_capacity(raw.tags.len());
        for t in &raw.tags {
            let t = t.trim().to_string();
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        for t in &tags {
            if !tag_names.contains(t) {
                tag_names.push(t.clone());
            }
        }
        observations.push((
            index,
            Observation {
                value,
                kind: raw.kind,
                source: raw.source,
                test: raw.test,
                safe: raw.safe,
                active: raw.active,
                expires_at: raw.expires_at,
                first_seen: raw.first_seen,
                last_seen: raw.last_seen,
                tags,
                reputation,
                severity: raw.severity,
                comments: raw.comments.trim().to_string(),
                extended_information,
            },
        ));
    }

    let missing = if tag_names.is_empty() {
        Vec::new()
    } else {
        store.missing_tags(&tag_names)?
    };
    let mut kept = Vec::with_capacity(observations.len());
    for (index, o) in observations {
        let unknown: Vec<&str> = o
            .tags
            .iter()
            .filter(|t| missing.contains(t))
            .map(String::as_str)
            .collect();
        if unknown.is_empty() {
            kept.push(o);
            continue;
        }
        rejected.push(Rejection {
            index,
            value: echo(&o.value).into_owned(),
            reason: format!(
                "unknown tag{} {}: create {} first with POST /api/cte/tags",
                if unknown.len() > 1 { "s" } else { "" },
                unknown
                    .iter()
                    .map(|t| format!("'{}'", echo(t)))
                    .collect::<Vec<_>>()
                    .join(", "),
                if unknown.len() > 1 { "them" } else { "it" }
            ),
        });
    }
    rejected.sort_by_key(|r| r.index);
    Ok(Prepared {
        observations: kept,
        policies: policies
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect(),
        rejected,
    })
}

/// Checks `batch` without storing anything: every refused element, by position in `batch`
/// (empty when the whole batch would be accepted). Callers that refuse some elements for their
/// own reasons use this to list the others' problems in the same answer.
pub fn check(store: &dyn Store, batch: &[RawIndicator]) -> Result<Vec<Rejection>, StoreError> {
    Ok(prepare(store, batch.to_vec())?.rejected)
}

/// Validates, normalises and reconciles `batch` into `store` (all or nothing), returning the stored
/// indicators when `return_indicators` is set.
pub fn ingest(
    store: &dyn Store,
    batch: Vec<RawIndicator>,
    report: ReportKind,
    now: DateTime<Utc>,
    return_indicators: bool,
) -> Result<Vec<Indicator>, IngestError> {
    let total = batch.len();
    let prepared = prepare(store, batch)?;
    if !prepared.rejected.is_empty() {
        return Err(IngestError::Rejected {
            rejected: prepared.rejected,
            total,
        });
    }
    Ok(store.ingest(&IngestBatch {
        observations: &prepared.observations,
        policies: &prepared.policies,
        report,
        now,
        return_indicators,
    })?)
}
