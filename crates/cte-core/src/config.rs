//! Plugin configurations (CE's `ConfigurationIn`/`ConfigurationDB`) and global CTE settings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::reconcile::{Criterion, SourcePolicy, TagStrategy};

/// The plugins a configuration can be an instance of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PluginKind {
    /// The API Source plugin: IoCs arrive over `POST /api/cte/indicators/`. Source only.
    ApiSources,
    /// The Netskope CTE plugin: pulls alerts from a tenant, pushes to its lists.
    Netskope,
}

impl PluginKind {
    /// The plugin id used in routes (`/api/cte/plugins/configurations/{plugin_id}`).
    pub fn id(self) -> &'static str {
        match self {
            PluginKind::ApiSources => "api_sources",
            PluginKind::Netskope => "netskope",
        }
    }

    /// Parses a plugin id.
    pub fn from_id(id: &str) -> Option<PluginKind> {
        match id {
            "api_sources" => Some(PluginKind::ApiSources),
            "netskope" => Some(PluginKind::Netskope),
            _ => None,
        }
    }

    /// True if configurations of this plugin count as a Netskope tenant (internal hits).
    pub fn is_netskope(self) -> bool {
        self == PluginKind::Netskope
    }
}

/// Unit of a poll interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum IntervalUnit {
    /// Seconds (CE's default).
    #[default]
    Seconds,
    /// Minutes.
    Minutes,
    /// Hours.
    Hours,
    /// Days.
    Days,
}

impl IntervalUnit {
    /// Seconds in one unit.
    pub fn seconds(self) -> u64 {
        match self {
            IntervalUnit::Seconds => 1,
            IntervalUnit::Minutes => 60,
            IntervalUnit::Hours => 3600,
            IntervalUnit::Days => 86_400,
        }
    }
}

/// Outcome of the last run of one kind (pull or share) of a configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunStatus {
    /// When it last ran.
    pub last_run_at: Option<DateTime<Utc>>,
    /// Whether that run succeeded.
    pub last_run_success: Option<bool>,
    /// A short message about the last run (failure reason or counts).
    pub message: Option<String>,
}

/// A CTE plugin configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Configuration {
    /// Unique name; also the `source` of the IoCs it reports.
    pub name: String,
    /// Plugin it configures.
    pub plugin: PluginKind,
    /// Inactive configurations neither pull nor share.
    pub active: bool,
    /// Netskope tenant name (Netskope plugin only).
    pub tenant: Option<String>,
    /// Verify TLS certificates.
    pub ssl_validation: bool,
    /// Poll interval, in `poll_interval_unit`s.
    pub poll_interval: u64,
    /// Unit of `poll_interval`.
    pub poll_interval_unit: IntervalUnit,
    /// "Override Reputation": 0 keeps the IoC's own.
    pub reputation: u8,
    /// "Aging Criteria" in days; 0 = never.
    pub age_after_days: u32,
    /// Plugin parameters (manifest keys to values).
    pub parameters: serde_json::Value,
    /// How tags of repeated reports combine.
    pub tags_aggregate_strategy: TagStrategy,
    /// When the configuration was created.
    pub created_at: DateTime<Utc>,
    /// Last pull.
    pub pull: RunStatus,
    /// Last share.
    pub share: RunStatus,
}

impl Configuration {
    /// A new, active configuration with CE's defaults: poll every 60 seconds (10 minutes for a
    /// Netskope one, CE's minimum with a tenant), keep the reported reputation, age after 90
    /// days, append tags, SSL validated, no tenant, no parameters, never run.
    pub fn new(name: impl Into<String>, plugin: PluginKind, created_at: DateTime<Utc>) -> Self {
        let netskope = plugin.is_netskope();
        Configuration {
            name: name.into(),
            plugin,
            active: true,
            tenant: None,
            ssl_validation: true,
            poll_interval: if netskope { 10 } else { 60 },
            poll_interval_unit: if netskope {
                IntervalUnit::Minutes
            } else {
                IntervalUnit::Seconds
            },
            reputation: 0,
            age_after_days: 90,
            parameters: serde_json::json!({}),
            tags_aggregate_strategy: TagStrategy::Append,
            created_at,
            pull: RunStatus::default(),
            share: RunStatus::default(),
        }
    }

    /// The reconciliation policy of IoCs this configuration reports.
    pub fn source_policy(&self) -> SourcePolicy {
        SourcePolicy {
            reputation_override: self.reputation,
            age_after_days: self.age_after_days,
            tag_strategy: self.tags_aggregate_strategy,
            internal: self.plugin.is_netskope(),
        }
    }

    /// The poll interval as a duration.
    pub fn poll_every(&self) -> chrono::Duration {
        let secs = self
            .poll_interval
            .saturating_mul(self.poll_interval_unit.seconds());
        chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 1000))
    }

    /// Whether a run last recorded in `last` is due again at `now` (never run: due).
    pub fn is_due(&self, last: &RunStatus, now: DateTime<Utc>) -> bool {
        last.last_run_at
            .is_none_or(|t| t + self.poll_every() <= now)
    }

    /// Checks the fields CE checks on save, returning a message naming the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        validate_configuration_name(&self.name)?;
        if self.reputation > 10 {
            return Err(format!(
                "reputation must be between 0 and 10 (0 keeps the IoC's own); got {}.",
                self.reputation
            ));
        }
        if self.age_after_days > 365 {
            return Err(format!(
                "ageAfterDays must be between 0 and 365; got {}.",
                self.age_after_days
            ));
        }
        let secs = self
            .poll_interval
            .saturating_mul(self.poll_interval_unit.seconds());
        let min = if self.tenant.is_some() { 600 } else { 10 };
        if !(min..=365 * 86_400).contains(&secs) {
            return Err(format!(
                "pollInterval must be between {} and 1 year; got {} {:?}.",
                if min == 600 {
                    "10 minutes"
                } else {
                    "10 seconds"
                },
                self.poll_interval,
                self.poll_interval_unit
            )
            .replace("Seconds", "seconds")
            .replace("Minutes", "minutes")
            .replace("Hours", "hours")
            .replace("Days", "days"));
        }
        if !self.parameters.is_object() {
            return Err("parameters must be a JSON object.".into());
        }
        Ok(())
    }
}

/// CE's rule for configuration names: 1..255 characters, letters, digits, spaces, `_` and `-`,
/// starting and ending with a letter or digit.
pub fn validate_configuration_name(name: &str) -> Result<(), String> {
    let ok_len = (1..=255).contains(&name.chars().count());
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-'));
    let ok_ends = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok_len && ok_chars && ok_ends {
        Ok(())
    } else {
        Err(format!(
            "Invalid configuration name '{name}': use 1 to 255 letters, digits, spaces, '_' or '-', starting and ending with a letter or digit."
        ))
    }
}

/// Global CTE settings (CE's `CTESettings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CteSettings {
    /// Reconciliation criterion.
    pub criteria: Criterion,
    /// Delete indicators once inactive.
    pub delete_inactive_indicators: bool,
}

impl Default for CteSettings {
    fn default() -> Self {
        CteSettings {
            criteria: Criterion::LastSeen,
            delete_inactive_indicators: false,
        }
    }
}
