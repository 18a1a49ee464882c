//! Where a pull stands, per configuration and alert type, so that a crash or restart neither loses
//! nor repeats alerts.

use chrono::{DateTime, Utc};

use crate::tenant::AlertType;

/// The two phases of pulling one alert type for one configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullPhase {
    /// The initial range: from `start_epoch` to `end_epoch`, through a historical iterator.
    Historical,
    /// From the end of the initial range on, through the maintenance iterator.
    Maintenance,
}

impl PullPhase {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            PullPhase::Historical => "historical",
            PullPhase::Maintenance => "maintenance",
        }
    }

    /// Parses a storage name.
    pub fn parse(s: &str) -> Option<PullPhase> {
        match s {
            "historical" => Some(PullPhase::Historical),
            "maintenance" => Some(PullPhase::Maintenance),
            _ => None,
        }
    }
}

/// The pull position of one configuration for one alert type.
///
/// Protocol: before each tenant call `in_flight` is saved as true; the page's IoCs and the
/// checkpoint with `in_flight = false` and the page's digest are saved in one transaction. A run
/// that finds `in_flight` set asks the tenant to resend the last page and skips it if its digest
/// is the one already stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullCheckpoint {
    /// Configuration name.
    pub configuration: String,
    /// Alert type.
    pub alert_type: AlertType,
    /// Phase.
    pub phase: PullPhase,
    /// Name of the tenant-side iterator.
    pub iterator: String,
    /// Epoch seconds the iterator is (to be) positioned at.
    pub start_epoch: i64,
    /// End of the initial range (historical phase).
    pub end_epoch: Option<i64>,
    /// The iterator has been positioned at `start_epoch` and a page from it was stored.
    pub positioned: bool,
    /// A tenant call was made whose page is not stored yet.
    pub in_flight: bool,
    /// Digest of the last stored page.
    pub last_digest: Option<String>,
    /// Alerts stored so far.
    pub alerts: u64,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}
