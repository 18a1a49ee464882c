//! How callers select indicators: list queries with sort and paging, and bulk-edit locators.

use crate::field::Field;
use crate::filter::Filter;

/// A field CE lets `GET /api/cte/indicators/` sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey(Field);

impl SortKey {
    /// The key of `field`, if lists may be sorted by it.
    pub fn new(field: Field) -> Option<SortKey> {
        Field::SORTABLE.contains(&field).then_some(SortKey(field))
    }

    /// Every key, in CE's order.
    pub fn all() -> impl Iterator<Item = SortKey> {
        Field::SORTABLE.into_iter().map(SortKey)
    }

    /// Parses CE's sort parameter; other names give `None` (CE then does not sort).
    pub fn from_param(s: &str) -> Option<SortKey> {
        Field::from_param(s).and_then(SortKey::new)
    }

    /// The field sorted by.
    pub fn field(self) -> Field {
        self.0
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
