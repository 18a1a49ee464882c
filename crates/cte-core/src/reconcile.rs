//! Reconciliation: how a new report of an IoC merges into what is stored (CE's
//! `insert_or_update_indicator`, reference §1.6), as a pure function of the old record, the report,
//! the source's policy and the clock value passed in.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::indicator::{Indicator, IndicatorKind, Severity, SourceRecord};

/// The global reconciliation criterion (CE settings `cte.criteria`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Criterion {
    /// "Always Overrides": a report with a later `lastSeen` replaces the source's record.
    #[default]
    LastSeen,
    /// "Never Overrides": only a report with an earlier `firstSeen` replaces it.
    FirstSeen,
    /// "Highest Severity Source Override": a report at least as severe replaces it.
    HighestSeverity,
}

impl Criterion {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Criterion::LastSeen => "lastSeen",
            Criterion::FirstSeen => "firstSeen",
            Criterion::HighestSeverity => "highestSeverity",
        }
    }
}

/// How a replacing report's tags combine with the stored ones (`tagsAggregateStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum TagStrategy {
    /// Add the new tags to the stored ones.
    #[default]
    Append,
    /// The new tags replace the stored ones.
    Overwrite,
}

/// One report of one IoC by one source: a REST post, a PATCH, or an alert turned into an IoC.
/// `value` must already be normalised (see [`crate::normalize`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Normalised value.
    pub value: String,
    /// Kind of value.
    pub kind: IndicatorKind,
    /// Reporting configuration.
    pub source: String,
    /// Test indicator.
    pub test: bool,
    /// Marked safe.
    pub safe: bool,
    /// Active flag as reported.
    pub active: bool,
    /// Expiry as reported; `None` lets the source's aging criterion decide.
    pub expires_at: Option<DateTime<Utc>>,
    /// First seen as reported; `None` means the reported `last_seen`, or now when that is missing
    /// too.
    pub first_seen: Option<DateTime<Utc>>,
    /// Last seen as reported; `None` means now. A `last_seen` before `first_seen` is raised to it.
    pub last_seen: Option<DateTime<Utc>>,
    /// Tags (must exist; checked before reconciliation).
    pub tags: Vec<String>,
    /// 1..=10.
    pub reputation: u8,
    /// Severity.
    pub severity: Severity,
    /// Comments.
    pub comments: String,
    /// Link to more information, or empty.
    pub extended_information: String,
}

/// What the reporting configuration contributes to reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePolicy {
    /// "Override Reputation": 1..=10 replaces the report's reputation, 0 keeps it.
    pub reputation_override: u8,
    /// "Aging Criteria" in days: expiry = first report time + this when the report has none; 0 = never.
    pub age_after_days: u32,
    /// How tags combine.
    pub tag_strategy: TagStrategy,
    /// True when the source is a Netskope tenant (counts internal hits), false otherwise (external).
    pub internal: bool,
}

/// Why the report reached the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReportKind {
    /// A pull from a plugin: the criterion decides whether the source record is replaced.
    Pull,
    /// A REST post (CE's `from_api`): the criterion decides, but comments are always replaced and
    /// tags always combined.
    Api,
    /// An explicit edit (`PATCH /api/cte/indicators/`): reputation, severity, comments and
    /// extended information replace the source's record whatever the criterion, tags combine by the
    /// source's strategy, and no hit is counted (an edit is not a sighting).
    Edit,
}

/// Merges `obs` into `existing` (or creates the indicator) and returns the new state. An indicator
/// whose expiry is not after `now` comes out inactive, whatever the report says.
pub fn merge(
    existing: Option<Indicator>,
    obs: &Observation,
    policy: &SourcePolicy,
    criterion: Criterion,
    report: ReportKind,
    now: DateTime<Utc>,
) -> Indicator {
    let first_seen = obs.first_seen.or(obs.last_seen).unwrap_or(now);
    let last_seen = obs.last_seen.unwrap_or(now).max(first_seen);
    let expires_at = obs.expires_at.or_else(|| {
        (policy.age_after_days != 0).then(|| now + Duration::days(i64::from(policy.age_after_days)))
    });
    let reputation = if (1..=10).contains(&policy.reputation_override) {
        policy.reputation_override
    } else {
        obs.reputation
    };
    let (internal_hit, external_hit) = match (report, policy.internal) {
        (ReportKind::Edit, _) => (0, 0),
        (_, true) => (1, 0),
        (_, false) => (0, 1),
    };

    let fresh_record = || SourceRecord {
        source: obs.source.clone(),
        first_seen,
        last_seen,
        reputation,
        severity: obs.severity,
        tags: dedup(&obs.tags),
        comments: obs.comments.clone(),
        extended_information: obs.extended_information.clone(),
        internal_hits: internal_hit,
        external_hits: external_hit,
        destinations: Vec::new(),
        retracted: false,
    };

    let Some(mut ind) = existing else {
        let active = obs.active && !expired(expires_at, now);
        return Indicator {
            value: obs.value.clone(),
            kind: obs.kind,
            test: obs.test,
            safe: obs.safe,
            active,
            expires_at,
            internal_hits: internal_hit,
            external_hits: external_hit,
            shared_with: Vec::new(),
            sources: vec![fresh_record()],
        };
    };

    ind.internal_hits += internal_hit;
    ind.external_hits += external_hit;
    ind.active = obs.active || ind.active;
    ind.expires_at = later_expiry(ind.expires_at, expires_at);
    if report == ReportKind::Edit {
        ind.test = obs.test;
        ind.safe = obs.safe;
    }

    if expired(ind.expires_at, now) {
        ind.active = false;
    }
    match ind.sources.iter_mut().find(|s| s.source == obs.source) {
        None => ind.sources.push(fresh_record()),
        Some(rec) => {
            let replace = match report {
                ReportKind::Edit => true,
                ReportKind::Pull | ReportKind::Api => match criterion {
                    Criterion::LastSeen => last_seen > rec.last_seen,
                    Criterion::FirstSeen => first_seen < rec.first_seen,
                    Criterion::HighestSeverity => obs.severity >= rec.severity,
                },
            };
            if replace {
                rec.reputation = reputation;
                rec.severity = obs.severity;
                rec.extended_information = obs.extended_information.clone();
            }
            if replace || report == ReportKind::Api {
                rec.comments = obs.comments.clone();
                combine_tags(&mut rec.tags, &obs.tags, policy.tag_strategy);
            }
            rec.first_seen = rec.first_seen.min(first_seen);
            rec.last_seen = rec.last_seen.max(last_seen);
            rec.internal_hits += internal_hit;
            rec.external_hits += external_hit;
            rec.retracted = false;
        }
    }
    ind
}

/// Whether an expiry has come by `now` (as the age cycle counts it: at the expiry itself).
fn expired(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    expires_at.is_some_and(|e| e <= now)
}

/// `None` means "never expires", which is later than any date.
fn later_expiry(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    }
}

fn combine_tags(stored: &mut Vec<String>, new: &[String], strategy: TagStrategy) {
    if strategy == TagStrategy::Overwrite {
        stored.clear();
    }
    for t in new {
        if !stored.contains(t) {
            stored.push(t.clone());
        }
    }
}

fn dedup(tags: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(tags.len());
    combine_tags(&mut out, tags, TagStrategy::Append);
    out
}

#[cfg(test)]
mod tests;
