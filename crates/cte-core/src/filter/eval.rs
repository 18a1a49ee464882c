//! In-memory evaluation of a filter against one indicator, with the semantics the module docs
//! describe; the SQLite adapter must agree with it (its property test checks that it does).

use chrono::{DateTime, Utc};

use super::{
    fold, ArrayTest, BoolTest, Cond, DateTest, DestCond, Expr, Filter, NumTest, SourceCond, StrTest,
};
use crate::indicator::{Destination, Indicator, SourceRecord};

impl Filter {
    /// True when the indicator is selected by this filter.
    pub fn matches(&self, ind: &Indicator) -> bool {
        match self.expr() {
            None => true,
            Some(e) => e.eval(&|c: &Cond| c.matches(ind)),
        }
    }
}

impl<C> Expr<C> {
    fn eval(&self, leaf: &dyn Fn(&C) -> bool) -> bool {
        match self {
            Expr::And(v) => v.iter().all(|e| e.eval(leaf)),
            Expr::Or(v) => v.iter().any(|e| e.eval(leaf)),
            Expr::Nor(v) => !v.iter().any(|e| e.eval(leaf)),
            Expr::Cond(c) => leaf(c),
        }
    }
}

impl Cond {
    fn matches(&self, ind: &Indicator) -> bool {
        match self {
            Cond::Value(t) => t.matches(&ind.value),
            Cond::Type(t) => t.matches(ind.kind.as_str()),
            Cond::Test(t) => t.matches(ind.test),
            Cond::Safe(t) => t.matches(ind.safe),
            Cond::Active(t) => t.matches(ind.active),
            Cond::InternalHits(t) => t.matches(to_i64(ind.internal_hits)),
            Cond::ExternalHits(t) => t.matches(to_i64(ind.external_hits)),
            Cond::ExpiresAt(t) => t.matches(ind.expires_at),
            Cond::SharedWith(t) => t.matches_any(ind.shared_with.iter().map(String::as_str)),
            Cond::Sources(e) => ind
                .sources
                .iter()
                .any(|s| e.eval(&|c: &SourceCond| c.matches(s))),
        }
    }
}

impl SourceCond {
    fn matches(&self, s: &SourceRecord) -> bool {
        match self {
            SourceCond::Source(t) => t.matches(&s.source),
            SourceCond::Comments(t) => t.matches(&s.comments),
            SourceCond::ExtendedInformation(t) => t.matches(&s.extended_information),
            SourceCond::Reputation(t) => t.matches(i64::from(s.reputation)),
            SourceCond::InternalHits(t) => t.matches(to_i64(s.internal_hits)),
            SourceCond::ExternalHits(t) => t.matches(to_i64(s.external_hits)),
            SourceCond::FirstSeen(t) => t.matches(Some(s.first_seen)),
            SourceCond::LastSeen(t) => t.matches(Some(s.last_seen)),
            SourceCond::Severity(t) => t.matches_any(std::iter::once(s.severity.as_str())),
            SourceCond::Tags(t) => t.matches_any(s.tags.iter().map(String::as_str)),
            SourceCond::Retracted(t) => t.matches(s.retracted),
            SourceCond::Destinations(e) => any_destination(&s.destinations, e),
            SourceCond::RetractionDestinations(e) => any_destination(&[], e),
        }
    }
}

fn any_destination(list: &[Destination], e: &Expr<DestCond>) -> bool {
    list.iter().any(|d| {
        e.eval(&|c: &DestCond| match c {
            DestCond::Name(t) => t.matches(&d.name),
            DestCond::Status(t) => t.matches(d.status.as_str()),
        })
    })
}

/// Counters are `u64` in memory and `INTEGER` (i64) in SQLite; saturate the same way the store
/// would refuse to go further.
fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl StrTest {
    /// Applies the test to a present (never null) string.
    pub(crate) fn matches(&self, field: &str) -> bool {
        match self {
            StrTest::Eq(s) => field.eq_ignore_ascii_case(s),
            StrTest::Ne(s) => !field.eq_ignore_ascii_case(s),
            StrTest::Contains(s) => fold(field).contains(&fold(s)),
            StrTest::NotContains(s) => !fold(field).contains(&fold(s)),
            StrTest::In(list) => list.iter().flatten().any(|s| s == field),
            StrTest::Nin(list) => !list.iter().flatten().any(|s| s == field),
        }
    }
}

impl NumTest {
    fn matches(&self, n: i64) -> bool {
        match *self {
            NumTest::Eq(x) => x == Some(n),
            NumTest::Ne(x) => x != Some(n),
            NumTest::Gt(x) => n > x,
            NumTest::Gte(x) => n >= x,
            NumTest::Lt(x) => n < x,
            NumTest::Lte(x) => n <= x,
        }
    }
}

impl DateTest {
    fn matches(&self, d: Option<DateTime<Utc>>) -> bool {
        match (self, d) {
            (DateTest::Not(inner), d) => !inner.iter().all(|t| t.matches(d)),
            (DateTest::Ne(x), d) => d != Some(*x),
            (_, None) => false,
            (DateTest::Eq(x), Some(d)) => d == *x,
            (DateTest::Gt(x), Some(d)) => d > *x,
            (DateTest::Gte(x), Some(d)) => d >= *x,
            (DateTest::Lt(x), Some(d)) => d < *x,
            (DateTest::Lte(x), Some(d)) => d <= *x,
        }
    }
}

impl BoolTest {
    fn matches(&self, b: bool) -> bool {
        match *self {
            BoolTest::Eq(x) => b == x,
            BoolTest::Ne(x) => b != x,
        }
    }
}

impl ArrayTest {
    fn matches_any<'a>(&self, mut elements: impl Iterator<Item = &'a str>) -> bool {
        match self {
            ArrayTest::In(list) => elements.any(|e| list.iter().any(|x| x == e)),
            ArrayTest::Nin(list) => !elements.any(|e| list.iter().any(|x| x == e)),
        }
    }
}
