//! Dashboard aggregations (CE's `GET /api/cte/dashboards/` and `/api/cte/dashboard/pull`, reference
//! §4.5) as port types: what to group by, what to count, and the rows that come back.
//!
//! Grouping by a `sources.*` field follows Mongo's `$unwind` on `sources`: the filter selects
//! indicators first, then every source record of a selected indicator is a row of its own, so an
//! indicator reported by two sources counts once in each source's group (and twice in a group that
//! both records share, e.g. the same `sources.reputation`). Grouping only by indicator fields
//! counts each indicator once.

use chrono::{DateTime, Utc};

use crate::filter::Filter;

/// A field dashboards may group by (CE's allowed `group_by` list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupKey {
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
    /// `internalHits` (the indicator's total)
    InternalHits,
    /// `externalHits` (the indicator's total)
    ExternalHits,
    /// `sources.reputation`
    Reputation,
    /// `sources.firstSeen`
    FirstSeen,
    /// `sources.lastSeen`
    LastSeen,
    /// `expiresAt`
    ExpiresAt,
}

impl GroupKey {
    /// Every key, in CE's order.
    pub const ALL: [GroupKey; 12] = [
        GroupKey::Value,
        GroupKey::Type,
        GroupKey::Source,
        GroupKey::Comments,
        GroupKey::Test,
        GroupKey::Active,
        GroupKey::InternalHits,
        GroupKey::ExternalHits,
        GroupKey::Reputation,
        GroupKey::FirstSeen,
        GroupKey::LastSeen,
        GroupKey::ExpiresAt,
    ];

    /// CE's parameter spelling (`sources.source`).
    pub fn as_param(self) -> &'static str {
        match self {
            GroupKey::Value => "value",
            GroupKey::Type => "type",
            GroupKey::Source => "sources.source",
            GroupKey::Comments => "sources.comments",
            GroupKey::Test => "test",
            GroupKey::Active => "active",
            GroupKey::InternalHits => "internalHits",
            GroupKey::ExternalHits => "externalHits",
            GroupKey::Reputation => "sources.reputation",
            GroupKey::FirstSeen => "sources.firstSeen",
            GroupKey::LastSeen => "sources.lastSeen",
            GroupKey::ExpiresAt => "expiresAt",
        }
    }

    /// Parses CE's parameter spelling; `None` for anything outside the allowed list.
    pub fn from_param(s: &str) -> Option<GroupKey> {
        GroupKey::ALL.into_iter().find(|k| k.as_param() == s)
    }

    /// The key's name in a result's `_id`: the last segment of the path (`source`).
    pub fn name(self) -> &'static str {
        let p = self.as_param();
        p.rsplit('.').next().unwrap_or(p)
    }

    /// Whether the field belongs to a source record (grouping by it unwinds `sources`).
    pub fn is_per_source(self) -> bool {
        self.as_param().starts_with("sources.")
    }
}

/// What a dashboard group adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountBy {
    /// One per row (an indicator, or a source record when unwound).
    Rows,
    /// The indicator's total `internalHits`.
    InternalHits,
    /// The indicator's total `externalHits`.
    ExternalHits,
}

/// One dashboard aggregation.
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardQuery {
    /// Which indicators (applied before unwinding, as CE's `$match` comes first).
    pub filter: Filter,
    /// Grouping fields, without repeats; empty gives one group over everything.
    pub group_by: Vec<GroupKey>,
    /// What each group adds up.
    pub count_by: CountBy,
    /// Smallest counts first instead of largest.
    pub ascending: bool,
    /// Groups to return at most.
    pub limit: u64,
}

/// The value of one grouping field in a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupValue {
    /// A string field.
    Text(String),
    /// An integer field.
    Int(i64),
    /// A boolean field.
    Bool(bool),
    /// A date field.
    Time(DateTime<Utc>),
    /// A missing value (a null `expiresAt`).
    Null,
}

/// One group: the values of the grouping fields (in `group_by` order) and its count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardRow {
    /// One value per grouping field.
    pub key: Vec<GroupValue>,
    /// The sum.
    pub count: i64,
}

/// Source records of one indicator type from one source, by retraction state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullCounts {
    /// Indicator type (wire name).
    pub kind: String,
    /// Source (configuration name).
    pub source: String,
    /// Retracted records.
    pub retracted: u64,
    /// Records not retracted.
    pub unretracted: u64,
}
