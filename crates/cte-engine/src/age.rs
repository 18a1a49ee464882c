//! The age cycle (CE's `cte.age_indicators` every 12 hours and `cte.unmute` every 5 minutes, run
//! together here): indicators whose `expiresAt` has passed become inactive, and muted business
//! rules whose `unmuteAt` has passed are unmuted.
//!
//! Unlike CE's literal code, an indicator without `expiresAt` never expires (see
//! `Store::deactivate_expired`). CE's optional deletion of inactive indicators
//! (`deleteInactiveIndicators`) is not done yet.

use chrono::{DateTime, Utc};
use cte_core::store::Store;
use cte_core::StoreResult;

/// What one age run changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AgeReport {
    /// Indicators that became inactive.
    pub deactivated: u64,
    /// Business rules that were unmuted.
    pub unmuted: u64,
}

/// Runs one age cycle at `now`. Each step is its own transaction; a failure in the second leaves
/// the first done, and the next run finishes the job (both steps are idempotent).
pub fn age_cycle(store: &dyn Store, now: DateTime<Utc>) -> StoreResult<AgeReport> {
    let deactivated = store.deactivate_expired(now)?;
    let unmuted = store.unmute_due(now)?;
    let report = AgeReport {
        deactivated,
        unmuted,
    };
    tracing::info!(deactivated, unmuted, "age cycle done");
    Ok(report)
}
