//! CE's JSON filter (`filters`, `locator.query`, a business rule's `mongo`), validated against
//! `INDICATOR_QUERY_SCHEMA` (`additionalProperties: false` everywhere) while it is parsed.

use serde_json::{Map, Value};

use super::{
    parse_date, ArrayTest, BoolTest, Cond, DateTest, DestCond, Expr, Filter, FilterError, NumTest,
    SourceCond, StrTest,
};

/// Deeper nesting than this is refused, so that neither parsing nor the SQL built from a filter
/// can exhaust the stack (serde_json stops at 128 levels of text; a `Value` has no such limit).
const MAX_DEPTH: usize = 64;

/// Parses CE's JSON filter text. Malformed JSON is [`FilterError::InvalidJson`]; JSON outside the
/// schema is [`FilterError::InvalidQuery`] naming the offending path.
pub fn parse_json(s: &str) -> Result<Filter, FilterError> {
    let value: Value = serde_json::from_str(s).map_err(|_| FilterError::InvalidJson)?;
    parse_value(&value)
}

/// Parses an already decoded JSON filter; `{}` selects everything.
pub fn parse_value(value: &Value) -> Result<Filter, FilterError> {
    let Value::Object(obj) = value else {
        return Err(invalid("the query must be a JSON object"));
    };
    if obj.is_empty() {
        return Ok(Filter::all());
    }
    Ok(Filter::new(object(obj, "", 0, &root_field)?))
}

fn invalid(msg: impl Into<String>) -> FilterError {
    FilterError::InvalidQuery(msg.into())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// What a level says about one of its own (non-logical) keys: `None` when the key is not allowed.
type FieldFn<C> = dyn Fn(&str, &Value, &str, usize) -> Result<Option<Vec<Expr<C>>>, FilterError>;

/// One object of a level: its keys are an implicit `$and`.
fn object<C>(
    obj: &Map<String, Value>,
    path: &str,
    depth: usize,
    field: &FieldFn<C>,
) -> Result<Expr<C>, FilterError> {
    if depth > MAX_DEPTH {
        return Err(invalid(format!(
            "{} is nested too deeply",
            if path.is_empty() { "the query" } else { path }
        )));
    }
    let mut all = Vec::new();
    for (key, value) in obj {
        let here = join(path, key);
        match key.as_str() {
            "$and" | "$or" | "$nor" => {
                let Value::Array(items) = value else {
                    return Err(invalid(format!("{here} must be an array")));
                };
                if items.is_empty() {
                    return Err(invalid(format!("{here} must be a non-empty array")));
                }
                let mut subs = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let at = format!("{here}[{i}]");
                    let Value::Object(o) = item else {
                        return Err(invalid(format!("{at} must be an object")));
                    };
                    subs.push(object(o, &at, depth + 1, field)?);
                }
                all.push(match key.as_str() {
                    "$and" => Expr::And(subs),
                    "$or" => Expr::Or(subs),
                    _ => Expr::Nor(subs),
                });
            }
            _ => match field(key, value, &here, depth)? {
                Some(exprs) => all.extend(exprs),
                None => return Err(invalid(format!("{here} is not allowed"))),
            },
        }
    }
    Ok(if all.len() == 1 {
        all.pop().expect("one element")
    } else {
        Expr::And(all)
    })
}

/// Tests on one field become conditions; no test at all (`{}`) is Mongo's equality with an empty
/// document, which matches nothing.
fn conds<T, C>(tests: Vec<T>, make: impl Fn(T) -> C) -> Option<Vec<Expr<C>>> {
    if tests.is_empty() {
        return Some(vec![Expr::never()]);
    }
    Some(tests.into_iter().map(|t| Expr::Cond(make(t))).collect())
}

fn root_field(
    key: &str,
    v: &Value,
    path: &str,
    depth: usize,
) -> Result<Option<Vec<Expr>>, FilterError> {
    Ok(match key {
        "value" => conds(str_tests(v, path)?, Cond::Value),
        "type" => conds(str_tests(v, path)?, Cond::Type),
        "test" => conds(bool_tests(v, path)?, Cond::Test),
        "safe" => conds(bool_tests(v, path)?, Cond::Safe),
        "active" => conds(bool_tests(v, path)?, Cond::Active),
        "internalHits" => conds(num_tests(v, path)?, Cond::InternalHits),
        "externalHits" => conds(num_tests(v, path)?, Cond::ExternalHits),
        "expiresAt" => conds(date_tests(v, path)?, Cond::ExpiresAt),
        "sharedWith" => conds(array_tests(v, path)?, Cond::SharedWith),
        "sources" => conds(
            elem_match(v, path, depth, &source_field)?
                .into_iter()
                .collect(),
            Cond::Sources,
        ),
        _ => None,
    })
}

