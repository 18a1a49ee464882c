//! Indicators of compromise as Threat Exchange keeps them: one record per normalised value, with one
//! [`SourceRecord`] per configuration that reported it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The kinds of IoC CE knows (`IndicatorType` in CE's models).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum IndicatorKind {
    /// A URL, with or without scheme and path, as a Netskope URL list takes it.
    Url,
    /// A registrable domain.
    Domain,
    /// A host name.
    Hostname,
    /// A fully qualified domain name.
    Fqdn,
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// An MD5 file hash.
    Md5,
    /// A SHA-256 file hash.
    Sha256,
}

impl IndicatorKind {
    /// Every kind, in CE's order.
    pub const ALL: [IndicatorKind; 8] = [
        IndicatorKind::Url,
        IndicatorKind::Domain,
        IndicatorKind::Hostname,
        IndicatorKind::Fqdn,
        IndicatorKind::Ipv4,
        IndicatorKind::Ipv6,
        IndicatorKind::Md5,
        IndicatorKind::Sha256,
    ];

    /// The wire name (`"url"`, `"sha256"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Url => "url",
            IndicatorKind::Domain => "domain",
            IndicatorKind::Hostname => "hostname",
            IndicatorKind::Fqdn => "fqdn",
            IndicatorKind::Ipv4 => "ipv4",
            IndicatorKind::Ipv6 => "ipv6",
            IndicatorKind::Md5 => "md5",
            IndicatorKind::Sha256 => "sha256",
        }
    }

    /// True for the kinds a Netskope URL list takes.
    pub fn is_url_like(self) -> bool {
        !self.is_hash()
    }

    /// True for the kinds a Netskope file-hash list takes.
    pub fn is_hash(self) -> bool {
        matches!(self, IndicatorKind::Md5 | IndicatorKind::Sha256)
    }
}

impl fmt::Display for IndicatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IndicatorKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IndicatorKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown indicator type '{s}' (expected one of url, domain, hostname, fqdn, ipv4, ipv6, md5, sha256)"
                )
            })
    }
}

/// Severity of an IoC, ordered from `Unknown` (lowest) to `Critical`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// Not known (CE's default).
    #[default]
    Unknown,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Unknown,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// A small integer that keeps the order (0 = unknown .. 4 = critical); used for storage.
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// The inverse of [`Severity::rank`].
    pub fn from_rank(rank: u8) -> Option<Severity> {
        Severity::ALL.get(rank as usize).copied()
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown severity '{s}' (expected one of unknown, low, medium, high, critical)"
                )
            })
    }
}

/// The default reputation of an IoC (CE: 5).
pub const DEFAULT_REPUTATION: u8 = 5;

/// Where an IoC stands with one destination configuration (CE's `destinations[].status`, plus the
/// reason we keep beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DestinationStatus {
    /// Waiting for the next share cycle.
    Pending,
    /// Being pushed.
    Inprogress,
    /// Pushed and acknowledged.
    Shared,
    /// The destination refused it (see the reason).
    Failed,
    /// Selected but left out by a cap (see the reason).
    Unshared,
}

impl DestinationStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationStatus::Pending => "pending",
            DestinationStatus::Inprogress => "inprogress",
            DestinationStatus::Shared => "shared",
            DestinationStatus::Failed => "failed",
            DestinationStatus::Unshared => "unshared",
        }
    }
}

impl FromStr for DestinationStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pending" => DestinationStatus::Pending,
            "inprogress" => DestinationStatus::Inprogress,
            "shared" => DestinationStatus::Shared,
            "failed" => DestinationStatus::Failed,
            "unshared" => DestinationStatus::Unshared,
            other => return Err(format!("unknown destination status '{other}'")),
        })
    }
}

/// One destination entry of a source record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The destination configuration's name.
    pub name: String,
    /// Where the IoC stands with it.
    pub status: DestinationStatus,
    /// Why, for `failed` and `unshared` (e.g. `unshared: over 7 MB cap`).
    pub reason: Option<String>,
}

/// What one source configuration said about an IoC (CE's `IndicatorSource`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    /// The configuration name.
    pub source: String,
    /// First time this source saw the IoC.
    pub first_seen: DateTime<Utc>,
    /// Last time this source saw the IoC.
    pub last_seen: DateTime<Utc>,
    /// 1..=10.
    pub reputation: u8,
    /// Severity as this source reports it.
    pub severity: Severity,
    /// Tags this source put on the IoC, in the order they were added, without duplicates.
    pub tags: Vec<String>,
    /// Free text.
    pub comments: String,
    /// A link to more information (http/https) or empty.
    pub extended_information: String,
    /// Reports from a Netskope tenant.
    pub internal_hits: u64,
    /// Reports from anything else.
    pub external_hits: u64,
    /// Destination states.
    pub destinations: Vec<Destination>,
    /// Retracted by this source.
    pub retracted: bool,
}

/// A stored indicator (CE's `IndicatorDBWithSources`). Top-level per-source fields of CE's documents
/// (`source`, `firstSeen`, `reputation`, ...) are those of the first source record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    /// Normalised value; unique.
    pub value: String,
    /// Kind of value.
    pub kind: IndicatorKind,
    /// Test indicators are never shared.
    pub test: bool,
    /// Marked safe.
    pub safe: bool,
    /// False once aged out.
    pub active: bool,
    /// When the indicator ages out, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// Sum of the sources' internal hits.
    pub internal_hits: u64,
    /// Sum of the sources' external hits.
    pub external_hits: u64,
    /// Destination configurations it was shared with.
    pub shared_with: Vec<String>,
    /// One record per reporting configuration, oldest first.
    pub sources: Vec<SourceRecord>,
}

impl Indicator {
    /// The record of one source, if that source reported the indicator.
    pub fn source(&self, name: &str) -> Option<&SourceRecord> {
        self.sources.iter().find(|s| s.source == name)
    }
}
