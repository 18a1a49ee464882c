//! How callers select indicators: list queries with sort and paging, and bulk-edit locators.

use crate::filter::Filter;

/// The fields CE lets `GET /api/cte/indicators/` sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// `value`
    Value,
    /// `type`
    Type,
    /// `sources.source`
    Source,
    /// `sources.comments`
    Comments,
    /// `test`
    Test,
    /// `active`
    Active,
    /// `internalHits`
    InternalHits,
    /// `externalHits`
    ExternalHits,
    /// `sources.reputation`
    Reputation,
    /// `sources.firstSeen`
    FirstSeen,
    /// `sources.severity`
    Severity,
    /// `sources.lastSeen`
    LastSeen,
    /// `expiresAt`
    ExpiresAt,
}

impl SortKey {
    /// Parses CE's sort parameter; unknown names give `None` (CE then does not sort).
    pub fn from_param(s: &str) -> Option<SortKey> {
        Some(match s {
            "value" => SortKey::Value,
            "type" => SortKey::Type,
            "sources.source" => SortKey::Source,
            "sources.comments" => SortKey::Comments,
            "test" => SortKey::Test,
            "active" => SortKey::Active,
            "internalHits" => SortKey::InternalHits,
            "externalHits" => SortKey::ExternalHits,
            "sources.reputation" => SortKey::Reputation,
            "sources.firstSeen" => SortKey::FirstSeen,
            "sources.severity" => SortKey::Severity,
            "sources.lastSeen" => SortKey::LastSeen,
            "expiresAt" => SortKey::ExpiresAt,
            _ => return None,
        })
    }
}

/// A page of indicators.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// Which indicators.
    pub filter: Filter,
    /// Order; `None` = storage order (oldest first).
    pub sort: Option<SortKey>,
    /// Direction of `sort`.
    pub ascending: bool,
    /// Rows to skip.
    pub skip: u64,
    /// Rows to return at most.
    pub limit: u64,
}

/// Which indicators a bulk edit or delete touches (CE's `IndicatorValueLocator` /
/// `IndicatorQueryLocator`).
#[derive(Debug, Clone, PartialEq)]
pub enum Locator {
    /// Indicators with these (normalised) values; with `source`, only that source's records are edited.
    Values {
        /// Values.
        values: Vec<String>,
        /// Restrict tag edits to this source's record.
        source: Option<String>,
    },
    /// Indicators matching a filter.
    Query(Filter),
}
