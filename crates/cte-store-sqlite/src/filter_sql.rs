//! Compiles a [`Filter`] into a SQL boolean expression over the `indicators` table aliased `i`,
//! with the semantics of the in-memory evaluator ([`Filter::matches`]); the property test below
//! holds the two together.
//!
//! Rules the generated SQL keeps:
//! - user text only ever travels as bound parameters, appended to `params` in the order their
//!   `?` appear in the text; lists travel as one JSON-array parameter read with `json_each`, so
//!   neither the parameter count nor the statement text grows with a list;
//! - every condition is two-valued (never NULL), so `NOT` and `$nor` behave like Mongo's even on
//!   the nullable `expires_at`;
//! - `AND`/`OR` chains are built as balanced trees, keeping SQLite's expression depth
//!   logarithmic in the number of terms;
//! - subqueries use aliases (`fs`, `ft`, `fd`, `fj`) that the store's own queries do not.
//!
//! Which column holds a field comes from the store's one table of fields (`fields.rs`).

use cte_core::field::Field;
use cte_core::filter::{
    ArrayTest, BoolTest, Cond, DateTest, DestCond, Expr, Filter, NumTest, SourceCond, StrTest,
};
use cte_core::indicator::Severity;
use rusqlite::types::Value;

use crate::fields::{self, Stored};
use crate::rows::ms;
use crate::value_key::value_key;

/// Returns a SQL boolean expression over `indicators i`; values are appended to `params` and
/// referenced as plain `?`, in order. `Filter::all()` gives `1`.
pub(crate) fn compile(filter: &Filter, params: &mut Vec<Value>) -> String {
    match filter.expr() {
        None => "1".to_string(),
        Some(e) => match required_keys(e) {
            // The rows are found through `value_keys` first; the condition still decides.
            Some(keys) => {
                let probe = json_list(serde_json::json!(keys), params);
                let cond = logic(e, params, &mut root);
                format!(
                    "i.id IN (SELECT id FROM value_keys WHERE tier IN (0, 1) AND key IN {probe}) \
                     AND {cond}"
                )
            }
            None => logic(e, params, &mut root),
        },
    }
}

/// The value keys one of which every matching row must have, when the filter says so at its top
/// (a value's equality or `$in`, alone or in a top-level `AND`). Such a filter reads only the rows
/// with those keys, through the two tiers of `value_keys`. Nested deeper (in an `$or`, say), a
/// value test compares the row's own `value_key` column, which has no index: an index probe per
/// term made SQLite's planner take seconds over an `$or` of thousands of values.
fn required_keys(e: &Expr<Cond>) -> Option<Vec<i64>> {
    match e {
        Expr::Cond(Cond::Value(StrTest::Eq(s))) => Some(vec![value_key(s)]),
        Expr::Cond(Cond::Value(StrTest::In(list))) => {
            let keys: Vec<i64> = list.iter().flatten().map(|v| value_key(v)).collect();
            (!keys.is_empty()).then_some(keys)
        }
        Expr::And(items) => items.iter().find_map(required_keys),
        _ => None,
    }
}

fn logic<C>(
    e: &Expr<C>,
    p: &mut Vec<Value>,
    leaf: &mut dyn FnMut(&C, &mut Vec<Value>) -> String,
) -> String {
    match e {
        Expr::And(v) => chain(v, p, leaf, "AND", "1"),
        Expr::Or(v) => chain(v, p, leaf, "OR", "0"),
        Expr::Nor(v) => format!("NOT {}", chain(v, p, leaf, "OR", "0")),
        Expr::Cond(c) => leaf(c, p),
    }
}

/// `(a op b op …)` as a balanced tree; `empty` for no terms.
fn chain<C>(
    items: &[Expr<C>],
    p: &mut Vec<Value>,
    leaf: &mut dyn FnMut(&C, &mut Vec<Value>) -> String,
    op: &str,
    empty: &str,
) -> String {
    match items {
        [] => empty.to_string(),
        [one] => format!("({})", logic(one, p, leaf)),
        _ => {
            let (left, right) = items.split_at(items.len() / 2);
            // Left before right: parameters are pushed in text order.
            let l = chain(left, p, leaf, op, empty);
            let r = chain(right, p, leaf, op, empty);
            format!("({l} {op} {r})")
        }
    }
}

/// The column of `field` in a filter: the indicator's as `i`, a source record's as `fs`.
fn col(field: Field) -> String {
    fields::column(field).sql("fs")
}

