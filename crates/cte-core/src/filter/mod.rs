//! The filter language CE uses everywhere it selects indicators (reference §4.4): list queries,
//! dashboards, tag usage, bulk-edit locators and business rules.
//!
//! A filter arrives as CE's Mongo-style JSON (validated against CE's `INDICATOR_QUERY_SCHEMA`,
//! [`parse_json`]) or as the query language the UI stores beside it ([`parse_ui`]). Both become the
//! same typed [`Expr`], which the in-memory evaluator ([`Filter::matches`]) and the SQLite adapter
//! (`filter_sql`) interpret with the same semantics.
//!
//! # Semantics (CE's `parse_dates` rewrite followed by Mongo's matching)
//!
//! Strings ([`StrTest`]):
//! - a plain string and `$eq` are a case-insensitive exact match, `$ne` its negation;
//! - `$regex` is a case-insensitive *substring* match of the literal text (CE escapes the
//!   pattern, so it is never a real regular expression), `$not` with a string its negation;
//! - `$in`/`$nin` are passed through by CE unchanged, so they are *case-sensitive* exact matches;
//!   CE turns the string `"null"` into `null`, and `null` only matches a missing field, which no
//!   string field of ours ever is;
//! - case-insensitivity folds ASCII letters only, the same as SQLite's `lower()`, so the SQL
//!   adapter and the evaluator agree; indicator values are normalised to ASCII anyway.
//!
//! Deviations from CE, all deliberate:
//! - CE turns any string `dateutil` can parse into a datetime, even on string fields (so
//!   `{"comments": "march"}` would never match); we treat strings on string fields as strings;
//! - on date fields a string that is not a date is rejected instead of silently never matching;
//!   dates are ISO 8601 (`2024-01-01`, `2024-01-01T10:00:00`, with or without fraction and zone,
//!   `T` or space); a naive date-time is UTC; an all-digit string is never a date (as in CE);
//!   dates compare at millisecond precision, which is what the store keeps;
//! - CE rewrites `$eq` and `$regex` to the same key (and `$ne` and `$not` to the same key), so
//!   when both appear in one object only the last survives; we apply all of them;
//! - Mongo rejects `$and`/`$or`/`$nor` with an empty array at query time (CE answers 400 with the
//!   Mongo text); we reject it while parsing.
//!
//! Mongo semantics kept:
//! - a field object without operators (`{"test": {}}`) is an equality with an empty document,
//!   which no indicator satisfies; it parses to a condition that matches nothing;
//! - `$elemMatch` means one and the same source record (or destination entry) satisfies every
//!   inner condition;
//! - array fields (`tags`, `sharedWith`): `$in` matches when any element is in the list, `$nin`
//!   when no element is (so an empty array satisfies every `$nin`); `severity` is a single value
//!   per source compared by its wire name (`"high"`), case-sensitively; unknown names are kept and
//!   simply match nothing;
//! - `null`: numbers and the other non-date fields are never null, so `{"$eq": null}` never
//!   matches and `{"$ne": null}` always does; `expiresAt` may be null, and then `$gt`, `$gte`,
//!   `$lt`, `$lte` and equality do not match while `$ne` and `$not` do.

use chrono::{DateTime, Utc};

mod eval;
mod json;
mod ui;

#[cfg(test)]
mod tests;

pub use json::{parse_json, parse_value};
pub use ui::parse_ui;

/// Boolean structure shared by the three levels of the language (indicator, source record,
/// destination entry). The default level is the indicator's, so `Expr` alone is a root
/// expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr<C = Cond> {
    /// Every sub-expression holds; an empty list holds.
    And(Vec<Expr<C>>),
    /// At least one sub-expression holds; an empty list never holds.
    Or(Vec<Expr<C>>),
    /// No sub-expression holds.
    Nor(Vec<Expr<C>>),
    /// One condition on one field.
    Cond(C),
}

impl<C> Expr<C> {
    /// An expression that matches nothing (an empty `Or`).
    pub fn never() -> Expr<C> {
        Expr::Or(Vec::new())
    }
}

