//! Dashboard aggregations (CE's `GET /api/cte/dashboards/` and `/api/cte/dashboard/pull`, reference
//! §4.5) as port types: what to group by, what to count, and the rows that come back.
//!
//! Grouping by a `sources.*` field follows Mongo's `$unwind` on `sources`: the filter selects
//! indicators first, then every source record of a selected indicator is a row of its own, so an
//! indicator reported by two sources counts once in each source's group (and twice in a group that
//! both records share, e.g. the same `sources.reputation`). Grouping only by indicator fields
//! counts each indicator once.

use chrono::{DateTime, Utc};

use crate::field::Field;
use crate::filter::Filter;
use crate::query::SortKey;

/// A field dashboards may group by (CE's allowed `group_by` list): those lists sort by, but
/// `sources.severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupKey(Field);

impl GroupKey {
    /// The key of `field`, if dashboards may group by it.
    pub fn new(field: Field) -> Option<GroupKey> {
        let sortable = SortKey::new(field).is_some();
        (sortable && field != Field::Severity).then_some(GroupKey(field))
    }

    /// Every key, in CE's order.
    pub fn all() -> impl Iterator<Item = GroupKey> {
        SortKey::all().filter_map(|k| GroupKey::new(k.field()))
    }

    /// Parses CE's parameter spelling (`sources.source`); `None` for anything outside the
    /// allowed list.
    pub fn from_param(s: &str) -> Option<GroupKey> {
        Field::from_param(s).and_then(GroupKey::new)
    }

    /// The field grouped by. Its [`Field::name`] keys the group's value in a result's `_id`;
    /// grouping by a field of a source record ([`Field::is_per_source`]) unwinds `sources`.
    pub fn field(self) -> Field {
        self.0
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