fn root(c: &Cond, p: &mut Vec<Value>) -> String {
    match c {
        Cond::Value(t) => value(t, p),
        Cond::Type(t) => string(&col(Field::Type), t, p),
        Cond::Test(t) => boolean(&col(Field::Test), t),
        Cond::Safe(t) => boolean(&col(Field::Safe), t),
        Cond::Active(t) => boolean(&col(Field::Active), t),
        Cond::InternalHits(t) => number(&col(Field::InternalHits), t, p),
        Cond::ExternalHits(t) => number(&col(Field::ExternalHits), t, p),
        Cond::ExpiresAt(t) => date(Field::ExpiresAt, t, p),
        Cond::SharedWith(t) => array(
            &format!(
                "SELECT 1 FROM json_each({}) fj WHERE fj.value",
                col(Field::SharedWith)
            ),
            t,
            p,
        ),
        Cond::Sources(e) => format!(
            "EXISTS (SELECT 1 FROM indicator_sources fs WHERE fs.indicator_id = i.id AND {})",
            logic(e, p, &mut source)
        ),
        // `Cond` is non-exhaustive; a condition this adapter does not know selects nothing
        // rather than everything.
        _ => "0".to_string(),
    }
}

fn source(c: &SourceCond, p: &mut Vec<Value>) -> String {
    match c {
        SourceCond::Source(t) => string(&col(Field::Source), t, p),
        SourceCond::Comments(t) => string(&col(Field::Comments), t, p),
        SourceCond::ExtendedInformation(t) => string(&col(Field::ExtendedInformation), t, p),
        SourceCond::Reputation(t) => number(&col(Field::Reputation), t, p),
        SourceCond::InternalHits(t) => number(&col(Field::SourceInternalHits), t, p),
        SourceCond::ExternalHits(t) => number(&col(Field::SourceExternalHits), t, p),
        SourceCond::FirstSeen(t) => date(Field::FirstSeen, t, p),
        SourceCond::LastSeen(t) => date(Field::LastSeen, t, p),
        SourceCond::Severity(t) => severity(t, p),
        SourceCond::Tags(t) => array(
            "SELECT 1 FROM source_tags ft WHERE ft.indicator_id = fs.indicator_id \
             AND ft.source = fs.source AND ft.tag",
            t,
            p,
        ),
        SourceCond::Retracted(t) => boolean(&col(Field::Retracted), t),
        SourceCond::Destinations(e) => format!(
            "EXISTS (SELECT 1 FROM source_destinations fd WHERE fd.indicator_id = fs.indicator_id \
             AND fd.source = fs.source AND {})",
            logic(e, p, &mut destination)
        ),
        // Retraction destinations are not stored: the list is empty, as the evaluator says.
        SourceCond::RetractionDestinations(_) => "0".to_string(),
        _ => "0".to_string(),
    }
}

fn destination(c: &DestCond, p: &mut Vec<Value>) -> String {
    match c {
        DestCond::Name(t) => string("fd.destination", t, p),
        DestCond::Status(t) => string("fd.status", t, p),
        _ => "0".to_string(),
    }
}

/// One parameter holding a JSON array, for `IN (SELECT value FROM json_each(?))`.
fn json_list(items: serde_json::Value, p: &mut Vec<Value>) -> &'static str {
    p.push(Value::Text(items.to_string()));
    "(SELECT value FROM json_each(?))"
}

/// Case-insensitive comparisons fold ASCII only: SQLite's `lower()` does exactly that, and so does
/// the evaluator. Every string column is NOT NULL.
fn string(col: &str, t: &StrTest, p: &mut Vec<Value>) -> String {
    let folded = |s: &str, p: &mut Vec<Value>| p.push(Value::Text(s.to_ascii_lowercase()));
    match t {
        StrTest::Eq(s) => {
            folded(s, p);
            format!("lower({col}) = ?")
        }
        StrTest::Ne(s) => {
            folded(s, p);
            format!("lower({col}) <> ?")
        }
        StrTest::Contains(s) if s.is_empty() => "1".to_string(),
        StrTest::NotContains(s) if s.is_empty() => "0".to_string(),
        StrTest::Contains(s) => {
            folded(s, p);
            format!("instr(lower({col}), ?) > 0")
        }
        StrTest::NotContains(s) => {
            folded(s, p);
            format!("instr(lower({col}), ?) = 0")
        }
        // `null` matches only a missing field, and no string column is ever NULL.
        StrTest::In(list) | StrTest::Nin(list) => {
            let present: Vec<&str> = list.iter().flatten().map(String::as_str).collect();
            let negate = matches!(t, StrTest::Nin(_));
            match (present.is_empty(), negate) {
                (true, false) => "0".to_string(),
                (true, true) => "1".to_string(),
                (false, false) => format!("{col} IN {}", json_list(serde_json::json!(present), p)),
                (false, true) => {
                    format!("{col} NOT IN {}", json_list(serde_json::json!(present), p))
                }
            }
        }
    }
}