fn source_field(
    key: &str,
    v: &Value,
    path: &str,
    depth: usize,
) -> Result<Option<Vec<Expr<SourceCond>>>, FilterError> {
    Ok(match key {
        "source" => conds(str_tests(v, path)?, SourceCond::Source),
        "comments" => conds(str_tests(v, path)?, SourceCond::Comments),
        "extendedInformation" => conds(str_tests(v, path)?, SourceCond::ExtendedInformation),
        "reputation" => conds(num_tests(v, path)?, SourceCond::Reputation),
        "internalHits" => conds(num_tests(v, path)?, SourceCond::InternalHits),
        "externalHits" => conds(num_tests(v, path)?, SourceCond::ExternalHits),
        "firstSeen" => conds(date_tests(v, path)?, SourceCond::FirstSeen),
        "lastSeen" => conds(date_tests(v, path)?, SourceCond::LastSeen),
        "severity" => conds(array_tests(v, path)?, SourceCond::Severity),
        "tags" => conds(array_tests(v, path)?, SourceCond::Tags),
        "retracted" => conds(bool_tests(v, path)?, SourceCond::Retracted),
        "destinations" => conds(
            elem_match(v, path, depth, &dest_field)?
                .into_iter()
                .collect(),
            SourceCond::Destinations,
        ),
        "retractionDestinations" => conds(
            elem_match(v, path, depth, &dest_field)?
                .into_iter()
                .collect(),
            SourceCond::RetractionDestinations,
        ),
        _ => None,
    })
}

fn dest_field(
    key: &str,
    v: &Value,
    path: &str,
    _depth: usize,
) -> Result<Option<Vec<Expr<DestCond>>>, FilterError> {
    Ok(match key {
        "name" => conds(str_tests(v, path)?, DestCond::Name),
        "status" => conds(str_tests(v, path)?, DestCond::Status),
        _ => None,
    })
}

/// `{"$elemMatch": {...}}`; `{}` gives no expression (matches nothing, see [`conds`]).
fn elem_match<C>(
    v: &Value,
    path: &str,
    depth: usize,
    field: &FieldFn<C>,
) -> Result<Option<Expr<C>>, FilterError> {
    let Value::Object(obj) = v else {
        return Err(invalid(format!("{path} must be an object with $elemMatch")));
    };
    let mut found = None;
    for (key, inner) in obj {
        let here = join(path, key);
        if key != "$elemMatch" {
            return Err(invalid(format!("{here} is not allowed")));
        }
        let Value::Object(o) = inner else {
            return Err(invalid(format!("{here} must be an object")));
        };
        found = Some(object(o, &here, depth + 1, field)?);
    }
    Ok(found)
}

fn operators<'a>(
    v: &'a Value,
    path: &str,
    what: &str,
) -> Result<&'a Map<String, Value>, FilterError> {
    match v {
        Value::Object(o) => Ok(o),
        _ => Err(invalid(format!("{path} must be {what}"))),
    }
}

fn string<'a>(v: &'a Value, path: &str) -> Result<&'a str, FilterError> {
    v.as_str()
        .ok_or_else(|| invalid(format!("{path} must be a string")))
}

fn str_tests(v: &Value, path: &str) -> Result<Vec<StrTest>, FilterError> {
    if let Value::String(s) = v {
        return Ok(vec![StrTest::Eq(s.clone())]);
    }
    let obj = operators(v, path, "a string or an object")?;
    let mut out = Vec::with_capacity(obj.len());
    for (op, arg) in obj {
        let here = join(path, op);
        out.push(match op.as_str() {
            "$eq" => StrTest::Eq(string(arg, &here)?.to_string()),
            "$ne" => StrTest::Ne(string(arg, &here)?.to_string()),
            "$regex" => StrTest::Contains(string(arg, &here)?.to_string()),
            "$not" => StrTest::NotContains(string(arg, &here)?.to_string()),
            "$in" => StrTest::In(nullable_strings(arg, &here)?),
            "$nin" => StrTest::Nin(nullable_strings(arg, &here)?),
            _ => return Err(invalid(format!("{here} is not allowed"))),
        });
    }
    Ok(out)
}

/// An array of string|null; CE also turns the string `"null"` into `null`.
fn nullable_strings(v: &Value, path: &str) -> Result<Vec<Option<String>>, FilterError> {
    let Value::Array(items) = v else {
        return Err(invalid(format!("{path} must be an array")));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Null => Ok(None),
            Value::String(s) if s == "null" => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(invalid(format!("{path}[{i}] must be a string or null"))),
        })
        .collect()
}

/// An array of strings. CE turns `"null"` into `null`, which no tag, severity or destination name
/// equals, so it is dropped: it never makes `$in` match nor `$nin` fail.
fn strings(v: &Value, path: &str) -> Result<Vec<String>, FilterError> {
    let Value::Array(items) = v else {
        return Err(invalid(format!("{path} must be an array")));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::String(s) if s == "null" => {}
            Value::String(s) => out.push(s.clone()),
            _ => return Err(invalid(format!("{path}[{i}] must be a string"))),
        }
    }
    Ok(out)
}