/// A condition on one indicator-level field (CE's `searchRoot`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Cond {
    /// `value`.
    Value(StrTest),
    /// `type`, compared on the wire name (`"url"`).
    Type(StrTest),
    /// `test`.
    Test(BoolTest),
    /// `safe`.
    Safe(BoolTest),
    /// `active`.
    Active(BoolTest),
    /// `internalHits` (the indicator's total).
    InternalHits(NumTest),
    /// `externalHits` (the indicator's total).
    ExternalHits(NumTest),
    /// `expiresAt`, which may be null.
    ExpiresAt(DateTest),
    /// `sharedWith`.
    SharedWith(ArrayTest),
    /// `sources: {"$elemMatch": …}`: one source record satisfies the whole expression.
    Sources(Expr<SourceCond>),
}

/// A condition on one field of a source record (CE's `sourceFilters`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SourceCond {
    /// `source`, the configuration name.
    Source(StrTest),
    /// `comments`.
    Comments(StrTest),
    /// `extendedInformation`.
    ExtendedInformation(StrTest),
    /// `reputation`.
    Reputation(NumTest),
    /// `internalHits` of this source.
    InternalHits(NumTest),
    /// `externalHits` of this source.
    ExternalHits(NumTest),
    /// `firstSeen`.
    FirstSeen(DateTest),
    /// `lastSeen`.
    LastSeen(DateTest),
    /// `severity`, compared by wire name.
    Severity(ArrayTest),
    /// `tags`.
    Tags(ArrayTest),
    /// `retracted`.
    Retracted(BoolTest),
    /// `destinations: {"$elemMatch": …}`.
    Destinations(Expr<DestCond>),
    /// `retractionDestinations: {"$elemMatch": …}`. Accepted as CE does; source records do not
    /// keep retraction destinations yet, so the list is empty and this never matches.
    RetractionDestinations(Expr<DestCond>),
}

/// A condition on one destination entry of a source record (CE's `retractionResult`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DestCond {
    /// `name`, the destination configuration.
    Name(StrTest),
    /// `status`, compared on the wire name (`"shared"`).
    Status(StrTest),
}

/// A test on a string field (CE's `stringFilters`, after `parse_dates`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrTest {
    /// Case-insensitive exact match (a plain string, `$eq`).
    Eq(String),
    /// Not a case-insensitive exact match (`$ne`).
    Ne(String),
    /// Case-insensitive substring (`$regex`).
    Contains(String),
    /// Not a case-insensitive substring (`$not`).
    NotContains(String),
    /// Case-sensitive membership (`$in`); `None` is `null`, which matches nothing here.
    In(Vec<Option<String>>),
    /// Case-sensitive non-membership (`$nin`); `None` excludes nothing here.
    Nin(Vec<Option<String>>),
}

/// A test on an integer field (CE's `numberFilters`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumTest {
    /// Equal (`$eq` or a plain value); `None` (`null`) never matches.
    Eq(Option<i64>),
    /// Not equal (`$ne`); `None` (`null`) always matches.
    Ne(Option<i64>),
    /// Greater than.
    Gt(i64),
    /// Greater than or equal.
    Gte(i64),
    /// Less than.
    Lt(i64),
    /// Less than or equal.
    Lte(i64),
}

/// A test on a date field (CE's `dateFilters`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateTest {
    /// Equal (a plain string).
    Eq(DateTime<Utc>),
    /// Not equal (`$ne`); matches a null date.
    Ne(DateTime<Utc>),
    /// After.
    Gt(DateTime<Utc>),
    /// At or after.
    Gte(DateTime<Utc>),
    /// Before.
    Lt(DateTime<Utc>),
    /// At or before.
    Lte(DateTime<Utc>),
    /// `$not: {…}`: not every inner test holds; matches a null date unless the inner tests do.
    Not(Vec<DateTest>),
}

/// A test on a boolean field (CE's `booleanFilters`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoolTest {
    /// Equal.
    Eq(bool),
    /// Not equal.
    Ne(bool),
}

/// A test on an array field, or on `severity` (CE's `arrayFilters`); case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArrayTest {
    /// Some element is in the list.
    In(Vec<String>),
    /// No element is in the list.
    Nin(Vec<String>),
}