/// The value text has no index of its own (see `value_key.rs`): equality and `$in` also compare
/// the row's lookup key, which is case-insensitive like the equality, before the text (and a filter
/// that requires them at its top finds its rows by key, see [`required_keys`]).
fn value(t: &StrTest, p: &mut Vec<Value>) -> String {
    match t {
        StrTest::Eq(s) => {
            p.push(Value::Integer(value_key(s)));
            format!("(i.value_key = ? AND {})", string(&col(Field::Value), t, p))
        }
        StrTest::In(list) if list.iter().flatten().next().is_some() => {
            let keys: Vec<i64> = list.iter().flatten().map(|v| value_key(v)).collect();
            let probe = json_list(serde_json::json!(keys), p);
            format!(
                "(i.value_key IN {probe} AND {})",
                string(&col(Field::Value), t, p)
            )
        }
        _ => string(&col(Field::Value), t, p),
    }
}

/// Integer columns are NOT NULL, so `= null` never holds and `<> null` always does.
fn number(col: &str, t: &NumTest, p: &mut Vec<Value>) -> String {
    let (op, n) = match *t {
        NumTest::Eq(None) => return "0".to_string(),
        NumTest::Ne(None) => return "1".to_string(),
        NumTest::Eq(Some(n)) => ("=", n),
        NumTest::Ne(Some(n)) => ("<>", n),
        NumTest::Gt(n) => (">", n),
        NumTest::Gte(n) => (">=", n),
        NumTest::Lt(n) => ("<", n),
        NumTest::Lte(n) => ("<=", n),
    };
    p.push(Value::Integer(n));
    format!("{col} {op} ?")
}

/// Dates are milliseconds since the epoch; `expiresAt` may be NULL, and then only `$ne` and
/// `$not` hold (as in Mongo).
fn date(field: Field, t: &DateTest, p: &mut Vec<Value>) -> String {
    let nullable = matches!(
        fields::column(field).stored,
        Stored::Time { nullable: true }
    );
    let col = col(field);
    let (op, d) = match t {
        DateTest::Not(inner) => {
            let parts: Vec<String> = inner.iter().map(|t| date(field, t, p)).collect();
            return match parts.len() {
                0 => "0".to_string(),
                _ => format!("NOT ({})", parts.join(" AND ")),
            };
        }
        DateTest::Ne(d) => {
            p.push(Value::Integer(ms(*d)));
            return format!("{col} IS NOT ?");
        }
        DateTest::Eq(d) => ("=", d),
        DateTest::Gt(d) => (">", d),
        DateTest::Gte(d) => (">=", d),
        DateTest::Lt(d) => ("<", d),
        DateTest::Lte(d) => ("<=", d),
    };
    p.push(Value::Integer(ms(*d)));
    if nullable {
        format!("({col} {op} ? AND {col} IS NOT NULL)")
    } else {
        format!("{col} {op} ?")
    }
}

fn boolean(col: &str, t: &BoolTest) -> String {
    match *t {
        BoolTest::Eq(b) => format!("{col} = {}", i32::from(b)),
        BoolTest::Ne(b) => format!("{col} <> {}", i32::from(b)),
    }
}

/// `exists_head` is a subquery up to the compared column: `SELECT 1 FROM … WHERE … AND col`.
fn array(exists_head: &str, t: &ArrayTest, p: &mut Vec<Value>) -> String {
    match t {
        ArrayTest::In(list) if list.is_empty() => "0".to_string(),
        ArrayTest::Nin(list) if list.is_empty() => "1".to_string(),
        ArrayTest::In(list) => format!(
            "EXISTS ({exists_head} IN {})",
            json_list(serde_json::json!(list), p)
        ),
        ArrayTest::Nin(list) => format!(
            "NOT EXISTS ({exists_head} IN {})",
            json_list(serde_json::json!(list), p)
        ),
    }
}

/// Severity is one value per source, stored as its rank; names are compared exactly, so names
/// that are not severities match nothing.
fn severity(t: &ArrayTest, p: &mut Vec<Value>) -> String {
    let (ArrayTest::In(list) | ArrayTest::Nin(list)) = t;
    let ranks: Vec<u8> = list
        .iter()
        .filter_map(|name| name.parse::<Severity>().ok())
        .map(Severity::rank)
        .collect();
    match (t, ranks.is_empty()) {
        (ArrayTest::In(_), true) => "0".to_string(),
        (ArrayTest::Nin(_), true) => "1".to_string(),
        (ArrayTest::In(_), false) => {
            format!(
                "{} IN {}",
                col(Field::Severity),
                json_list(serde_json::json!(ranks), p)
            )
        }
        (ArrayTest::Nin(_), false) => format!(
            "{} NOT IN {}",
            col(Field::Severity),
            json_list(serde_json::json!(ranks), p)
        ),
    }
}

#[cfg(test)]
mod tests;