/// JSON Schema's `integer`: a number without a fractional part (`1.0` counts), within i64.
fn integer(v: &Value, path: &str) -> Result<i64, FilterError> {
    if let Some(n) = v.as_i64() {
        return Ok(n);
    }
    if v.is_u64() {
        return Err(invalid(format!("{path} is out of range")));
    }
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => Ok(f as i64),
        Some(f) if f.fract() == 0.0 => Err(invalid(format!("{path} is out of range"))),
        _ => Err(invalid(format!("{path} must be an integer"))),
    }
}

fn nullable_integer(v: &Value, path: &str) -> Result<Option<i64>, FilterError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(_) => integer(v, path).map(Some),
        _ => Err(invalid(format!("{path} must be an integer or null"))),
    }
}

fn num_tests(v: &Value, path: &str) -> Result<Vec<NumTest>, FilterError> {
    match v {
        Value::Null => return Ok(vec![NumTest::Eq(None)]),
        Value::Number(_) => return Ok(vec![NumTest::Eq(Some(integer(v, path)?))]),
        _ => {}
    }
    let obj = operators(v, path, "an integer, null or an object")?;
    let mut out = Vec::with_capacity(obj.len());
    for (op, arg) in obj {
        let here = join(path, op);
        let int = || match arg {
            Value::Number(_) => integer(arg, &here),
            _ => Err(invalid(format!("{here} must be an integer"))),
        };
        out.push(match op.as_str() {
            "$eq" => NumTest::Eq(nullable_integer(arg, &here)?),
            "$ne" => NumTest::Ne(nullable_integer(arg, &here)?),
            "$gt" => NumTest::Gt(int()?),
            "$gte" => NumTest::Gte(int()?),
            "$lt" => NumTest::Lt(int()?),
            "$lte" => NumTest::Lte(int()?),
            _ => return Err(invalid(format!("{here} is not allowed"))),
        });
    }
    Ok(out)
}

fn date(v: &Value, path: &str) -> Result<chrono::DateTime<chrono::Utc>, FilterError> {
    let s = string(v, path)?;
    parse_date(s).ok_or_else(|| invalid(format!("{path} must be a date, not '{}'", clip(s))))
}

/// Echoes user text in an error message without letting it grow the message unboundedly.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

fn date_tests(v: &Value, path: &str) -> Result<Vec<DateTest>, FilterError> {
    if let Value::String(_) = v {
        return Ok(vec![DateTest::Eq(date(v, path)?)]);
    }
    let obj = operators(v, path, "a date string or an object")?;
    let mut out = Vec::with_capacity(obj.len());
    for (op, arg) in obj {
        let here = join(path, op);
        if op == "$not" {
            let inner = operators(arg, &here, "an object")?;
            if inner.is_empty() {
                return Err(invalid(format!("{here} must not be empty")));
            }
            let mut tests = Vec::with_capacity(inner.len());
            for (op, arg) in inner {
                let here = join(&here, op);
                tests.push(date_comparison(op, arg, &here)?);
            }
            out.push(DateTest::Not(tests));
        } else {
            out.push(date_comparison(op, arg, &here)?);
        }
    }
    Ok(out)
}

fn date_comparison(op: &str, arg: &Value, here: &str) -> Result<DateTest, FilterError> {
    Ok(match op {
        "$gt" => DateTest::Gt(date(arg, here)?),
        "$gte" => DateTest::Gte(date(arg, here)?),
        "$lt" => DateTest::Lt(date(arg, here)?),
        "$lte" => DateTest::Lte(date(arg, here)?),
        "$ne" => DateTest::Ne(date(arg, here)?),
        _ => return Err(invalid(format!("{here} is not allowed"))),
    })
}

fn bool_tests(v: &Value, path: &str) -> Result<Vec<BoolTest>, FilterError> {
    if let Value::Bool(b) = v {
        return Ok(vec![BoolTest::Eq(*b)]);
    }
    let obj = operators(v, path, "a boolean or an object")?;
    let mut out = Vec::with_capacity(obj.len());
    for (op, arg) in obj {
        let here = join(path, op);
        let b = arg
            .as_bool()
            .ok_or_else(|| invalid(format!("{here} must be a boolean")));
        out.push(match op.as_str() {
            "$eq" => BoolTest::Eq(b?),
            "$ne" => BoolTest::Ne(b?),
            _ => return Err(invalid(format!("{here} is not allowed"))),
        });
    }
    Ok(out)
}

fn array_tests(v: &Value, path: &str) -> Result<Vec<ArrayTest>, FilterError> {
    let obj = operators(v, path, "an object")?;
    let mut out = Vec::with_capacity(obj.len());
    for (op, arg) in obj {
        let here = join(path, op);
        out.push(match op.as_str() {
            "$in" => ArrayTest::In(strings(arg, &here)?),
            "$nin" => ArrayTest::Nin(strings(arg, &here)?),
            _ => return Err(invalid(format!("{here} is not allowed"))),
        });
    }
    Ok(out)
}