/// A validated filter over indicators; the default selects every indicator.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    expr: Option<Expr>,
}

impl Filter {
    /// Selects every indicator.
    pub fn all() -> Filter {
        Filter { expr: None }
    }

    /// A filter from an expression.
    pub fn new(expr: Expr) -> Filter {
        Filter { expr: Some(expr) }
    }

    /// The expression, or `None` when the filter selects everything.
    pub fn expr(&self) -> Option<&Expr> {
        self.expr.as_ref()
    }

    /// The tag names the filter tests (in `tags` conditions, `$in` or `$nin`), each once, in order
    /// of appearance: a tag a business rule's filter mentions cannot be deleted (reference §4.6).
    pub fn mentioned_tags(&self) -> Vec<&str> {
        fn walk<'a, C>(e: &'a Expr<C>, leaf: &mut dyn FnMut(&'a C)) {
            match e {
                Expr::And(v) | Expr::Or(v) | Expr::Nor(v) => v.iter().for_each(|e| walk(e, leaf)),
                Expr::Cond(c) => leaf(c),
            }
        }
        let mut out: Vec<&str> = Vec::new();
        if let Some(e) = &self.expr {
            walk(e, &mut |c: &Cond| {
                if let Cond::Sources(s) = c {
                    walk(s, &mut |sc: &SourceCond| {
                        if let SourceCond::Tags(ArrayTest::In(l) | ArrayTest::Nin(l)) = sc {
                            for tag in l {
                                if !out.contains(&tag.as_str()) {
                                    out.push(tag);
                                }
                            }
                        }
                    })
                }
            });
        }
        out
    }

    /// The expression, or `None` when the filter selects everything.
    pub fn into_expr(self) -> Option<Expr> {
        self.expr
    }

    /// None of the filters holds (CE's `{"$nor": [...]}`, how business-rule exceptions are
    /// applied); no filters at all selects everything, and `Filter::all()` among them nothing.
    pub fn nor(filters: impl IntoIterator<Item = Filter>) -> Filter {
        let mut exprs = Vec::new();
        for f in filters {
            match f.expr {
                Some(e) => exprs.push(e),
                None => return Filter::new(Expr::never()),
            }
        }
        if exprs.is_empty() {
            Filter::all()
        } else {
            Filter::new(Expr::Nor(exprs))
        }
    }

    /// Both filters hold (CE's `{"$and": [a, b]}`).
    pub fn and(self, other: Filter) -> Filter {
        match (self.expr, other.expr) {
            (None, e) | (e, None) => Filter { expr: e },
            (Some(a), Some(b)) => Filter::new(Expr::And(vec![a, b])),
        }
    }
}

/// Why a filter was refused; [`FilterError::detail`] is CE's HTTP 400 `detail` text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// The text is not JSON.
    #[error("Invalid JSON query provided.")]
    InvalidJson,
    /// The JSON (or UI query) is outside the language; the message says what and where.
    #[error("Invalid query provided. {0}.")]
    InvalidQuery(String),
}

impl FilterError {
    /// The `detail` CE answers with (HTTP 400).
    pub fn detail(&self) -> String {
        self.to_string()
    }
}

/// Case-insensitive comparisons fold ASCII only, like SQLite's `lower()`.
pub(crate) fn fold(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// Parses a date the way the filter language accepts it (see the module docs), truncated to
/// milliseconds; `None` when the string is not a date.
pub(crate) fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    use chrono::{NaiveDate, NaiveDateTime, SubsecRound};
    let t = s.trim();
    if t.is_empty() || t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let zoned = t
        .strip_suffix(['Z', 'z'])
        .map(|rest| format!("{rest}+00:00"));
    let t = zoned.as_deref().unwrap_or(t);
    const ZONED: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ];
    const NAIVE: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ];
    let parsed = ZONED
        .iter()
        .find_map(|f| DateTime::parse_from_str(t, f).ok())
        .map(|d| d.with_timezone(&Utc))
        .or_else(|| {
            NAIVE
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
                .map(|d| d.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
        })?;
    Some(parsed.trunc_subsecs(3))
}
